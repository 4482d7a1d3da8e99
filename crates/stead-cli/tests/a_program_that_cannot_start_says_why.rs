//! A program whose exec fails (here: a script whose interpreter vanished) is reported as
//! "could not start" with the OS error, backs off at least a second, and counts towards the
//! crash-loop limit; the supervisor keeps running.
#![cfg(unix)]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::*;

#[test]
fn a_program_that_cannot_start_says_why() {
    let mut h = Harness::new("cannot-start");
    let script = h.dir.join("app.sh");
    let started = h.dir.join("started");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch {}\nexec sleep 1000\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    h.write_config("[program.app]\ncommand = [\"{dir}/app.sh\"]\nmax_restarts = 2\n");
    h.up();
    // Running, and the shell has read the script (it opens it by name after the exec: a
    // rename before that would hand it the new text).
    h.wait_for("app running", Duration::from_secs(5), |h| {
        h.state_of("app") == "running" && started.exists()
    });
    // Replaced by a rename: writing in place can meet ETXTBSY while the old one is still
    // being executed.
    let next = h.dir.join("app.sh.new");
    std::fs::write(&next, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&next, &script).unwrap();
    sigkill(h.pid_of("app").unwrap());
    h.wait_for("the failed start", Duration::from_secs(5), |h| {
        h.state_of("app") == "backoff"
            && h.program("app")["reason"]
                .as_str()
                .unwrap()
                .contains("could not start")
    });
    let reason = h.program("app")["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("No such file or directory"), "{reason}");
    assert!(
        reason.contains("restarting in 1s"),
        "a failed start waits at least a second: {reason}"
    );
    h.wait_for("fatal", Duration::from_secs(10), |h| {
        h.state_of("app") == "fatal"
    });
    assert!(h.try_status().is_some(), "the supervisor is unharmed");
}
