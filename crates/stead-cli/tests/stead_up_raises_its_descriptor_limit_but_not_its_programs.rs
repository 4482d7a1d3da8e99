//! `stead up` holds a pipe or two per program, so it raises its own soft `RLIMIT_NOFILE` to
//! the hard limit at start (read back from `/proc/PID/limits`); its programs still get the
//! soft limit stead was started with, so nothing changes for them.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// (soft, hard) "Max open files" of `pid`, from `/proc/PID/limits`.
fn nofile(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open files line in {limits}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[3].to_string(), f[4].to_string())
}

#[test]
#[cfg_attr(
    not(has_nofile_headroom),
    ignore = "needs a hard open-files limit above 512 (ulimit -Hn)"
)]
fn stead_up_raises_its_descriptor_limit_but_not_its_programs() {
    let (_, hard) = nofile(std::process::id());
    if skip_unless(
        hard == "unlimited" || hard.parse::<u64>().unwrap() > 512,
        "the hard descriptor limit is too low to show a raise",
    ) {
        return;
    }
    let mut h = Harness::new("nofile-raise");
    h.write_config("[program.app]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    // Started with a soft limit below the hard one, as a login shell or a unit often is.
    // SAFETY: getrlimit/setrlimit in the forked child before exec touch no shared state.
    h.up_with(|c| unsafe {
        std::os::unix::process::CommandExt::pre_exec(c, || {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim.rlim_cur = 256;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    });
    let pid = h.supervisor_pid();
    let (soft, hard_of_stead) = nofile(pid);
    assert_eq!(hard_of_stead, hard);
    assert_eq!(soft, hard, "stead kept its soft limit below the hard one");
    h.wait_for("the program to run", Duration::from_secs(10), |h| {
        h.state_of("app") == "running"
    });
    let app = h.pid_of("app").unwrap();
    assert_eq!(
        nofile(app),
        ("256".to_string(), hard),
        "the program did not get the limit stead was started with"
    );
}
