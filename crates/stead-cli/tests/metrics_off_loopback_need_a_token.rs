//! No network listener unless configured, and then not an open one: `[metrics] listen` on a
//! non-loopback address without `token_file` is a config error naming the line; with a
//! token, a scrape without it or with a wrong one gets 401 and the right one gets the
//! metrics; the token never appears in stead's log.
#![cfg(unix)]
mod support;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use support::*;

const TOKEN: &str = "d9f1c2a8b7e64f0aa51c3e9b2d7f8061";

fn scrape(port: u16, auth: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn metrics_on_the_network_without_a_token_is_a_config_error() {
    let h = Harness::new("metrics-open");
    h.write_config(
        r#"
[metrics]
listen = "0.0.0.0:9102"

[program.a]
command = ["{child}", "--sleep", "forever"]
"#,
    );
    let out = h.stead(&["validate", "-c", h.config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {err}");
    assert!(
        err.contains("stead.toml:3") && err.contains("could be read by anyone"),
        "{err}"
    );
    assert!(err.contains("token_file"), "the fix is named: {err}");
}

#[test]
fn a_token_guards_the_metrics() {
    let mut h = Harness::new("metrics-token");
    let token_file = h.dir.join("metrics.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    h.write_config(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"
token_file = "metrics.token"

[program.a]
command = ["{{child}}", "--sleep", "forever"]
"#
    ));
    h.up();
    let none = scrape(port, None);
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(
        none.to_lowercase().contains("www-authenticate: bearer"),
        "{none}"
    );
    let wrong = scrape(port, Some("Bearer d9f1c2a8b7e64f0aa51c3e9b2d7f8062"));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = scrape(port, Some(&format!("Bearer {TOKEN}")));
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("stead_"), "{right}");
    assert!(!h.log().contains(TOKEN), "the token was logged");

    // A token file that is too short is refused before anything runs.
    std::fs::write(&token_file, "short\n").unwrap();
    let out = h.stead(&["validate", "-c", h.config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("at least 16 characters"),
        "{err}"
    );
    assert!(
        !err.contains("short"),
        "the token's content is not echoed: {err}"
    );
}
