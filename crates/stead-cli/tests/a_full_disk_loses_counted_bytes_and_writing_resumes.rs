//! The log directory on a small tmpfs that fills up during capture: the program keeps
//! running (its output is drained), stead reports the condition in `status` with the bytes
//! it could not keep, holds a bounded amount, and when space is freed writes what it held
//! and a marker saying how many bytes are missing there: never a silent gap.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn a_full_disk_loses_counted_bytes_and_writing_resumes() {
    if skip_unless(is_root(), "mounting a small tmpfs needs root") {
        return;
    }
    let mut h = Harness::new("diskfull");
    let logs = h.dir.join("logs");
    let _mount = Tmpfs::mount(&logs, "1m");
    // Leave about 384 KiB free; the program writes 480 KB.
    std::fs::write(logs.join("filler"), vec![0u8; 640 * 1024]).unwrap();
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[log]
timestamps = false
buffer = "64KiB"
[program.chatty]
command = ["{child}", "--print", "30000", "--write-pids", "{dir}/pids", "--sleep", "forever"]
restart = "never"
"#,
    );
    h.up();
    h.wait_for(
        "the program to get past its output",
        Duration::from_secs(20),
        |h| h.dir.join("pids").exists(),
    );
    h.wait_for("the loss to be counted", Duration::from_secs(10), |h| {
        h.program("chatty")["log"]["lost_bytes"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    let p = h.program("chatty");
    assert_eq!(p["state"], "running", "{p}");
    let error = p["log"]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("No space left"), "{p}");
    let lost = p["log"]["lost_bytes"].as_u64().unwrap();
    // 480,000 bytes in all: what is on disk + held (64 KiB) + lost accounts for each byte.
    assert!(lost < 480_000 - 64 * 1024, "{p}");
    assert!(h.log().contains("No space left"), "stead's own log says so");

    std::fs::remove_file(logs.join("filler")).unwrap();
    h.wait_for("writing to resume", Duration::from_secs(10), |h| {
        h.program("chatty")["log"]["error"].is_null()
    });
    let text = std::fs::read_to_string(logs.join("chatty.out.log")).unwrap();
    let marker = format!("[stead: {lost} bytes of output were lost here: cannot write");
    assert!(
        text.contains(&marker),
        "no gap marker {marker:?} in the file"
    );
    // Every byte is either in the file before the marker or counted (the marker starts on a
    // line of its own, after a newline of its own when the gap was mid-line).
    let kept = text.find("[stead: ").unwrap() as u64;
    assert!(
        kept + lost == 480_000 || kept + lost == 480_001,
        "kept {kept} + lost {lost} != 480,000"
    );
    // The file works again: a new run's output lands.
    assert!(h.stead(&["restart", "chatty"]).status.success());
    h.wait_for("new output", Duration::from_secs(10), |_| {
        std::fs::read_to_string(logs.join("chatty.out.log")).is_ok_and(|t| {
            t.matches("line 0000030000\n").count() >= 1 && t.len() > text.len() + 400_000
        })
    });
}
