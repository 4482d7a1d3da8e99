//! `sockets = [...]` exported as socket units, run under real systemd (PID 1 in a sandbox):
//! systemd binds them as stead would (a unix socket at a path with a space and a `%`, its mode
//! and owner), hands every instance of a template the very same socket and a program its
//! sockets under their names (`LISTEN_FDS`, `LISTEN_FDNAMES`), and stopping the target closes
//! them and removes the socket file. What the units say differs from stead — traffic while no
//! instance runs starts instance 0 — is seen to happen.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// How long each unit change may take.
const TEN_S: Duration = Duration::from_secs(10);

const ADMIN: &str = "/run/web/admin 100%.sock";

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn exported_socket_units_hand_every_instance_the_same_sockets() {
    let Some((h, sb)) = systemd_sandbox("export-sockets") else {
        return;
    };
    h.write_config(&format!(
        "[program.web]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\n\
         sockets = [\"tcp://0.0.0.0:8080\", {{ listen = \"unix:{ADMIN}\", name = \"admin\", mode = 0o660, owner = \"www-data\", group = \"www-data\" }}, \
         {{ listen = \"udp://[::]:5353\", name = \"mdns\", ipv6_only = true }}]\n\
         [program.pool]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\nnumprocs = 2\n\
         sockets = [{{ listen = \"tcp://127.0.0.1:9000\", backlog = 128 }}]\n",
    ));
    let units = h.dir.join("units");
    let out = h.stead(&[
        "export",
        "systemd",
        "-c",
        h.config.to_str().unwrap(),
        "-o",
        units.to_str().unwrap(),
        "--systemd-version",
        "252",
        "--name",
        "fleet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sb.install_units(
        "units/",
        &[
            "web.service",
            "web.socket",
            "web-admin.socket",
            "web-mdns.socket",
            "pool@.service",
            "pool.socket",
            "fleet.target",
        ],
    );
    let sh = |script: &str| {
        let out = sb.exec(&["sh", "-c", script]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let active = |u: &str| sb.show(u, "ActiveState").contains("ActiveState=active");
    let out = sb.exec(&["systemctl", "start", "fleet.target"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for u in ["web.service", "pool@0.service", "pool@1.service"] {
        wait(&format!("{u} active"), TEN_S, || active(u));
    }
    // What a unit's main process was handed: its LISTEN_* variables, and what descriptor 3 is.
    let handed = |u: &str| {
        sh(&format!(
            "pid=$(systemctl show -p MainPID --value {u}); tr '\\0' '\\n' < /proc/$pid/environ | grep '^LISTEN_FD' | sort; readlink /proc/$pid/fd/3"
        ))
    };
    let pool0 = handed("pool@0.service");
    let pool1 = handed("pool@1.service");
    assert!(
        pool0.starts_with("LISTEN_FDNAMES=pool\nLISTEN_FDS=1\nsocket:["),
        "{pool0}"
    );
    assert_eq!(pool0, pool1, "the instances hold one socket");
    let web = handed("web.service");
    let names = web
        .lines()
        .find_map(|l| l.strip_prefix("LISTEN_FDNAMES="))
        .unwrap_or_default();
    let mut names: Vec<&str> = names.split(':').collect();
    // Between socket units systemd keeps no order: the names say which is which.
    names.sort_unstable();
    assert_eq!(names, ["admin", "mdns", "web"], "{web}");
    assert!(web.contains("LISTEN_FDS=3"), "{web}");
    // The unix socket where the config put it (`%` and space written for systemd), with its
    // mode and owner.
    assert_eq!(
        sh(&format!("stat -c '%a %U %G %F' '{ADMIN}'")),
        "660 www-data www-data socket"
    );
    // Unlike under stead, traffic while no instance runs starts instance 0, as the unit says.
    assert!(
        sb.exec(&["systemctl", "stop", "pool@0.service", "pool@1.service"])
            .status
            .success()
    );
    wait("the pool stopped", TEN_S, || {
        !active("pool@0.service") && !active("pool@1.service")
    });
    assert!(
        active("pool.socket"),
        "the socket stays while its program stops"
    );
    sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000'");
    wait("pool@0 started by a connection", TEN_S, || {
        active("pool@0.service")
    });
    assert!(!active("pool@1.service"));
    // Stopping the target closes the sockets and removes the socket file, as stead does.
    assert!(
        sb.exec(&["systemctl", "stop", "fleet.target"])
            .status
            .success()
    );
    for u in [
        "web.service",
        "pool@0.service",
        "web.socket",
        "web-admin.socket",
        "pool.socket",
    ] {
        wait(&format!("{u} stopped"), TEN_S, || !active(u));
    }
    assert_eq!(
        sh(&format!("test -e '{ADMIN}' && echo left || echo gone")),
        "gone"
    );
}
