//! `stead run` supervises one command in the foreground and exits with its code once it ends
//! for good; Ctrl-C (SIGINT) stops it gracefully.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn stead_run_exits_with_the_programs_code() {
    let h = Harness::new("run-exit");
    let out = h.stead(&["run", "--restart", "never", "--", "false"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = testchild();
    let out = h.stead(&[
        "run",
        "--restart",
        "never",
        "--",
        child.to_str().unwrap(),
        "--exit",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    // on-failure: success ends it, with code 0.
    let out = h.stead(&[
        "run",
        "--restart",
        "on-failure",
        "--",
        child.to_str().unwrap(),
        "--exit",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0));
    // The program's output goes straight to our stdout.
    let out = h.stead(&[
        "run",
        "--restart",
        "never",
        "--",
        child.to_str().unwrap(),
        "--stdout",
        "hello from the child",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from the child"));
    // --shell opts into a shell, given the command as one argument.
    let out = h.stead(&[
        "run",
        "--restart",
        "never",
        "--shell",
        "--",
        "echo piped | tr a-z A-Z; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PIPED"));
}

#[test]
fn a_crash_loop_under_stead_run_exits_100() {
    let h = Harness::new("run-fatal");
    let child = testchild();
    let out = h.stead(&[
        "run",
        "--max-restarts",
        "2",
        "--backoff-initial",
        "10ms",
        "--",
        child.to_str().unwrap(),
        "--exit",
        "1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(100),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fatal"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_program_is_a_usage_error() {
    let h = Harness::new("run-missing");
    let out = h.stead(&["run", "--", "no-such-program-stead-test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("program `no-such-program-stead-test` not found in PATH")
    );
}

#[test]
fn ctrl_c_stops_stead_run_gracefully() {
    let h = Harness::new("run-sigint");
    let pids = h.dir.join("pids");
    let child = h
        .command()
        .args([
            "run",
            "--",
            testchild().to_str().unwrap(),
            "--spawn-grandchild",
            "1",
            "--write-pids",
            pids.to_str().unwrap(),
            "--sleep",
            "forever",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    h.wait_for("the child", Duration::from_secs(5), |_| {
        read_pids(&pids).len() == 2
    });
    let start = Instant::now();
    // SAFETY: plain kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        out.status.success(),
        "a requested stop is not a failure: {:?}",
        out.status
    );
    for pid in read_pids(&pids) {
        assert!(!alive(pid), "{pid} outlived stead run");
    }
}

/// A command that fails at once ends as fatal even when its backoff has spread the restarts
/// beyond the window (the default `sh -c 'exit 3'` case restarted forever every 30 s): the
/// restarts are counted in a row, and the backoff never exceeds its cap, jitter included.
#[test]
fn a_command_that_never_stays_up_goes_fatal_though_backoff_spreads_it() {
    let h = Harness::new("run-fatal-spread");
    let started = std::time::Instant::now();
    let out = h.stead(&[
        "run",
        "--max-restarts",
        "3",
        "--restart-window",
        "50ms",
        "--backoff-initial",
        "100ms",
        "--backoff-max",
        "200ms",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{err}");
    assert!(err.contains("3 times in a row"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
