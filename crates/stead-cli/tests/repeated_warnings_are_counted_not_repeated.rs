//! Warnings a flood repeats are logged once, then counted: another user connecting 10,000
//! times, and a log file that fails on every retry, leave a few lines in the supervisor's
//! log, one of them with the count, not one line each.
#![cfg(target_os = "linux")]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use support::*;

/// Run as `nobody` by the test below (this binary, copied where `nobody` can run it): connects
/// to the socket in `STEAD_FLOOD_SOCKET` 10,000 times. Does nothing when run by itself.
#[test]
fn flood_helper() {
    let Ok(sock) = std::env::var("STEAD_FLOOD_SOCKET") else {
        return;
    };
    let mut connected = 0;
    for _ in 0..10_000 {
        if UnixStream::connect(&sock).is_ok() {
            connected += 1;
        }
    }
    println!("connected {connected}");
}

#[test]
fn repeated_warnings_are_counted_not_repeated() {
    let mut h = Harness::new("counted-warnings");
    // A name too long for a file name: its log cannot be opened, and is retried every second.
    let long = "x".repeat(250);
    h.write_config(&format!(
        "[program.{long}]\ncommand = [\"{{child}}\", \"--stdout\", \"hello\", \"--sleep\", \"forever\"]\n"
    ));
    h.up();
    let flood = is_root();
    if !skip_unless(flood, "connecting as another uid needs root") {
        std::fs::set_permissions(&h.state, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = h.state.join("stead.sock");
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        let copy = h.dir.join("flood-as-nobody");
        std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(&copy)
            .args(["--exact", "flood_helper", "--nocapture"])
            .env("STEAD_FLOOD_SOCKET", &sock)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("connected 10000"), "{}", text(&out));
    }
    // The counts are told once the 10 s window is over.
    h.wait_for("the counted warnings", Duration::from_secs(20), |h| {
        let log = h.log();
        log.contains("more like this in the last 10 s")
            && (!flood
                || log
                    .lines()
                    .any(|l| l.contains("refused a connection") && l.contains("more like this")))
    });
    let log = h.log();
    let cannot_open = log.lines().filter(|l| l.contains("cannot open")).count();
    assert!(
        (1..=3).contains(&cannot_open),
        "{cannot_open} lines about the log file:\n{log}"
    );
    if flood {
        let refused: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("refused a connection"))
            .collect();
        assert!(refused.len() <= 3, "{} lines: {refused:#?}", refused.len());
        assert!(
            refused.iter().any(|l| l.contains("more like this")),
            "{refused:#?}"
        );
    }
    assert!(
        log.len() < 16 * 1024,
        "the supervisor's log is {} bytes:\n{log}",
        log.len()
    );
    // The supervisor still answers its owner.
    assert!(h.try_status().is_some());
}
