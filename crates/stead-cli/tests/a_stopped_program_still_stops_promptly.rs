//! A program that was stopped (SIGSTOP, ^Z in a debugger) gets SIGCONT after its stop
//! signal, as systemd sends it: `stead stop` ends it at once instead of waiting the whole
//! `stop_timeout` and killing it.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn a_stopped_program_still_stops_promptly() {
    let mut h = Harness::new("sigstop");
    h.write_config(
        "[program.frozen]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\nstop_timeout = \"20s\"\n",
    );
    h.up();
    h.wait_for("frozen running", Duration::from_secs(10), |h| {
        h.state_of("frozen") == "running"
    });
    let pid = h.pid_of("frozen").unwrap();
    // SAFETY: kill(2) on the program this test started.
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    wait("the program to be stopped", Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('T'))
        }) || cfg!(not(target_os = "linux"))
    });
    let started = Instant::now();
    let o = h.stead(&["stop", "frozen"]);
    assert!(o.status.success(), "{}", text(&o));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the stop waited for the timeout: {took:?}"
    );
    let last = h.program("frozen")["last_exit"].clone();
    assert_eq!(
        last["signal"], "TERM",
        "ended by its stop signal, not killed: {last}"
    );
}
