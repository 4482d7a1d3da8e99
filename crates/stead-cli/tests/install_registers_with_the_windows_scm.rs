//! `stead install --backend windows` (the Windows build) under Wine's Service Control
//! Manager: a service built with the `stead` library is created through the SCM API with a
//! quoted image path and the virtual account, read back, started (the start waits through
//! `START_PENDING`), shown by `stead service status`, stopped, refused a second time without
//! `--force`, and deleted by `stead uninstall` — its Event Log source registered with it and
//! removed with it. The install makes `C:\ProgramData\NAME` (and `logs`, `config`) and the
//! service's parameters key, each with a protected DACL that gives the virtual account only
//! its access (read back: the key's SDDL names the account's derived SID; a folder's ACL,
//! which Wine keeps as Unix permissions, leaves everyone else out); `uninstall` keeps the
//! folders, `uninstall --purge` removes them. A program that Everyone may change is refused
//! before anything is registered, and so is a named account whose password is not given.
//! With `--user` the program becomes a logon task in the Task Scheduler
//! (`schtasks /Create /XML`), refused a second time without `--force`, and deleted again. What Wine's SCM does not keep (failure
//! actions, delayed start, SID type) is reported as skipped there; the exact parameters are
//! tested in `crates/stead-manager/tests/golden/windows.txt`.
//!
//! The wrap mode (the NSSM/WinSW role): `stead install -c stead.toml` registers
//! `stead up --service NAME`; started by the SCM, the supervisor reaches `RUNNING` once its
//! control pipe answers, runs the program, and on the SCM's stop ends the program and reports
//! `STOPPED`; its own log goes to `NAME.log` in the log directory. `stead install --wrap --
//! PROGRAM` does the same from a config it generates in the service's config folder. (Wine cannot deliver
//! Ctrl-Break to a process group, so the graceful half of a program's stop — through the
//! console stead makes for itself as a service — ends in the Job Object kill here.)
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(120);

/// Waits until a wrapped program's third line is in its log.
fn wait_for_output(log: &std::path::Path) {
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(log).is_ok_and(|s| s.contains("line 0000000003")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the wrapped program's output never arrived in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[cfg_attr(
    not(has_wine_sandbox),
    ignore = "needs root and ../shared/tools/wine-sandbox beside the repository"
)]
fn install_registers_with_the_windows_scm() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    windows_build(&["-p", "stead-cli", "-p", "stead-testchild"]);
    let target = windows_build(&["-p", "stead", "--example", "lifecycle"]);
    let h = Harness::new("wine-install");
    let wine = Wine::up(tool, &h.dir);
    wine.put(&[
        &target.join("stead.exe"),
        &target.join("examples/lifecycle.exe"),
        &target.join("stead-testchild.exe"),
    ]);
    std::fs::create_dir_all(wine.drive_c.join("marks")).unwrap();
    let stead = |args: &[&str]| {
        let mut all = vec!["./stead.exe"];
        all.extend_from_slice(args);
        wine.run(&all, T)
    };

    // A program others may change is refused before anything is registered: Wine keeps a
    // file's ACL as its Unix mode, so a world-writable file is one Everyone may write.
    let open_dir = wine.drive_c.join("open");
    std::fs::create_dir_all(&open_dir).unwrap();
    std::fs::copy(
        target.join("examples/lifecycle.exe"),
        open_dir.join("app.exe"),
    )
    .unwrap();
    std::fs::set_permissions(
        open_dir.join("app.exe"),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    // An install refused with words that say why, after which the SCM has no such service.
    let refused = |name: &str, rest: &[&str], why: &[&str]| {
        let mut args = vec!["install", "--backend", "windows", "--name", name];
        args.extend_from_slice(rest);
        let (code, out) = stead(&args);
        assert_ne!(code, Some(0), "{out}");
        assert!(why.iter().all(|w| out.contains(w)), "{why:?} in {out}");
        let (code, out) = stead(&["service", "status", name, "--backend", "windows"]);
        assert_eq!(code, Some(4), "nothing was registered: {out}");
    };
    refused(
        "steadopen",
        &["--", "C:\\open\\app.exe"],
        &["refusing to install", "Everyone"],
    );
    // A named account needs its password: with none in the environment and no console to
    // ask on, the install says how to give it and registers nothing.
    refused(
        "steadpass",
        &["--account", ".\\bob", "--", "C:\\lifecycle.exe"],
        &["STEAD_SERVICE_PASSWORD", "never on the command line"],
    );

    let (code, out) = stead(&[
        "install",
        "--backend",
        "windows",
        "--name",
        "steadinst",
        "--",
        "C:\\lifecycle.exe",
        "START_MS=1500",
        "MARK_DIR=C:\\marks",
    ]);
    assert_eq!(code, Some(0), "{out}");
    // The Event Log source is registered with the service.
    let source_key = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\steadinst";
    let (code, out) = wine.run(&["reg", "query", source_key, "/v", "EventMessageFile"], T);
    assert_eq!(code, Some(0), "no Event Log source: {out}");
    assert!(out.contains("EventLogMessages.dll"), "{out}");
    // Its folders and parameters key: the virtual account gets exactly its access (the
    // DACLs are read back below, once the control of an ordinary folder is at hand).
    for sub in ["", "/logs", "/config"] {
        assert!(
            wine.drive_c
                .join(format!("ProgramData/steadinst{sub}"))
                .is_dir(),
            "C:\\ProgramData\\steadinst{sub} was not made"
        );
    }
    let sid = stead_manager::backend::windows::virtual_account_sid("steadinst");
    let (code, key) = wine.run(
        &[
            "./stead-testchild.exe",
            "--key-sddl",
            r"SYSTEM\CurrentControlSet\Services\steadinst\Parameters",
        ],
        T,
    );
    assert_eq!(code, Some(0), "{key}");
    assert!(
        key.contains(&format!("(A;CI;KR;;;{sid})"))
            && key.contains("(A;CI;KA;;;SY)")
            && key.contains("D:P"),
        "the parameters key's DACL: {key}"
    );
    let (code, out) = stead(&["service", "start", "steadinst", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        std::fs::read_to_string(wine.drive_c.join("marks/ready")).is_ok(),
        "the start returned once the service was ready"
    );
    let (code, out) = stead(&[
        "service",
        "status",
        "steadinst",
        "--backend",
        "windows",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let json = &out[out.find('{').unwrap()..=out.rfind('}').unwrap()];
    let st: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(st["state"], "running", "{st}");

    let (code, out) = stead(&[
        "install",
        "--backend",
        "windows",
        "--name",
        "steadinst",
        "--",
        "C:\\lifecycle.exe",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("already installed"), "{out}");

    let (code, out) = stead(&["service", "stop", "steadinst", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        std::fs::read_to_string(wine.drive_c.join("marks/stopping"))
            .unwrap_or_default()
            .trim(),
        "stop requested by the service manager"
    );
    let (code, out) = stead(&["uninstall", "steadinst", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = wine.run(&["reg", "query", source_key], T);
    assert_ne!(
        code,
        Some(0),
        "the Event Log source outlived the service: {out}"
    );
    let (code, out) = stead(&["service", "status", "steadinst", "--backend", "windows"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("not-installed"), "{out}");
    assert!(
        wine.drive_c.join("ProgramData/steadinst").is_dir(),
        "without --purge the service's data stays"
    );

    // The wrap mode: stead itself is the service, around a plain console program.
    std::fs::write(
        wine.drive_c.join("wrap.toml"),
        "[program.inner]\ncommand = ['C:\\stead-testchild.exe', '--write-pids', 'C:\\marks\\inner.pids', '--print', '1000000', '--pace', '50ms']\n",
    )
    .unwrap();
    let (code, out) = stead(&[
        "install",
        "--backend",
        "windows",
        "--name",
        "wrapped",
        "-c",
        "C:\\wrap.toml",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = stead(&["service", "start", "wrapped", "--backend", "windows"]);
    assert_eq!(code, Some(0), "the SCM saw the supervisor start: {out}");
    let logs = wine.drive_c.join("ProgramData/wrapped/logs");
    let inner_log = logs.join("inner.out.log");
    wait_for_output(&inner_log);
    let (code, out) = stead(&[
        "status",
        "--state-dir",
        "C:\\ProgramData\\wrapped",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("\"inner\"") && out.contains("\"running\""),
        "{out}"
    );
    // The state directory is private: stead gives it a protected ACL of SYSTEM,
    // Administrators and the service's own account. Wine keeps an ACL as Unix permissions,
    // so what survives there is that nobody else has access — where an ordinary directory
    // grants Everyone (WD) read access. (On Windows the DACL reads D:P(SY)(BA)(account).)
    let sddl_of = |path: &str| {
        let (code, sddl) = wine.run(&["./stead-testchild.exe", "--sddl", path], T);
        assert_eq!(code, Some(0), "{sddl}");
        sddl
    };
    let ordinary = sddl_of("C:\\marks");
    assert!(ordinary.contains(";;;WD)"), "the control: {ordinary}");
    for folder in [
        "C:\\ProgramData\\steadinst",
        "C:\\ProgramData\\steadinst\\config",
    ] {
        let dacl = sddl_of(folder);
        assert!(
            !dacl.contains(";;;WD)") && !dacl.contains(";;;BU)"),
            "{folder}: {dacl}"
        );
    }
    let state = sddl_of("C:\\ProgramData\\wrapped");
    assert!(
        state.contains("(A;OICI;FA;;;SY)")
            && !state.contains(";;;WD)")
            && !state.contains(";;;BU)"),
        "the state directory's ACL: {state}"
    );
    let (code, out) = stead(&["service", "stop", "wrapped", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    // The program ended with the service: its output stops growing.
    let size = || std::fs::metadata(&inner_log).map_or(0, |m| m.len());
    let after_stop = size();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        size(),
        after_stop,
        "the wrapped program outlived the service"
    );
    let own_log = std::fs::read_to_string(logs.join("wrapped.log")).unwrap_or_default();
    assert!(
        own_log.contains("as a service"),
        "the supervisor's own log: {own_log}"
    );
    assert!(
        own_log.contains("shutting down (stop requested by the service manager)"),
        "the stop came from the SCM: {own_log}"
    );
    let (code, out) = stead(&["uninstall", "wrapped", "--backend", "windows", "--purge"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        !wine.drive_c.join("ProgramData/wrapped").exists(),
        "--purge removes the folders the install made"
    );

    // --wrap: the same from a generated config, written into the config folder the install
    // made (so it has that folder's ACL).
    let (code, out) = stead(&[
        "install",
        "--backend",
        "windows",
        "--name",
        "wrapt",
        "--wrap",
        "--",
        "C:\\stead-testchild.exe",
        "--print",
        "1000000",
        "--pace",
        "50ms",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let config = std::fs::read_to_string(wine.drive_c.join("ProgramData/wrapt/config/stead.toml"))
        .unwrap_or_default();
    assert!(
        config.contains("[program.\"wrapt\"]") && config.contains("stead-testchild.exe"),
        "{config}"
    );
    let (code, out) = stead(&["service", "start", "wrapt", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    let wrapt_log = wine.drive_c.join("ProgramData/wrapt/logs/wrapt.out.log");
    wait_for_output(&wrapt_log);
    let (code, out) = stead(&["service", "stop", "wrapt", "--backend", "windows"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = stead(&["uninstall", "wrapt", "--backend", "windows", "--purge"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!wine.drive_c.join("ProgramData/wrapt").exists());

    // --user: a logon task in the Task Scheduler, registered from its UTF-16 XML.
    let task_file = wine.drive_c.join("windows/system32/tasks/stead/tasky");
    let (code, out) = stead(&[
        "install",
        "--user",
        "--name",
        "tasky",
        "--",
        "C:\\lifecycle.exe",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let registered = std::fs::read(&task_file).unwrap_or_default();
    let text = String::from_utf8_lossy(&registered).replace('\0', "");
    // Wine's task store keeps only part of a definition (no triggers, no action), but the
    // description shows it read our UTF-16 XML; the whole XML is checked by the golden
    // test and the XML round trip (crates/stead-manager/tests/).
    assert!(
        text.contains("<Description>tasky (installed by stead)</Description>"),
        "the task Wine stored: {text:?}"
    );
    let (code, out) = stead(&[
        "install",
        "--user",
        "--name",
        "tasky",
        "--",
        "C:\\lifecycle.exe",
    ]);
    assert_eq!(code, Some(2), "a second install without --force: {out}");
    let (code, out) = stead(&["uninstall", "tasky", "--user"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!task_file.exists(), "the task outlived its uninstall");
}
