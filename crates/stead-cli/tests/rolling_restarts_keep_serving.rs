//! `stead restart --rolling` and `update = "rolling"`: each instance's replacement starts
//! beside it on the same held socket, and the old one is stopped only once the replacement
//! is ready. Under a steady stream of requests to a real server (gunicorn, which says
//! `READY=1` on `NOTIFY_SOCKET` itself) nothing fails; a replacement that never becomes ready is
//! stopped, the old instance keeps serving, and the command or reload says why.
#![cfg(unix)]
mod support;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::*;

/// Answers each connection with its pid once it is ready, which it is only when `./ok`
/// exists; otherwise it hangs in its start-up (as a server waiting for its database does)
/// and never accepts.
const SERVER: &str = r#"
import os, socket, time
s = socket.socket(fileno=3)
if not os.path.exists("ok"):
    time.sleep(3600)
print("READY", flush=True)
while True:
    c, _ = s.accept()
    c.recv(100)
    c.sendall(f"{os.getpid()}\n".encode())
    c.close()
"#;

/// Writes an executable shell script `name` into the test's directory.
fn script(h: &Harness, name: &str, body: &str) {
    let path = h.dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

fn pids(h: &Harness, name: &str) -> Vec<u32> {
    h.status()["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .filter_map(|p| p["pid"].as_u64().map(|n| n as u32))
        .collect()
}

#[test]
#[cfg_attr(
    not(has_gunicorn),
    ignore = "needs gunicorn (python3 -m pip install gunicorn)"
)]
fn gunicorn_rolls_over_without_a_failed_request() {
    let mut h = Harness::new("rolling-gunicorn");
    let port = free_port();
    if !up_gunicorn(&mut h, port, "") {
        return;
    }
    let first = h.pid_of("web").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let client = hammer(port, b"GET / HTTP/1.0\r\n\r\n", Arc::clone(&stop));
    let mut masters = vec![first];
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        let out = h.stead(&["restart", "--rolling", "web", "--timeout", "60s"]);
        assert!(out.status.success(), "{}", text(&out));
        let now = pids(&h, "web");
        assert_eq!(
            now.len(),
            1,
            "one instance once the rollout is over: {now:?}"
        );
        assert!(!masters.contains(&now[0]), "a new master each time");
        masters.push(now[0]);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let t = client.join().unwrap();
    assert!(
        t.refused == 0 && t.other.is_empty(),
        "nothing fails across rolling restarts: {t:?}"
    );
    assert!(t.ok > 50, "{t:?}");
    let events = text(&h.stead(&["events"]));
    assert_eq!(
        events.matches("done: 1 instance(s) replaced").count(),
        3,
        "{events}"
    );
    // The old master stopped only after its replacement was ready.
    let ready_then_stop = events.find("is ready; stopping the old instance").unwrap();
    assert!(events[..ready_then_stop].contains("starting a replacement beside pid"));
}

#[test]
fn a_replacement_that_never_gets_ready_leaves_the_old_one_serving() {
    let mut h = Harness::new("rolling-unready");
    let port = free_port();
    std::fs::write(h.dir.join("server.py"), SERVER).unwrap();
    std::fs::write(h.dir.join("ok"), "").unwrap();
    let config = |extra: &str| {
        format!(
            r#"
[program.web]
command = ["python3", "server.py"{extra}]
sockets = ["tcp://127.0.0.1:{port}"]
ready = {{ log = "READY", timeout = "1s" }}
update = "rolling"
numprocs = 2
"#
        )
    };
    h.write_config(&config(""));
    h.up();
    h.wait_for("both ready", Duration::from_secs(10), |h| {
        let s = h.status();
        s["programs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["ready"] == true)
            .count()
            == 2
    });
    let before: Vec<u32> = ["web:0", "web:1"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();

    // A rolling restart whose replacements cannot get ready: the command fails with the
    // reason and both old instances still serve.
    std::fs::remove_file(h.dir.join("ok")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let client = hammer(port, b"x", Arc::clone(&stop));
    let out = h.stead(&["restart", "--rolling", "web", "--timeout", "30s"]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("did not become ready") && err.contains("the old instance keeps running"),
        "{err}"
    );
    h.wait_for("the replacement gone", Duration::from_secs(10), |h| {
        h.status()["programs"].as_array().unwrap().len() == 2
    });
    let after: Vec<u32> = ["web:0", "web:1"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    assert_eq!(before, after, "the old instances were not touched");

    // A reload with a changed command takes the same road (update = "rolling").
    h.write_config(&config(", \"--changed\""));
    let out = h.stead(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    h.wait_for("the rollout to fail", Duration::from_secs(15), |h| {
        text(&h.stead(&["events"]))
            .matches("failed: the replacement")
            .count()
            == 2
    });
    h.wait_for("the replacement gone", Duration::from_secs(10), |h| {
        h.status()["programs"].as_array().unwrap().len() == 2
    });
    let after: Vec<u32> = ["web:0", "web:1"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    assert_eq!(before, after);
    stop.store(true, Ordering::Relaxed);
    let t = client.join().unwrap();
    assert!(
        t.refused == 0 && t.other.is_empty(),
        "the old instances served throughout: {t:?}"
    );
    let answered: std::collections::BTreeSet<u32> =
        t.answers.iter().map(|a| a.parse().unwrap()).collect();
    assert!(
        answered.iter().all(|p| before.contains(p)),
        "{answered:?} vs {before:?}"
    );

    // Once replacements can get ready, the reload's settings roll in, one instance at a time.
    std::fs::write(h.dir.join("ok"), "").unwrap();
    let out = h.stead(&["restart", "--rolling", "web", "--timeout", "30s"]);
    assert!(out.status.success(), "{}", text(&out));
    let now: Vec<u32> = ["web:0", "web:1"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    assert!(
        now.iter().all(|p| !before.contains(p)),
        "{now:?} vs {before:?}"
    );
    let ran = std::fs::read_to_string(format!("/proc/{}/cmdline", now[0])).unwrap();
    assert!(
        ran.contains("--changed"),
        "the reloaded command runs: {ran:?}"
    );
}

#[test]
fn a_rolling_restart_waits_for_readiness_and_a_stop_during_one_waits_for_both() {
    let mut h = Harness::new("rolling-wait");
    let port = free_port();
    std::fs::write(
        h.dir.join("server.py"),
        "import socket, time\ns = socket.socket(fileno=3)\ntime.sleep(1)\nprint('READY', flush=True)\nwhile True:\n    c, _ = s.accept(); c.close()\n",
    )
    .unwrap();
    h.write_config(&format!(
        "[program.web]\ncommand = [\"python3\", \"server.py\"]\nsockets = [\"tcp://127.0.0.1:{port}\"]\nready = {{ log = \"READY\", timeout = \"20s\" }}\n"
    ));
    h.up();
    h.wait_for("web ready", Duration::from_secs(10), |h| {
        h.program("web")["ready"] == true
    });
    // Not running: a rolling restart starts it, and returns once it is ready.
    assert!(h.stead(&["stop", "web"]).status.success());
    let out = h.stead(&["restart", "--rolling", "web", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["programs"][0]["ready"], true, "{report}");

    // A stop while the replacement starts answers once both processes are gone.
    let out = h.stead(&["restart", "--rolling", "--no-wait", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    h.wait_for("the replacement", Duration::from_secs(5), |h| {
        pids(h, "web").len() == 2
    });
    let both = pids(&h, "web");
    let out = h.stead(&["stop", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    for pid in &both {
        assert!(!alive(*pid), "pid {pid} still runs after stop returned");
    }
    h.wait_for("one instance left", Duration::from_secs(5), |h| {
        h.status()["programs"].as_array().unwrap().len() == 1
    });
    let events = text(&h.stead(&["events"]));
    assert!(events.contains("rollout"), "{events}");
}

#[test]
fn without_a_ready_check_a_rolling_restart_moves_on_as_the_replacement_runs() {
    let mut h = Harness::new("rolling-plain");
    h.write_config("[program.w]\ncommand = [\"sleep\", \"600\"]\nnumprocs = 3\n");
    h.up();
    h.wait_for("three running", Duration::from_secs(10), |h| {
        ["w:0", "w:1", "w:2"]
            .iter()
            .all(|n| h.state_of(n) == "running")
    });
    let before: Vec<u32> = ["w:0", "w:1", "w:2"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    let began = std::time::Instant::now();
    let out = h.stead(&["restart", "--rolling", "w", "--timeout", "20s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "nothing came to move it on: {:?}",
        began.elapsed()
    );
    let after: Vec<u32> = ["w:0", "w:1", "w:2"]
        .iter()
        .map(|n| h.pid_of(n).unwrap())
        .collect();
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} {after:?}"
    );
    assert_eq!(h.status()["programs"].as_array().unwrap().len(), 3);
}

#[test]
fn nothing_cuts_into_a_rolling_restart_and_a_waiting_replacement_fails_it() {
    let mut h = Harness::new("rolling-guard");
    // Ready 1.5 s after it starts.
    script(
        &h,
        "slow.sh",
        "#!/bin/sh\nsleep 1.5\necho READY\nexec sleep 600\n",
    );
    h.write_config(
        "[program.a]\ncommand = [\"sleep\", \"600\"]\n\
         [program.web]\ncommand = [\"./slow.sh\"]\nready = { log = \"READY\", timeout = \"20s\" }\n\
         [program.b]\ncommand = [\"sleep\", \"600\"]\ndepends_on = [\"a\"]\n",
    );
    h.up();
    h.wait_for("web ready", Duration::from_secs(20), |h| {
        h.program("web")["ready"] == true
    });
    let old = h.pid_of("web").unwrap();
    let out = h.stead(&["restart", "--rolling", "--no-wait", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    // A start, a restart and a reload would each bring back or disturb what the rollout
    // stops: all refused while it runs, naming it.
    for args in [&["start", "web"][..], &["restart", "web"], &["reload"]] {
        let out = h.stead(args);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(
            text(&out).contains("rolling restart"),
            "{args:?}: {}",
            text(&out)
        );
    }
    h.wait_for("the rollout done", Duration::from_secs(20), |h| {
        text(&h.stead(&["events"])).contains("done: 1 instance(s) replaced")
    });
    assert_eq!(pids(&h, "web").len(), 1);
    assert_ne!(h.pid_of("web"), Some(old));
    assert!(
        h.stead(&["start", "web"]).status.success(),
        "a start of a running program is a no-op again"
    );

    // A replacement that must wait for a dependency fails the rollout at once; the old
    // instance keeps running.
    assert!(h.stead(&["stop", "a"]).status.success());
    let b = h.pid_of("b").unwrap();
    let began = std::time::Instant::now();
    let out = h.stead(&["restart", "--rolling", "b", "--timeout", "20s"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("did not become ready"),
        "{}",
        text(&out)
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(h.pid_of("b"), Some(b));
    assert!(alive(b));
}

/// Every status taken while `f` runs: how many slots the program had at most, and how many of
/// them were ready at least.
fn watch_during(h: &Harness, f: impl FnOnce() -> std::process::Output) -> (usize, usize, String) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let (mut most, mut fewest_ready) = (0, usize::MAX);
            while !stop.load(Ordering::Relaxed) {
                let Some(st) = h.try_status() else { continue };
                let programs = st["programs"].as_array().unwrap().clone();
                most = most.max(programs.len());
                let ready = programs.iter().filter(|p| p["ready"] == true).count();
                fewest_ready = fewest_ready.min(ready);
            }
            (most, fewest_ready)
        });
        let out = f();
        stop.store(true, Ordering::Relaxed);
        let (most, fewest) = watcher.join().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        (most, fewest)
    });
    (seen.0, seen.1, text(&h.stead(&["events"])))
}

#[test]
fn max_surge_and_max_unavailable_pace_a_rollout() {
    let mut h = Harness::new("rolling-pace");
    // Ready 1 s after it starts.
    script(
        &h,
        "slow.sh",
        "#!/bin/sh\nsleep 1\necho READY\nexec sleep 600\n",
    );
    h.write_config(
        "[program.w]\ncommand = [\"./slow.sh\"]\nnumprocs = 4\n\
         ready = { log = \"READY\", timeout = \"20s\" }\n\
         update = { strategy = \"rolling\", max_surge = 2, max_unavailable = \"25%\" }\n",
    );
    h.up();
    let all_ready = |h: &Harness| {
        let s = h.status();
        let p = s["programs"].as_array().unwrap();
        p.len() == 4 && p.iter().all(|p| p["ready"] == true)
    };
    h.wait_for("four ready", Duration::from_secs(20), all_ready);
    let instances = |h: &Harness| -> Vec<u32> {
        ["w:0", "w:1", "w:2", "w:3"]
            .iter()
            .filter_map(|n| h.pid_of(n))
            .collect()
    };
    let before = instances(&h);

    // Two replacements beside the old instances and one instance restarted in place at a
    // time: at most 6 slots, and never fewer than 3 ready.
    let (most, fewest_ready, events) = watch_during(&h, || {
        h.stead(&["restart", "--rolling", "w", "--timeout", "30s"])
    });
    assert_eq!(most, 6, "two replacements ran beside the old instances");
    assert_eq!(
        fewest_ready, 3,
        "one instance at a time was restarted in place"
    );
    // Whichever room frees first takes the next instance: a surge is preferred.
    let (beside, in_place) = (
        events.matches("starting a replacement beside").count(),
        events.matches("restarting in place").count(),
    );
    assert!(
        beside >= 2 && in_place >= 1 && beside + in_place == 4,
        "{events}"
    );
    assert!(events.contains("done: 4 instance(s) replaced"), "{events}");
    let after = instances(&h);
    assert_eq!(after.len(), 4);
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} {after:?}"
    );

    // The command line overrides the file: one replacement at a time, none down.
    let (most, fewest_ready, _) = watch_during(&h, || {
        h.stead(&[
            "restart",
            "--rolling",
            "--max-surge",
            "1",
            "--max-unavailable",
            "0",
            "w",
            "--timeout",
            "30s",
        ])
    });
    assert_eq!((most, fewest_ready), (5, 4));
    h.wait_for("four ready", Duration::from_secs(20), all_ready);

    // Limits that could replace nothing are refused, and a limit without --rolling is a
    // usage error; nothing is touched.
    let before = instances(&h);
    let out = h.stead(&[
        "restart",
        "--rolling",
        "--max-surge",
        "0",
        "--max-unavailable",
        "0%",
        "w",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot both be 0"), "{}", text(&out));
    let out = h.stead(&["restart", "--max-surge", "2", "w"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = h.stead(&["restart", "--rolling", "--max-surge", "150%", "w"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a percentage"), "{}", text(&out));
    assert_eq!(instances(&h), before);
}

/// A program that says READY a moment after it starts, but only while `./ok` exists.
fn gated(h: &Harness) {
    script(
        h,
        "gated.sh",
        "#!/bin/sh\nsleep 0.3\n[ -e ok ] && echo READY\nexec sleep 600\n",
    );
    std::fs::write(h.dir.join("ok"), "").unwrap();
}

#[test]
fn an_in_place_restart_that_never_gets_ready_fails_and_no_surge_was_ruled_out() {
    let mut h = Harness::new("rolling-in-place");
    gated(&h);
    // max_surge = 0: never two processes of one instance; 50 % of 1 rounds down to 0, so
    // one at a time in place. A restart at once after each failed ready check (reset_after
    // is shorter than the check) must still fail the step, not hold the rollout.
    h.write_config(
        "[program.w]\ncommand = [\"./gated.sh\"]\n\
         ready = { log = \"READY\", timeout = \"1s\" }\n\
         backoff = { reset_after = \"500ms\" }\n\
         update = { strategy = \"rolling\", max_surge = 0, max_unavailable = \"50%\" }\n",
    );
    h.up();
    h.wait_for("ready", Duration::from_secs(10), |h| {
        h.program("w")["ready"] == true
    });
    let (most, _, events) = watch_during(&h, || {
        h.stead(&["restart", "--rolling", "w", "--timeout", "20s"])
    });
    assert_eq!(most, 1, "no replacement beside it: {events}");
    assert!(events.contains("restarting in place"), "{events}");

    std::fs::remove_file(h.dir.join("ok")).unwrap();
    let began = std::time::Instant::now();
    let out = h.stead(&["restart", "--rolling", "w", "--timeout", "20s"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("did not become ready after its restart in place"),
        "{}",
        text(&out)
    );
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "the step failed at its first failed check: {:?}",
        began.elapsed()
    );
    // The rollout is over: a reload is taken again.
    let out = h.stead(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn pacing_changes_restart_nothing_and_a_stop_keeps_an_unreached_instance_stopped() {
    let mut h = Harness::new("rolling-pacing");
    gated(&h);
    let config = |surge: u32| {
        format!(
            "[program.w]\ncommand = [\"./gated.sh\"]\nnumprocs = 3\n\
             ready = {{ log = \"READY\", timeout = \"10s\" }}\n\
             update = {{ strategy = \"rolling\", max_surge = {surge} }}\n"
        )
    };
    h.write_config(&config(1));
    h.up();
    let names = ["w:0", "w:1", "w:2"];
    h.wait_for("three ready", Duration::from_secs(10), |h| {
        names.iter().all(|n| h.program(n)["ready"] == true)
    });
    let before: Vec<u32> = names.iter().map(|n| h.pid_of(n).unwrap()).collect();
    h.write_config(&config(2));
    let out = h.stead(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(500));
    let after: Vec<u32> = names.iter().map(|n| h.pid_of(n).unwrap()).collect();
    assert_eq!(before, after, "only the pacing changed: {}", text(&out));
    let events = text(&h.stead(&["events"]));
    assert!(!events.contains("rollout"), "{events}");

    // The new pacing is in force (two beside at once), and a stop of w:2 while the first
    // two roll keeps it stopped.
    let out = h.stead(&["restart", "--rolling", "--no-wait", "w"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(h.stead(&["stop", "w:2"]).status.success());
    h.wait_for("the rollout done", Duration::from_secs(20), |h| {
        text(&h.stead(&["events"])).contains("done: 2 instance(s) replaced")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(h.state_of("w:2"), "stopped");
    let events = text(&h.stead(&["events"]));
    assert_eq!(
        events.matches("starting a replacement beside").count(),
        2,
        "{events}"
    );
}
