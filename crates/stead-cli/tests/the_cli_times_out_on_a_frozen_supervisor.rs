//! A supervisor that does not answer (stopped with SIGSTOP) makes `stead status` give up
//! after `--timeout` with exit code 75 (temporary) and a message naming the socket and
//! what to do, instead of waiting forever.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn the_cli_times_out_on_a_frozen_supervisor() {
    let mut h = Harness::new("frozen-supervisor");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    let pid = h.supervisor_pid() as i32;
    // SAFETY: plain kill(2) on the supervisor this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let started = Instant::now();
    let out = h.stead(&["status", "--timeout", "1s"]);
    let took = started.elapsed();
    let by_env = h
        .command()
        .env("STEAD_TIMEOUT", "500ms")
        .arg("status")
        .output()
        .unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not answer within 1s"), "{err}");
    assert!(err.contains("stead.sock"), "the socket is named: {err}");
    assert!(err.contains("--timeout"), "what to do: {err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "gave up after {took:?}"
    );
    assert_eq!(by_env.status.code(), Some(75), "{}", text(&by_env));
    assert!(text(&by_env).contains("within 500ms"), "{}", text(&by_env));
    // Running again, it answers.
    assert_eq!(h.state_of("a"), "running");
    // A timeout of nothing is a usage error.
    let zero = h.stead(&["status", "--timeout", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero));
}
