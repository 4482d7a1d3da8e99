//! `stead install --user` under real systemd (PID 1 in a sandbox): an ordinary user with
//! linger enabled installs a per-user unit without root. It runs as that user with no login
//! session open, is restarted after its main process is killed, `stead service status --user`
//! reports it, a second install is refused, and `stead uninstall --user` leaves nothing behind
//! in `~/.config/systemd/user`.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn user_units_run_with_linger() {
    let Some(tool) = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")
    else {
        return;
    };
    let h = Harness::new("user-unit");
    let bin_dir = stead_bin().parent().unwrap().to_path_buf();
    let _ = testchild();
    let sb = Sandbox::up(tool, &bin_dir, &h.dir);
    let stead = "/opt/stead/bin/stead";

    let made = sb.exec(&["useradd", "--create-home", "--shell", "/bin/sh", "alice"]);
    assert!(made.status.success(), "{}", text(&made));
    let linger = sb.exec(&["loginctl", "enable-linger", "alice"]);
    assert!(linger.status.success(), "{}", text(&linger));
    // Linger starts alice's own systemd without any login session.
    wait("alice's user manager", Duration::from_secs(30), || {
        let o = sb.exec_as("alice", &["systemctl", "--user", "is-system-running"]);
        o.stdout.starts_with(b"running") || o.stdout.starts_with(b"degraded")
    });
    let status_json = || -> serde_json::Value {
        let o = sb.exec_as(
            "alice",
            &[stead, "service", "status", "napper", "--user", "--json"],
        );
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    assert_eq!(status_json()["state"], "not-installed");

    let install = sb.exec_as(
        "alice",
        &[
            stead,
            "install",
            "--user",
            "--backend",
            "systemd",
            "--name",
            "napper",
            "--restart-delay",
            "200ms",
            "--",
            "/opt/stead/bin/stead-testchild",
            "--sleep",
            "forever",
        ],
    );
    assert!(install.status.success(), "{}", text(&install));
    let unit = "/home/alice/.config/systemd/user/napper.service";
    let owner = sb.exec(&["stat", "-c", "%U %a", unit]);
    assert_eq!(text(&owner).trim(), "alice 644", "{}", text(&owner));
    wait("running", Duration::from_secs(20), || {
        status_json()["state"] == "running"
    });
    let st = status_json();
    assert_eq!(st["backend"], "systemd-user", "{st}");
    assert_eq!(st["start_mode"], "enabled", "{st}");
    let pid = st["pid"].as_u64().unwrap().to_string();
    let user = sb.exec(&["ps", "-o", "user=", "-p", &pid]);
    assert_eq!(text(&user).trim(), "alice");
    // No login session: linger alone keeps it running.
    let sessions = sb.exec(&["loginctl", "list-sessions", "--no-legend"]);
    assert!(
        !text(&sessions).contains("alice"),
        "alice has a session: {}",
        text(&sessions)
    );

    // Killed: alice's systemd restarts it.
    assert!(sb.exec(&["kill", "-9", &pid]).status.success());
    wait("restarted", Duration::from_secs(20), || {
        let st = status_json();
        st["state"] == "running" && st["pid"].as_u64().is_some_and(|p| p.to_string() != pid)
    });

    // The same name again: refused, the unit unchanged.
    let before = text(&sb.exec(&["cat", unit]));
    let again = sb.exec_as(
        "alice",
        &[
            stead,
            "install",
            "--user",
            "--name",
            "napper",
            "--",
            "/bin/true",
        ],
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert_eq!(text(&sb.exec(&["cat", unit])), before);

    // Uninstall: no unit file, no process, status says so.
    let un = sb.exec_as("alice", &[stead, "uninstall", "napper", "--user"]);
    assert!(un.status.success(), "{}", text(&un));
    assert!(!sb.exec(&["test", "-e", unit]).status.success());
    assert_eq!(status_json()["state"], "not-installed");
    let left = sb.exec(&["pgrep", "-u", "alice", "-f", "stead-testchil[d]"]);
    assert!(
        !left.status.success(),
        "left running: {}",
        text(&left).trim()
    );
}
