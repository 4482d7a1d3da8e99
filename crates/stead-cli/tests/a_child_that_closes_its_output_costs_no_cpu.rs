//! A program that closes its stdout and stderr early and keeps running: the pipes' end is
//! seen once, nothing spins on them (the supervisor uses no CPU while it runs), and the
//! program is still supervised (stop works).
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap()
}

#[test]
fn a_child_that_closes_its_output_costs_no_cpu() {
    let mut h = Harness::new("closed-output");
    h.write_config(
        r#"
[program.quiet]
command = ["sh", "-c", "echo bye; exec >&- 2>&-; exec sleep 1000"]
"#,
    );
    h.up();
    h.wait_for("running", Duration::from_secs(10), |h| {
        h.state_of("quiet") == "running"
    });
    std::thread::sleep(Duration::from_millis(300));
    let pid = h.supervisor_pid();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(pid) - before;
    assert!(
        used <= 2,
        "the supervisor used {used} ticks in 2 s with closed pipes"
    );
    assert_eq!(h.state_of("quiet"), "running");
    assert!(h.stead(&["stop", "quiet"]).status.success());
    assert_eq!(h.state_of("quiet"), "stopped");
}
