//! `stead export compose`: a Compose file with one service per program — `restart:` from the
//! policy (`on-failure:N` from `max_restarts`), `stop_signal`, `stop_grace_period`, `env_file`
//! (read on the host by Compose, so secrets stay in their file), `environment`, and
//! `deploy.replicas` from `numprocs`, `depends_on` with `condition: service_started` (or
//! `service_completed_successfully` for a one-shot dependency).

use serde_json::{Map, Value, json};
use stead_supervisor::config::RestartPolicy;

use crate::yaml::to_yaml;
use crate::{ExportError, File, Options, Program, dns_name, duration, env_with, images};

pub(crate) fn render(
    programs: &mut [Program<'_>],
    options: &Options,
) -> Result<Vec<File>, ExportError> {
    let images = images(programs, options)?;
    let one_shot: Vec<(String, bool)> = programs
        .iter()
        .map(|p| (p.name.to_string(), p.cfg.restart == RestartPolicy::Never))
        .collect();
    let mut services = Map::new();
    for (p, image) in programs.iter_mut().zip(images) {
        let name = dns_name(p.name);
        if name != p.name {
            p.drop(format!(
                "the name `{}` is not a valid service name; exported as `{name}`",
                p.name
            ));
        }
        let mut svc = service(p, &image);
        let mut deps = Map::new();
        for d in &p.cfg.depends_on {
            match one_shot.iter().find(|(n, _)| n == d) {
                Some((_, once)) => {
                    let condition = if *once {
                        "service_completed_successfully"
                    } else {
                        "service_started"
                    };
                    deps.insert(dns_name(d), json!({ "condition": condition }));
                }
                None => p.drop(format!(
                    "depends_on `{d}`: not exported with it (--program)"
                )),
            }
        }
        if !deps.is_empty() {
            svc["depends_on"] = Value::Object(deps);
        }
        services.insert(name, svc);
    }
    // No top-level `name:`: older Compose implementations reject it; the project is named
    // after the directory, or `docker compose -p NAME`.
    let doc = json!({"services": services});
    Ok(vec![File {
        name: "compose.yaml".to_string(),
        text: format!(
            "# Exported from stead.toml by `stead export compose`; edit the source and export again.\n{}",
            to_yaml(&doc)
        ),
    }])
}

fn service(p: &mut Program<'_>, image: &str) -> Value {
    p.note_checks("Compose");
    let c = p.cfg;
    if p.uses_index() {
        p.drop("`{index}`: Compose replicas are identical; `{index}` became 0");
    }
    let command: Vec<String> = c
        .template
        .command
        .iter()
        .map(|a| a.replace('$', "$$").replace("{index}", "0"))
        .collect();
    let restart = match c.restart {
        RestartPolicy::Always => "always".to_string(),
        RestartPolicy::Never => "no".to_string(),
        RestartPolicy::OnFailure if c.max_restarts > 0 => format!("on-failure:{}", c.max_restarts),
        RestartPolicy::OnFailure => "on-failure".to_string(),
    };
    let mut s = json!({
        "image": image,
        "command": command,
        "restart": restart,
        "stop_signal": format!("SIG{}", c.stop_signal.name()),
        "stop_grace_period": duration(p.finite_stop_timeout("Compose", "stop_grace_period")),
    });
    let env: Map<String, Value> = env_with(p, "0")
        .into_iter()
        .map(|(k, v)| (k, Value::String(v.replace('$', "$$"))))
        .collect();
    if !env.is_empty() {
        s["environment"] = Value::Object(env);
    }
    if let Some(f) = &c.template.env_file {
        s["env_file"] = json!([f.display().to_string()]);
    }
    if c.numprocs > 1 {
        s["deploy"] = json!({"replicas": c.numprocs});
    }
    if c.user.is_some() || c.group_name.is_some() {
        p.drop(
            "`user`/`group` name host accounts; set `user:` to a uid:gid that exists in the image",
        );
    }
    if !c.kill_tree {
        p.drop("`kill_tree = false` has no equivalent: the whole container is stopped");
    }
    if c.exit_codes != [0] {
        p.drop("`exit_codes`: Compose counts only exit code 0 as success");
    }
    let defaults = stead_supervisor::config::Backoff::default();
    if c.backoff != defaults {
        p.drop("`backoff`: the Docker engine restarts with its own doubling delay");
    }
    if c.log != stead_supervisor::config::LogSettings::default() {
        p.drop("`[log]` settings: output goes to the container's logging driver");
    }
    s
}
