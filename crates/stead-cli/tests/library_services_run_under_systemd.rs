//! The `stead` library under real systemd (PID 1 in a sandbox): the `lifecycle` example as a
//! `Type=notify` unit with `WatchdogSec=`. A start longer than `TimeoutStartSec=` survives
//! because the library extends it while start runs, and the unit is `active` only after
//! `READY=1`; `systemctl reload` delivers a reload event; a failing liveness check stops
//! the watchdog pings and systemd restarts the service; `systemctl stop` drains and exits 0;
//! a failed preflight fails the unit with its exit code and status text; the journal holds
//! the service's lines with their priorities.
#![cfg(target_os = "linux")]
mod support;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

fn examples_dir() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "-q", "-p", "stead", "--example", "lifecycle"])
        .status()
        .expect("cargo")
        .success();
    assert!(ok, "building the lifecycle example failed");
    let dir = stead_bin().parent().unwrap().join("examples");
    assert!(dir.join("lifecycle").exists(), "{}", dir.display());
    dir
}

const UNIT: &str = "[Unit]
Description=stead library lifecycle example
[Service]
Type=notify
ExecStart=/opt/stead/bin/lifecycle
ExecReload=/bin/kill -HUP $MAINPID
Environment=START_MS=4000 DRAIN_MS=1000 MARK_DIR=/run/marks HANG_FILE=/run/hang RUST_LOG=info
TimeoutStartSec=2
TimeoutStopSec=20
WatchdogSec=2
Restart=on-watchdog
RestartSec=100ms
";

const FAILING: &str = "[Unit]
Description=stead library example with a failing preflight
[Service]
Type=notify
ExecStart=/opt/stead/bin/lifecycle
Environment=FAIL=3
Restart=no
";

fn prop(sb: &Sandbox, unit: &str, name: &str) -> String {
    sb.show(unit, name)
        .trim()
        .strip_prefix(&format!("{name}="))
        .unwrap_or_default()
        .to_string()
}

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn library_services_run_under_systemd() {
    let Some(tool) = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")
    else {
        return;
    };
    let h = Harness::new("lib-systemd");
    std::fs::create_dir_all(h.dir.join("units")).unwrap();
    std::fs::write(h.dir.join("units/lib-life.service"), UNIT).unwrap();
    std::fs::write(h.dir.join("units/lib-fail.service"), FAILING).unwrap();
    let sb = Sandbox::up(tool, &examples_dir(), &h.dir);
    sb.install_units("units/", &["lib-life.service", "lib-fail.service"]);
    assert!(sb.exec(&["mkdir", "-p", "/run/marks"]).status.success());
    let marks = |f: &str| {
        String::from_utf8_lossy(&sb.exec(&["cat", &format!("/run/marks/{f}")]).stdout).into_owned()
    };
    let unit = "lib-life.service";

    // Start: 4 s of start against TimeoutStartSec=2, kept alive by EXTEND_TIMEOUT_USEC.
    assert!(
        sb.exec(&["systemctl", "start", "--no-block", unit])
            .status
            .success()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        prop(&sb, unit, "ActiveState"),
        "activating",
        "not active before READY=1"
    );
    assert!(marks("ready").is_empty(), "ready too early");
    wait("active", Duration::from_secs(20), || {
        prop(&sb, unit, "ActiveState") == "active"
    });
    assert!(!marks("ready").is_empty(), "active only after ready()");
    assert_eq!(prop(&sb, unit, "StatusText"), "running");

    // Reload: SIGHUP → RELOADING=1 → Event::Reload → ready() → READY=1.
    let reload = sb.exec(&["systemctl", "reload", unit]);
    assert!(
        reload.status.success(),
        "{}",
        String::from_utf8_lossy(&reload.stderr)
    );
    wait("the reload event", Duration::from_secs(10), || {
        marks("events").contains("Reload")
    });
    wait("active after reload", Duration::from_secs(10), || {
        prop(&sb, unit, "ActiveState") == "active"
    });

    // Watchdog: the liveness check fails while /run/hang exists → no pings → restart.
    let first_pid = prop(&sb, unit, "MainPID");
    assert!(sb.exec(&["touch", "/run/hang"]).status.success());
    wait("a watchdog restart", Duration::from_secs(30), || {
        prop(&sb, unit, "NRestarts") == "1"
    });
    assert!(sb.exec(&["rm", "-f", "/run/hang"]).status.success());
    wait("active again", Duration::from_secs(30), || {
        prop(&sb, unit, "ActiveState") == "active"
    });
    assert_ne!(prop(&sb, unit, "MainPID"), first_pid);
    let journal = sb.exec(&["journalctl", "-u", unit, "--no-pager"]);
    let journal = String::from_utf8_lossy(&journal.stdout).into_owned();
    assert!(journal.contains("Watchdog timeout"), "{journal}");
    assert!(journal.contains("liveness check failed"), "{journal}");

    // Stop: STOPPING=1, a 1 s drain, cleanups, exit 0.
    let began = Instant::now();
    let stop = sb.exec(&["systemctl", "stop", unit]);
    assert!(stop.status.success());
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "stop waited for the drain"
    );
    assert_eq!(prop(&sb, unit, "ActiveState"), "inactive");
    assert_eq!(prop(&sb, unit, "Result"), "success");
    assert_eq!(prop(&sb, unit, "ExecMainStatus"), "0");
    assert!(
        marks("stopping").lines().last() == Some("SIGTERM"),
        "{}",
        marks("stopping")
    );
    assert!(
        marks("cleanup").ends_with("second\nfirst\n"),
        "{}",
        marks("cleanup")
    );

    // The journal: native fields, priorities per level, the syslog identifier.
    let json = sb.exec(&[
        "journalctl",
        "-u",
        unit,
        "-o",
        "json",
        "--no-pager",
        "--output-fields=MESSAGE,PRIORITY,SYSLOG_IDENTIFIER",
    ]);
    let json = String::from_utf8_lossy(&json.stdout).into_owned();
    let entry = |needle: &str| {
        json.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["MESSAGE"].as_str().is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| panic!("no journal entry with {needle:?}:\n{json}"))
    };
    let warn = entry("a warning, for the journal's priorities");
    assert_eq!(warn["PRIORITY"], "4");
    assert_eq!(warn["SYSLOG_IDENTIFIER"], "stead-example-lifecycle");
    assert_eq!(entry("drained")["PRIORITY"], "5");

    // A failed preflight: the unit fails with the service's code and reason.
    let start = sb.exec(&["systemctl", "start", "lib-fail.service"]);
    assert!(!start.status.success());
    assert_eq!(prop(&sb, "lib-fail.service", "ExecMainStatus"), "3");
    assert_eq!(prop(&sb, "lib-fail.service", "ActiveState"), "failed");
    let journal = sb.exec(&["journalctl", "-u", "lib-fail.service", "--no-pager"]);
    let journal = String::from_utf8_lossy(&journal.stdout).into_owned();
    assert!(
        journal.contains("start failed: preflight failed: FAIL is set (exit code 3)"),
        "{journal}"
    );

    // The service installs and controls itself (`Service::install_commands`).
    let bin = "/opt/stead/bin/lifecycle";
    assert!(sb.exec(&["mkdir", "-p", "/run/self"]).status.success());
    let install = sb.exec(&[
        bin,
        "install",
        "--create-user",
        "lifecycle-svc",
        "--",
        "MARK_DIR=/run/self",
    ]);
    let said = String::from_utf8_lossy(&install.stdout).into_owned()
        + &String::from_utf8_lossy(&install.stderr);
    assert!(install.status.success(), "{said}");
    assert!(
        said.contains("installed stead-example-lifecycle (systemd)"),
        "{said}"
    );
    let status = |sb: &Sandbox| {
        let o = sb.exec(&[bin, "status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (o.status.code(), v)
    };
    wait(
        "the self-installed service to run",
        Duration::from_secs(20),
        || status(&sb).1["state"] == "running",
    );
    let (code, st) = status(&sb);
    assert_eq!(code, Some(0), "{st}");
    let unit = sb.exec(&["cat", "/etc/systemd/system/stead-example-lifecycle.service"]);
    let unit = String::from_utf8_lossy(&unit.stdout).into_owned();
    assert!(
        unit.contains("Type=notify") && unit.contains("User=lifecycle-svc"),
        "{unit}"
    );
    assert!(
        unit.contains("Description=stead's lifecycle example"),
        "{unit}"
    );
    assert!(sb.exec(&[bin, "stop"]).status.success());
    let (code, st) = status(&sb);
    assert_eq!(st["state"], "stopped", "{st}");
    assert_eq!(code, Some(1), "a stopped service's status exit code");
    // The account was made by the install, as a system account without a login shell.
    let pw = sb.exec(&["getent", "passwd", "lifecycle-svc"]);
    let pw = String::from_utf8_lossy(&pw.stdout).into_owned();
    assert!(
        pw.trim_end().ends_with(":/usr/sbin/nologin") || pw.trim_end().ends_with(":/bin/false"),
        "the created account's passwd entry: {pw:?}"
    );
    let un = sb.exec(&[bin, "uninstall", "--purge"]);
    assert!(
        un.status.success(),
        "{}",
        String::from_utf8_lossy(&un.stderr)
    );
    let (code, st) = status(&sb);
    assert_eq!(code, Some(4), "{st}");
    assert_eq!(st["state"], "not-installed", "{st}");
    assert!(
        !sb.exec(&["getent", "passwd", "lifecycle-svc"])
            .status
            .success(),
        "--purge deletes the account the install created"
    );
    // A wrong flag is a usage error that changes nothing.
    let bad = sb.exec(&[bin, "status", "--purge"]);
    assert_eq!(bad.status.code(), Some(2));
}
