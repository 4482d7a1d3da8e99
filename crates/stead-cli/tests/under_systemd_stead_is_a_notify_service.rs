//! Under real systemd (PID 1 in a sandbox), `stead up` as a `Type=notify` unit:
//! `systemctl start` returns once stead sent `READY=1` with its programs started, the unit's
//! status text is stead's one-line summary, `systemctl stop` stops every program, and a
//! program that goes fatal under `exit_on_fatal` fails the unit with exit status 100 so that
//! systemd's own recovery can act. Programs' lines sent to journald (`log.journald`) are
//! found with `journalctl -u`, under their program's name and with stderr's priority.
#![cfg(target_os = "linux")]
mod support;
use support::*;

fn unit(config: &str) -> String {
    format!(
        "[Unit]\nDescription=stead test\n[Service]\nType=notify\nExecStart=/opt/stead/bin/stead up -c {config} --state-dir /run/stead-test\nRestart=no\nTimeoutStartSec=20\n"
    )
}

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn under_systemd_stead_is_a_notify_service() {
    let Some(tool) = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")
    else {
        return;
    };
    let h = Harness::new("systemd");
    let bin_dir = support::stead_bin().parent().unwrap().to_path_buf();
    let _ = testchild();
    std::fs::write(
        h.dir.join("good.toml"),
        "[program.a]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--spawn-grandchild\", \"1\", \"--sleep\", \"forever\"]\n\
         [program.b]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\nnumprocs = 2\n",
    )
    .unwrap();
    std::fs::write(
        h.dir.join("fatal.toml"),
        "[supervisor]\nexit_on_fatal = true\n[program.crash]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--exit\", \"1\"]\n\
         max_restarts = 2\nbackoff = { initial = \"50ms\" }\n",
    )
    .unwrap();
    std::fs::write(
        h.dir.join("journal.toml"),
        "[log]\njournald = true\nfile = false\n[program.talk]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--stdout\", \"hello journal\", \"--stderr\", \"trouble here\", \"--sleep\", \"forever\"]\n",
    )
    .unwrap();
    std::fs::write(
        h.dir.join("stead-journal.service"),
        unit("/opt/stead/test/journal.toml"),
    )
    .unwrap();
    std::fs::write(
        h.dir.join("stead-good.service"),
        unit("/opt/stead/test/good.toml"),
    )
    .unwrap();
    std::fs::write(
        h.dir.join("stead-fatal.service"),
        unit("/opt/stead/test/fatal.toml"),
    )
    .unwrap();

    let sb = Sandbox::up(tool, &bin_dir, &h.dir);

    sb.install_units(
        "",
        &[
            "stead-good.service",
            "stead-fatal.service",
            "stead-journal.service",
        ],
    );

    // Type=notify: start returns only after READY=1.
    let out = sb.exec(&["systemctl", "start", "stead-good.service"]);
    assert!(
        out.status.success(),
        "start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = sb.show("stead-good.service", "ActiveState,SubState,StatusText");
    assert!(
        show.contains("ActiveState=active") && show.contains("SubState=running"),
        "{show}"
    );
    assert!(
        show.contains("StatusText=3 running"),
        "status text is stead's summary: {show}"
    );
    let status = sb.exec(&[
        "/opt/stead/bin/stead",
        "--state-dir",
        "/run/stead-test",
        "status",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    assert!(
        v["programs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "running"),
        "{v}"
    );
    // Children never see systemd's notify socket.
    let pid = v["programs"][0]["pid"].as_u64().unwrap();
    let env = sb.exec(&["cat", &format!("/proc/{pid}/environ")]);
    assert!(
        !String::from_utf8_lossy(&env.stdout).contains("NOTIFY_SOCKET"),
        "NOTIFY_SOCKET leaked to a program"
    );

    let before = sb.exec(&["pgrep", "-x", "stead-testchild"]);
    assert!(
        String::from_utf8_lossy(&before.stdout).lines().count() >= 4,
        "3 programs and a grandchild run"
    );
    assert!(
        sb.exec(&["systemctl", "stop", "stead-good.service"])
            .status
            .success()
    );
    let show = sb.show("stead-good.service", "ActiveState,Result");
    assert!(
        show.contains("ActiveState=inactive") && show.contains("Result=success"),
        "{show}"
    );
    let left = sb.exec(&["pgrep", "-x", "stead-testchild"]);
    assert!(
        left.stdout.is_empty(),
        "programs outlived the unit: {}",
        String::from_utf8_lossy(&left.stdout)
    );

    // journald destination: found under the unit, tagged with the program's name.
    assert!(
        sb.exec(&["systemctl", "start", "stead-journal.service"])
            .status
            .success()
    );
    let mut lines = Vec::new();
    for _ in 0..100 {
        let out = sb.exec(&[
            "journalctl",
            "-u",
            "stead-journal.service",
            "-t",
            "talk",
            "-o",
            "json",
            "--no-pager",
        ]);
        lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect();
        if lines.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let find = |text: &str| {
        lines
            .iter()
            .find(|v| v["MESSAGE"] == text)
            .unwrap_or_else(|| panic!("{text:?} not in the journal: {lines:?}"))
            .clone()
    };
    let out = find("hello journal");
    assert_eq!(out["PRIORITY"], "6");
    assert_eq!(out["STEAD_STREAM"], "stdout");
    assert_eq!(out["STEAD_PROGRAM"], "talk");
    let err = find("trouble here");
    assert_eq!(err["PRIORITY"], "3");
    assert_eq!(err["STEAD_STREAM"], "stderr");
    assert!(
        sb.exec(&["systemctl", "stop", "stead-journal.service"])
            .status
            .success()
    );

    // A fatal program ends stead with 100 and fails the unit.
    let _ = sb.exec(&["systemctl", "start", "stead-fatal.service"]);
    let mut show = String::new();
    for _ in 0..100 {
        show = sb.show("stead-fatal.service", "ActiveState,Result,ExecMainStatus");
        if show.contains("ActiveState=failed") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        show.contains("ActiveState=failed") && show.contains("ExecMainStatus=100"),
        "{show}"
    );
}
