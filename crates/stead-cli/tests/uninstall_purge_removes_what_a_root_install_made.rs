//! Under real systemd: a service installed to run as root is recorded like one with an
//! account of its own, so `stead uninstall --purge` removes its `/etc/NAME`, `/var/lib/NAME`
//! (with the logs stead kept there) and `/var/log/NAME`. Its configuration directory is
//! 0750 from the start, so no start warns about its mode; a program under `--wrap` works in
//! the state directory, not among its configuration; and `--user` installs warn about linger
//! only for a user who does not have it. A service with `--account dynamic` is purged of the
//! private state and log directories systemd made for it (`/var/lib/private/NAME`,
//! `/var/log/private/NAME` and their links), while an `/etc/NAME` that existed before the
//! install is kept.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn uninstall_purge_removes_what_a_root_install_made() {
    let Some((_h, sb)) = systemd_sandbox("purge-root") else {
        return;
    };
    let stead = "/opt/stead/bin/stead";

    let install = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "rooted",
        "--wrap",
        "--",
        "/bin/sh",
        "-c",
        "pwd > where; echo started; exec sleep 1000",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    wait("the program's first words", Duration::from_secs(30), || {
        sb.exec(&[
            "grep",
            "-q",
            "started",
            "/var/lib/rooted/logs/rooted.out.log",
        ])
        .status
        .success()
    });
    let cwd = sb.exec(&["cat", "/var/lib/rooted/where"]);
    assert_eq!(
        text(&cwd).trim(),
        "/var/lib/rooted",
        "works in its state directory"
    );
    let conf = sb.exec(&["stat", "-c", "%U %a", "/etc/rooted"]);
    assert_eq!(text(&conf).trim(), "root 750");
    assert!(
        sb.exec(&["systemctl", "restart", "rooted"])
            .status
            .success()
    );
    let journal = text(&sb.exec(&["journalctl", "-u", "rooted", "--no-pager", "-o", "cat"]));
    assert!(!journal.contains("0755"), "a start warned: {journal}");
    assert!(
        sb.exec(&["test", "-f", "/var/lib/stead/installs/rooted.json"])
            .status
            .success(),
        "the install was recorded"
    );

    let un = sb.exec(&[
        stead,
        "uninstall",
        "rooted",
        "--backend",
        "systemd",
        "--purge",
    ]);
    assert!(un.status.success(), "{}", text(&un));
    for gone in [
        "/etc/rooted",
        "/var/lib/rooted",
        "/var/log/rooted",
        "/var/lib/stead/installs/rooted.json",
    ] {
        assert!(
            !sb.exec(&["test", "-e", gone]).status.success(),
            "{gone} is left"
        );
    }

    // A dynamic account: systemd makes private directories and links to them at start.
    let pre = sb.exec(&[
        "sh",
        "-c",
        "mkdir /etc/dyn && echo mine > /etc/dyn/settings",
    ]);
    assert!(pre.status.success(), "{}", text(&pre));
    let install = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "dyn",
        "--account",
        "dynamic",
        "--",
        "/bin/sh",
        "-c",
        "echo state > /var/lib/dyn/x; echo log > /var/log/dyn/y; exec sleep 1000",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    wait(
        "the dynamic service's files",
        Duration::from_secs(30),
        || {
            sb.exec(&["test", "-f", "/var/log/private/dyn/y"])
                .status
                .success()
        },
    );
    for link in ["/var/lib/dyn", "/var/log/dyn"] {
        assert!(sb.exec(&["test", "-L", link]).status.success(), "{link}");
    }
    let un = sb.exec(&[stead, "uninstall", "dyn", "--backend", "systemd", "--purge"]);
    assert!(un.status.success(), "{}", text(&un));
    for gone in [
        "/var/lib/dyn",
        "/var/lib/private/dyn",
        "/var/log/dyn",
        "/var/log/private/dyn",
        "/var/lib/stead/installs/dyn.json",
    ] {
        assert!(
            !sb.exec(&["test", "-e", gone]).status.success()
                && !sb.exec(&["test", "-L", gone]).status.success(),
            "{gone} is left"
        );
    }
    let kept = sb.exec(&["cat", "/etc/dyn/settings"]);
    assert_eq!(
        text(&kept).trim(),
        "mine",
        "an /etc/dyn that existed is kept"
    );

    // Linger: warned about only where it is off.
    for (user, linger) in [("alice", true), ("bob", false)] {
        let made = sb.exec(&["useradd", "--create-home", "--shell", "/bin/sh", user]);
        assert!(made.status.success(), "{}", text(&made));
        if linger {
            assert!(
                sb.exec(&["loginctl", "enable-linger", user])
                    .status
                    .success()
            );
        }
        let o = sb.exec_as(
            user,
            &[
                stead,
                "install",
                "--user",
                "--backend",
                "systemd",
                "--name",
                "napper",
                "--dry-run",
                "--",
                "/opt/stead/bin/stead-testchild",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            text(&o).contains("enable-linger"),
            !linger,
            "{user}: {}",
            text(&o)
        );
    }
}
