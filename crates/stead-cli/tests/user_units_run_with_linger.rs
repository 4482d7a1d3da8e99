//! `stead install --user` under real systemd (PID 1 in a sandbox): an ordinary user with
//! linger enabled installs a per-user unit without root. It runs as that user with no login
//! session open, is restarted after its main process is killed, `stead service status --user`
//! reports it, a second install is refused, and `stead uninstall --user --purge` leaves
//! nothing behind: no unit, and neither the `~/.config/NAME` and `~/.local/state/NAME` the
//! install made nor its record. A `--wrap` install whose state directory existed before
//! is purged of the configuration it made, and its state directory is kept.
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
    let Some((_h, sb)) = systemd_sandbox("user-unit") else {
        return;
    };
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
    let home = "/home/alice";
    let record = format!("{home}/.local/state/stead/installs/napper.json");
    for (path, want) in [
        (record.clone(), "alice 600"),
        (format!("{home}/.config/napper"), "alice 700"),
        (format!("{home}/.local/state/napper"), "alice 700"),
    ] {
        let o = sb.exec(&["stat", "-c", "%U %a", &path]);
        assert_eq!(text(&o).trim(), want, "{path}: {}", text(&o));
    }
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

    // Uninstall: no unit file, no process, status says so; --purge takes what it made.
    let un = sb.exec_as(
        "alice",
        &[stead, "uninstall", "napper", "--user", "--purge"],
    );
    assert!(un.status.success(), "{}", text(&un));
    for gone in [
        unit.to_string(),
        record,
        format!("{home}/.config/napper"),
        format!("{home}/.local/state/napper"),
    ] {
        assert!(
            !sb.exec(&["test", "-e", &gone]).status.success(),
            "{gone} is left"
        );
    }
    assert_eq!(status_json()["state"], "not-installed");
    let left = sb.exec(&["pgrep", "-u", "alice", "-f", "stead-testchil[d]"]);
    assert!(
        !left.status.success(),
        "left running: {}",
        text(&left).trim()
    );

    // A --wrap install where alice's state directory for the name existed already: the
    // configuration it made goes, her directory (and what stead wrote in it) stays.
    let kept = format!("{home}/.local/state/wrapped");
    let pre = sb.exec_as(
        "alice",
        &[
            "sh",
            "-c",
            &format!("mkdir -p {kept} && echo mine > {kept}/notes"),
        ],
    );
    assert!(pre.status.success(), "{}", text(&pre));
    let install = sb.exec_as(
        "alice",
        &[
            stead,
            "install",
            "--user",
            "--backend",
            "systemd",
            "--name",
            "wrapped",
            "--wrap",
            "--",
            "/bin/sh",
            "-c",
            "echo started; exec sleep 1000",
        ],
    );
    assert!(install.status.success(), "{}", text(&install));
    let log = format!("{kept}/logs/wrapped.out.log");
    wait(
        "the wrapped program's words",
        Duration::from_secs(30),
        || sb.exec(&["grep", "-q", "started", &log]).status.success(),
    );
    let un = sb.exec_as(
        "alice",
        &[stead, "uninstall", "wrapped", "--user", "--purge"],
    );
    assert!(un.status.success(), "{}", text(&un));
    for gone in [
        format!("{home}/.config/wrapped"),
        format!("{home}/.config/systemd/user/wrapped.service"),
        format!("{home}/.local/state/stead/installs/wrapped.json"),
    ] {
        assert!(
            !sb.exec(&["test", "-e", &gone]).status.success(),
            "{gone} is left"
        );
    }
    let notes = sb.exec(&["cat", &format!("{kept}/notes")]);
    assert_eq!(
        text(&notes).trim(),
        "mine",
        "a directory that existed is kept"
    );
}
