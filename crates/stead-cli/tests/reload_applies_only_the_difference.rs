//! Reload with an added, a removed, a changed and an unchanged program: the unchanged one
//! keeps its process; a broken file changes nothing and says where it is broken.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

const BASE: &str = r#"
[program.same]
command = ["{child}", "--sleep", "forever"]
[program.gone]
command = ["{child}", "--sleep", "forever"]
[program.changed]
command = ["{child}", "--sleep", "forever"]
"#;

#[test]
fn reload_applies_only_the_difference() {
    let mut h = Harness::new("reload");
    h.write_config(BASE);
    h.up();
    h.wait_for("all running", Duration::from_secs(5), |h| {
        ["same", "gone", "changed"]
            .iter()
            .all(|n| h.state_of(n) == "running")
    });
    let same = h.pid_of("same").unwrap();
    let gone = h.pid_of("gone").unwrap();
    let changed = h.pid_of("changed").unwrap();

    h.write_config(
        r#"
[program.same]
command = ["{child}", "--sleep", "forever"]
[program.changed]
command = ["{child}", "--sleep", "forever", "--exit", "0"]
[program.added]
command = ["{child}", "--sleep", "forever"]
"#,
    );
    let out = h.stead(&["reload", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], serde_json::json!(["added"]));
    assert_eq!(report["removed"], serde_json::json!(["gone"]));
    assert_eq!(report["changed"], serde_json::json!(["changed"]));
    assert_eq!(report["unchanged"], serde_json::json!(["same"]));

    h.wait_for("the new shape", Duration::from_secs(5), |h| {
        let s = h.status();
        let names: Vec<&str> = s["programs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        names == ["same", "changed", "added"]
            && h.state_of("added") == "running"
            && h.state_of("changed") == "running"
    });
    assert_eq!(
        h.pid_of("same"),
        Some(same),
        "an unchanged program keeps running untouched"
    );
    assert_ne!(
        h.pid_of("changed"),
        Some(changed),
        "a changed program is restarted"
    );
    assert!(!alive(gone), "a removed program is stopped");
    assert!(!alive(changed));

    // A broken file: nothing changes, and the error names the line.
    std::fs::write(&h.config, "[program.same]\ncommand = [\"x\"\n").unwrap();
    let out = h.stead(&["reload"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reload refused, nothing changed"), "{err}");
    assert!(err.contains("stead.toml:2:"), "{err}");
    assert_eq!(h.pid_of("same"), Some(same));
    assert_eq!(h.status()["programs"].as_array().unwrap().len(), 3);

    // SIGHUP reloads too.
    h.write_config(BASE);
    // SAFETY: plain kill(2) on the supervisor we started.
    unsafe { libc::kill(h.supervisor_pid() as i32, libc::SIGHUP) };
    h.wait_for("gone to come back", Duration::from_secs(5), |h| {
        h.status()["programs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "gone" && p["state"] == "running")
    });
    assert_eq!(h.pid_of("same"), Some(same));
}

#[test]
fn a_program_put_back_while_it_is_being_removed_runs_again() {
    let mut h = Harness::new("reload-back");
    let with_x = "[program.x]\ncommand = [\"{child}\", \"--ignore-term\", \"--sleep\", \"forever\"]\nstop_timeout = \"4s\"\n\
                  [program.y]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n";
    h.write_config(with_x);
    h.up();
    h.wait_for("x running", Duration::from_secs(5), |h| {
        h.state_of("x") == "running"
    });
    let old = h.pid_of("x").unwrap();
    // "running" is reported at the spawn: wait until the child ignores TERM, or the stop
    // below can reach it first and it would not still be stopping.
    wait("x to ignore SIGTERM", Duration::from_secs(5), || {
        ignores_term(old)
    });
    h.write_config("[program.y]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    assert!(h.stead(&["reload"]).status.success());
    assert_eq!(
        h.state_of("x"),
        "stopping",
        "x ignores TERM, so it is still stopping"
    );
    h.write_config(with_x);
    assert!(h.stead(&["reload"]).status.success());
    h.wait_for("x to run again", Duration::from_secs(20), |h| {
        h.state_of("x") == "running" && h.pid_of("x") != Some(old)
    });
    assert!(!alive(old));
}

/// A change to a supervisor-level setting that a running stead cannot apply (adding
/// `[metrics] listen`) is reported as needing a restart, not silently called "unchanged".
#[test]
fn supervisor_settings_that_need_a_restart_are_named() {
    let mut h = Harness::new("reload-metrics");
    let program = "[program.y]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n";
    h.write_config(program);
    h.up();
    let port = free_port();
    h.write_config(&format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\n{program}"
    ));
    let o = h.stead(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("[metrics] listen") && said.contains("restarts"),
        "{said}"
    );
    let o = h.stead(&["reload", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["needs_restart"][0], "[metrics] listen", "{report}");
}
