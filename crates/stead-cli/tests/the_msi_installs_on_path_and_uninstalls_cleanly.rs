//! The `.msi` that `cargo xtask dist` builds, under Wine's Windows Installer: `msiexec /i
//! /qn` puts `stead.exe` in `C:\Program Files\stead`, adds that folder to the system `PATH`
//! (so a new process finds `stead` by name) and registers the `stead` Event Log source; from
//! `PATH`, `stead install --wrap` registers a program as a service with the SCM. `msiexec /x`
//! removes the files, the `PATH` entry and the source.
#![cfg(target_os = "linux")]
mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(180);
const SOURCE: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\stead";
const ENV: &str = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment";

#[test]
#[cfg_attr(
    not(has_wine_sandbox),
    ignore = "needs root and ../shared/tools/wine-sandbox beside the repository"
)]
#[cfg_attr(
    not(has_dist),
    ignore = "needs the release artifacts: cargo xtask dist"
)]
fn the_msi_installs_on_path_and_uninstalls_cleanly() {
    let msi = dist_artifact("-x86_64.msi");
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    let h = Harness::new("msi");
    let wine = Wine::up(tool, &h.dir);
    std::fs::copy(&msi, wine.drive_c.join("stead.msi")).unwrap();

    let (code, out) = wine.run(&["msiexec", "/i", r"C:\stead.msi", "/qn"], T);
    assert_eq!(code, Some(0), "msiexec /i: {out}");
    let exe = wine.drive_c.join("Program Files/stead/stead.exe");
    assert!(exe.exists(), "no {}", exe.display());
    let (_, path) = wine.run(&["reg", "query", ENV, "/v", "PATH"], T);
    assert!(path.contains(r"Program Files\stead"), "PATH: {path}");
    let (code, out) = wine.run(&["reg", "query", SOURCE, "/v", "EventMessageFile"], T);
    assert_eq!(code, Some(0), "no Event Log source: {out}");

    // A new process finds stead by name through the system PATH.
    let (code, out) = wine.run(&["cmd", "/c", "stead", "--version"], T);
    assert_eq!(code, Some(0), "stead --version from PATH: {out}");
    assert!(out.contains("x86_64-pc-windows-gnu"), "{out}");
    let (code, out) = wine.run(
        &[
            "cmd",
            "/c",
            "stead",
            "install",
            "--name",
            "msiwrap",
            "--wrap",
            "--",
            r"C:\windows\system32\ping.exe",
            "-n",
            "1000",
            "127.0.0.1",
        ],
        T,
    );
    assert_eq!(code, Some(0), "stead install --wrap from PATH: {out}");
    let (code, out) = wine.run(&["cmd", "/c", "stead", "service", "status", "msiwrap"], T);
    assert_ne!(
        code,
        Some(4),
        "the wrapped service is not registered: {out}"
    );
    let (code, out) = wine.run(
        &[
            "reg",
            "query",
            r"HKLM\SYSTEM\CurrentControlSet\Services\msiwrap",
            "/v",
            "ImagePath",
        ],
        T,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(r"Program Files\stead\stead.exe"),
        "the service runs the installed stead: {out}"
    );
    let (code, out) = wine.run(&["cmd", "/c", "stead", "uninstall", "msiwrap"], T);
    assert_eq!(code, Some(0), "{out}");

    let (code, out) = wine.run(&["msiexec", "/x", r"C:\stead.msi", "/qn"], T);
    assert_eq!(code, Some(0), "msiexec /x: {out}");
    assert!(!exe.exists(), "stead.exe left after uninstall");
    let (_, path) = wine.run(&["reg", "query", ENV, "/v", "PATH"], T);
    assert!(
        !path.contains(r"Program Files\stead"),
        "PATH after uninstall: {path}"
    );
    let (code, out) = wine.run(&["reg", "query", SOURCE], T);
    assert_ne!(code, Some(0), "the Event Log source is left: {out}");
}
