//! Fault injection with real resource limits on the running supervisor (`prlimit(2)`):
//!
//! - `RLIMIT_NOFILE` lowered to just above what stead holds: starting eight programs runs
//!   out of descriptors; the ones that cannot be spawned say so in `status` (`out of file
//!   descriptors (EMFILE: Too many open files …`, with the fix) and back off, stead stays
//!   up, and once the limit is raised every program runs.
//! - `RLIMIT_NPROC` at what stead (running as `nobody`) already has: a program's fork is
//!   refused (`EAGAIN`), it backs off with the reason, stead stays up and keeps answering,
//!   and once the limit is raised the program runs. (A supervisor running as root is not
//!   held by `RLIMIT_NPROC`, not even while switching to a user.)
#![cfg(all(target_os = "linux", target_env = "gnu"))]
mod support;
use std::fmt::Write;
use std::time::Duration;
use support::*;

fn set_limit(pid: u32, resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let new = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: prlimit64 reads a live struct and writes nothing (old is null).
    let rc = unsafe { libc::prlimit64(pid as i32, resource, &raw const new, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

fn get_limit(pid: u32, resource: libc::__rlimit_resource_t) -> (u64, u64) {
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit64 with no new limit writes the current one into a live struct.
    let rc = unsafe { libc::prlimit64(pid as i32, resource, std::ptr::null(), &raw mut old) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    (old.rlim_cur, old.rlim_max)
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

#[test]
fn running_out_of_descriptors_fails_spawns_and_recovers() {
    let mut h = Harness::new("nofile");
    let mut config = String::new();
    for i in 0..8 {
        writeln!(
            config,
            "[program.p{i}]\ncommand = [\"{{child}}\", \"--sleep\", \"forever\"]\nautostart = false\n"
        )
        .unwrap();
    }
    h.write_config(&config);
    h.up();
    let pid = h.supervisor_pid();
    let (soft, hard) = get_limit(pid, libc::RLIMIT_NOFILE);
    // Room for about two programs (two pipes and two log files each) and the request.
    set_limit(pid, libc::RLIMIT_NOFILE, open_fds(pid) + 10, hard);
    let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    let mut args = vec!["start"];
    args.extend(names.iter().map(String::as_str));
    let _ = h.stead(&args); // Some fail: that is the point.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alive(pid), "stead died when descriptors ran out");
    let log = h.log();
    assert!(
        log.contains("Too many open files"),
        "no program was refused for want of descriptors; log:\n{log}"
    );
    // The reason is in `status` too, with what to do (a status request may itself find no
    // descriptor now and then: try again).
    let mut reason = String::new();
    h.wait_for("status to show the refusal", Duration::from_secs(10), |h| {
        let Some(st) = h.try_status() else {
            return false;
        };
        reason = st["programs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["reason"].as_str())
            .find(|r| r.contains("out of file descriptors"))
            .unwrap_or_default()
            .to_string();
        !reason.is_empty()
    });
    assert!(
        reason.contains("EMFILE: Too many open files")
            && reason.contains("LimitNOFILE=")
            && reason.contains("ulimit -Hn"),
        "{reason}"
    );
    set_limit(pid, libc::RLIMIT_NOFILE, soft, hard);
    h.wait_for("every program to run", Duration::from_secs(30), |h| {
        names.iter().all(|n| h.state_of(n) == "running")
    });
    assert!(
        h.status()["programs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["restarts"].as_u64().unwrap_or(0) > 0),
        "the refused spawns were not retried as restarts"
    );
}

/// `prlimit64` on `pid` from a process running as uid/gid 65534, as stead does here: a
/// process may change the limits of its own user's processes without `CAP_SYS_RESOURCE`
/// (which a container's root may lack).
fn set_limit_as_nobody(pid: u32, resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let new = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: the forked child makes only system calls on memory prepared before the fork,
    // then _exits.
    unsafe {
        let child = libc::fork();
        assert!(child >= 0, "fork");
        if child == 0 {
            let ok = libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0
                && libc::prlimit64(pid as i32, resource, &raw const new, std::ptr::null_mut()) == 0;
            libc::_exit(i32::from(!ok));
        }
        let mut status = 0;
        libc::waitpid(child, &raw mut status, 0);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "prlimit as nobody failed"
        );
    }
}

/// Threads and processes of `uid` (what `RLIMIT_NPROC` counts).
fn tasks_of(uid: u32) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(tasks) = std::fs::read_dir(entry.path().join("task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
                continue;
            };
            if status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next())
                .is_some_and(|u| u == uid.to_string())
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn a_process_limit_refuses_the_fork_and_recovers() {
    if skip_unless(is_root(), "running stead as nobody needs root") {
        return;
    }
    let mut h = Harness::new("nproc");
    // Copies nobody can execute, wherever the build directory is (it may be private).
    let bin = h.dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(stead_bin(), bin.join("stead")).unwrap();
    std::fs::copy(testchild(), bin.join("stead-testchild")).unwrap();
    h.bin = bin.join("stead");
    h.write_config(&format!(
        r#"
[program.later]
command = ["{}", "--sleep", "forever"]
autostart = false
"#,
        bin.join("stead-testchild").display()
    ));
    // stead runs as nobody (65534), in a directory it owns.
    let status = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&h.dir)
        .status()
        .unwrap();
    assert!(status.success());
    // SAFETY: setgroups/setgid/setuid in the forked child before exec touch no shared state.
    h.up_with(|c| unsafe {
        std::os::unix::process::CommandExt::pre_exec(c, || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    });
    let pid = h.supervisor_pid();
    let (soft, hard) = get_limit(std::process::id(), libc::RLIMIT_NPROC);
    // Not one more process or thread for nobody.
    set_limit_as_nobody(pid, libc::RLIMIT_NPROC, tasks_of(65534), hard);
    let _ = h.stead(&["start", "later"]);
    h.wait_for("the refusal to be reported", Duration::from_secs(10), |h| {
        h.program("later")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Resource temporarily unavailable"))
    });
    assert!(alive(pid), "stead died when it could not fork");
    assert_ne!(h.state_of("later"), "running");
    set_limit_as_nobody(pid, libc::RLIMIT_NPROC, soft, hard);
    h.wait_for("the program to run", Duration::from_secs(30), |h| {
        h.state_of("later") == "running"
    });
}
