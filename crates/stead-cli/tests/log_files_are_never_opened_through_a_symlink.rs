//! A symlink planted where a program's log file goes (`web.out.log -> victim`) is never
//! followed: the victim is untouched, the refusal shows in `stead status` (`log.error`), and
//! the other stream's log is written as usual. A log directory others can write is named in
//! a warning at start.
#![cfg(unix)]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::*;

#[test]
fn log_files_are_never_opened_through_a_symlink() {
    let mut h = Harness::new("log-symlink");
    let logs = h.dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o777)).unwrap();
    let victim = h.dir.join("victim");
    std::fs::write(&victim, "secret\n").unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("web.out.log")).unwrap();
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"

[program.web]
command = ["{child}", "--stdout", "to stdout", "--stderr", "to stderr", "--sleep", "forever"]
"#,
    );
    h.up();
    h.wait_for(
        "the stderr line in its log",
        Duration::from_secs(10),
        |_| {
            std::fs::read_to_string(logs.join("web.err.log")).is_ok_and(|s| s.contains("to stderr"))
        },
    );
    h.wait_for("the refusal in status", Duration::from_secs(10), |h| {
        h.program("web")["log"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("a symbolic link is there"))
    });
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    let log = h.log();
    assert!(
        log.contains("can be written by users other than stead's") && log.contains("mode 777"),
        "no warning about the shared log directory:\n{log}"
    );
    assert!(
        std::fs::symlink_metadata(logs.join("web.out.log"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
