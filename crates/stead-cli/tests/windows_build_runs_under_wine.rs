//! The Windows build (`x86_64-pc-windows-gnu`), run under Wine: programs start in a Job
//! Object, exit codes pass through `stead run`, a crash loop ends it with 100, and `stead up`
//! answers `status` and `shutdown` over its named pipe. Wine cannot deliver Ctrl-Break to
//! another process group, so a stop there goes straight to the Job Object kill.
#![cfg(target_os = "linux")]
mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Wine {
    tool: PathBuf,
    state: PathBuf,
    drive_c: PathBuf,
    out: PathBuf,
}

impl Wine {
    fn tool(&self) -> Command {
        let mut c = Command::new(&self.tool);
        c.env("WINE_SANDBOX_STATE", &self.state);
        c
    }

    /// Runs `wine ARGS` in C:\ with output to a file (wine helpers may keep pipes open).
    fn run(&self, args: &[&str], limit: Duration) -> (Option<i32>, String) {
        let log = std::fs::File::create(&self.out).unwrap();
        let mut child = self
            .tool()
            .args(["exec", "--", "wine"])
            .args(args)
            .current_dir(&self.drive_c)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let start = Instant::now();
        let code = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st.code();
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (code, std::fs::read_to_string(&self.out).unwrap_or_default())
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self
            .tool()
            .arg("down")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn windows_build_runs_under_wine() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--target",
            "x86_64-pc-windows-gnu",
            "-p",
            "stead-cli",
            "-p",
            "stead-testchild",
        ])
        .status()
        .unwrap();
    assert!(
        built.success(),
        "cross-compiling for x86_64-pc-windows-gnu failed"
    );
    let target = stead_bin()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("x86_64-pc-windows-gnu/debug");

    let h = Harness::new("wine");
    let state = h.dir.join("wine.state");
    // The persistent wineserver inherits whatever the tool's output goes to: a file, so that
    // nothing waits for a pipe that never closes.
    let up_out = h.dir.join("wine-up.out");
    let f = std::fs::File::create(&up_out).unwrap();
    let up = Command::new(&tool)
        .env("WINE_SANDBOX_STATE", &state)
        .arg("up")
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    assert!(
        up.success(),
        "wine-sandbox up: {}",
        std::fs::read_to_string(&up_out).unwrap_or_default()
    );
    let prefix = std::fs::read_to_string(&state).unwrap().trim().to_string();
    let wine = Wine {
        tool,
        state,
        drive_c: Path::new(&prefix).join("drive_c"),
        out: h.dir.join("wine.out"),
    };
    let put = wine
        .tool()
        .arg("put")
        .arg(target.join("stead.exe"))
        .arg(target.join("stead-testchild.exe"))
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );

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
        "[program.a]\ncommand = [\"./stead-testchild.exe\", \"--sleep\", \"forever\"]\nstop_timeout = \"5s\"\n\
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
