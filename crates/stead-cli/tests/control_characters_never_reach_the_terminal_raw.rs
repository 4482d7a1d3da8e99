//! A program prints `ESC ] 0 ; title BEL` (retitle), `ESC [ 2 J` (clear), `ESC ] 52 ; c ; …
//! BEL` (clipboard write) and `text CR FAKE`, and sends a `STATUS=` with the same; a health
//! probe's stderr says the same. On a terminal (a pseudo-terminal here) `stead logs`,
//! `stead status`, `stead events` and the console echo of a foreground `stead up` show them
//! escaped, with stead's own colours kept; the log file and `stead logs` into a pipe keep the
//! exact bytes, and `stead logs --raw` prints them as they are. `stead validate` never echoes
//! a name's control characters.
#![cfg(unix)]
mod support;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

/// What the program prints, one line each.
const LINES: [&[u8]; 4] = [
    b"\x1b]0;title\x07",
    b"\x1b[2J",
    b"\x1b]52;c;aGk=\x07",
    b"text\rFAKE",
];
/// The same, as the operator must see them.
const SHOWN: [&str; 4] = [
    r"\e]0;title\x07",
    r"\e[2J",
    r"\e]52;c;aGk=\x07",
    r"text\rFAKE",
];

const PROGRAM: &str = r#"
import os, socket, sys, time
sys.stdout.buffer.write(b"\x1b]0;title\x07\n\x1b[2J\n\x1b]52;c;aGk=\x07\ntext\rFAKE\n")
sys.stdout.flush()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
s.send(b"READY=1\nSTATUS=\x1b]0;status\x07 up\rFAKE")
time.sleep(1000)
"#;

/// A health probe that fails saying the same.
const PROBE: &str = r"printf '\033]0;probe\007 down\rFAKE\n' >&2; exit 1";

/// A new pseudo-terminal: (master, slave), neither inherited by children.
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: two out-pointers to ints; a null name, termios and window size are allowed.
    let rc = unsafe {
        libc::openpty(
            &raw mut master,
            &raw mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    let fds = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&fds.0, &fds.1] {
        // SAFETY: F_SETFD on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    fds
}

/// Everything written to the terminal until its last writer closes it (`EIO` on Linux).
fn read_terminal(master: OwnedFd, into: &Mutex<Vec<u8>>) {
    let mut master = File::from(master);
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = master.read(&mut buf) {
        into.lock().unwrap().extend_from_slice(&buf[..n]);
    }
}

/// Runs `stead ARGS` with its stdout and stderr on a terminal; what the terminal received.
fn on_terminal(h: &Harness, args: &[&str]) -> Vec<u8> {
    let (master, slave) = openpty();
    let mut cmd = h.command();
    cmd.args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().expect("run stead");
    drop(cmd); // the parent's copies of the slave: the read ends when stead exits
    let got = Mutex::new(Vec::new());
    read_terminal(master, &got);
    child.wait().unwrap();
    got.into_inner().unwrap()
}

/// Fails unless `bytes` are safe for a terminal: every ESC starts one of stead's own colours
/// (`ESC [ digits ; … m`), no BEL or other C0 control but tab and newline, CR only before LF
/// (the terminal's own newline translation), no C1 control.
fn assert_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            0x1b => {
                let params = tail.strip_prefix(b"[").unwrap_or_else(|| {
                    panic!("{what}: a raw ESC that is not a colour reached the terminal:\n{text:?}")
                });
                let end = params
                    .iter()
                    .position(|c| !(c.is_ascii_digit() || *c == b';'))
                    .unwrap_or(params.len());
                assert_eq!(
                    params.get(end),
                    Some(&b'm'),
                    "{what}: a raw ESC that is not a colour reached the terminal:\n{text:?}"
                );
                rest = &params[end + 1..];
                continue;
            }
            b'\r' => assert_eq!(
                tail.first(),
                Some(&b'\n'),
                "{what}: a raw CR reached the terminal:\n{text:?}"
            ),
            b'\t' | b'\n' => {}
            0..0x20 | 0x7f => {
                panic!("{what}: raw control {b:#04x} reached the terminal:\n{text:?}")
            }
            0xc2 => assert!(
                !tail.first().is_some_and(|c| (0x80..0xa0).contains(c)),
                "{what}: a C1 control reached the terminal:\n{text:?}"
            ),
            _ => {}
        }
        rest = tail;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_shows(what: &str, bytes: &[u8], shown: &[&str]) {
    assert_safe(what, bytes);
    let text = String::from_utf8_lossy(bytes);
    for s in shown {
        assert!(text.contains(s), "{what}: {s} is not shown:\n{text}");
    }
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `stead top` in tmux (a real terminal emulator): the output pane and the REASON column show
/// the sequences as text, and the window title is not the program's.
fn top_in_tmux(h: &Harness) {
    let have = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if skip_unless(have, "tmux is not installed") {
        return;
    }
    let session = format!("stead-terminal-safety-{}", std::process::id());
    let cmd = format!(
        "env STEAD_STATE_DIR={} TERM=xterm-256color {} top --interval 300ms",
        h.state.display(),
        stead_bin().display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "30",
        &cmd,
    ]);
    let start = std::time::Instant::now();
    let screen = loop {
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if screen.contains(SHOWN[3]) && screen.contains(r"\e]0;status\x07") {
            break screen;
        }
        assert!(
            start.elapsed() < T,
            "top does not show the escaped text:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let title = tmux(&["display-message", "-p", "-t", &session, "#{pane_title}"]);
    tmux(&["kill-session", "-t", &session]);
    for s in SHOWN {
        assert!(screen.contains(s), "top does not show {s}:\n{screen}");
    }
    assert!(
        !title.contains("title") && !title.contains("status"),
        "the program retitled the terminal: {title}"
    );
}

/// Whether to skip for want of python3 (which runs the program that prints them).
fn no_python3() -> bool {
    let have = Command::new("python3")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    skip_unless(have, "python3 is not installed")
}

/// A scratch directory with a config of programs that print, report and probe with
/// control characters (not started).
fn configured(name: &str) -> Harness {
    let h = Harness::new(name);
    std::fs::write(h.dir.join("evil.py"), PROGRAM).unwrap();
    std::fs::write(h.dir.join("probe.sh"), PROBE).unwrap();
    h.write_config(
        r#"
[program.evil]
command = ["python3", "{dir}/evil.py"]
ready = "notify"

[program.sick]
command = ["sleep", "1000"]
health = { exec = ["sh", "{dir}/probe.sh"], interval = "200ms", failures = 1, action = "report" }
"#,
    );
    h
}

/// Waits until evil's STATUS= text and sick's failed probe are known.
fn wait_until_reported(h: &Harness) {
    h.wait_for("the control socket", T, |h| h.try_status().is_some());
    h.wait_for("evil's STATUS= text", T, |h| {
        h.program("evil")["status_text"].is_string()
    });
    h.wait_for("sick's failed probe as an event", T, |h| {
        let out = h.stead(&["events", "--json"]);
        String::from_utf8_lossy(&out.stdout).contains(r#""kind":"unhealthy""#)
    });
}

#[test]
#[cfg_attr(not(has_python3), ignore = "needs python3")]
fn control_characters_never_reach_the_terminal_raw() {
    if no_python3() {
        return;
    }
    let mut h = configured("terminal-safety");
    // A foreground `stead up` with its stderr on a terminal echoes programs' lines there.
    let (master, slave) = openpty();
    let mut up = h.command();
    up.args(["up", "-c"])
        .arg(&h.config)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(slave);
    h.supervisor = Some(up.spawn().expect("start stead up"));
    drop(up);
    let console = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let console = Arc::clone(&console);
        std::thread::spawn(move || read_terminal(master, &console))
    };
    wait_until_reported(&h);
    let status = h.program("evil");
    assert_eq!(
        status["status_text"], "\x1b]0;status\x07 up\rFAKE",
        "{status}"
    );

    // On disk, the exact bytes.
    let file = std::fs::read(status["log"]["stdout"].as_str().unwrap()).unwrap();
    for line in LINES {
        let with_newline = [line, b"\n"].concat();
        assert!(
            contains(&file, &with_newline),
            "the log file lost {line:?}:\n{file:?}"
        );
    }

    let logs = on_terminal(&h, &["logs", "evil", "--stdout"]);
    assert_shows("stead logs", &logs, &SHOWN);

    let raw = on_terminal(&h, &["logs", "evil", "--stdout", "--raw"]);
    for line in LINES {
        assert!(contains(&raw, line), "--raw changed {line:?}:\n{raw:?}");
    }
    let piped = h.stead(&["logs", "evil", "--stdout"]);
    for line in LINES {
        let with_newline = [line, b"\n"].concat();
        assert!(
            contains(&piped.stdout, &with_newline),
            "stead logs into a pipe changed {line:?}:\n{:?}",
            piped.stdout
        );
    }

    let table = on_terminal(&h, &["status"]);
    assert_shows(
        "stead status",
        &table,
        &[r"\e]0;status\x07 up\rFAKE", r"\e]0;probe\x07 down\rFAKE"],
    );
    let events = on_terminal(&h, &["events"]);
    assert_shows("stead events", &events, &[r"\e]0;probe\x07 down\rFAKE"]);

    h.wait_for("the console echo", T, |_| {
        String::from_utf8_lossy(&console.lock().unwrap()).contains("FAKE")
    });
    assert!(h.stead(&["shutdown"]).status.success());
    h.wait_exit(T);
    reader.join().unwrap();
    let console = console.lock().unwrap();
    assert_shows("the console of stead up", &console, &SHOWN);
    assert!(
        contains(&console, b"\x1b[") && contains(&console, br"evil |"),
        "stead's own coloured prefix is gone:\n{:?}",
        String::from_utf8_lossy(&console)
    );

    // A config error quotes the name escaped, on a terminal or not.
    let bad = h.dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[program.\"a\\u001b]0;x\\u0007\\u009b2J\"]\ncommand = [\"sleep\", \"1\"]\n",
    )
    .unwrap();
    let out = h.stead(&["validate", "-c", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_shows(
        "stead validate",
        &out.stderr,
        &[r"bad program name `a\e]0;x\x07\u{9b}2J`"],
    );
}

#[test]
#[cfg_attr(
    not(all(has_python3, has_tmux)),
    ignore = "needs python3 and tmux (apt install tmux)"
)]
fn control_characters_never_reach_top_raw() {
    if no_python3() {
        return;
    }
    let mut h = configured("terminal-safety-top");
    h.up();
    wait_until_reported(&h);
    top_in_tmux(&h);
}
