//! `stead export nomad`: a job (HCL) with one group per program — `count = numprocs`,
//! `{index}` → `${NOMAD_ALLOC_INDEX}` — and a `restart` block from the crash-loop limit
//! (`attempts` = `max_restarts` within `interval` = `restart_window`, `delay` = the first
//! backoff, `mode = "fail"`). Programs run by path on the host with the `raw_exec` driver,
//! or in their `image` with `docker`. Programs that run to completion (`restart =
//! "on-failure"`/`"never"`) go to a second job of type `batch`. TCP and UDP `sockets` are
//! static ports of the group's `network` (and the docker task's `ports`).

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
    let labels = network(p, docker, out);
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
    if docker && !labels.is_empty() {
        let labels: Vec<String> = labels.iter().map(|l| hcl(l)).collect();
        let _ = writeln!(out, "        ports   = [{}]", labels.join(", "));
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

/// The TCP and UDP `sockets` as static ports of the group's `network` block (Nomad reserves a
/// port number for both protocols); their labels, for the docker driver's `ports`. A label is
/// the socket's name when it is letters, digits and `_` and no other port has it, else
/// `port_N`.
fn network(p: &mut Program<'_>, docker: bool, out: &mut String) -> Vec<String> {
    let inside = if docker {
        ", on all of its container's interfaces (0.0.0.0 or [::]), and Docker publishes it on the client"
    } else {
        ""
    };
    let fix = if docker {
        "the program must create it itself (a volume shares it with other tasks)"
    } else {
        "the program must create it itself"
    };
    let ports = crate::ports::ports(p, "Nomad", inside, fix);
    let mut numbers: Vec<(u16, &str)> = Vec::new();
    for port in &ports {
        if !numbers.iter().any(|(n, _)| *n == port.addr.port()) {
            numbers.push((port.addr.port(), &port.name));
        }
    }
    let valid = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let labels: Vec<String> = numbers
        .iter()
        .map(|(n, name)| {
            let own = valid(name)
                && numbers.iter().filter(|(_, o)| o == name).count() == 1
                && !numbers.iter().any(|(o, _)| format!("port_{o}") == *name);
            if own {
                (*name).to_string()
            } else {
                format!("port_{n}")
            }
        })
        .collect();
    if labels.is_empty() {
        return labels;
    }
    let _ = writeln!(out, "\n    network {{");
    for ((n, _), label) in numbers.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "      port {} {{\n        static = {n}\n      }}",
            hcl(label)
        );
    }
    let _ = writeln!(out, "    }}");
    if p.cfg.numprocs > 1 {
        p.drop(format!(
            "`sockets` with `numprocs = {}`: each allocation reserves its static ports on its client, so Nomad places every one on a client of its own (under stead the instances share one socket)",
            p.cfg.numprocs
        ));
    }
    labels
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

    #[test]
    fn sockets_are_static_ports_of_the_group() {
        let config = stead_config::Config::parse_portable(
            std::path::Path::new("/srv/stead.toml"),
            "[program.web]\ncommand = ['/bin/web']\nsockets = [{ listen = 'tcp://0.0.0.0:8080', name = 'http' }, \
             'udp://0.0.0.0:8080', 'tcp://0.0.0.0:9090']\n",
        )
        .unwrap();
        let out = export(&config, Format::Nomad, &Options::default()).unwrap();
        let text = &out.files[0].text;
        assert!(
            text.contains(
                "    network {\n      port \"http\" {\n        static = 8080\n      }\n      port \"web\" {\n        static = 9090\n      }\n    }\n"
            ),
            "{text}"
        );
        // raw_exec runs on the client: no port mapping.
        assert!(!text.contains("ports   ="), "{text}");
        let options = Options {
            image: Some("app:1".into()),
            ..Options::default()
        };
        let out = export(&config, Format::Nomad, &options).unwrap();
        assert!(
            out.files[0]
                .text
                .contains("        ports   = [\"http\", \"web\"]\n"),
            "{}",
            out.files[0].text
        );
    }
}
