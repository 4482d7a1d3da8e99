//! A program whose log file cannot be opened keeps running: its output pipe is still drained
//! (it neither blocks on a full pipe nor dies of SIGPIPE), and the loss is reported.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn output_is_drained_even_when_the_log_cannot_be_written() {
    let mut h = Harness::new("log-unwritable");
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[program.chatty]
command = ["{child}", "--print", "200000", "--write-pids", "{dir}/pids", "--sleep", "forever"]
autostart = false
"#,
    );
    h.up();
    std::fs::remove_dir_all(h.dir.join("logs")).unwrap();
    assert!(h.stead(&["start", "chatty"]).status.success());
    // 200,000 lines are far more than a pipe holds: the pid file appears only once all of
    // them were read by the supervisor.
    h.wait_for(
        "the program to get past its output",
        Duration::from_secs(10),
        |h| h.dir.join("pids").exists(),
    );
    assert_eq!(h.state_of("chatty"), "running");
    assert_eq!(h.program("chatty")["restarts"], 0);
    assert!(h.log().contains("cannot open"), "{}", h.log());
}
