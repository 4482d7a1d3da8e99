//! SIGKILL of a child: `always` and `on-failure` restart it, `never` leaves it exited; a
//! clean exit under `on-failure` is not restarted.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn a_killed_child_is_restarted_per_policy() {
    let mut h = Harness::new("restart-policy");
    h.write_config(
        r#"
[program.always]
command = ["{child}", "--sleep", "forever"]
restart = "always"
[program.onfail]
command = ["{child}", "--sleep", "forever"]
restart = "on-failure"
[program.never]
command = ["{child}", "--sleep", "forever"]
restart = "never"
[program.clean]
command = ["{child}", "--sleep", "300ms", "--exit", "0"]
restart = "on-failure"
"#,
    );
    h.up();
    h.wait_for("all running", Duration::from_secs(5), |h| {
        ["always", "onfail", "never"]
            .iter()
            .all(|n| h.state_of(n) == "running")
    });
    let before: Vec<u32> = ["always", "onfail", "never"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    for pid in &before {
        sigkill(*pid);
    }
    for (name, old) in ["always", "onfail"].iter().zip(&before) {
        h.wait_for(&format!("{name} restarted"), Duration::from_secs(5), |h| {
            h.pid_of(name).is_some_and(|p| p != *old) && h.state_of(name) == "running"
        });
        let p = h.program(name);
        assert_eq!(p["restarts"], 1, "{p}");
        assert_eq!(p["last_exit"]["signal"], "KILL", "{p}");
    }
    h.wait_for("never to be exited", Duration::from_secs(5), |h| {
        h.state_of("never") == "exited"
    });
    let never = h.program("never");
    assert_eq!(never["last_exit"]["signal"], "KILL", "{never}");
    assert!(
        never["reason"].as_str().unwrap().contains("not restarted"),
        "{never}"
    );
    assert_eq!(never["restarts"], 0);
    h.wait_for("clean to exit", Duration::from_secs(5), |h| {
        h.state_of("clean") == "exited"
    });
    assert_eq!(h.program("clean")["last_exit"]["code"], 0);
    assert_eq!(h.program("clean")["restarts"], 0);
}
