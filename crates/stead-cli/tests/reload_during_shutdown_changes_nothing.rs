//! A reload (SIGHUP) that arrives while the supervisor is shutting down changes nothing: no
//! program is added or started, and the shutdown completes.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn reload_during_shutdown_changes_nothing() {
    let mut h = Harness::new("reload-in-shutdown");
    h.write_config(
        "[program.slow]\ncommand = [\"{child}\", \"--ignore-term\", \"--sleep\", \"forever\"]\nstop_timeout = \"1s\"\n",
    );
    h.up();
    h.wait_for("slow running", Duration::from_secs(5), |h| {
        h.state_of("slow") == "running"
    });
    let slow = h.pid_of("slow").unwrap();
    wait("slow to ignore SIGTERM", Duration::from_secs(5), || {
        ignores_term(slow)
    });
    h.write_config(
        "[program.slow]\ncommand = [\"{child}\", \"--ignore-term\", \"--sleep\", \"forever\"]\nstop_timeout = \"1s\"\n\
         [program.added]\ncommand = [\"{child}\", \"--write-pids\", \"{dir}/added\", \"--sleep\", \"forever\"]\n",
    );
    let pid = h.supervisor_pid() as i32;
    // SAFETY: plain kill(2) on the supervisor we started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: as above.
    unsafe {
        libc::kill(pid, libc::SIGHUP);
    }
    assert_eq!(h.wait_exit(Duration::from_secs(10)), 0);
    assert!(
        !h.dir.join("added").exists(),
        "a program was started during shutdown"
    );
    // The supervisor's host (the `stead` library) refuses it before it reaches the engine.
    assert!(
        h.log().contains("reload ignored while stopping"),
        "{}",
        h.log()
    );
}
