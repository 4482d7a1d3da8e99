//! A child killed with SIGKILL in the middle of a line: the partial line is in the log,
//! closed with a marker, and the next run's lines start on a line of their own.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn a_line_cut_short_is_closed_with_a_marker() {
    let mut h = Harness::new("midline");
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[log]
timestamps = false
[program.cut]
command = ["{child}", "--stdout", "whole line", "--partial", "half a li", "--sleep", "forever"]
restart = "never"
"#,
    );
    h.up();
    let live = h.dir.join("logs/cut.out.log");
    h.wait_for(
        "the partial line in the file",
        Duration::from_secs(10),
        |_| std::fs::read_to_string(&live).is_ok_and(|t| t.ends_with("half a li")),
    );
    sigkill(h.pid_of("cut").expect("running"));
    h.wait_for("the marker", Duration::from_secs(10), |_| {
        std::fs::read_to_string(&live).is_ok_and(|t| t.ends_with('\n'))
    });
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "whole line\nhalf a li [stead: no newline at end]\n"
    );
    assert!(h.stead(&["start", "cut"]).status.success());
    h.wait_for("the second run's output", Duration::from_secs(10), |_| {
        // The child writes its two outputs separately: wait for the partial line too.
        std::fs::read_to_string(&live)
            .is_ok_and(|t| t.matches("whole line\n").count() == 2 && t.ends_with("half a li"))
    });
    assert!(
        std::fs::read_to_string(&live)
            .unwrap()
            .contains("[stead: no newline at end]\nwhole line\nhalf a li"),
    );
}
