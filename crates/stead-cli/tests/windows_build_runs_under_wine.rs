//! The Windows build (`x86_64-pc-windows-gnu`), run under Wine: programs start in a Job
//! Object, exit codes pass through `stead run`, a crash loop ends it with 100, and `stead up`
//! answers `status` and `shutdown` over its named pipe, with the memory and threads of a
//! program that holds 64 MiB and spins a thread (Wine keeps no CPU time or handle count of
//! another process, so those are right on Windows only). Wine cannot deliver
//! Ctrl-Break to another process group, so a stop there goes straight to the Job Object kill.
#![cfg(target_os = "linux")]
mod support;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

#[test]
#[cfg_attr(
    not(has_wine_sandbox),
    ignore = "needs root and ../shared/tools/wine-sandbox beside the repository"
)]
fn windows_build_runs_under_wine() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    let target = windows_build(&["-p", "stead-cli", "-p", "stead-testchild"]);

    let h = Harness::new("wine");
    let wine = Wine::up(tool, &h.dir);
    wine.put(&[
        &target.join("stead.exe"),
        &target.join("stead-testchild.exe"),
    ]);

    let (code, out) = wine.run(
        &[
            "./stead.exe",
            "run",
            "--restart",
            "never",
            "--",
            "./stead-testchild.exe",
            "--stdout",
            "hello from windows",
            "--exit",
            "7",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("hello from windows"), "{out}");

    let (code, out) = wine.run(
        &[
            "./stead.exe",
            "run",
            "--max-restarts",
            "2",
            "--backoff-initial",
            "10ms",
            "--",
            "./stead-testchild.exe",
            "--exit",
            "1",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(100), "{out}");

    std::fs::write(
        wine.drive_c.join("stead.toml"),
        "[program.a]\ncommand = [\"./stead-testchild.exe\", \"--hold-mb\", \"64\", \"--spin\", \"--sleep\", \"forever\"]\nstop_timeout = \"5s\"\n\
         [program.b]\ncommand = [\"./stead-testchild.exe\", \"--exit\", \"3\"]\nrestart = \"never\"\n",
    )
    .unwrap();
    let up_log = std::fs::File::create(h.dir.join("up.out")).unwrap();
    let mut supervisor = wine
        .tool()
        .args([
            "exec",
            "--",
            "wine",
            "./stead.exe",
            "up",
            "-c",
            "stead.toml",
        ])
        .current_dir(&wine.drive_c)
        .stdin(Stdio::null())
        .stdout(up_log.try_clone().unwrap())
        .stderr(up_log)
        .spawn()
        .unwrap();
    let mut status = serde_json::Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let (code, out) = wine.run(
            &["./stead.exe", "status", "--json"],
            Duration::from_secs(30),
        );
        if code == Some(0)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(out.trim())
            && v["programs"][1]["state"] == "exited"
        {
            status = v;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        status["programs"][0]["state"],
        "running",
        "{status}\n{}",
        std::fs::read_to_string(h.dir.join("up.out")).unwrap_or_default()
    );
    assert_eq!(status["programs"][1]["last_exit"]["code"], 3, "{status}");

    // Resources, sampled while someone looks: the held memory and the spinning thread, in a
    // tree of one process. Wine does not keep another process's CPU time or handle count
    // (it reports well under a second of CPU after a minute of spinning, and no handles), so
    // those two figures are checked for presence here and are right on Windows only.
    // The child holds its memory before it starts the spinning thread, so a sample can see
    // the one without the other: wait for the whole picture, not its first half.
    let complete = |r: &serde_json::Value| {
        r["rss_bytes"].as_u64().unwrap_or(0) > 64 << 20
            && r["threads"].as_u64().unwrap_or(0) >= 2
            && r["processes"] == 1
            && r["cpu_seconds"].is_f64()
            && r["fds"].is_u64()
    };
    let mut resources = serde_json::Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let (_, out) = wine.run(
            &["./stead.exe", "status", "--json"],
            Duration::from_secs(30),
        );
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(out.trim()) {
            resources = v["programs"][0]["resources"].clone();
            if complete(&resources) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(complete(&resources), "{resources}");

    // A stop cannot deliver Ctrl-Break under Wine: stead kills the Job at once, well within
    // the 5 s stop timeout.
    let started = Instant::now();
    let (code, out) = wine.run(&["./stead.exe", "stop", "a"], Duration::from_secs(30));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(out.contains("stopped"), "{out}");

    let (code, out) = wine.run(&["./stead.exe", "shutdown"], Duration::from_secs(30));
    assert_eq!(code, Some(0), "{out}");
    let start = Instant::now();
    while supervisor.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit = supervisor.try_wait().unwrap();
    if exit.is_none() {
        let _ = supervisor.kill();
    }
    assert_eq!(
        exit.and_then(|s| s.code()),
        Some(0),
        "{}",
        std::fs::read_to_string(h.dir.join("up.out")).unwrap_or_default()
    );
}
