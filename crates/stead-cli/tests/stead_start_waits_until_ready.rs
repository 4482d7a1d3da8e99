//! `stead start` returns once the program is ready (its `ready` check passed), not when it
//! was merely spawned; a program that never becomes ready ends the wait at its ready
//! timeout with a failure; `--no-wait` returns at once.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn stead_start_waits_until_ready() {
    let mut h = Harness::new("start-ready");
    h.write_config(
        r#"
[program.slow]
command = ["sh", "-c", "sleep 1.5; echo up; exec sleep 1000"]
autostart = false
ready = { log = "^up$" }

[program.never]
command = ["sleep", "1000"]
autostart = false
ready = { exec = ["false"], interval = "100ms", timeout = "1s" }
max_restarts = 1
"#,
    );
    h.up();
    let t = Instant::now();
    let o = h.stead(&["start", "slow", "--json"]);
    let took = t.elapsed();
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["programs"][0]["ready"], true, "{report}");
    assert!(
        took >= Duration::from_millis(1400),
        "returned before ready: {took:?}"
    );

    let o = h.stead(&["stop", "slow"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = Instant::now();
    let o = h.stead(&["start", "slow", "--no-wait", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "--no-wait waited"
    );

    let o = h.stead(&["start", "never"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a start that never got ready fails: {}",
        text(&o)
    );
}
