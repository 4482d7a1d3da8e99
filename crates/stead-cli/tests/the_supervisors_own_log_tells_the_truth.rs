//! stead's own log says what happened, at the level it deserves: a one-shot task that
//! succeeds is news (INFO), not a warning; a shutdown counts the programs it really stops;
//! a second `stead up` on the same state directory is refused before it claims to supervise
//! anything; and a daemon's log starts with the line that says what it supervises.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

const CONFIG: &str = r#"
[program.task]
command = ["sh", "-c", "exit 0"]
restart = "never"
[program.a]
command = ["sleep", "1000"]
[program.b]
command = ["sleep", "1000"]
[program.manual]
command = ["sleep", "1000"]
autostart = false
"#;

#[test]
fn the_supervisors_own_log_tells_the_truth() {
    let mut h = Harness::new("own-log");
    h.write_config(CONFIG);
    h.up();
    h.wait_for("the task to finish", Duration::from_secs(10), |h| {
        h.state_of("task") == "exited"
    });
    let second = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert!(!second.status.success());
    let said = text(&second);
    assert!(
        !said.contains("supervising"),
        "a refused second supervisor claimed to supervise:\n{said}"
    );
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 0);
    let log = h.log();
    let task_line = log
        .lines()
        .find(|l| l.contains("program=task") && l.contains("exited"))
        .unwrap_or_else(|| panic!("no exit line for task:\n{log}"));
    assert!(task_line.contains("INFO"), "{task_line}");
    assert!(
        log.contains("stopping 2 running program(s)"),
        "two programs run at shutdown (the task ended, manual never started):\n{log}"
    );
    assert!(log.contains("supervising 4 program(s)"), "{log}");
}

#[test]
fn a_daemons_log_starts_with_what_it_supervises() {
    let h = Harness::new("daemon-log");
    h.write_config("[program.a]\ncommand = [\"sleep\", \"1000\"]\n");
    let log_file = h.dir.join("daemon.log");
    let out = h.stead(&[
        "up",
        "--daemon",
        "--log-file",
        log_file.to_str().unwrap(),
        "-c",
        h.config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert!(log.contains("supervising 1 program(s)"), "{log}");
}
