//! The next supervisor of a state directory ends what a killed one left in the cgroup it
//! recorded there, even when the killed supervisor's pid now belongs to another process: its
//! cgroup is named after its pid *and* start time, and a live process with that pid but
//! another start time is not its owner. (Before, a live pid was taken for the owner, and an
//! escapee that had cleared its environment outlived every later supervisor.) Needs root and
//! a writable cgroup2 hierarchy (required in CI).
#![cfg(target_os = "linux")]
mod support;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// The cgroup this test runs in (where a supervisor it starts makes its own directory).
fn own_cgroup() -> Option<PathBuf> {
    let mount = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()?
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))
                .flatten()
        })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(mount.join(rel.trim_start_matches('/')))
}

fn start_time(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
#[cfg_attr(not(has_cgroup2), ignore = "needs root and a writable cgroup2 mount")]
fn a_killed_supervisors_cgroup_is_ended_though_its_pid_was_reused() {
    if skip_unless(is_root(), "making cgroups needs root") {
        return;
    }
    let Some(parent) = own_cgroup() else {
        skip_unless(false, "no cgroup2 hierarchy");
        return;
    };
    let mut h = Harness::new("pid-reused");
    h.write_config("[program.idle]\ncommand = [\"sleep\", \"1000\"]\n");
    // The pid the killed supervisor had is now held by an unrelated process, which started
    // later than the supervisor did.
    let mut reuser = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = reuser.id();
    let dead = parent.join(format!("stead-{pid}-{}", start_time(pid) - 1));
    let instance = dead.join(format!("{pid}.1"));
    if skip_unless(
        std::fs::create_dir_all(&instance).is_ok(),
        "cannot make cgroups here (no writable cgroup2 mount)",
    ) {
        let _ = reuser.kill();
        let _ = reuser.wait();
        return;
    }
    // What the killed supervisor left: an escapee in its instance's cgroup.
    let mut escapee = Command::new("sleep")
        .arg("1000")
        .env_clear()
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let left = escapee.id();
    std::fs::write(instance.join("cgroup.procs"), left.to_string()).unwrap();
    std::fs::create_dir_all(&h.state).unwrap();
    std::fs::write(h.state.join("cgroup"), dead.as_os_str().as_encoded_bytes()).unwrap();
    h.up();
    let gone = !alive(left);
    let _ = escapee.kill();
    let _ = escapee.wait();
    let reuser_alive = alive(pid);
    let _ = reuser.kill();
    let _ = reuser.wait();
    let dir_left = dead.exists();
    if dir_left {
        let _ = std::fs::remove_dir(&instance);
        let _ = std::fs::remove_dir(&dead);
    }
    assert!(
        gone,
        "the escapee outlived the next supervisor: {}",
        h.log()
    );
    assert!(reuser_alive, "the process that reused the pid was touched");
    assert!(!dir_left, "the killed supervisor's cgroup was left");
    assert!(
        h.log().contains("left running by an earlier stead"),
        "{}",
        h.log()
    );
    h.wait_for("idle running", Duration::from_secs(10), |h| {
        h.state_of("idle") == "running"
    });
}
