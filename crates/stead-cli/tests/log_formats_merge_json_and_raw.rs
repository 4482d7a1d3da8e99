//! Per-program log settings: stderr merged into stdout in order, JSON lines, and raw mode
//! passing binary output through byte for byte; a bad `[log]` key is a config error with
//! its line.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn log_formats_merge_json_and_raw() {
    let mut h = Harness::new("log-formats");
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[program.merged]
command = ["{child}", "--stdout", "to stdout", "--stderr", "to stderr", "--sleep", "forever"]
log = { stderr = "merge", timestamps = false }
[program.json]
command = ["{child}", "--stdout", "say \"hi\"", "--stderr", "uh oh", "--sleep", "forever"]
[program.json.log]
format = "json"
[program.raw]
command = ["sh", "-c", "printf 'a\\000b\\377\\nno newline'; exec sleep 1000"]
log = { mode = "raw" }
"#,
    );
    h.up();
    let logs = h.dir.join("logs");
    h.wait_for("all output", Duration::from_secs(10), |_| {
        std::fs::read(logs.join("merged.out.log")).is_ok_and(|b| b.ends_with(b"to stderr\n"))
            && std::fs::read(logs.join("json.err.log")).is_ok_and(|b| !b.is_empty())
            && std::fs::read(logs.join("raw.out.log")).is_ok_and(|b| b.ends_with(b"newline"))
    });
    assert_eq!(
        std::fs::read_to_string(logs.join("merged.out.log")).unwrap(),
        "to stdout\nto stderr\n"
    );
    assert!(!logs.join("merged.err.log").exists());
    let v: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(logs.join("json.out.log"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(v["line"], "say \"hi\"");
    assert_eq!(v["program"], "json");
    assert_eq!(v["stream"], "stdout");
    assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    let e: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(logs.join("json.err.log"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(
        (e["stream"].as_str(), e["line"].as_str()),
        (Some("stderr"), Some("uh oh"))
    );
    assert_eq!(
        std::fs::read(logs.join("raw.out.log")).unwrap(),
        b"a\0b\xff\nno newline"
    );
    let s = h.program("merged");
    assert!(s["log"]["stderr"].is_null(), "{s}");

    std::fs::write(
        &h.config,
        "[program.x]\ncommand = ['sh']\n[program.x.log]\nmode = 'raw'\nformat = 'json'\nmax_sise = '1MB'\n",
    )
    .unwrap();
    let out = h.stead(&["validate", "-c", h.config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(":6:1: unknown key `max_sise`") && err.contains("did you mean `max_size`?"),
        "{err}"
    );
    assert!(
        err.contains("raw output cannot be written as JSON lines"),
        "{err}"
    );
}
