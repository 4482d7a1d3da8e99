//! Running one probe: a TCP connect, a plain-HTTP GET, or a command (started by the engine). Each is bounded by its
//! timeout and returns a one-line description of what it saw.
//!
//! The HTTP probe is a hand-written GET (one request line, headers read until the blank
//! line, the status parsed by `httparse`): an HTTP client crate would bring TLS, pooling and
//! redirects a health check must not have. For https, use an `exec` probe with curl.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::Probe;
use crate::config::parse_http_url;

/// A probe under way: a network probe to run, or a helper process already started by the
/// engine (so that the one reaper knows its pid before it can exit).
pub(crate) enum Started {
    Net(Probe),
    Exec {
        name: String,
        child: crate::spawn::AuxChild,
    },
}

/// Finishes `probe` within `timeout`; `Ok(what it saw)` when it passed.
pub(crate) async fn finish(probe: Started, timeout: Duration) -> Result<String, String> {
    let what = match &probe {
        Started::Net(p) => p.describe(),
        Started::Exec { name, .. } => format!("exec {name}"),
    };
    let mut aux_pid = None;
    let work = async {
        match probe {
            Started::Net(Probe::Tcp(addr)) => tokio::net::TcpStream::connect(addr.as_str())
                .await
                .map(|_| format!("connected to {addr}"))
                .map_err(|e| format!("connect to {addr}: {e}")),
            Started::Net(Probe::Http { url, status }) => http(&url, status).await,
            Started::Net(_) => Err("not a polled probe".into()),
            Started::Exec { name, child } => {
                aux_pid = Some(child.pid);
                exec(&name, child).await
            }
        }
    };
    let result = tokio::time::timeout(timeout, work).await;
    if let Ok(r) = result {
        return r;
    }
    if let Some(pid) = aux_pid {
        crate::spawn::kill_aux(pid);
    }
    Err(format!(
        "{what} did not answer within {}",
        crate::format_duration(timeout)
    ))
}

async fn http(url: &str, want: Option<u16>) -> Result<String, String> {
    let (authority, path) = parse_http_url(url).ok_or_else(|| format!("bad URL {url}"))?;
    let mut s = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("connect to {authority}: {e}"))?;
    let host = authority.strip_suffix(":80").unwrap_or(&authority);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: stead-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("send to {authority}: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read from {authority}: {e}"))?;
        if n == 0 {
            return Err(format!("{url}: connection closed before a status line"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(_) if resp.code.is_some() => {
                let code = resp.code.unwrap_or(0);
                let ok = match want {
                    Some(w) => code == w,
                    None => (200..300).contains(&code),
                };
                let said = format!("{url} answered {code}");
                return if ok { Ok(said) } else { Err(said) };
            }
            Ok(_) | Err(httparse::Error::TooManyHeaders) if buf.len() < 16 * 1024 => {}
            Ok(_) | Err(_) => return Err(format!("{url}: not an HTTP response")),
        }
    }
}

async fn exec(name: &str, child: crate::spawn::AuxChild) -> Result<String, String> {
    let stderr = child.stderr;
    let tail = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut text = Vec::new();
        if let Some(e) = stderr {
            let _ = e.take(64 * 1024).read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text)
            .lines()
            .last()
            .map(|l| format!(": {}", l.chars().take(200).collect::<String>()))
            .unwrap_or_default()
    });
    let status = child
        .exit
        .await
        .map_err(|_| format!("{name}: its exit status was lost"))?;
    let tail = tail.await.unwrap_or_default();
    match status {
        crate::program::ExitStatus::Code(0) => Ok(format!("{name} exited 0")),
        other => Err(format!("{name} {other}{tail}")),
    }
}
