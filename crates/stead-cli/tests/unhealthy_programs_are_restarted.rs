//! Liveness: an HTTP program that starts answering 500 is restarted after the threshold; a
//! notify program that stops pinging its watchdog is restarted; `action = "report"` only
//! reports (and runs `on_unhealthy`); `on_fatal` runs when a program goes fatal; a tree over
//! `max_memory` is restarted.
#![cfg(unix)]
mod support;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(30);

/// A Python HTTP server that answers 200 `good` times, then 500.
fn flaky_server(port: u16, good: u32) -> String {
    format!(
        "import http.server as h\\n\
         n = [0]\\n\
         class H(h.BaseHTTPRequestHandler):\\n    \
           def log_message(self, *a): pass\\n    \
           def do_GET(self):\\n        \
             n[0] += 1\\n        \
             self.send_response(200 if n[0] <= {good} else 500)\\n        \
             self.end_headers()\\n\
         h.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\\n"
    )
}

#[test]
fn failing_health_checks_restart_or_report() {
    let mut h = Harness::new("unhealthy");
    let (p1, p2) = (free_port(), free_port());
    let dir = h.dir.display().to_string();
    h.write_config(&format!(
        r#"
[program.api]
command = ["python3", "-c", "{}"]
ready = {{ http = "http://127.0.0.1:{p1}/", interval = "100ms" }}
health = {{ http = "http://127.0.0.1:{p1}/", interval = "200ms", timeout = "1s", failures = 3 }}

[program.reporter]
command = ["python3", "-c", "{}"]
health = {{ http = "http://127.0.0.1:{p2}/", interval = "200ms", failures = 2, grace = "300ms", action = "report" }}
on_unhealthy = ["sh", "-c", "echo $STEAD_PROGRAM $STEAD_EVENT >> {dir}/hooks.log"]

[program.pinger]
command = ["python3", "-c", "import os,socket,time\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.connect(os.environ['NOTIFY_SOCKET'])\ns.send(b'READY=1')\nfor i in range(8):\n    s.send(b'WATCHDOG=1'); time.sleep(0.1)\ntime.sleep(100)\n"]
ready = "notify"
health = {{ watchdog = "500ms" }}

[program.crasher]
command = ["sh", "-c", "exit 3"]
max_restarts = 1
backoff = {{ initial = "50ms" }}
on_fatal = ["sh", "-c", "echo $STEAD_PROGRAM $STEAD_EVENT $STEAD_REASON >> {dir}/hooks.log"]
"#,
        flaky_server(p1, 3),
        flaky_server(p2, 0)
    ));
    h.up();
    h.wait_for("api restarted after 3 failures", T, |h| {
        h.program("api")["restarts"].as_u64().unwrap_or(0) >= 1
    });
    h.wait_for("pinger restarted by its watchdog", T, |h| {
        h.program("pinger")["restarts"].as_u64().unwrap_or(0) >= 1
    });
    let hooks = h.dir.join("hooks.log");
    h.wait_for("both hooks", T, |_| {
        std::fs::read_to_string(&hooks)
            .is_ok_and(|t| t.contains("reporter unhealthy") && t.contains("crasher fatal"))
    });
    let reporter = h.program("reporter");
    assert_eq!(reporter["restarts"], 0, "report only: {reporter}");
    assert_eq!(reporter["health"], "unhealthy", "{reporter}");
    assert_eq!(reporter["state"], "running");
    let out = h.stead(&["events", "--json"]);
    let evs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let detail = |p: &str| {
        evs.iter()
            .find(|e| e["program"] == p && e["kind"] == "unhealthy")
            .map_or_else(
                || panic!("no unhealthy event for {p}: {evs:?}"),
                |e| e["detail"].as_str().unwrap().to_string(),
            )
    };
    assert!(
        detail("api").contains("3 checks in a row failed, the last: http://127.0.0.1"),
        "{}",
        detail("api")
    );
    assert!(detail("api").contains("answered 500"), "{}", detail("api"));
    assert_eq!(detail("pinger"), "unhealthy: no WATCHDOG=1 for 500ms");
    assert!(
        std::fs::read_to_string(&hooks)
            .unwrap()
            .contains("crasher fatal exited with code 3")
    );
    let table = String::from_utf8_lossy(&h.stead(&["status"]).stdout).into_owned();
    assert!(table.contains("running (unhealthy)"), "{table}");
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}

#[test]
fn a_tree_over_max_memory_is_restarted() {
    let mut h = Harness::new("limits");
    h.write_config(
        r#"
[metrics]
sample = "200ms"
[program.hog]
command = ["python3", "-c", "import time\nb = b'x' * (150 * 1024 * 1024)\ntime.sleep(100)\n"]
limits = { max_memory = "100MB" }
"#,
    );
    h.up();
    h.wait_for("a restart for memory", T, |h| {
        h.program("hog")["restarts"].as_u64().unwrap_or(0) >= 1
    });
    let out = h.stead(&["events", "--json", "hog"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"kind\":\"limit\"") && text.contains("over max_memory 100.0 MB"),
        "{text}"
    );
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}
