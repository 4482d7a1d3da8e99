//! Readiness: `notify` from a program using the `stead` library (sd-notify underneath) and
//! from a shell-style program sending datagrams; `tcp`, `http`, `exec` and `log` probes; a
//! start that is not ready in time fails with the reason; dependents wait for "ready", and a
//! diamond starts in order (seen in the event timestamps).
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

const T: Duration = Duration::from_secs(20);

fn lifecycle_example() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = std::process::Command::new(cargo)
        .args(["build", "-q", "-p", "stead", "--example", "lifecycle"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    stead_bin()
        .parent()
        .unwrap()
        .join("examples/lifecycle")
        .display()
        .to_string()
}

fn events(h: &Harness) -> Vec<Value> {
    let out = h.stead(&["events", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn first_event(evs: &[Value], program: &str, kind: &str) -> Option<u64> {
    evs.iter()
        .find(|e| e["program"] == program && e["kind"] == kind)
        .map(|e| e["seq"].as_u64().unwrap())
}

#[test]
fn every_probe_kind_reports_ready_and_dependents_wait_for_it() {
    let mut h = Harness::new("ready");
    let port = free_port();
    let http_port = free_port();
    let lib = lifecycle_example();
    let py_notify = "import os,socket,time; time.sleep(0.5); s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ['NOTIFY_SOCKET']); s.send(b''); s.send(bytes([255, 254])); s.send(b'STATUS=warming up'); time.sleep(0.3); s.send(b'READY=1\\\\nSTATUS=serving'); time.sleep(100)";
    let py_tcp = format!(
        "import socket,time; time.sleep(0.8); s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(100)"
    );
    h.write_config(
        &format!(
            r#"
[program.lib]
command = ["{lib}"]
env = {{ START_MS = "3000" }}
ready = "notify"

[program.shell]
command = ["python3", "-c", "{py_notify}"]
ready = {{ notify = true, timeout = "10s" }}

[program.tcp]
command = ["python3", "-c", "{py_tcp}"]
ready = {{ tcp = "127.0.0.1:{port}", interval = "100ms" }}

[program.web]
command = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "{http_port}"]
ready = {{ http = "http://127.0.0.1:{http_port}/", status = 200, interval = "100ms" }}

[program.flag]
command = ["sh", "-c", "sleep 0.6; touch {{dir}}/flag; exec sleep 100"]
ready = {{ exec = ["test", "-e", "{{dir}}/flag"], interval = "100ms" }}

[program.talker]
command = ["sh", "-c", "echo booting; sleep 0.7; echo 'listening on :9000'; exec sleep 100"]
ready = {{ log = "listening on :[0-9]+" }}

[program.sh_notify]
command = ["sh", "-c", "sleep 0.3; systemd-notify --ready --status='from a shell'; exec sleep 100"]
ready = "notify"

[program.after_all]
command = ["sleep", "100"]
depends_on = ["lib", "shell", "tcp", "web", "flag", "talker", "sh_notify"]

[program.eager]
command = ["sleep", "100"]
depends_on = {{ lib = "started" }}
"#
        )
        .replace("{{dir}}", &h.dir.display().to_string()),
    );
    h.up();
    // Running but not ready at first (lib takes 3 s to start, margin for a loaded machine).
    let lib_status = h.program("lib");
    assert_eq!(lib_status["ready"], false, "{lib_status}");
    assert_eq!(h.state_of("after_all"), "waiting");
    h.wait_for("eager (depends on lib being started)", T, |h| {
        h.state_of("eager") == "running"
    });
    h.wait_for("everything ready", T, |h| {
        ["lib", "shell", "tcp", "web", "flag", "talker", "sh_notify"]
            .iter()
            .all(|p| h.program(p)["ready"] == true)
    });
    h.wait_for("the dependent", T, |h| h.state_of("after_all") == "running");
    assert_eq!(h.program("shell")["status_text"], "serving");
    let web = h.program("web");
    assert!(
        web["checks"]["ready"]["message"]
            .as_str()
            .unwrap()
            .contains("answered 200"),
        "{web}"
    );
    let evs = events(&h);
    let started_after_all = first_event(&evs, "after_all", "started").expect("after_all started");
    assert_eq!(h.program("sh_notify")["status_text"], "from a shell");
    for p in ["lib", "shell", "tcp", "web", "flag", "talker", "sh_notify"] {
        let ready =
            first_event(&evs, p, "ready").unwrap_or_else(|| panic!("{p} ready event: {evs:?}"));
        assert!(
            ready < started_after_all,
            "{p} ready before the dependent started"
        );
    }
    assert!(
        first_event(&evs, "eager", "started").unwrap() < first_event(&evs, "lib", "ready").unwrap(),
        "a \"started\" dependency does not wait for ready"
    );
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}

#[test]
fn a_start_that_is_not_ready_in_time_fails_with_the_reason() {
    let mut h = Harness::new("not-ready");
    let port = free_port();
    h.write_config(&format!(
        r#"
[program.slow]
command = ["sleep", "100"]
ready = {{ tcp = "127.0.0.1:{port}", timeout = "700ms", interval = "100ms" }}
restart = "on-failure"
max_restarts = 1
restart_window = "60s"
backoff = {{ initial = "50ms" }}
"#
    ));
    h.up();
    h.wait_for("fatal after the retries", T, |h| {
        h.state_of("slow") == "fatal"
    });
    let p = h.program("slow");
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("not ready within 700ms (tcp 127.0.0.1:{port})")),
        "{reason}"
    );
    assert!(
        reason.contains("Connection refused") || reason.contains("connect to"),
        "{reason}"
    );
    let evs = events(&h);
    assert!(
        evs.iter()
            .any(|e| e["program"] == "slow" && e["kind"] == "failed"),
        "{evs:?}"
    );
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}

#[test]
fn a_diamond_starts_in_dependency_order() {
    let mut h = Harness::new("diamond");
    let ready = |_n: &str| "ready = { log = \"up\" }".to_string();
    let cmd =
        |d: &str| format!("command = [\"sh\", \"-c\", \"sleep {d}; echo up; exec sleep 100\"]");
    h.write_config(&format!(
        "[program.top]\n{}\n{}\ndepends_on = [\"left\", \"right\"]\n\
         [program.left]\n{}\n{}\ndepends_on = [\"base\"]\n\
         [program.right]\n{}\n{}\ndepends_on = [\"base\"]\n\
         [program.base]\n{}\n{}\n",
        cmd("0.1"),
        ready("top"),
        cmd("0.3"),
        ready("left"),
        cmd("0.1"),
        ready("right"),
        cmd("0.2"),
        ready("base"),
    ));
    let began = Instant::now();
    h.up();
    h.wait_for("top ready", T, |h| h.program("top")["ready"] == true);
    let evs = events(&h);
    let at =
        |p: &str, k: &str| first_event(&evs, p, k).unwrap_or_else(|| panic!("{p} {k}: {evs:?}"));
    assert!(at("base", "ready") < at("left", "started"));
    assert!(at("base", "ready") < at("right", "started"));
    assert!(at("left", "ready") < at("top", "started"));
    assert!(at("right", "ready") < at("top", "started"));
    // left and right start together, not one after the other.
    assert!(
        at("right", "started") < at("left", "ready")
            && at("left", "started") < at("right", "ready")
    );
    assert!(began.elapsed() < T);
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}
