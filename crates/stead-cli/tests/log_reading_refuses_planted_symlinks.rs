//! `stead logs` (often run as root) never reads through a symlink planted among a program's
//! rotated files, nor anything else that is not a regular file: a link to a 0600 secret is
//! not printed, a FIFO does not hang the command, and each is named with why on stderr while
//! the program's own lines are printed as usual.
#![cfg(unix)]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn log_reading_refuses_planted_symlinks() {
    let mut h = Harness::new("log-read-symlink");
    let logs = h.dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o770)).unwrap();
    let secret = h.dir.join("secret");
    std::fs::write(&secret, "2026-01-01T00:00:00.000000Z the-secret-value\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    // What another user who can write the log directory could leave there.
    let link = logs.join("web.out.20260101T000000.000000Z.log");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let fifo = logs.join("web.out.20260101T000001.000000Z.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"

[program.web]
command = ["{child}", "--stdout", "my own line", "--sleep", "forever"]
"#,
    );
    h.up();
    h.wait_for(
        "the program's line in its log",
        Duration::from_secs(10),
        |_| {
            std::fs::read_to_string(logs.join("web.out.log"))
                .is_ok_and(|s| s.contains("my own line"))
        },
    );
    // Run with a deadline: reading the FIFO would block forever.
    let mut child = h
        .command()
        .args(["logs", "-n", "100", "web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("`stead logs` hangs on a planted FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("my own line"), "{stdout}");
    assert!(
        !stdout.contains("the-secret-value"),
        "the secret was printed:\n{stdout}"
    );
    assert!(!stderr.contains("the-secret-value"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: a symbolic link is there", link.display())),
        "the refused link is not named:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}: a named pipe (FIFO) is there", fifo.display())),
        "the refused FIFO is not named:\n{stderr}"
    );
}
