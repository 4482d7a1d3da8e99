//! `--timeout` bounds how long the supervisor may take to answer, not the waits a command
//! is for: a stop waiting for a program that ignores SIGTERM, and `events -f`, run past it.
#![cfg(unix)]
mod support;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn waits_that_are_the_point_outlast_the_timeout() {
    let mut h = Harness::new("waits-outlast-timeout");
    h.write_config(
        "[program.stubborn]\ncommand = [\"{child}\", \"--ignore-term\", \"--sleep\", \"forever\"]\nstop_timeout = \"3s\"\n\n[program.b]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n",
    );
    h.up();
    // Follow events with a 1 s timeout while a stop takes 3 s.
    let mut follow = h
        .command()
        .args(["events", "-f", "--json", "--timeout", "1s", "b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let stop = h.stead(&["stop", "stubborn", "--timeout", "1s"]);
    let took = started.elapsed();
    assert!(stop.status.success(), "{}", text(&stop));
    assert!(took >= Duration::from_secs(2), "the stop waited: {took:?}");
    assert_eq!(h.state_of("stubborn"), "stopped");
    // The follower is still there, and sees what happens next.
    assert!(
        follow.try_wait().unwrap().is_none(),
        "events -f ended after {:?}",
        started.elapsed()
    );
    let restart = h.stead(&["restart", "b"]);
    assert!(restart.status.success(), "{}", text(&restart));
    std::thread::sleep(Duration::from_millis(500));
    assert!(follow.try_wait().unwrap().is_none(), "events -f ended");
    let _ = follow.kill();
    let _ = follow.wait();
    let mut out = String::new();
    follow
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let after_restart = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["program"] == "b" && e["kind"] == "stopping")
        .count();
    assert!(after_restart >= 1, "events seen:\n{out}");
}
