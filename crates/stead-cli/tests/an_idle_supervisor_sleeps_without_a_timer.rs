//! With nothing due (programs running, no probe, no sampling, nobody asking), the supervisor
//! sleeps in the kernel with no timer: none of its threads wakes up. A periodic tick in the
//! engine or in the service host around it would show as context switches here.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// Voluntary context switches of every thread of `pid` (each is a wake-up after a sleep).
fn wakeups(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

#[test]
fn an_idle_supervisor_sleeps_without_a_timer() {
    let mut h = Harness::new("idle-no-timer");
    h.write_config("[program.quiet]\ncommand = [\"sleep\", \"1000\"]\n");
    // Started without `Harness::up`, which asks for the status until the socket answers:
    // a status request starts a minute of resource sampling ("someone looked"), so the
    // program is seen in /proc instead.
    let child = h
        .command()
        .arg("up")
        .arg("-c")
        .arg(&h.config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start stead up");
    let pid = child.id();
    h.supervisor = Some(child);
    wait("the program to run", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| {
                std::fs::read(format!("/proc/{c}/cmdline")).is_ok_and(|a| a.starts_with(b"sleep\0"))
            })
    });
    // A program counts as started after a second of running (its state changes then).
    std::thread::sleep(Duration::from_secs(2));
    let before = wakeups(pid);
    std::thread::sleep(Duration::from_millis(3500));
    let after = wakeups(pid);
    assert_eq!(
        after - before,
        0,
        "the idle supervisor woke {} times in 3.5 s",
        after - before
    );
}
