//! stead's timers run on the monotonic clock: with the wall clock jumped a day forward and
//! then two days back (libfaketime on the supervisor, monotonic left alone), a 3 s restart
//! backoff still takes about 3 s, and a 1 s health check keeps running about once a second.
//! A timer on the wall clock would fire at once after the forward jump, or wait two days
//! after the backward one.
//!
//! Needs libfaketime (`apt install libfaketime`); skips without it unless `CI=true`.
#![cfg(target_os = "linux")]
mod support;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn restarts(h: &Harness) -> u64 {
    h.program("crasher")["restarts"].as_u64().unwrap()
}

fn probe_runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("probes")).map_or(0, |s| s.lines().count())
}

/// Waits for the next restart and returns how long it took from `since`.
fn next_restart_after(h: &Harness, before: u64, since: Instant) -> Duration {
    h.wait_for("the next restart", Duration::from_secs(20), |h| {
        restarts(h) > before
    });
    since.elapsed()
}

/// The date (UTC) of the supervisor's newest event, as its (faked) wall clock gave it.
fn newest_event_date(h: &Harness) -> String {
    let out = h.stead(&["events", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().expect("an event");
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    v["ts"].as_str().unwrap()[..10].to_string()
}

/// The real UTC date `days` from now, from `date(1)` (not under libfaketime).
fn real_date(days: i32) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("{days} days"), "+%F"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
#[cfg_attr(
    not(has_faketime),
    ignore = "needs libfaketime (apt install libfaketime)"
)]
fn wall_clock_jumps_do_not_move_timers() {
    if skip_unless(
        Path::new(FAKETIME).exists(),
        "libfaketime is not installed (apt install libfaketime)",
    ) {
        return;
    }
    let mut h = Harness::new("clock-jump");
    let offset = h.dir.join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    h.write_config(
        r#"
[program.crasher]
command = ["{child}", "--exit", "1"]
backoff = { initial = "3s", max = "3s", multiplier = 1.0, jitter = 0.0 }
max_restarts = 0

[program.steady]
command = ["{child}", "--sleep", "forever"]
health = { exec = ["sh", "-c", "echo run >> {dir}/probes"], interval = "1s" }
"#,
    );
    h.up_with(|c| {
        c.env("LD_PRELOAD", FAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    });
    // Line up on a restart, so the next one is a full backoff away.
    let before = restarts(&h);
    next_restart_after(&h, before, Instant::now());

    // Offsets are from the real time: a jump of 20 days forward, then 60 days back.
    for (jump, days, label) in [("+20d", 20, "forward"), ("-40d", -40, "back")] {
        let before = restarts(&h);
        let probes = probe_runs(&h.dir);
        let t = Instant::now();
        std::fs::write(&offset, format!("{jump}\n")).unwrap();
        let took = next_restart_after(&h, before, t);
        // A restart may have been under way at the jump: at most one backoff after it.
        assert!(
            took <= Duration::from_secs(5),
            "after a jump {label}, the next restart took {took:?} (backoff 3 s)"
        );
        let before = restarts(&h);
        let t = Instant::now();
        let took = next_restart_after(&h, before, t);
        assert!(
            took >= Duration::from_millis(2500) && took <= Duration::from_secs(5),
            "after a jump {label}, a 3 s backoff took {took:?}"
        );
        let ran = probe_runs(&h.dir) - probes;
        assert!(
            ran >= 3,
            "the 1 s health check ran {ran} times in the ~6 s after a jump {label}"
        );
        // The jump reached the supervisor's wall clock (or this test proves nothing).
        let shown = newest_event_date(&h);
        assert!(
            [real_date(days - 1), real_date(days), real_date(days + 1)].contains(&shown),
            "after a jump {label} the supervisor's events are dated {shown}, not ~{}",
            real_date(days)
        );
    }
}
