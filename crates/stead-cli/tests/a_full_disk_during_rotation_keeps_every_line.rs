//! The disk fills up between a rotation and the compression of the rotated files: each
//! compression fails with the reason in stead's log, leaves no partial `.gz.tmp`, and keeps
//! the plain file, so every line is still there exactly once. Once there is room again, the
//! next rotation compresses what was left plain, and still no line is lost or repeated.
#![cfg(target_os = "linux")]
// The names are stead's own, always lower case.
#![allow(clippy::case_sensitive_file_extension_comparisons)]
mod support;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

const LINES: u64 = 12_000;

/// Every `line N` in the program's files (plain or gzipped), counted; `None` when a file
/// went away while being read (a compression replacing it).
fn try_line_counts(logs: &Path) -> Option<BTreeMap<u64, u32>> {
    let mut counts = BTreeMap::new();
    for e in std::fs::read_dir(logs).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("chatty.out") || name.ends_with(".tmp") {
            continue;
        }
        let text = if name.ends_with(".gz") {
            let out = Command::new("gzip")
                .arg("-dc")
                .arg(e.path())
                .output()
                .unwrap();
            if !out.status.success() {
                return None;
            }
            String::from_utf8(out.stdout).unwrap()
        } else {
            std::fs::read_to_string(e.path()).ok()?
        };
        for l in text.lines() {
            let n: u64 = l
                .strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a stray line in {name}: {l:?}"));
            *counts.entry(n).or_insert(0) += 1;
        }
    }
    Some(counts)
}

fn line_counts(logs: &Path) -> BTreeMap<u64, u32> {
    try_line_counts(logs).expect("the files changed while being read")
}

/// Rotated files (`chatty.out.STAMP.log`) not yet compressed.
fn plain_rotated(logs: &Path) -> usize {
    std::fs::read_dir(logs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("chatty.out.") && n.ends_with(".log") && n != "chatty.out.log")
        .count()
}

fn plain_bytes(logs: &Path) -> u64 {
    std::fs::read_dir(logs)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("chatty.out"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

/// Writes a filler until the filesystem refuses more.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn a_full_disk_during_rotation_keeps_every_line() {
    if skip_unless(is_root(), "mounting a small tmpfs needs root") {
        return;
    }
    let mut h = Harness::new("diskfull-rotation");
    let logs = h.dir.join("logs");
    let _mount = Tmpfs::mount(&logs, "2m");
    h.write_config(&format!(
        r#"
[supervisor]
log_dir = "{{dir}}/logs"
[log]
timestamps = false
max_size = "40KB"
keep = 100
[program.chatty]
command = ["{{child}}", "--print", "{LINES}", "--write-pids", "{{dir}}/pids", "--sleep", "forever"]
restart = "never"
"#
    ));
    h.up();
    // All output on disk (rotated at 40 KB), then no room left before compression starts
    // (it waits for a quiet second).
    h.wait_for("every line on disk", Duration::from_secs(20), |_| {
        plain_bytes(&logs) == LINES * 16
    });
    fill(&logs.join("filler"));
    // Every rotated file is tried, one after the other, and refused.
    let rotated = plain_rotated(&logs);
    assert!(rotated >= 4, "expected several rotations of 40 KB");
    h.wait_for("every compression to fail", Duration::from_secs(40), |h| {
        h.log().matches("cannot compress").count() >= rotated
    });
    let log = h.log();
    assert!(
        log.contains("No space left") && log.contains("it stays uncompressed"),
        "{log}"
    );
    let names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".gz.tmp")),
        "a partial compression was left: {names:?}"
    );
    let counts = line_counts(&logs);
    assert_eq!(counts.len() as u64, LINES, "lines missing");
    assert!(counts.values().all(|c| *c == 1), "lines repeated");

    // Room again: the next rotation (the program's second run) compresses what was plain.
    std::fs::remove_file(logs.join("filler")).unwrap();
    assert!(h.stead(&["restart", "chatty"]).status.success());
    h.wait_for(
        "every rotated file compressed",
        Duration::from_secs(60),
        |_| {
            let Some(counts) = try_line_counts(&logs) else {
                return false;
            };
            plain_rotated(&logs) <= 1
                && counts.len() as u64 == LINES
                && counts.values().all(|c| *c == 2)
        },
    );
}
