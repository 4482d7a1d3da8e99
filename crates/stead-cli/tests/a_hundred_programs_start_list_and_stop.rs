//! 100 programs start, are all listed by `status --json`, and all stop on `shutdown`, after
//! which the supervisor exits 0 and no child is left.
#![cfg(unix)]
mod support;
use std::fmt::Write;
use std::time::Duration;
use support::*;

#[test]
fn a_hundred_programs_start_list_and_stop() {
    let mut h = Harness::new("hundred");
    let mut cfg = String::new();
    for i in 0..100 {
        writeln!(
            cfg,
            "[program.p{i:03}]\ncommand = [\"{{child}}\", \"--sleep\", \"forever\"]"
        )
        .unwrap();
    }
    h.write_config(&cfg);
    h.up();
    h.wait_for("100 running", Duration::from_secs(10), |h| {
        h.status()["programs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == "running")
            .count()
            == 100
    });
    let status = h.status();
    let programs = status["programs"].as_array().unwrap();
    assert_eq!(programs.len(), 100);
    assert_eq!(programs[0]["name"], "p000", "config order");
    let pids: Vec<u32> = programs
        .iter()
        .map(|p| p["pid"].as_u64().unwrap() as u32)
        .collect();
    let out = h.stead(&["shutdown"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(h.wait_exit(Duration::from_secs(10)), 0);
    for pid in pids {
        assert!(!exists(pid), "pid {pid} outlived the supervisor");
    }
    assert!(
        !h.state.join("stead.sock").exists(),
        "the socket is removed on exit"
    );
}
