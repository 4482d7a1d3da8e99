//! A child that ignores SIGTERM and forks grandchildren — one of which double-forks and
//! calls `setsid` to leave the process group — is entirely gone after `stead stop`, within
//! `stop_timeout` plus a margin, and leaves no zombie behind.
#![cfg(target_os = "linux")]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn stop_kills_the_whole_tree() {
    let mut h = Harness::new("tree-stop");
    h.write_config(
        r#"
[program.stubborn]
command = ["{child}", "--ignore-term", "--spawn-grandchild", "2", "--double-fork", "--write-pids", "{dir}/pids", "--sleep", "forever"]
stop_timeout = "1s"
"#,
    );
    h.up();
    let pids_file = h.dir.join("pids");
    h.wait_for("the tree to exist", Duration::from_secs(5), |_| {
        read_pids(&pids_file).len() == 4
    });
    let pids = read_pids(&pids_file);
    assert!(pids.iter().all(|p| alive(*p)), "all four alive before stop");
    // The double-forked one left the group.
    let escaped = pids[3];
    let pgid_of = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_ne!(
        pgid_of(escaped),
        pids[0],
        "the escapee is in its own session and group"
    );

    let start = Instant::now();
    let out = h.stead(&["stop", "stubborn"]);
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took >= Duration::from_secs(1),
        "SIGTERM was ignored, so the stop must wait stop_timeout; took {took:?}"
    );
    assert!(took < Duration::from_secs(3), "stop took {took:?}");
    for pid in &pids {
        assert!(!alive(*pid), "pid {pid} survived the stop");
    }
    assert_eq!(h.state_of("stubborn"), "stopped");
    let reason = h.program("stubborn")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("stopped by request"), "{reason}");
    h.wait_for("no zombies", Duration::from_secs(1), |h| {
        zombie_children(h.supervisor_pid()).is_empty()
    });
}

#[test]
fn kill_tree_false_leaves_detached_children_alone() {
    let mut h = Harness::new("no-tree-kill");
    h.write_config(
        r#"
[program.detacher]
command = ["{child}", "--double-fork", "--write-pids", "{dir}/pids", "--sleep", "forever"]
kill_tree = false
stop_timeout = "1s"
"#,
    );
    h.up();
    let pids_file = h.dir.join("pids");
    h.wait_for("the tree to exist", Duration::from_secs(5), |_| {
        read_pids(&pids_file).len() == 2
    });
    let pids = read_pids(&pids_file);
    assert!(h.stead(&["stop", "detacher"]).status.success());
    assert!(!alive(pids[0]), "the main process is stopped");
    assert!(
        alive(pids[1]),
        "the detached child was left running on purpose"
    );
    sigkill(pids[1]);
}
