//! A name given on the command line that stead quotes back in an error (`no program named
//! …` from stop, start, restart, signal) reaches the operator's terminal with its control
//! characters escaped, like everything else stead shows: a pasted or scripted name cannot
//! retitle the window or clear the screen.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn names_given_on_the_command_line_come_back_escaped() {
    let mut h = Harness::new("name-escaped");
    h.write_config("[program.web]\ncommand = [\"sleep\", \"1000\"]\n");
    h.up();
    h.wait_for("web running", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    let name = "x\x1b]0;pwned\x07\x1b[2J\rFAKE";
    for verb in [&["stop"][..], &["start"], &["restart"], &["signal", "HUP"]] {
        let mut args = verb.to_vec();
        args.push(name);
        let o = h.stead(&args);
        assert!(!o.status.success(), "{verb:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(r"x\e]0;pwned\x07\e[2J\rFAKE"),
            "{verb:?}: the name is not shown escaped: {err:?}"
        );
        assert!(
            !o.stderr.iter().any(|b| matches!(b, 0x1b | 0x07 | b'\r')),
            "{verb:?}: a control character reached the terminal: {err:?}"
        );
        assert!(
            err.contains("\n  hint:"),
            "{verb:?}: lines stay lines: {err:?}"
        );
    }
}
