//! `stead logs NAME` for a program that has written nothing says so on stderr, naming the
//! files it read, and exits 0; an unknown name exits 4 and lists the programs there are —
//! with a supervisor running, and from the config file when none is.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

const CONFIG: &str = r#"
[program.quiet]
command = ["{child}", "--sleep", "forever"]

[program.chatty]
command = ["{child}", "--stdout", "hello", "--sleep", "forever"]
"#;

fn check(h: &Harness, config: &str) {
    let out = h.stead(&["logs", "-c", config, "quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stead: quiet has no output yet ("), "{err}");
    assert!(err.contains("quiet.out.log"), "{err}");

    let out = h.stead(&["logs", "-c", config, "nosuch"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nosuch"), "{err}");
    assert!(err.contains("the programs are: chatty, quiet"), "{err}");

    // A program with output is not affected.
    let out = h.stead(&["logs", "-c", config, "chatty"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hello"),
        "{}",
        text(&out)
    );
    assert!(out.stderr.is_empty(), "{}", text(&out));
}

#[test]
fn logs_say_so_when_there_is_nothing_to_show() {
    let mut h = Harness::new("logs-nothing");
    h.write_config(CONFIG);
    let config = h.config.display().to_string();
    h.up();
    h.wait_for("chatty's line", Duration::from_secs(10), |h| {
        let out = h.stead(&["logs", "chatty"]);
        String::from_utf8_lossy(&out.stdout).contains("hello")
    });
    check(&h, &config);

    // Once the supervisor is gone, the same answers come from the config file.
    let out = h.stead(&["shutdown"]);
    assert!(out.status.success(), "{}", text(&out));
    check(&h, &config);
}
