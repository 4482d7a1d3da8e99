//! `stead install` under real `OpenRC` (Debian's, in a container, no systemd): the backend is
//! detected, `--create-user` makes a system account the program really runs as under
//! `supervise-daemon`, with its state directory (0750, its own) and configuration directory
//! (`root:GROUP` 0750); a killed program is respawned; a second install is refused; `stead
//! service stop|start` act; `stead uninstall --purge` leaves no script, runlevel entry,
//! account or directory behind.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

#[test]
#[cfg_attr(
    not(has_openrc_container),
    ignore = "needs root, debootstrap and systemd-nspawn (apt install debootstrap systemd-container)"
)]
fn install_registers_with_openrc() {
    let bin_dir = stead_bin().parent().unwrap().to_path_buf();
    let _ = testchild();
    let Some(b) = OpenrcBox::up(&bin_dir) else {
        return;
    };
    let stead = "/opt/stead/bin/stead";
    let status = || -> serde_json::Value {
        let o = b.exec(&[stead, "service", "status", "keeper", "--json"]);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("status --json: {}", text(&o)))
    };
    let st = status();
    assert_eq!(st["backend"], "openrc", "auto-detected: {st}");
    assert_eq!(st["state"], "not-installed", "{st}");
    let none = b.exec(&[stead, "service", "status", "keeper"]);
    assert_eq!(none.status.code(), Some(4), "{}", text(&none));

    let install = b.exec(&[
        stead,
        "install",
        "--name",
        "keeper",
        "--create-user",
        "keeperd",
        "--restart-delay",
        "1s",
        "--",
        "/opt/stead/bin/stead-testchild",
        "--sleep",
        "forever",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    wait("running", Duration::from_secs(20), || {
        status()["state"] == "running" && status()["pid"].is_u64()
    });
    let st = status();
    assert_eq!(st["start_mode"], "runlevel default", "{st}");
    let pid = st["pid"].as_u64().unwrap().to_string();
    let user = b.exec(&["ps", "-o", "user=", "-p", &pid]);
    assert_eq!(text(&user).trim(), "keeperd", "{st}");
    let passwd = text(&b.exec(&["getent", "passwd", "keeperd"]));
    assert!(
        passwd.trim_end().ends_with(":/usr/sbin/nologin"),
        "{passwd}"
    );
    let dirs = b.exec(&[
        "stat",
        "-c",
        "%n %U %G %a",
        "/var/lib/keeper",
        "/var/log/keeper",
        "/etc/keeper",
    ]);
    assert_eq!(
        text(&dirs),
        "/var/lib/keeper keeperd keeperd 750\n/var/log/keeper keeperd keeperd 750\n/etc/keeper root keeperd 750\n"
    );
    // The account reads its configuration and cannot change it.
    let cfg = b.exec(&[
        "sh",
        "-c",
        "echo x > /etc/keeper/conf && chmod 640 /etc/keeper/conf && chgrp keeperd /etc/keeper/conf",
    ]);
    assert!(cfg.status.success(), "{}", text(&cfg));
    let as_account = |script: &str| {
        b.exec(&[
            "setpriv",
            "--reuid=keeperd",
            "--regid=keeperd",
            "--clear-groups",
            "sh",
            "-c",
            script,
        ])
    };
    assert!(as_account("cat /etc/keeper/conf").status.success());
    assert!(!as_account("echo y > /etc/keeper/conf").status.success());

    // Killed: supervise-daemon starts it again.
    assert!(b.exec(&["kill", "-9", &pid]).status.success());
    wait("respawned", Duration::from_secs(20), || {
        let st = status();
        st["state"] == "running" && st["pid"].as_u64().is_some_and(|p| p.to_string() != pid)
    });

    // The same name again: refused, nothing changed.
    let script = text(&b.exec(&["cat", "/etc/init.d/keeper"]));
    let again = b.exec(&[stead, "install", "--name", "keeper", "--", "/bin/true"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    assert_eq!(text(&b.exec(&["cat", "/etc/init.d/keeper"])), script);

    // Stop sticks; start brings it back.
    let stop = b.exec(&[stead, "service", "stop", "keeper"]);
    assert!(stop.status.success(), "{}", text(&stop));
    assert_eq!(status()["state"], "stopped");
    let left = b.exec(&["pgrep", "-f", "stead-testchil[d]"]);
    assert!(!left.status.success(), "left running: {}", text(&left));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status()["state"], "stopped", "a stop must stick");
    let start = b.exec(&[stead, "service", "start", "keeper"]);
    assert!(start.status.success(), "{}", text(&start));
    wait("running again", Duration::from_secs(20), || {
        status()["state"] == "running"
    });

    // Uninstall --purge: nothing of it is left.
    let un = b.exec(&[stead, "uninstall", "keeper", "--purge"]);
    assert!(un.status.success(), "{}", text(&un));
    assert_eq!(status()["state"], "not-installed");
    for gone in [
        "/etc/init.d/keeper",
        "/etc/runlevels/default/keeper",
        "/var/lib/keeper",
        "/var/log/keeper",
        "/etc/keeper",
        "/var/lib/stead/installs/keeper.json",
    ] {
        let t = b.exec(&["sh", "-c", &format!("test -e {gone} || test -L {gone}")]);
        assert!(!t.status.success(), "{gone} was left behind");
    }
    assert!(
        !b.exec(&["id", "keeperd"]).status.success(),
        "the account was left"
    );
    let left = b.exec(&["pgrep", "-f", "stead-testchil[d]"]);
    assert!(!left.status.success(), "left running: {}", text(&left));
}
