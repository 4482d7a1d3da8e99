//! On Linux a program's process starts in the supervisor's own memory and runs there until
//! it execs (no copy of the supervisor's address space is made). A signal that reaches it in
//! that window must act on the new process only: were the supervisor's handlers still in
//! place there, a SIGTERM meant for the program would be recorded in the supervisor's
//! memory and stop the whole supervisor. Here a program restarts as fast as it can while
//! every new process of the supervisor's gets SIGTERM and SIGINT the moment it is seen;
//! the supervisor and a second program must run on untouched.
#![cfg(target_os = "linux")]
mod support;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::*;

/// The pids of the supervisor's children, from every one of its threads.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[test]
fn signals_for_a_starting_program_never_reach_the_supervisor() {
    let mut h = Harness::new("signals-at-start");
    h.write_config(
        "[program.quick]\ncommand = [\"/bin/true\"]\nbackoff = { initial = \"0s\" }\nmax_restarts = 0\n\
         [program.steady]\ncommand = [\"sleep\", \"600\"]\n",
    );
    h.up();
    h.wait_for("steady running", Duration::from_secs(10), |h| {
        h.state_of("steady") == "running"
    });
    let steady = h.pid_of("steady").unwrap();
    let supervisor = h.supervisor_pid();
    let mut seen = HashSet::from([steady]);
    let start = Instant::now();
    let mut signalled = 0;
    while start.elapsed() < Duration::from_secs(5) {
        for pid in children_of(supervisor) {
            if seen.insert(pid) {
                // SAFETY: kill(2) on a child of the supervisor's; a pid already gone is ESRCH.
                unsafe {
                    libc::kill(pid as i32, libc::SIGTERM);
                    libc::kill(pid as i32, libc::SIGINT);
                }
                signalled += 1;
            }
        }
    }
    assert!(
        signalled > 100,
        "only {signalled} starts were seen in 5 s: the program did not restart quickly enough for this test to mean anything\n{}",
        h.log()
    );
    assert!(alive(supervisor), "the supervisor ended\n{}", h.log());
    let log = h.log();
    assert!(
        !log.contains("stopping (SIG") && !log.contains("shutting down"),
        "the supervisor took a signal meant for a starting program as its own ({signalled} signalled):\n{log}"
    );
    assert_eq!(h.state_of("steady"), "running", "{log}");
    assert_eq!(h.pid_of("steady"), Some(steady), "{log}");
    let restarts = h.program("quick")["restarts"].as_u64().unwrap();
    assert!(restarts > 100, "{restarts} restarts\n{log}");
}
