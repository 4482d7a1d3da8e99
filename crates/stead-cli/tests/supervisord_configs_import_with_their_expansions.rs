//! A realistic supervisord config (tests/fixtures/supervisord/app.conf in stead-export):
//! `command=` continued on indented lines, `%(here)s` as the file's absolute directory,
//! `%(program_name)s`, `%(group_name)s`, `%(process_num)d` as `{index}` (a zero-padded width
//! noted), `%(host_node_name)s` as this host's name (noted), `%(ENV_X)s` as stead's `${X}`, a
//! literal `$` kept literal; nothing expanded silently, and the result is a valid config.
#![cfg(unix)]
mod support;
use support::*;

#[test]
fn supervisord_configs_import_with_their_expansions() {
    let h = Harness::new("supervisord-import");
    let conf = std::path::PathBuf::from(format!(
        "{}/../stead-export/tests/fixtures/supervisord/app.conf",
        env!("CARGO_MANIFEST_DIR")
    ));
    let here = std::fs::canonicalize(conf.parent().unwrap()).unwrap();
    let here = here.display();
    let path = h.dir.join("app.toml");
    let out = h.stead(&[
        "import",
        "supervisord",
        conf.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let toml = std::fs::read_to_string(&path).unwrap();
    let c = stead_supervisor::Config::load_portable(&path).unwrap();
    let program = |name: &str| {
        c.programs
            .iter()
            .find(|p| p.group == name)
            .unwrap_or_else(|| panic!("no {name} in {toml}"))
    };

    // Continued lines are one command; `%(here)s` is absolute.
    let web = program("web");
    assert_eq!(
        web.template.command,
        [
            format!("{here}/venv/bin/gunicorn"),
            "--bind".into(),
            "127.0.0.1:8000".into(),
            "--workers".into(),
            "4".into(),
            "--access-logfile".into(),
            "-".into(),
            "app.wsgi:application".into(),
        ]
    );
    assert_eq!(web.cwd.display().to_string(), here.to_string());
    // An environment entry that only passes supervisord's own variable on is left out (the
    // program inherits it), and says so.
    assert!(!web.template.env.contains_key("DATABASE_URL"), "{toml}");
    assert!(err.contains("inherits DATABASE_URL"), "{err}");

    // numprocs with %(process_num)d, %(host_node_name)s, %(ENV_QUEUES)s.
    let worker = program("worker");
    assert_eq!(worker.numprocs, 3);
    let cmd = worker.template.command.join(" ");
    assert!(cmd.contains("--hostname worker-{index}@"), "{cmd}");
    assert!(cmd.contains("--queues ${QUEUES}"), "{cmd}");
    assert!(!cmd.contains("%("), "{cmd}");
    assert!(
        err.contains("%(host_node_name)s` became this host's name"),
        "{err}"
    );
    assert!(err.contains("stead names the instances worker:0"), "{err}");

    // %(group_name)s, and the shell's `$` stays the shell's.
    let scheduler = program("scheduler");
    assert!(
        scheduler.template.command[2].contains("/tmp/scheduler-scheduler.db")
            && scheduler.template.command[2].contains("$HOME"),
        "{:?}",
        scheduler.template.command
    );
    assert!(toml.contains("$$HOME"), "{toml}");

    // Nothing of supervisord's syntax is kept without a word.
    for line in toml.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains("%("), "{line}");
    }
}
