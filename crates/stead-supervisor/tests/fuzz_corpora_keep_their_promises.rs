//! Every input in the fuzz seed corpora (`fuzz/corpus/TARGET/`) and every input a fuzzer
//! once crashed on (`fuzz/regressions/TARGET/`, named after what it found) goes through the
//! same promise checks as under the fuzzer, on every `cargo test`.

use std::path::{Path, PathBuf};

use stead_supervisor::fuzzing;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            out.push((path, data));
        }
    }
    out
}

fn check(target: &str, min: usize, f: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= min,
        "fuzz/corpus/{target} holds {} seeds, expected at least {min}",
        inputs.len()
    );
    for (path, data) in inputs {
        eprintln!("{target}: {}", path.display());
        f(&data);
    }
}

#[test]
fn config_seeds() {
    check("config", 2, fuzzing::config_bytes);
}

#[test]
fn notify_datagram_seeds() {
    check("notify_datagram", 3, fuzzing::notify_datagram);
}

#[test]
fn line_splitter_seeds() {
    check("line_splitter", 1, fuzzing::line_splitter_bytes);
}

#[test]
fn control_query_seeds() {
    check("control_query", 2, fuzzing::control_query_bytes);
}

#[test]
fn control_request_seeds() {
    check("control_request", 7, fuzzing::control_request);
}

/// The stand-in engine answers 409, so a request that reaches it shows up as one; the
/// checker counts every response and refuses statuses the API does not document.
#[test]
fn control_request_checks_can_fail() {
    // Good requests reach the engine and are answered, pipelined ones in order.
    assert_eq!(
        fuzzing::control_exchange(
            b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\n"
        ),
        [409, 200]
    );
    assert_eq!(
        fuzzing::control_exchange(b"PUT /v1/status HTTP/1.1\r\n\r\nGET /v2/x HTTP/1.1\r\n\r\n"),
        [405, 404]
    );
    // Headers past the 16 KiB limit get a 431, not a crash or a hang.
    let mut big = b"GET /v1/status HTTP/1.1\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(fuzzing::control_exchange(&big), [431]);
    // A body over 64 KiB is a 413.
    let mut body = b"POST /v1/stop HTTP/1.1\r\nContent-Length: 70000\r\n\r\n".to_vec();
    body.extend(std::iter::repeat_n(b' ', 70_000));
    assert_eq!(fuzzing::control_exchange(&body), [413]);
    // Not HTTP at all.
    assert_eq!(fuzzing::control_exchange(b"\x00\xff hello\r\n\r\n"), [400]);
}
