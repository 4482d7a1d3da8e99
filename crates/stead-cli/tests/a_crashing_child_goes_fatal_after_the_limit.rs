//! A child that crashes at once is restarted with growing backoff, then goes `fatal` with
//! the reason, once it exceeds `max_restarts` within `restart_window`.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn a_crashing_child_goes_fatal_after_the_limit() {
    let mut h = Harness::new("crash-loop");
    h.write_config(
        r#"
[program.crasher]
command = ["{child}", "--exit", "3"]
backoff = { initial = "100ms", multiplier = 2.0, max = "10s", jitter = 0.0 }
max_restarts = 3
restart_window = "1m"
"#,
    );
    let start = Instant::now();
    h.up();
    h.wait_for("fatal", Duration::from_secs(10), |h| {
        h.state_of("crasher") == "fatal"
    });
    let elapsed = start.elapsed();
    let p = h.program("crasher");
    assert_eq!(p["restarts"], 3, "{p}");
    assert_eq!(p["last_exit"]["code"], 3, "{p}");
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains("restarted 3 times within 1m (max_restarts = 3)"),
        "{reason}"
    );
    assert!(
        reason.contains("stead start crasher"),
        "the reason says how to recover: {reason}"
    );
    // Three backoff delays: 100 + 200 + 400 ms.
    assert!(
        elapsed >= Duration::from_millis(700),
        "backoff not respected: fatal after {elapsed:?}"
    );
    // The supervisor log shows each delay.
    let log = h.log();
    for d in [
        "restarting in 100ms",
        "restarting in 200ms",
        "restarting in 400ms",
    ] {
        assert!(log.contains(d), "missing `{d}` in:\n{log}");
    }
    // Starting it again by hand clears the crash history: it gets three more restarts.
    let out = h.stead(&["start", "crasher"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    h.wait_for("a second fatal", Duration::from_secs(10), |h| {
        h.state_of("crasher") == "fatal" && h.program("crasher")["restarts"] == 6
    });
}
