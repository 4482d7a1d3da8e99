//! `stead export nomad`: a job (HCL) with one group per program — `count = numprocs`,
//! `{index}` → `${NOMAD_ALLOC_INDEX}` — and a `restart` block from the crash-loop limit
//! (`attempts` = `max_restarts` within `interval` = `restart_window`, `delay` = the first
//! backoff, `mode = "fail"`). Programs run by path on the host with the `raw_exec` driver,
//! or in their `image` with `docker`. Programs that run to completion (`restart =
//! "on-failure"`/`"never"`) go to a second job of type `batch`.

use std::fmt::Write;

use stead_config::RestartPolicy;

use crate::{File, Options, Program, duration, env_with};

pub(crate) fn render(programs: &mut [Program<'_>], options: &Options) -> Vec<File> {
    let mut files = Vec::new();
    for (kind, suffix) in [("service", ""), ("batch", "-batch")] {
        let mut groups = String::new();
        for p in programs.iter_mut() {
            let batch = p.cfg.restart != RestartPolicy::Always;
            if batch == (kind == "batch") {
                group(p, options, &mut groups);
            }
        }
        if groups.is_empty() {
            continue;
        }
        let name = format!("{}{suffix}", options.name);
        files.push(File {
            name: format!("{name}.nomad.hcl"),
            text: format!(
                "# Exported from stead.toml by `stead export nomad`; edit the source and export again.\njob {} {{\n  datacenters = [\"*\"]\n  type        = \"{kind}\"\n{groups}}}\n",
                hcl(&name)
            ),
        });
    }
    files
}

/// An HCL string: JSON escapes, and `${` / `%{` escaped so nothing is interpolated.
fn hcl(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// [`hcl`], then `{index}` as Nomad's allocation index.
fn hcl_indexed(s: &str) -> String {
    hcl(s).replace("{index}", "${NOMAD_ALLOC_INDEX}")
}

fn group(p: &mut Program<'_>, options: &Options, out: &mut String) {
    let c = p.cfg;
    // Nomad orders nothing between groups: one statement about `depends_on`, and a `ready`
    // that is not said to order anything.
    p.note_checks(
        "Nomad",
        false,
        false,
        "Nomad starts groups without waiting for one another",
    );
    let docker = c.image.is_some() || options.image.is_some();
    if !c.depends_on.is_empty() {
        p.drop(format!(
            "depends_on {:?}: not exported; Nomad starts groups in no order and waits for none of them (to wait, add a `lifecycle {{ hook = \"prestart\" }}` task that polls the dependency's service check)",
            c.depends_on
        ));
    }
    let image = c.image.clone().or_else(|| options.image.clone());
    let _ = writeln!(out, "\n  group {} {{", hcl(p.name));
    let _ = writeln!(out, "    count = {}", c.numprocs);
    let (attempts, mode) = match (c.restart, c.max_restarts) {
        (RestartPolicy::Never, _) => (0, "fail"),
        (_, 0) => {
            p.drop("`max_restarts = 0` (no limit): Nomad's `delay` mode keeps restarting after each interval");
            (10, "delay")
        }
        (_, n) => (n, "fail"),
    };
    let _ = writeln!(
        out,
        "\n    restart {{\n      attempts = {attempts}\n      interval = {}\n      delay    = {}\n      mode     = \"{mode}\"\n    }}",
        hcl(&duration(c.restart_window)),
        hcl(&duration(c.backoff.initial))
    );
    if c.backoff.multiplier > 1.0 && c.backoff.max > c.backoff.initial {
        p.drop("`backoff` grows exponentially; Nomad restarts after a fixed `delay` (the first backoff)");
    }
    let _ = writeln!(out, "\n    task {} {{", hcl(p.name));
    let _ = writeln!(
        out,
        "      driver = \"{}\"",
        if docker { "docker" } else { "raw_exec" }
    );
    let cmd = &p.resolved_command("Nomad");
    let args: Vec<String> = cmd.iter().skip(1).map(|a| hcl_indexed(a)).collect();
    let _ = writeln!(out, "\n      config {{");
    if let Some(image) = &image {
        let _ = writeln!(out, "        image   = {}", hcl(image));
    }
    let mut program = cmd.first().cloned().unwrap_or_default();
    if !docker && program.contains('/') && !std::path::Path::new(&program).is_absolute() {
        program = crate::normalize(&c.cwd.join(&program))
            .display()
            .to_string();
    }
    let _ = writeln!(out, "        command = {}", hcl_indexed(&program));
    let _ = writeln!(out, "        args    = [{}]", args.join(", "));
    let _ = writeln!(out, "      }}");
    let env = env_with(p, "{index}");
    if !env.is_empty() {
        // An object expression (`env = { … }`), where keys that are not identifiers may
        // be quoted; a block's attribute names could not be.
        let _ = writeln!(out, "\n      env = {{");
        for (k, v) in env {
            let ident = k
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let key = if ident { k.clone() } else { hcl(&k) };
            let _ = writeln!(out, "        {key} = {}", hcl_indexed(&v));
        }
        let _ = writeln!(out, "      }}");
    }
    if let Some(user) = &c.user {
        let _ = writeln!(out, "\n      user = {}", hcl(user));
    }
    if c.group_name.is_some() {
        p.drop("`group`: Nomad runs a task as `user` with that user's groups");
    }
    if c.template.env_file.is_some() {
        p.drop("`env_file` is not copied into the job (it may hold secrets); use a `template` block with `env = true`");
    }
    if !docker {
        p.drop(format!(
            "`cwd`: raw_exec runs in the allocation directory, not {}",
            c.cwd.display()
        ));
    }
    if !c.kill_tree {
        p.drop("`kill_tree = false`: Nomad stops the task's whole process tree");
    }
    if c.exit_codes != [0] {
        p.drop("`exit_codes`: Nomad counts only exit code 0 as success");
    }
    if c.stop_timeout == stead_config::INFINITY {
        p.drop("kill_timeout is also capped by the Nomad client's `max_kill_timeout` (30s by default): raise it on the clients");
    }
    let kill_timeout = p.finite_stop_timeout("Nomad", "kill_timeout");
    let _ = writeln!(
        out,
        "\n      kill_timeout = {}",
        hcl(&duration(kill_timeout))
    );
    let _ = writeln!(
        out,
        "      kill_signal  = {}",
        hcl(&format!("SIG{}", c.stop_signal.name()))
    );
    let _ = writeln!(out, "    }}\n  }}");
}

#[cfg(test)]
mod tests {
    use crate::{Format, Options, export};

    #[test]
    fn depends_on_and_ready_agree_that_nomad_orders_nothing() {
        let config = stead_config::Config::parse_portable(
            std::path::Path::new("/srv/stead.toml"),
            "[program.db]\ncommand = ['/bin/db']\nready = { tcp = '127.0.0.1:5432' }\n\
             [program.web]\ncommand = ['/bin/web']\ndepends_on = ['db']\n",
        )
        .unwrap();
        let out = export(&config, Format::Nomad, &Options::default()).unwrap();
        let notes: Vec<String> = out.warnings.into_iter().flat_map(|w| w.dropped).collect();
        assert!(
            !notes.iter().any(|n| n.contains("ordered")),
            "nothing claims an order: {notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("Nomad starts groups in no order")),
            "{notes:?}"
        );
    }
}
