//! Towards a service manager that waits for readiness (`NOTIFY_SOCKET`), stead sends
//! `READY=1` once every autostart program is ready — not when they were spawned — so that
//! `systemctl start` returns with the programs serving; a program that gives up before that
//! fails the start: stead stops, exits 100, and `STATUS=` says why. (A program without a
//! `ready` check is ready once running, as `Type=exec` is for systemd.)
#![cfg(unix)]
mod support;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use support::*;

fn listen(h: &Harness) -> (UnixDatagram, std::path::PathBuf) {
    let path = h.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    (sock, path)
}

/// Every datagram until one contains `want` (or the limit passes).
fn until(sock: &UnixDatagram, want: &str, limit: Duration) -> Vec<String> {
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.contains(want);
            seen.push(msg);
            if done {
                break;
            }
        }
    }
    seen
}

#[test]
fn ready_waits_for_every_program_to_be_ready() {
    let mut h = Harness::new("ready-gate");
    h.write_config(
        r#"
[program.fast]
command = ["sleep", "1000"]
[program.slow]
command = ["sh", "-c", "sleep 1.5; echo serving; exec sleep 1000"]
ready = { log = "^serving$" }
[program.later]
command = ["sleep", "1000"]
autostart = false
"#,
    );
    let (sock, path) = listen(&h);
    let t = Instant::now();
    h.up_with(|c| {
        c.env("NOTIFY_SOCKET", &path);
    });
    let seen = until(&sock, "READY=1", Duration::from_secs(15));
    let took = t.elapsed();
    assert!(
        seen.iter().any(|m| m.contains("READY=1")),
        "no READY=1: {seen:?}"
    );
    assert!(
        took >= Duration::from_millis(1400),
        "READY=1 before slow was ready: {took:?}"
    );
    assert_eq!(h.program("slow")["ready"], true);
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 0);
}

#[test]
fn a_program_that_gives_up_fails_the_start() {
    let mut h = Harness::new("ready-fail");
    h.write_config(
        r#"
[program.ok]
command = ["sleep", "1000"]
[program.broken]
command = ["sh", "-c", "exit 1"]
ready = { log = "^up$" }
max_restarts = 1
backoff = { initial = "50ms" }
"#,
    );
    let (sock, path) = listen(&h);
    h.up_with(|c| {
        c.env("NOTIFY_SOCKET", &path);
    });
    let seen = until(&sock, "start failed", Duration::from_secs(15));
    assert!(
        seen.iter()
            .any(|m| m.contains("STATUS=start failed: broken:")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|m| m.contains("READY=1")), "{seen:?}");
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 100, "{}", h.log());
}
