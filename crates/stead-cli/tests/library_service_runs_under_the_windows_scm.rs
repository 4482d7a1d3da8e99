//! The `stead` library's Windows adapter under Wine's Service Control Manager: the
//! `lifecycle` example (cross-compiled) registered as a service through the SCM API. A slow
//! start shows `START_PENDING` with rising checkpoints and a wait hint, then RUNNING with
//! exactly the controls it handles; Pause/Continue/ParamChange/a custom control reach the
//! service as events; Stop shows `STOP_PENDING` with checkpoints while it drains, then STOPPED
//! with exit code 0; a failed preflight ends STOPPED with the service-specific exit code.
//! What Wine's SCM cannot do (Shutdown/PreShutdown, crash detection) is covered by the fake
//! host tests in `crates/stead/src/machine/tests.rs`.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(90);

fn states(out: &str) -> Vec<(String, u32)> {
    out.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let state = words.next()?.to_string();
            let cp = words
                .find_map(|w| w.strip_prefix("checkpoint="))?
                .parse()
                .ok()?;
            Some((state, cp))
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(has_wine_sandbox),
    ignore = "needs root and ../shared/tools/wine-sandbox beside the repository"
)]
fn library_service_runs_under_the_windows_scm() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    // `--example` limits a build to that example: the test child is built on its own.
    windows_build(&["-p", "stead-testchild"]);
    let target = windows_build(&["-p", "stead", "--example", "lifecycle"]);

    let h = Harness::new("wine-scm");
    let wine = Wine::up(tool, &h.dir);
    wine.put(&[
        &target.join("examples/lifecycle.exe"),
        &target.join("stead-testchild.exe"),
    ]);
    let marks = wine.drive_c.join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let scm = |args: &[&str]| {
        let mut all = vec!["./stead-testchild.exe", "--scm"];
        all.extend_from_slice(args);
        let (code, out) = wine.run(&all, T);
        assert_eq!(code, Some(0), "--scm {args:?}: {out}");
        out
    };

    scm(&[
        "create",
        "steadlife",
        "C:\\lifecycle.exe",
        "START_MS=3000",
        "DRAIN_MS=2500",
        "MARK_DIR=C:\\marks",
    ]);
    let start = scm(&["start-watch", "steadlife", "60000"]);
    let seen = states(&start);
    let pending: Vec<u32> = seen
        .iter()
        .filter(|(s, _)| s == "StartPending")
        .map(|(_, cp)| *cp)
        .collect();
    assert!(pending.len() >= 2, "START_PENDING checkpoints: {start}");
    assert!(
        pending.windows(2).all(|w| w[0] < w[1]),
        "checkpoints rise: {start}"
    );
    assert!(start.contains("wait_hint_ms=2000"), "{start}");
    let running = start.lines().last().unwrap();
    // STOP | PAUSE_CONTINUE | SHUTDOWN | PARAMCHANGE | PRESHUTDOWN
    assert!(
        running.starts_with("Running") && running.ends_with("accepts=0x10f"),
        "{start}"
    );

    let paused = scm(&["pause", "steadlife"]);
    assert!(paused.contains("Paused"), "{paused}");
    let resumed = scm(&["continue", "steadlife"]);
    assert!(resumed.contains("Running"), "{resumed}");
    scm(&["paramchange", "steadlife"]);
    scm(&["control", "steadlife", "200"]);
    let events = || std::fs::read_to_string(marks.join("events")).unwrap_or_default();
    let began = std::time::Instant::now();
    while !events().contains("Custom(200)") && began.elapsed() < T {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(events(), "Pause\nContinue\nReload\nCustom(200)\n");

    let stop = scm(&["stop-watch", "steadlife", "60000"]);
    let seen = states(&stop);
    let stopping: Vec<u32> = seen
        .iter()
        .filter(|(s, _)| s == "StopPending")
        .map(|(_, cp)| *cp)
        .collect();
    assert!(
        stopping.len() >= 2,
        "STOP_PENDING checkpoints while draining: {stop}"
    );
    let last = stop.lines().last().unwrap();
    assert!(
        last.starts_with("Stopped") && last.contains("win32=0 specific=0"),
        "{stop}"
    );
    assert_eq!(
        std::fs::read_to_string(marks.join("stopping"))
            .unwrap()
            .trim(),
        "stop requested by the service manager"
    );
    assert_eq!(
        std::fs::read_to_string(marks.join("cleanup")).unwrap(),
        "second\nfirst\n"
    );
    scm(&["delete", "steadlife"]);

    scm(&["create", "steadfail", "C:\\lifecycle.exe", "FAIL=3"]);
    let failed = scm(&["start-watch", "steadfail", "60000"]);
    let last = failed.lines().last().unwrap();
    assert!(
        last.starts_with("Stopped") && last.contains("win32=1066 specific=3"),
        "{failed}"
    );
    scm(&["delete", "steadfail"]);
}
