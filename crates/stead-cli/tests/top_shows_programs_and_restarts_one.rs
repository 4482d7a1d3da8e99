//! `stead top` driven in tmux: the screen lists the programs with their state and the
//! selected program's output; the down key selects the next program and `r` restarts it.
#![cfg(unix)]
mod support;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const T: Duration = Duration::from_secs(20);

struct Tmux(String);

impl Tmux {
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(
            Command::new("tmux")
                .args(["send-keys", "-t", &self.0, keys])
                .status()
                .unwrap()
                .success()
        );
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if cond(&s) {
                return;
            }
            assert!(start.elapsed() < T, "no {what} on the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

#[test]
#[cfg_attr(not(has_tmux), ignore = "needs tmux (apt install tmux)")]
fn top_shows_programs_and_restarts_one() {
    let have = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if skip_unless(have, "tmux is not installed") {
        return;
    }
    let mut h = Harness::new("top");
    h.write_config(
        r#"
[program.alpha]
command = ["sleep", "1000"]
[program.beta]
command = ["sh", "-c", "echo hello from beta; exec sleep 1000"]
"#,
    );
    h.up();
    let before = h.pid_of("beta").unwrap();
    let session = format!("stead-top-{}", std::process::id());
    let cmd = format!(
        "env STEAD_STATE_DIR={} TERM=xterm-256color {} top --interval 300ms",
        h.state.display(),
        stead_bin().display()
    );
    assert!(
        Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "140",
                "-y",
                "30",
                &cmd
            ])
            .status()
            .unwrap()
            .success()
    );
    let tmux = Tmux(session);
    tmux.wait_for("both programs running", |s| {
        s.contains("stead top")
            && s.lines()
                .any(|l| l.contains("alpha") && l.contains("running"))
            && s.lines()
                .any(|l| l.contains("beta") && l.contains("running"))
    });
    tmux.keys("Down");
    tmux.wait_for("beta's output", |s| {
        s.contains("output: beta") && s.contains("hello from beta")
    });
    tmux.keys("r");
    h.wait_for("beta restarted", T, |h| {
        h.pid_of("beta").is_some_and(|p| p != before)
    });
    tmux.wait_for("the action's message", |s| s.contains("restart: beta"));
    assert!(h.pid_of("alpha").is_some(), "alpha untouched");
    tmux.keys("q");
    let start = Instant::now();
    while Command::new("tmux")
        .args(["has-session", "-t", &tmux.0])
        .status()
        .unwrap()
        .success()
    {
        assert!(start.elapsed() < T, "q did not end top");
        std::thread::sleep(Duration::from_millis(100));
    }
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}
