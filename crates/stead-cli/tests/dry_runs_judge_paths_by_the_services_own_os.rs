//! `stead install --dry-run` previews any backend anywhere: a Windows service's program is
//! judged by Windows' rules on Linux (a drive or UNC path is taken as it is, never resolved
//! against this directory), a relative one is refused naming the rule, and without
//! `--backend` a machine with no detectable manager still gets a plan.
#![cfg(unix)]
mod support;
use support::*;

fn install(args: &[&str]) -> std::process::Output {
    let mut all = vec!["install", "--dry-run"];
    all.extend_from_slice(args);
    std::process::Command::new(stead_bin())
        .args(all)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

#[test]
fn dry_runs_judge_paths_by_the_services_own_os() {
    let out = install(&[
        "--backend",
        "windows",
        "--json",
        "--",
        r"C:\Program Files\App\app.exe",
        "--port",
        "80",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["scm"]["image_path"], r#""C:\Program Files\App\app.exe" --port 80"#,
        "{plan}"
    );
    // The name is the file's, split at Windows' separators.
    assert_eq!(plan["scm"]["name"], "app", "{plan}");

    let out = install(&[
        "--backend",
        "windows",
        "--json",
        "--",
        r"\\server\share\a.exe",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["scm"]["image_path"], r#""\\server\share\a.exe""#,
        "{plan}"
    );

    for relative in ["app.exe", r"bin\app.exe", r"C:app.exe", "/usr/bin/app"] {
        let out = install(&["--backend", "windows", "--", relative]);
        assert_eq!(out.status.code(), Some(2), "{relative}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is not an absolute path on the machine a windows service runs on"),
            "{relative}: {err}"
        );
    }

    // No --backend: a plan for this machine's manager, or this OS's usual one with a note.
    let out = install(&["--", "/bin/true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("# backend: "), "{stdout}");
}
