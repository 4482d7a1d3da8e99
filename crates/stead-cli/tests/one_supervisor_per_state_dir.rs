//! A second supervisor on the same state directory refuses with a clear message and leaves
//! the first untouched.
#![cfg(unix)]
mod support;
use support::*;

#[test]
fn one_supervisor_per_state_dir() {
    let mut h = Harness::new("single-instance");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    let pid = h.pid_of("a");
    let out = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "another stead supervisor (pid {}) is already running",
            h.supervisor_pid()
        )),
        "{err}"
    );
    assert_eq!(h.pid_of("a"), pid, "the first supervisor is untouched");
}
