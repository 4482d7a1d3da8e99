//! Units from `stead export systemd` run under real systemd (PID 1 in a sandbox): the
//! target starts every program and every instance of a template unit, in dependency order (a
//! one-shot dependency finishes before its dependent starts), a killed program is restarted
//! by systemd per `restart` while a crash of its dependency restarts neither it nor the
//! one-shot (`Wants=`, `RemainAfterExit=yes`), and stopping the target stops them all.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// How long each unit change may take.
const TEN_S: Duration = Duration::from_secs(10);

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn exported_units_run_under_systemd() {
    let Some(tool) = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")
    else {
        return;
    };
    let h = Harness::new("export-run");
    let bin_dir = support::stead_bin().parent().unwrap().to_path_buf();
    let _ = testchild();
    // `cwd` names where the programs run (not where the config is being exported from).
    h.write_config(
        "[program.setup]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"300ms\"]\nrestart = \"never\"\n\
         [program.db]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\nrestart = \"always\"\nbackoff = { initial = \"200ms\" }\n\
         [program.api]\ndepends_on = [\"setup\", \"db\"]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\nbackoff = { initial = \"200ms\" }\n\
         [program.pool]\ncwd = \"/opt/stead/test\"\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--stdout\", \"slot {index}\", \"--sleep\", \"forever\"]\nnumprocs = 2\n",
    );
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
    let sb = Sandbox::up(tool, &bin_dir, &h.dir);
    sb.install_units(
        "units/",
        &[
            "setup.service",
            "db.service",
            "api.service",
            "pool@.service",
            "fleet.target",
        ],
    );
    let out = sb.exec(&["systemctl", "start", "fleet.target"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let active = |u: &str| sb.show(u, "ActiveState").contains("ActiveState=active");
    for u in [
        "db.service",
        "api.service",
        "pool@0.service",
        "pool@1.service",
    ] {
        wait(&format!("{u} active"), TEN_S, || active(u));
    }
    // depends_on: api started only once the one-shot setup had finished.
    let num = |u: &str, p: &str| -> u64 {
        let s = sb.show(u, p);
        s.trim()
            .rsplit('=')
            .next()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0)
    };
    let setup_done = num("setup.service", "ExecMainExitTimestampMonotonic");
    let api_start = num("api.service", "ExecMainStartTimestampMonotonic");
    assert!(
        setup_done > 0 && setup_done <= api_start,
        "setup ended at {setup_done}, api started at {api_start}"
    );
    // %i reached the program: each instance printed its own slot.
    wait("instance output in the journal", TEN_S, || {
        let j = sb.exec(&[
            "journalctl",
            "-u",
            "pool@1.service",
            "--no-pager",
            "-o",
            "cat",
        ]);
        String::from_utf8_lossy(&j.stdout).contains("slot 1")
    });
    // A dependency crashes and is restarted by systemd: its dependent keeps running (no
    // restart, as under stead), and the one-shot is not run again.
    let api_pid = sb.show("api.service", "MainPID");
    let setup_started = num("setup.service", "ExecMainStartTimestampMonotonic");
    let db_pid = sb.show("db.service", "MainPID");
    let db_pid = db_pid.trim().trim_start_matches("MainPID=").to_string();
    assert!(sb.exec(&["kill", "-9", &db_pid]).status.success());
    wait("db restarted", TEN_S, || {
        let s = sb.show("db.service", "NRestarts,ActiveState");
        s.contains("NRestarts=1") && s.contains("ActiveState=active")
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        sb.show("api.service", "MainPID"),
        api_pid,
        "api was restarted with db"
    );
    assert!(sb.show("api.service", "NRestarts").contains("NRestarts=0"));
    assert_eq!(
        num("setup.service", "ExecMainStartTimestampMonotonic"),
        setup_started,
        "the one-shot ran again"
    );
    // Killed: systemd restarts it (Restart=always).
    let pid = sb.show("api.service", "MainPID");
    let pid = pid.trim().trim_start_matches("MainPID=").to_string();
    assert!(sb.exec(&["kill", "-9", &pid]).status.success());
    wait("api restarted", TEN_S, || {
        let s = sb.show("api.service", "NRestarts,ActiveState,MainPID");
        s.contains("NRestarts=1")
            && s.contains("ActiveState=active")
            && !s.contains(&format!("MainPID={pid}\n"))
    });
    // Stopping the target stops every program (PartOf=).
    assert!(
        sb.exec(&["systemctl", "stop", "fleet.target"])
            .status
            .success()
    );
    for u in ["api.service", "pool@0.service", "pool@1.service"] {
        wait(&format!("{u} stopped"), TEN_S, || !active(u));
    }
}
