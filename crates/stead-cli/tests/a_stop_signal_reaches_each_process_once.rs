//! A stop sends the stop signal to each process of the tree once. Many programs take a
//! second SIGINT or SIGTERM as "stop now, skip the drain" (Python's and Node's second
//! Ctrl-C, gunicorn's quick shutdown on a second INT), so a tree signalled through its
//! process group *and* its cgroup must not give the members of both the signal twice. The
//! program here counts every TERM it gets, takes its time to go, and is stopped three
//! times; a process of its group and one in another session (found by the cgroup, or
//! without one by its marker) count theirs too.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// Each process appends "ROLE PID" to the file for each TERM it gets, and exits 300 ms
/// after the first, so that a second one, if any, is seen and counted. The main process
/// starts the other two.
fn counter_script() -> String {
    r#"
import os, signal, subprocess, sys, time
out, role = sys.argv[1], sys.argv[2]
got = []
def term(sig, frame):
    with open(out, "a") as f:
        f.write(f"{role} {os.getpid()}\n")
    got.append(time.monotonic())
signal.signal(signal.SIGTERM, term)
if role == "main":
    me = [sys.executable, sys.argv[0], out]
    subprocess.Popen(me + ["member"])
    subprocess.Popen(me + ["session"], start_new_session=True)
with open(out + ".ready", "a") as f:
    f.write(role + "\n")
while not got or time.monotonic() - got[0] < 0.3:
    time.sleep(0.005)
"#
    .to_string()
}

#[test]
#[cfg_attr(not(has_python3), ignore = "needs python3")]
fn a_stop_signal_reaches_each_process_once() {
    let mut h = Harness::new("signal-once");
    let script = h.dir.join("counter.py");
    std::fs::write(&script, counter_script()).unwrap();
    let out = h.dir.join("terms");
    h.write_config(&format!(
        "[program.counter]\ncommand = [\"python3\", \"{}\", \"{}\", \"main\"]\nstop_timeout = \"5s\"\nautostart = false\n",
        script.display(),
        out.display()
    ));
    h.up();
    let ready = h.dir.join("terms.ready");
    for round in 1..=3 {
        let _ = std::fs::remove_file(&ready);
        let _ = std::fs::remove_file(&out);
        assert!(h.stead(&["start", "counter"]).status.success());
        h.wait_for("the three processes", Duration::from_secs(10), |_| {
            std::fs::read_to_string(&ready).is_ok_and(|t| t.lines().count() == 3)
        });
        let o = h.stead(&["stop", "counter"]);
        assert!(o.status.success(), "{}", text(&o));
        let terms = std::fs::read_to_string(&out).unwrap_or_default();
        let count = |role: &str| terms.lines().filter(|l| l.starts_with(role)).count();
        assert_eq!(count("main "), 1, "round {round}: {terms}");
        assert_eq!(count("member "), 1, "round {round}: {terms}");
        // Outside the process group: the cgroup finds it, or (without one) its marker.
        assert_eq!(count("session "), 1, "round {round}: {terms}");
    }
}
