//! The opt-in Prometheus endpoint (`[metrics] listen = "127.0.0.1:9102"`): `GET /metrics`
//! in the text exposition format, read-only, over plain HTTP. Bind it to localhost (the
//! default in the examples) or put an authenticating proxy in front: it shows program names
//! and states, nothing else.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};

use crate::control::Request;
use crate::control::api::ProgramStatus;

/// Builds the exposition, one family at a time.
#[derive(Default)]
pub(crate) struct Exposition {
    families: Vec<(&'static str, &'static str, &'static str, String)>,
}

/// `"` `\` and newlines escaped, as the format wants in label values.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exposition {
    fn add(&mut self, name: &'static str, kind: &'static str, help: &'static str, line: String) {
        if let Some(f) = self.families.iter_mut().find(|f| f.0 == name) {
            f.3.push_str(&line);
        } else {
            self.families.push((name, kind, help, line));
        }
    }

    /// Adds one program instance's series.
    pub(crate) fn program(&mut self, st: &ProgramStatus) {
        let l = format!(
            "program=\"{}\",group=\"{}\"",
            label(&st.name),
            label(&st.group)
        );
        let running = st.pid.is_some();
        self.add(
            "stead_program_up",
            "gauge",
            "1 while the program has a live process.",
            format!("stead_program_up{{{l}}} {}\n", u8::from(running)),
        );
        for s in crate::program::State::ALL {
            self.add(
                "stead_program_state",
                "gauge",
                "1 for the state the program is in.",
                format!(
                    "stead_program_state{{{l},state=\"{s}\"}} {}\n",
                    u8::from(st.state == s)
                ),
            );
        }
        self.add(
            "stead_program_restarts_total",
            "counter",
            "Automatic restarts since the supervisor started.",
            format!("stead_program_restarts_total{{{l}}} {}\n", st.restarts),
        );
        if let Some(up) = st.uptime_ms {
            self.add(
                "stead_program_uptime_seconds",
                "gauge",
                "Seconds since the running process started.",
                format!(
                    "stead_program_uptime_seconds{{{l}}} {}\n",
                    up as f64 / 1000.0
                ),
            );
        }
        if let Some(r) = st.ready {
            self.add(
                "stead_program_ready",
                "gauge",
                "1 when the program's ready check passed.",
                format!("stead_program_ready{{{l}}} {}\n", u8::from(r)),
            );
        }
        if let Some(h) = st.health {
            let v = match h {
                crate::health::Health::Healthy => "1",
                crate::health::Health::Unhealthy => "0",
                crate::health::Health::Unknown => "NaN",
            };
            self.add(
                "stead_program_healthy",
                "gauge",
                "1 healthy, 0 unhealthy, NaN not known yet.",
                format!("stead_program_healthy{{{l}}} {v}\n"),
            );
        }
        if let Some(r) = st.resources {
            self.add(
                "stead_program_cpu_seconds_total",
                "counter",
                "CPU time of the program's live process tree.",
                format!("stead_program_cpu_seconds_total{{{l}}} {}\n", r.cpu_seconds),
            );
            self.add(
                "stead_program_resident_memory_bytes",
                "gauge",
                "Resident memory of the program's process tree.",
                format!(
                    "stead_program_resident_memory_bytes{{{l}}} {}\n",
                    r.rss_bytes
                ),
            );
            self.add(
                "stead_program_open_fds",
                "gauge",
                "Open file descriptors of the program's process tree.",
                format!("stead_program_open_fds{{{l}}} {}\n", r.fds),
            );
            self.add(
                "stead_program_threads",
                "gauge",
                "Threads of the program's process tree.",
                format!("stead_program_threads{{{l}}} {}\n", r.threads),
            );
            self.add(
                "stead_program_processes",
                "gauge",
                "Processes in the program's tree.",
                format!("stead_program_processes{{{l}}} {}\n", r.processes),
            );
        }
    }

    /// The text, with the supervisor's own series.
    pub(crate) fn finish(mut self, events: u64) -> String {
        self.add(
            "stead_events_total",
            "counter",
            "Events recorded (stead events).",
            format!("stead_events_total {events}\n"),
        );
        let mut out = String::new();
        for (name, kind, help, lines) in &self.families {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{lines}");
        }
        out
    }
}

/// The bearer token in `path` (trimmed), or why it cannot be used. Never logged.
pub(crate) fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read token_file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.len() < 16 || token.contains(char::is_whitespace) {
        return Err(format!(
            "token_file {} must hold one token of at least 16 characters, without spaces",
            path.display()
        ));
    }
    Ok(token.to_string())
}

/// Whether the request carries `Authorization: Bearer TOKEN`, compared in constant time
/// (the time taken does not depend on where a guess differs; a dependency for this one loop
/// would not earn its keep).
fn authorized(headers: &hyper::HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let want = token.as_bytes();
    given.len() == want.len() && given.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// Serves `/metrics` on `addr` until the engine is gone; with `token`, only to requests
/// that carry it.
pub(crate) async fn serve(
    addr: SocketAddr,
    token: Option<String>,
    engine: mpsc::Sender<Request>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("metrics on http://{addr}/metrics");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let engine = engine.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let engine = engine.clone();
                    let allowed = token
                        .as_deref()
                        .is_none_or(|t| authorized(req.headers(), t));
                    async move {
                        if !allowed {
                            let mut r = Response::new(Full::new(Bytes::from_static(
                                b"send Authorization: Bearer TOKEN (the [metrics] token_file)\n",
                            )));
                            *r.status_mut() = StatusCode::UNAUTHORIZED;
                            r.headers_mut().insert(
                                hyper::header::WWW_AUTHENTICATE,
                                hyper::header::HeaderValue::from_static("Bearer"),
                            );
                            return Ok::<_, Infallible>(r);
                        }
                        Ok::<_, Infallible>(answer(req.method(), req.uri().path(), &engine).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(())
}

async fn answer(
    method: &Method,
    path: &str,
    engine: &mpsc::Sender<Request>,
) -> Response<Full<Bytes>> {
    let reply = |code: StatusCode, ctype: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = code;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(ctype),
        );
        r
    };
    if path != "/metrics" || *method != Method::GET {
        return reply(StatusCode::NOT_FOUND, "text/plain", "GET /metrics\n".into());
    }
    let (tx, rx) = oneshot::channel();
    if engine.send(Request::Metrics { reply: tx }).await.is_err() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "shutting down\n".into(),
        );
    }
    match rx.await {
        Ok(Ok(text)) => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            text,
        ),
        _ => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "shutting down\n".into(),
        ),
    }
}
