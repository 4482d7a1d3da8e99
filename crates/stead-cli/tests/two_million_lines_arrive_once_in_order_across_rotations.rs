//! A child writing 2,000,000 numbered lines as fast as it can: every line is in the logs
//! exactly once and in order, across many rotations and gzipped files, with and without
//! timestamps; every rotated file ends at a line boundary, and every gzip file is valid
//! (checked by the system's `gzip`, not by the code that wrote it).
#![cfg(unix)]
mod support;
use std::io::BufRead;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

const LINES: u64 = 2_000_000;

/// The files of `stem` in order: rotated (decompressed) oldest first, then the live one.
fn all_bytes(dir: &Path, stem: &str) -> (Vec<u8>, usize) {
    let mut rotated: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            let rotated = Path::new(&n)
                .extension()
                .is_some_and(|e| e == "log" || e == "gz");
            n.starts_with(&format!("{stem}.2")) && rotated
        })
        .collect();
    rotated.sort();
    // A supervisor stopped between writing a .gz and removing its plain file leaves both.
    rotated.dedup_by(|b, a| {
        let key = |p: &std::path::Path| p.to_string_lossy().trim_end_matches(".gz").to_string();
        key(a) == key(b)
    });
    let mut out = Vec::new();
    for p in &rotated {
        let bytes = if p.extension().unwrap() == "gz" {
            let t = Command::new("gzip").arg("-t").arg(p).output().unwrap();
            assert!(t.status.success(), "{} is not valid gzip", p.display());
            Command::new("gzip")
                .arg("-dc")
                .arg(p)
                .output()
                .unwrap()
                .stdout
        } else {
            std::fs::read(p).unwrap()
        };
        assert_eq!(
            bytes.last(),
            Some(&b'\n'),
            "{} does not end at a line boundary",
            p.display()
        );
        out.extend(bytes);
    }
    out.extend(std::fs::read(dir.join(format!("{stem}.log"))).unwrap());
    (out, rotated.len())
}

fn check(timestamps: bool) {
    let mut h = Harness::new(if timestamps { "2m-ts" } else { "2m-plain" });
    h.write_config(&format!(
        r#"
[supervisor]
log_dir = "{{dir}}/logs"
[log]
max_size = "4MB"
keep = 1000
timestamps = {timestamps}
[program.flood]
command = ["{{child}}", "--print", "{LINES}", "--stdout", "done", "--sleep", "forever"]
"#
    ));
    h.up();
    let live = h.dir.join("logs/flood.out.log");
    h.wait_for(
        "the last line in the live file",
        Duration::from_secs(120),
        |_| std::fs::read(&live).is_ok_and(|b| b.ends_with(b"done\n")),
    );
    let p = h.program("flood");
    assert_eq!(p["log"]["lost_bytes"], 0, "{p}");
    assert_eq!(p["log"]["deleted_bytes"], 0, "{p}");
    assert!(h.stead(&["shutdown"]).status.success());
    h.wait_exit(Duration::from_secs(20));
    let (bytes, rotations) = all_bytes(&h.dir.join("logs"), "flood.out");
    assert!(rotations >= 5, "only {rotations} rotations");
    let mut expect = 1u64;
    for line in bytes.lines() {
        let line = line.unwrap();
        let body = if timestamps {
            let (ts, rest) = line.split_once(' ').expect("a timestamp");
            assert!(
                ts.ends_with('Z') && ts.len() == 27,
                "bad timestamp in {line:?}"
            );
            rest
        } else {
            &line
        };
        if expect > LINES {
            assert_eq!(body, "done");
            expect += 1;
            continue;
        }
        assert_eq!(
            body,
            format!("line {expect:010}"),
            "line {expect} missing, torn or repeated"
        );
        expect += 1;
    }
    assert_eq!(expect, LINES + 2, "lines missing at the end");
}

#[test]
fn two_million_lines_without_timestamps() {
    check(false);
}

#[test]
fn two_million_lines_with_timestamps() {
    check(true);
}
