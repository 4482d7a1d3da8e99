//! `stead up --daemon` detaches (new session, stdio away from the terminal, pid file) and
//! returns only once the control socket answers.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn up_daemon_returns_once_the_socket_answers() {
    let h = Harness::new("daemon");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    let out = h.stead(&["up", "--daemon", "-c", h.config.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stead is up"));
    // No waiting: it answers at once.
    let status = h
        .try_status()
        .expect("the socket answers as soon as --daemon returns");
    let pid: u32 = std::fs::read_to_string(h.state.join("stead.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(status["pid"], pid);
    // A new session, not ours.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_ne!(
        fields[3],
        std::process::id().to_string(),
        "not in our session"
    );
    assert_ne!(
        fields[3],
        pid.to_string(),
        "not a session leader (double fork)"
    );
    h.wait_for("a running", Duration::from_secs(5), |h| {
        h.state_of("a") == "running"
    });
    let out = h.stead(&["shutdown"]);
    assert!(out.status.success());
    h.wait_for("the daemon to exit", Duration::from_secs(2), |_| {
        !alive(pid)
    });
    assert!(
        !h.state.join("stead.pid").exists(),
        "the pid file is removed"
    );

    // A broken start is reported by the parent.
    std::fs::write(h.state.join("stead.sock"), "not a socket").unwrap();
    let out = h.stead(&["up", "--daemon", "-c", h.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a socket"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
