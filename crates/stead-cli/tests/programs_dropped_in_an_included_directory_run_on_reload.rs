//! `[supervisor] include = ["conf.d/*.toml"]`: a supervisor may start with an empty drop-in
//! directory and no program at all (as a package installs it), and a program file dropped in
//! later runs on `stead reload`; removing the file stops it on the next reload. A broken
//! drop-in file is refused by reload, naming that file, and changes nothing.

#![cfg(unix)]

mod support;

use std::time::Duration;

use support::Harness;

#[test]
fn programs_dropped_in_an_included_directory_run_on_reload() {
    let mut h = Harness::new("include-reload");
    std::fs::create_dir_all(h.dir.join("conf.d")).unwrap();
    h.write_config("[supervisor]\ninclude = [\"conf.d/*.toml\"]\n");
    h.up();
    assert_eq!(h.status()["programs"].as_array().unwrap().len(), 0);

    let drop_in = h.dir.join("conf.d/web.toml");
    std::fs::write(
        &drop_in,
        format!(
            "[program.web]\ncommand = [\"{}\", \"--sleep\", \"forever\"]\n",
            support::testchild().display()
        ),
    )
    .unwrap();
    let out = h.stead(&["reload"]);
    assert!(out.status.success(), "{}", support::text(&out));
    h.wait_for("web to run", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    let pid = h.pid_of("web").unwrap();

    // A broken file is refused with its own name and line; web keeps running untouched.
    std::fs::write(
        h.dir.join("conf.d/bad.toml"),
        "[program.bad]\ncommand = 42\n",
    )
    .unwrap();
    let out = h.stead(&["reload"]);
    assert!(!out.status.success());
    let text = support::text(&out);
    assert!(text.contains("conf.d/bad.toml:2:11"), "{text}");
    assert_eq!(h.pid_of("web"), Some(pid));
    std::fs::remove_file(h.dir.join("conf.d/bad.toml")).unwrap();

    std::fs::remove_file(&drop_in).unwrap();
    let out = h.stead(&["reload"]);
    assert!(out.status.success(), "{}", support::text(&out));
    h.wait_for("web to be gone", Duration::from_secs(10), |h| {
        h.status()["programs"].as_array().unwrap().is_empty()
    });
    assert!(!support::alive(pid), "web's process survived its removal");
    let out = h.stead(&["shutdown"]);
    assert!(out.status.success(), "{}", support::text(&out));
    assert_eq!(h.wait_exit(Duration::from_secs(10)), 0);
}
