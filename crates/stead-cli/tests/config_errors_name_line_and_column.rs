//! Bad configs are refused with file, line, column and a hint, exit code 2, and nothing runs.
#![cfg(unix)]
mod support;
use support::*;

#[test]
fn config_errors_name_line_and_column() {
    let h = Harness::new("config-errors");
    h.write_config(
        r#"[program.web]
command = ["{child}"]
comand = "typo"
restart = "sometimes"
stop_timeout = "10 parsecs"

[program.db]
command = ["/nonexistent/bin/db"]
user = "no-such-user-stead"
"#,
    );
    let out = h.stead(&["validate", "-c", h.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = h.config.display().to_string();
    for expected in [
        format!("{file}:3:1: unknown key `comand` in [program.web]"),
        "hint: did you mean `command`?".to_string(),
        format!("{file}:4:11: unknown restart policy \"sometimes\""),
        format!("{file}:5:16: bad duration for `stop_timeout`"),
        format!("{file}:8:11: program `/nonexistent/bin/db` not found"),
        format!("{file}:9:8: unknown user `no-such-user-stead`"),
    ] {
        assert!(err.contains(&expected), "missing `{expected}` in:\n{err}");
    }
    // The caret points at the offending text.
    assert!(err.contains("3 | comand = \"typo\"\n  | ^^^^^^"), "{err}");

    // --json gives the same, as data.
    let out = h.stead(&["validate", "--json", "-c", h.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 5);
    assert_eq!(v["diagnostics"][0]["line"], 3);
    assert_eq!(v["diagnostics"][0]["column"], 1);

    // `up` refuses the same file and starts nothing.
    let out = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!h.state.join("stead.sock").exists());

    // A missing file is named, with a hint.
    let out = h.stead(&["validate", "-c", "/nonexistent/stead.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/nonexistent/stead.toml: cannot read the config")
    );
}

#[test]
fn the_bundled_example_is_valid() {
    let h = Harness::new("example-valid");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/stead.toml");
    let out = h.stead(&["validate", "-c", example]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A config file that is far too big (or endless, like a device) is refused after reading
/// just past the limit, with the reason.
#[test]
fn an_oversized_config_is_refused_unread() {
    let h = Harness::new("config-huge");
    let mut text = String::from("[program.a]\ncommand = [\"/bin/true\"]\n");
    while text.len() < 5 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&h.config, text).unwrap();
    let out = h.stead(&["validate", "-c", h.config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a 5 MiB config");
    assert!(err.contains("over 4096 KiB"), "{err}");
    #[cfg(unix)]
    {
        let out = h.stead(&["validate", "-c", "/dev/zero"]);
        assert!(!out.status.success(), "/dev/zero was accepted");
    }
}
