//! A FIFO planted where a program's log goes is refused, not written: the refusal shows in
//! that program's `status` (`log.error`), its output is still drained (it runs on, the loss
//! counted), and the other programs' lines keep reaching their logs. Two flooding programs
//! with FIFOs would otherwise hold both log threads, each blocked on a full FIFO.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

fn lines_in(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn a_fifo_at_a_log_path_stalls_nothing() {
    let mut h = Harness::new("log-fifo");
    let logs = h.dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for name in ["a1", "a2"] {
        let fifo = logs.join(format!("{name}.out.log"));
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    }
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"

[program.a1]
command = ["{child}", "--print", "200000", "--write-pids", "{dir}/a1-done", "--sleep", "forever"]
[program.a2]
command = ["{child}", "--print", "200000", "--write-pids", "{dir}/a2-done", "--sleep", "forever"]
[program.b]
command = ["{child}", "--print", "100000", "--pace", "10ms"]
"#,
    );
    h.up();
    // 200,000 lines are far more than a pipe or a FIFO holds: the pid files appear only once
    // the supervisor read all of them.
    h.wait_for(
        "a1 and a2 to get past their output",
        Duration::from_secs(20),
        |h| h.dir.join("a1-done").exists() && h.dir.join("a2-done").exists(),
    );
    for name in ["a1", "a2"] {
        let p = h.program(name);
        assert_eq!(p["state"], "running", "{p}");
        let error = p["log"]["error"].as_str().unwrap_or_default().to_string();
        assert!(
            error.contains(&format!("{}/{name}.out.log", logs.display()))
                && error.contains("a named pipe (FIFO) is there"),
            "{name}: {p}"
        );
        assert!(p["log"]["lost_bytes"].as_u64().unwrap_or(0) > 0, "{p}");
    }
    let b_log = logs.join("b.out.log");
    let before = lines_in(&b_log);
    h.wait_for(
        "b's lines to keep arriving",
        Duration::from_secs(10),
        |_| lines_in(&b_log) >= before + 20,
    );
    // Still answering, and the FIFOs are left as they were.
    assert_eq!(h.state_of("b"), "running");
    for name in ["a1", "a2"] {
        let meta = std::fs::symlink_metadata(logs.join(format!("{name}.out.log"))).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()));
    }
    let pid = h.supervisor_pid();
    // SAFETY: plain kill(2) on the supervisor this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(h.wait_exit(Duration::from_secs(15)), 0, "{}", h.log());
}
