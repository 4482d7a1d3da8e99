//! Malformed, oversized and unknown control requests get a 4xx on their own connection and
//! never disturb the supervisor.
#![cfg(unix)]
mod support;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use support::*;

fn raw(h: &Harness, request: &[u8]) -> String {
    let mut s = UnixStream::connect(h.state.join("stead.sock")).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

#[test]
fn bad_control_requests_get_4xx() {
    let mut h = Harness::new("bad-requests");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    let pid = h.pid_of("a");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), "400"),
        (b"GET /v1/nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(), "404"),
        (b"DELETE /v1/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(), "405"),
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 5\r\n\r\n{nope".to_vec(), "400"),
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 20\r\n\r\n{\"names\":[\"zzz\"]}   ".to_vec(), "404"),
        (b"POST /v1/signal HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 32\r\n\r\n{\"names\":[\"a\"],\"signal\":\"BOGUS\"}".to_vec(), "400"),
        (format!("POST /v1/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 100000\r\n\r\n{}", "x".repeat(100_000)).into_bytes(), "413"),
        (format!("GET /v1/status HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "y".repeat(40_000)).into_bytes(), "431"),
        // Content-Length and chunked together: ambiguous, refused (either order).
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\ncontent-length: 12\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n{\"names\":[]}".to_vec(), "400"),
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n".to_vec(), "400"),
        // An empty body, or one naming nothing, does not mean every program.
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n".to_vec(), "400"),
        (b"POST /v1/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}".to_vec(), "400"),
        (b"POST /v1/signal HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 17\r\n\r\n{\"signal\":\"TERM\"}".to_vec(), "400"),
        // Rolling limits without a rolling restart, both zero, or out of range.
        (b"POST /v1/restart HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 29\r\n\r\n{\"names\":[\"a\"],\"max_surge\":2}".to_vec(), "400"),
        (b"POST /v1/restart HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 67\r\n\r\n{\"names\":[\"a\"],\"rolling\":true,\"max_surge\":0,\"max_unavailable\":\"0%\"}".to_vec(), "400"),
        (b"POST /v1/restart HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 49\r\n\r\n{\"names\":[\"a\"],\"rolling\":true,\"max_surge\":\"150%\"}".to_vec(), "400"),
        (b"POST /v1/restart HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 45\r\n\r\n{\"names\":[\"a\"],\"rolling\":true,\"max_surge\":-1}".to_vec(), "400"),
        // A bad escape in the query.
        (b"GET /v1/status?name=a%2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(), "400"),
    ];
    for (req, code) in cases {
        let resp = raw(&h, &req);
        let line = status_line(&resp);
        assert!(
            line.contains(code),
            "expected {code} for {:?}…, got {line:?}",
            String::from_utf8_lossy(&req[..req.len().min(60)])
        );
    }
    // A percent-encoded name is decoded.
    let ok = raw(
        &h,
        b"GET /v1/status?name=%61 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(status_line(&ok).contains("200"), "{ok}");
    assert!(ok.contains("\"name\":\"a\""), "{ok}");
    // A client that connects and sends nothing does not block others.
    let _idle = UnixStream::connect(h.state.join("stead.sock")).unwrap();
    assert_eq!(
        h.pid_of("a"),
        pid,
        "the supervisor and its program are undisturbed"
    );
    let ok = raw(
        &h,
        b"GET /v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(status_line(&ok).contains("200"), "{ok}");
}
