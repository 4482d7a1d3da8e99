//! Entry points for the fuzz targets in `fuzz/` — not an API. Each one feeds untrusted
//! input to the code that reads it in production and checks the promises that must hold
//! for any input; a broken promise panics, which is what the fuzzer looks for.

use std::path::Path;

use crate::logs::frame::{LineSplitter, Piece};

/// The `config` target's bytes (UTF-8 only: the config loader refuses anything else first).
pub fn config_bytes(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        config(text);
    }
}

/// A config file's text, through both paths that read one in production: the portable
/// check (`stead export`, `stead validate --portable`) and the whole load that `stead up`,
/// `stead reload` and SIGHUP run, with every check against this host (binaries in `PATH`,
/// users, `cwd`, env files). An error must say where (a line and column inside the text, or
/// the whole file); a config that loads must give every program a state machine, as the
/// engine does with it.
pub fn config(text: &str) {
    for host_checks in [false, true] {
        let loaded = if host_checks {
            crate::config::parse(Path::new("fuzz.toml"), text)
        } else {
            crate::Config::parse_portable(Path::new("fuzz.toml"), text)
        };
        match loaded {
            Err(e) => {
                // The file is `fuzz.toml`, or one that its `include` named.
                let shown = e.to_string();
                assert!(
                    shown.contains(&*e.path.to_string_lossy())
                        && (e.path == Path::new("fuzz.toml") || text.contains("include")),
                    "an error that does not name its file: {shown}"
                );
            }
            Ok(config) => {
                for p in &config.programs {
                    assert!(!p.command.is_empty(), "{} loaded with no command", p.name);
                    let _ = crate::program::Program::new(p.clone(), 1);
                }
            }
        }
    }
}

/// A notify datagram: parsed or ignored, never a panic; a status is one line, bounded.
pub fn notify_datagram(data: &[u8]) {
    if let Some(m) = crate::health::NotifyMessage::parse(data)
        && let Some(s) = m.status
    {
        assert!(s.chars().count() <= 256 && !s.contains('\n'));
    }
}

/// The `line_splitter` target's bytes: the first gives the line limit, the second the read
/// size, the rest is the output.
pub fn line_splitter_bytes(data: &[u8]) {
    let (head, rest) = data.split_at(data.len().min(2));
    let max_line = head.first().map_or(8, |b| usize::from(*b) + 1);
    let step = head.get(1).map_or(3, |b| usize::from(*b) % 97 + 1);
    let chunks: Vec<&[u8]> = rest.chunks(step).collect();
    line_splitter(&chunks, max_line);
}

/// Output in chunks, as pipe reads bring it: the line splitter gives every byte back, in
/// order, in pieces no longer than `max_line`.
pub fn line_splitter(chunks: &[&[u8]], max_line: usize) {
    let max_line = max_line.clamp(1, 1 << 16);
    let mut s = LineSplitter::new(max_line);
    let mut joined = Vec::new();
    let mut emit = |piece: &[u8], how: Piece| {
        assert!(
            piece.len() <= max_line,
            "a piece of {} bytes over {max_line}",
            piece.len()
        );
        joined.extend_from_slice(piece);
        if how == Piece::Line {
            joined.push(b'\n');
        }
    };
    for c in chunks {
        s.push(c, &mut emit);
    }
    s.finish(&mut emit);
    let input: Vec<u8> = chunks.concat();
    assert_eq!(joined, input, "bytes lost, added or reordered");
}

/// The `control_query` target's bytes.
pub fn control_query_bytes(data: &[u8]) {
    if let Ok(q) = std::str::from_utf8(data) {
        control_query(q);
    }
}

/// A control API query string: accepted or refused with a 400, never a panic.
pub fn control_query(query: &str) {
    if let Err(e) = crate::control::server::names_from_query(Some(query)) {
        assert_eq!(e.status, 400);
    }
    if let Err(e) = crate::control::server::events_query(Some(query)) {
        assert_eq!(e.status, 400);
    } else if let Ok((_, wait)) = crate::control::server::events_query(Some(query)) {
        assert!(
            wait <= std::time::Duration::from_secs(60),
            "an unbounded wait"
        );
    }
}

/// The statuses the control API answers with (docs/api.md), plus those hyper gives a
/// request it cannot parse (400, 408, 413, 414, 431, 501, 505). A 500 would be a bug.
const CONTROL_STATUSES: &[u16] = &[
    200, 400, 403, 404, 405, 408, 409, 413, 414, 431, 501, 503, 505,
];

/// A client's whole request bytes (method, path, headers, body; any number of requests
/// on one connection): served with the production connection settings against an engine
/// that refuses everything with a 409. Every answer is a well-formed HTTP/1.x response
/// with a documented status, the connection always ends, and only requests whose method
/// and path name a verb reach the engine.
pub fn control_request(data: &[u8]) {
    control_exchange(data);
}

/// [`control_request`], returning the statuses of the answers in order.
pub fn control_exchange(data: &[u8]) -> Vec<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
    }
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let (client, server) = tokio::io::duplex(1 << 20);
            let (tx, mut rx) = tokio::sync::mpsc::channel(8);
            let engine = tokio::spawn(async move {
                let mut reached = 0usize;
                while let Some(req) = rx.recv().await {
                    reached += 1;
                    refuse(req);
                }
                reached
            });
            let served = tokio::spawn(crate::control::server::serve_connection(server, tx));
            let (mut read, mut write) = tokio::io::split(client);
            // The server may close before reading everything (a fatal parse error).
            let _ = write.write_all(data).await;
            let _ = write.shutdown().await;
            let mut out = Vec::new();
            tokio::time::timeout(
                std::time::Duration::from_secs(30),
                read.read_to_end(&mut out),
            )
            .await
            .expect("the connection did not end 30 s after the client's last byte")
            .expect("reading the answer");
            tokio::time::timeout(std::time::Duration::from_secs(30), served)
                .await
                .expect("the connection task did not end")
                .expect("the connection task panicked");
            let reached = engine.await.expect("the engine stand-in panicked");
            let answers = check_responses(&out);
            assert!(
                reached <= answers.len(),
                "{reached} requests reached the engine but only {} were answered",
                answers.len()
            );
            answers
        })
    })
}

/// Answers any engine request with a 409, as an engine that refuses would.
fn refuse(req: crate::control::Request) {
    use crate::control::{ApiError, Request};
    let no = || ApiError::new(409, "refused", None);
    match req {
        Request::Status { reply, .. } => drop(reply.send(Err(no()))),
        Request::Action { reply, .. } | Request::Signal { reply, .. } => {
            drop(reply.send(Err(no())))
        }
        Request::Reload { reply } => drop(reply.send(Err(no()))),
        Request::Shutdown { reply } => drop(reply.send(Err(no()))),
        Request::Events { wait, reply, .. } => {
            assert!(
                wait <= std::time::Duration::from_secs(60),
                "an unbounded wait"
            );
            drop(reply.send(Err(no())))
        }
        Request::Metrics { reply } => drop(reply.send(Err(no()))),
    }
}

/// Walks the responses in `out`; each must be HTTP/1.x (1.0 answers a 1.0 request) with a documented status and a
/// body as long as its `content-length`. Returns their statuses.
fn check_responses(mut out: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    while !out.is_empty() {
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("a response head without an end: {out:?}"));
        let head = std::str::from_utf8(&out[..end]).expect("a response head that is not UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP/1.x status line: {status_line:?}"));
        assert!(
            CONTROL_STATUSES.contains(&status),
            "status {status} is not one the API documents"
        );
        let length: usize = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| {
                v.trim().parse().expect("a numeric content-length")
            });
        let rest = &out[end + 4..];
        assert!(
            rest.len() >= length,
            "a body shorter than its content-length"
        );
        out = &rest[length..];
        statuses.push(status);
    }
    statuses
}
