//! `stead export compose`: a Compose file with one service per program — `restart:` from the
//! policy (`on-failure:N` from `max_restarts`), `stop_signal`, `stop_grace_period`, `env_file`
//! (read on the host by Compose, so secrets stay in their file), `environment`, and
//! `deploy.replicas` from `numprocs`, `healthcheck:` from an exec `ready` (else `health`)
//! check, `depends_on` with `condition: service_started` (`service_healthy` when the
//! dependency's `ready` is its healthcheck, `service_completed_successfully` for a one-shot
//! dependency), `ports:` from TCP and UDP `sockets` (published on the same host address and
//! port).

use serde_json::{Map, Value, json};
use stead_config::RestartPolicy;

use crate::yaml::to_yaml;
use crate::{ExportError, File, Options, Program, dns_name, duration, env_with, images};

pub(crate) fn render(
    programs: &mut [Program<'_>],
    options: &Options,
) -> Result<Vec<File>, ExportError> {
    let images = images(programs, options)?;
    // Per program: whether it is one-shot, and whether its `ready` is an exec check (its
    // healthcheck, which dependents then wait for).
    let one_shot: Vec<(String, bool, bool)> = programs
        .iter()
        .map(|p| {
            let ready_exec = p
                .cfg
                .ready
                .as_ref()
                .is_some_and(|r| matches!(r.probe, stead_config::Probe::Exec(_)));
            (
                p.name.to_string(),
                p.cfg.restart == RestartPolicy::Never,
                ready_exec,
            )
        })
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
            match one_shot.iter().find(|(n, _, _)| n == d) {
                Some((_, once, ready_exec)) => {
                    let condition = if *once {
                        "service_completed_successfully"
                    } else if *ready_exec && !p.cfg.depends_started.contains(d) {
                        "service_healthy"
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

/// `ready` (else `health`) with an exec probe as the service's `healthcheck:` (Compose has one,
/// and runs it inside the container); whether it came from `ready`. tcp and http probes are
/// noted: Compose has no such check, only a command the image must provide.
fn healthcheck(p: &mut Program<'_>) -> Option<(Value, bool)> {
    use stead_config::{CheckAction, HealthProbe, Probe};
    let c = p.cfg;
    let cmd = |probe: &Probe| match probe {
        Probe::Exec(argv) => {
            let mut test = vec![Value::from("CMD")];
            test.extend(argv.iter().map(|a| Value::from(a.replace('$', "$$"))));
            Some(Value::Array(test))
        }
        _ => None,
    };
    let unexpressed = |probe: &Probe| {
        format!(
            "`{}`: Compose's healthcheck runs a command inside the container; write the check as exec (e.g. [\"curl\", \"-fsS\", URL] or [\"nc\", \"-z\", HOST, PORT], if the image has them)",
            probe.describe()
        )
    };
    let health_probe = c.health.as_ref().and_then(|h| match &h.probe {
        HealthProbe::Probe(probe) => Some((h, probe)),
        _ => None,
    });
    if let Some(r) = &c.ready {
        if let Some(test) = cmd(&r.probe) {
            if c.health.is_some() {
                p.drop("`health`: Compose has one healthcheck per service; it is `ready`'s");
            }
            return Some((
                json!({
                    "test": test,
                    "interval": duration(r.interval),
                    "start_period": duration(r.timeout),
                    "retries": 3,
                }),
                true,
            ));
        }
        if matches!(r.probe, Probe::Tcp(_) | Probe::Http { .. }) {
            p.drop(unexpressed(&r.probe));
        }
    }
    let (h, probe) = health_probe?;
    let Some(test) = cmd(probe) else {
        p.drop(unexpressed(probe));
        return None;
    };
    if h.action == CheckAction::Restart {
        p.drop("`health` with action = \"restart\": Docker marks the container unhealthy but does not restart it");
    }
    let mut v = json!({
        "test": test,
        "interval": duration(h.interval),
        "timeout": duration(h.timeout),
        "retries": h.failures,
    });
    if !h.grace.is_zero() {
        v["start_period"] = json!(duration(h.grace));
    }
    Some((v, false))
}

fn service(p: &mut Program<'_>, image: &str) -> Value {
    let check = healthcheck(p);
    let from_ready = check.as_ref().is_some_and(|(_, r)| *r);
    let from_health = check.as_ref().is_some_and(|(_, r)| !*r);
    p.note_checks(
        "Compose",
        from_ready,
        from_health || (from_ready && p.cfg.health.is_some()),
        "dependents wait for it to start only",
    );
    let c = p.cfg;
    if p.uses_index() {
        p.drop("`{index}`: Compose replicas are identical; `{index}` became 0");
    }
    let command: Vec<String> = p
        .resolved_command("Compose")
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
    if let Some((h, _)) = check {
        s["healthcheck"] = h;
    }
    let ports = published(p);
    if !ports.is_empty() {
        s["ports"] = Value::Array(ports);
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
    let defaults = stead_config::Backoff::default();
    if c.backoff != defaults {
        p.drop("`backoff`: the Docker engine restarts with its own doubling delay");
    }
    if c.log != stead_config::LogSettings::default() {
        p.drop("`[log]` settings: output goes to the container's logging driver");
    }
    s
}

/// The TCP and UDP `sockets` as `ports:`: the container port published on the host at the
/// same port (and address, unless it is all of them). Replicas cannot share a host port, so
/// with `numprocs > 1` Docker chooses each replica's (noted).
fn published(p: &mut Program<'_>) -> Vec<Value> {
    let ports = crate::ports::ports(
        p,
        "Compose",
        ", on all of its container's interfaces (0.0.0.0 or [::]); Compose publishes it on the host",
        "the program must create it itself (a volume shares it with the host or other services)",
    );
    let replicas = p.cfg.numprocs > 1;
    if replicas && !ports.is_empty() {
        p.drop(format!(
            "`sockets` with `numprocs = {}`: replicas cannot all publish one host port (under stead the instances share one socket); each replica's is chosen by Docker (`docker compose port`): put a proxy in front for one address",
            p.cfg.numprocs
        ));
    }
    ports
        .iter()
        .map(|port| {
            let mut v = json!({
                "target": port.addr.port(),
                "protocol": port.protocol().to_ascii_lowercase(),
            });
            if !replicas {
                v["published"] = json!(port.addr.port());
            }
            if !port.addr.ip().is_unspecified() {
                v["host_ip"] = json!(port.addr.ip().to_string());
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{Format, Options, export};

    fn compose(text: &str) -> (String, Vec<String>) {
        let config =
            stead_config::Config::parse_portable(std::path::Path::new("/srv/stead.toml"), text)
                .unwrap();
        let options = Options {
            image: Some("app:1".into()),
            ..Options::default()
        };
        let out = export(&config, Format::Compose, &options).unwrap();
        let notes = out.warnings.into_iter().flat_map(|w| w.dropped).collect();
        (out.files[0].text.clone(), notes)
    }

    #[test]
    fn an_exec_ready_check_is_the_healthcheck_dependents_wait_for() {
        let (text, notes) = compose(
            "[program.db]\ncommand = ['/bin/db']\nready = { exec = ['pg_isready', '-q'], timeout = '30s' }\n\
             [program.web]\ncommand = ['/bin/web']\ndepends_on = ['db']\n",
        );
        assert!(text.contains("healthcheck:"), "{text}");
        assert!(
            text.contains("- \"CMD\"\n") && text.contains("- \"pg_isready\""),
            "{text}"
        );
        assert!(text.contains("start_period: \"30s\""), "{text}");
        assert!(text.contains("condition: \"service_healthy\""), "{text}");
        assert!(!notes.iter().any(|n| n.contains("`ready`")), "{notes:?}");
    }

    #[test]
    fn a_tcp_or_http_check_is_noted_with_the_exec_form_to_write() {
        let (text, notes) = compose(
            "[program.web]\ncommand = ['/bin/web']\nhealth = { http = 'http://127.0.0.1:8080/health' }\n",
        );
        assert!(!text.contains("healthcheck:"), "{text}");
        assert!(
            notes.iter().any(|n| n.contains("write the check as exec")),
            "{notes:?}"
        );
    }

    #[test]
    fn sockets_are_published_ports() {
        let (text, notes) = compose(
            "[program.web]\ncommand = ['/bin/web']\nsockets = ['tcp://0.0.0.0:8080', 'udp://127.0.0.1:53']\n\
             [program.pool]\ncommand = ['/bin/pool']\nnumprocs = 2\nsockets = ['tcp://0.0.0.0:9000']\n",
        );
        assert!(
            text.contains(
                "    ports:\n    - protocol: \"tcp\"\n      published: 8080\n      target: 8080\n    - host_ip: \"127.0.0.1\"\n      protocol: \"udp\"\n      published: 53\n      target: 53\n"
            ),
            "{text}"
        );
        // Replicas cannot share a host port: Docker chooses each one's.
        assert!(
            text.contains("    ports:\n    - protocol: \"tcp\"\n      target: 9000\n"),
            "{text}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("replicas cannot all publish one host port")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("Compose hands the program no socket")),
            "{notes:?}"
        );
    }
}
