//! `stead signal SIG NAME` delivers the signal to the program's process tree; a program that
//! dies of it is restarted per its policy, and its last exit names the signal.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn signal_reaches_the_whole_tree() {
    let mut h = Harness::new("signal");
    h.write_config(
        r#"
[program.target]
command = ["{child}", "--spawn-grandchild", "1", "--write-pids", "{dir}/pids", "--sleep", "forever"]
restart = "on-failure"
"#,
    );
    h.up();
    let pids_file = h.dir.join("pids");
    h.wait_for("the tree", Duration::from_secs(5), |_| {
        read_pids(&pids_file).len() == 2
    });
    let pids = read_pids(&pids_file);
    std::fs::remove_file(&pids_file).unwrap();
    let out = h.stead(&["signal", "USR1", "target", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["programs"][0]["name"], "target");
    h.wait_for("both to die of USR1", Duration::from_secs(5), |_| {
        pids.iter().all(|p| !alive(*p))
    });
    h.wait_for("the restart", Duration::from_secs(5), |h| {
        h.program("target")["restarts"] == 1 && h.state_of("target") == "running"
    });
    assert_eq!(h.program("target")["last_exit"]["signal"], "USR1");
    // Naming a program twice (or an instance and its program) selects it once.
    let out = h.stead(&["status", "--json", "target", "target"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["programs"].as_array().unwrap().len(), 1);
    // An unknown signal or program is a clear error.
    let out = h.stead(&["signal", "BOGUS", "target"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown signal `BOGUS`"));
    let out = h.stead(&["signal", "HUP", "nope"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no program named `nope`"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the programs are: target"));
}
