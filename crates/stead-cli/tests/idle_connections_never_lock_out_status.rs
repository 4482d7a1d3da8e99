//! Connections that send nothing cannot lock the owner out: with 200 of them open (more
//! than the 128 the supervisor keeps), `stead status` is answered at once, and the
//! supervisor's descriptors stay bounded.
#![cfg(unix)]
mod support;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use support::*;

fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(Iterator::count)
}

#[test]
fn idle_connections_never_lock_out_status() {
    let mut h = Harness::new("idle-connections");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    let before = open_fds(h.supervisor_pid());
    let sock = h.state.join("stead.sock");
    let mut idle: Vec<UnixStream> = Vec::new();
    for round in 0..2 {
        // 200 more idle connections each round; the oldest idle ones are closed to make room.
        idle.extend((0..200).map(|_| UnixStream::connect(&sock).expect("connect")));
        let started = Instant::now();
        let out = h.stead(&["status", "--json"]);
        let took = started.elapsed();
        assert!(out.status.success(), "round {round}: {}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["programs"][0]["name"], "a", "{report}");
        assert_eq!(report["programs"][0]["state"], "running", "{report}");
        // Answered at once, not after an idle connection's 2 s head timeout (generous
        // for a loaded machine).
        assert!(
            took < Duration::from_millis(1500),
            "round {round}: status took {took:?}"
        );
    }
    // However many connect, the supervisor keeps at most 128 of them.
    if let (Some(before), Some(now)) = (before, open_fds(h.supervisor_pid())) {
        assert!(
            now <= before + 128 + 16,
            "{now} descriptors with 400 idle connections, {before} before"
        );
    }
    // Idle connections are closed within 2 s of silence.
    std::thread::sleep(Duration::from_secs(3));
    if let (Some(before), Some(now)) = (before, open_fds(h.supervisor_pid())) {
        assert!(
            now <= before + 2,
            "{now} descriptors 3 s after, {before} before"
        );
    }
    drop(idle);
}
