//! `stead install --backend windows` (the Windows build) under Wine's Service Control
//! Manager: a service built with the `stead` library is created through the SCM API with a
//! quoted image path and the virtual account, read back, started (the start waits through
//! `START_PENDING`), shown by `stead service status`, stopped, refused a second time without
//! `--force`, and deleted by `stead uninstall`. What Wine's SCM does not keep (failure
//! actions, delayed start, SID type) is reported as skipped there; the exact parameters are
//! tested in `crates/stead-manager/tests/golden/windows.txt`.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(120);

#[test]
fn install_registers_with_the_windows_scm() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    windows_build(&["-p", "stead-cli"]);
    let target = windows_build(&["-p", "stead", "--example", "lifecycle"]);
    let h = Harness::new("wine-install");
    let wine = Wine::up(tool, &h.dir);
    wine.put(&[
        &target.join("stead.exe"),
        &target.join("examples/lifecycle.exe"),
    ]);
    std::fs::create_dir_all(wine.drive_c.join("marks")).unwrap();
    let stead = |args: &[&str]| {
        let mut all = vec!["./stead.exe"];
        all.extend_from_slice(args);
        wine.run(&all, T)
    };

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
    let (code, out) = stead(&["service", "status", "steadinst", "--backend", "windows"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("not-installed"), "{out}");
}
