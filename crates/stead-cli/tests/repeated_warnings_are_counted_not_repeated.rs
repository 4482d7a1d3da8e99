//! Warnings a flood repeats are logged once, then counted: another user connecting 10,000
//! times, and a log file that cannot be opened on any retry, each leave a few lines in the
//! supervisor's log, one of them with the count, not one line each.
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

/// A supervisor whose one program's log cannot be opened (a directory stands at its path),
/// retried every second.
fn started(name: &str) -> Harness {
    let mut h = Harness::new(name);
    std::fs::create_dir_all(h.dir.join("logs/app.out.log")).unwrap();
    h.write_config(
        "[supervisor]\nlog_dir = \"{dir}/logs\"\n\n\
         [program.app]\ncommand = [\"{child}\", \"--stdout\", \"hello\", \"--sleep\", \"forever\"]\n",
    );
    h.up();
    h
}

/// The counts are told once the 10 s window is over; the supervisor's log stays short and
/// it still answers its owner.
fn wait_for_the_count(h: &Harness, of: &str) -> String {
    h.wait_for("the counted warnings", Duration::from_secs(20), |h| {
        h.log()
            .lines()
            .any(|l| l.contains(of) && l.contains("more like this in the last 10 s"))
    });
    let log = h.log();
    let lines = log.lines().filter(|l| l.contains(of)).count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} lines about {of:?}:\n{log}"
    );
    assert!(
        log.len() < 16 * 1024,
        "the supervisor's log is {} bytes:\n{log}",
        log.len()
    );
    assert!(h.try_status().is_some());
    log
}

#[test]
fn a_log_file_that_fails_every_retry_is_counted_not_repeated() {
    let h = started("counted-warnings");
    wait_for_the_count(&h, "cannot open");
}

#[test]
#[cfg_attr(not(has_root), ignore = "needs root (to connect as another uid)")]
fn refused_connections_of_another_user_are_counted_not_repeated() {
    if skip_unless(is_root(), "connecting as another uid needs root") {
        return;
    }
    let h = started("counted-refusals");
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
    wait_for_the_count(&h, "refused a connection");
}
