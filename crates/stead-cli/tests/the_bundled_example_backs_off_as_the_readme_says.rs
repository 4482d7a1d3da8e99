//! The quick start's example does what the README says: the one-shot migration runs first,
//! the server becomes ready, and the worker pool crashes and is restarted — worker:0, which
//! dies sooner than `reset_after`, with a growing backoff, and worker:1, which runs longer,
//! at once.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn the_bundled_example_backs_off_as_the_readme_says() {
    let mut h = Harness::new("example");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/stead.toml");
    h.write_config(&std::fs::read_to_string(example).unwrap());
    h.up();
    h.wait_for("the migration to finish", Duration::from_secs(20), |h| {
        h.state_of("migrate") == "exited"
    });
    h.wait_for("web ready", Duration::from_secs(20), |h| {
        h.program("web")["ready"] == true
    });
    let mut delays = Vec::new();
    h.wait_for("worker:0 to back off twice", Duration::from_secs(40), |h| {
        let w = h.program("worker:0");
        let reason = w["reason"].as_str().unwrap_or_default().to_string();
        if w["state"] == "backoff"
            && let Some(d) = reason.split("restarting in ").nth(1)
            && delays.last().map(String::as_str) != Some(d)
        {
            delays.push(d.to_string());
        }
        delays.len() >= 2
    });
    let secs = |d: &str| stead_supervisor::parse_duration(d).unwrap().as_secs_f64();
    assert!(
        secs(&delays[1]) > secs(&delays[0]),
        "the backoff grows: {delays:?}"
    );
    assert!(h.program("worker:0")["restarts"].as_u64().unwrap() >= 2);
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 0);
}
