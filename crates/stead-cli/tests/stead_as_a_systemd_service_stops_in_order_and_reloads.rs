//! Under real systemd, the unit `stead install -c` writes for stead itself lets stead stop
//! its programs in order (`KillMode=mixed`: systemd's TERM goes to stead alone, dependents
//! stop first, nothing is restarted meanwhile), gives it a stop timeout that covers the
//! longest dependency chain, delegates its cgroup, answers `systemctl reload` by
//! reloading the config and waiting for it, and makes `systemctl start` return only once every
//! program is ready.
#![cfg(target_os = "linux")]
mod support;
use std::time::{Duration, Instant};
use support::*;

const ORDER: &str = r#"
[program.db]
command = ["/opt/stead/bin/stead-testchild", "--write-pids", "/opt/stead/test/db.pids", "--sleep", "forever"]
restart = "always"
backoff = { initial = "50ms" }
stop_timeout = "5s"

[program.app]
command = ["/opt/stead/bin/stead-testchild", "--ignore-term", "--sleep", "forever"]
depends_on = ["db"]
stop_timeout = "2s"

[program.warm]
command = ["sh", "-c", "sleep 2; echo warm; exec sleep 1000"]
ready = { log = "^warm$" }
stop_timeout = "1s"
"#;

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn stead_as_a_systemd_service_stops_in_order_and_reloads() {
    let Some((h, sb)) = systemd_sandbox("systemd-order") else {
        return;
    };
    std::fs::write(h.dir.join("order.toml"), ORDER).unwrap();
    let stead = "/opt/stead/bin/stead";
    let inner = |args: &[&str]| {
        let mut all = vec![stead, "--state-dir", "/var/lib/order"];
        all.extend_from_slice(args);
        sb.exec(&all)
    };
    let install = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "order",
        "-c",
        "/opt/stead/test/order.toml",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    // The install's `systemctl start` returned: stead sent READY=1, so every program is
    // ready now — warm, which takes 2 s, included.
    let status: serde_json::Value =
        serde_json::from_slice(&inner(&["status", "warm", "--json"]).stdout).unwrap();
    assert_eq!(
        status["programs"][0]["ready"], true,
        "systemctl start returned before every program was ready: {status}"
    );
    let unit = text(&sb.exec(&["cat", "/etc/systemd/system/order.service"]));
    for line in [
        "KillMode=mixed",
        "Delegate=yes",
        "ExecReload=/opt/stead/bin/stead reload --state-dir /var/lib/order",
        // app (2 s) stops before db (5 s), plus 15 s for stead itself.
        "TimeoutStopSec=22s",
    ] {
        assert!(unit.contains(line), "no {line} in:\n{unit}");
    }
    let running = |name: &str| {
        let o = inner(&["status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).is_ok_and(|v| {
            v["programs"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == name && p["state"] == "running")
            })
        })
    };
    wait("db and app running", Duration::from_secs(30), || {
        running("db") && running("app")
    });
    let status: serde_json::Value =
        serde_json::from_slice(&inner(&["status", "--json"]).stdout).unwrap();
    let unified = sb
        .exec(&["test", "-e", "/sys/fs/cgroup/cgroup.controllers"])
        .status
        .success();
    if unified {
        assert_eq!(
            status["programs"][0]["containment"], "cgroup",
            "a delegated unit lets stead make instance cgroups: {status}"
        );
    }

    // systemctl reload: the config is read again, and the command waits for it.
    std::fs::write(
        h.dir.join("order.toml"),
        format!(
            "{ORDER}\n[program.extra]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\n"
        ),
    )
    .unwrap();
    let reload = sb.exec(&["systemctl", "reload", "order"]);
    assert!(reload.status.success(), "{}", text(&reload));
    wait("the added program running", Duration::from_secs(10), || {
        running("extra")
    });
    let bad = std::fs::read_to_string(h.dir.join("order.toml")).unwrap() + "\nnot toml [[\n";
    std::fs::write(h.dir.join("order.toml"), bad).unwrap();
    let refused = sb.exec(&["systemctl", "reload", "order"]);
    assert!(
        !refused.status.success(),
        "a refused reload fails systemctl reload"
    );
    let active = text(&sb.exec(&["systemctl", "is-active", "order"]));
    assert_eq!(active.trim(), "active", "a bad reload changes nothing");

    // systemctl stop: app (ignores TERM) is stopped first, over its 2 s; db after it, once,
    // never restarted meanwhile.
    let db_before = read_pids(&h.dir.join("db.pids"));
    assert_eq!(db_before.len(), 1);
    let started = Instant::now();
    let stop = sb.exec(&["systemctl", "stop", "order"]);
    let took = started.elapsed();
    assert!(stop.status.success(), "{}", text(&stop));
    assert!(
        took >= Duration::from_secs(2),
        "app's stop_timeout was not waited for: {took:?}"
    );
    assert_eq!(
        read_pids(&h.dir.join("db.pids")),
        db_before,
        "db was started again during the stop"
    );
    let result = text(&sb.exec(&["systemctl", "show", "-p", "Result", "order"]));
    assert_eq!(result.trim(), "Result=success", "{result}");
    let journal = text(&sb.exec(&["journalctl", "-u", "order", "--no-pager", "-o", "cat"]));
    let app_stopped = journal.find("program=app").and_then(|_| {
        journal
            .lines()
            .position(|l| l.contains("stopped") && l.contains("program=app"))
    });
    let db_stopped = journal
        .lines()
        .position(|l| l.contains("stopped") && l.contains("program=db"));
    assert!(
        app_stopped.is_some() && db_stopped.is_some() && app_stopped < db_stopped,
        "app must stop before db:\n{journal}"
    );
    let un = sb.exec(&[stead, "uninstall", "order", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));
}
