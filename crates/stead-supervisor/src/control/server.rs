//! HTTP/1.1 over the control transport, with limits: 64 connections, 16 KiB of headers read
//! within 10 s, 64 KiB of body. A malformed or oversized request gets a 4xx on its own
//! connection and never reaches the engine.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::api::{ActionRequest, ErrorBody, SignalRequest};
use super::{ApiError, Listener, Request, Verb};

const MAX_CONNECTIONS: usize = 64;
const MAX_BODY: usize = 64 * 1024;

/// Serves the API until the returned handle is dropped; `drain` waits for open connections.
pub(crate) struct Server {
    permits: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting, then waits (at most `limit`) for answers in flight to be written.
    pub(crate) async fn drain(self, limit: Duration) {
        self.task.abort();
        let _ =
            tokio::time::timeout(limit, self.permits.acquire_many(MAX_CONNECTIONS as u32)).await;
    }
}

pub(crate) fn serve(listener: Listener, engine: mpsc::Sender<Request>) -> Server {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let sem = permits.clone();
    let task = tokio::spawn(async move {
        loop {
            let (mut stream, verdict) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of fds or similar: back off briefly rather than spin.
                    tracing::warn!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = sem.clone().try_acquire_owned() else {
                tokio::spawn(async move {
                    let _ = stream
                        .write_all(&raw_error(
                            503,
                            "too many control connections",
                            "retry in a moment",
                        ))
                        .await;
                });
                continue;
            };
            if let Err(why) = verdict {
                tracing::warn!("control socket: refused a connection: {why}");
                tokio::spawn(async move {
                    // Read the request head first (bounded), answer, then close: closing
                    // with unread input would reset the connection before the peer reads
                    // the refusal.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), read_head(&mut stream)).await;
                    let _ = stream
                        .write_all(&raw_error(
                            403,
                            &why,
                            "run the command as the user that runs stead, or as root",
                        ))
                        .await;
                    let _ = stream.shutdown().await;
                    drop(permit);
                });
                continue;
            }
            let engine = engine.clone();
            tokio::spawn(async move {
                serve_connection(stream, engine).await;
                drop(permit);
            });
        }
    });
    Server { permits, task }
}

/// Answers the requests of one accepted connection (the peer already checked), with the
/// limits above, until the peer closes it.
pub(crate) async fn serve_connection<S>(stream: S, engine: mpsc::Sender<Request>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| handle(req, engine.clone()));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(16 * 1024)
        // A client that shuts its side after its last request still gets every answer.
        .half_close(true)
        .serve_connection(TokioIo::new(stream), svc);
    if let Err(e) = conn.await {
        tracing::debug!("control connection ended: {e}");
    }
}

/// Reads until the end of an HTTP request head, at most 16 KiB.
async fn read_head(stream: &mut super::transport::Stream) {
    let mut buf = [0u8; 1024];
    let mut seen: Vec<u8> = Vec::new();
    while seen.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if seen.windows(4).any(|w| w == b"\r\n\r\n") {
            return;
        }
    }
}

fn raw_error(status: u16, error: &str, hint: &str) -> Vec<u8> {
    let body = serde_json::to_vec(&ErrorBody {
        error: error.into(),
        hint: Some(hint.into()),
        diagnostics: None,
    })
    .unwrap_or_default();
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

fn json_response(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn handle(
    req: hyper::Request<Incoming>,
    engine: mpsc::Sender<Request>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let (status, msg) = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                (413, format!("request body over {MAX_BODY} bytes"))
            } else {
                (400, format!("cannot read the request body: {e}"))
            };
            return Ok(error_response(&ApiError::new(
                status,
                msg,
                Some("see docs/api.md".into()),
            )));
        }
    };
    let result = route(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &body,
        &engine,
    )
    .await;
    Ok(match result {
        Ok((status, json)) => json_response(status, json),
        Err(e) => error_response(&e),
    })
}

fn error_response(e: &ApiError) -> Response<Full<Bytes>> {
    json_response(e.status, serde_json::to_vec(&e.body).unwrap_or_default())
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            format!("bad JSON body: {e}"),
            Some("see docs/api.md for the request format".into()),
        )
    })
}

pub(crate) fn names_from_query(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("name", v)) if !v.is_empty() => names.push(v.to_string()),
            _ => {
                return Err(ApiError::new(
                    400,
                    format!("unknown query parameter `{pair}`"),
                    Some("use ?name=NAME, repeated".into()),
                ));
            }
        }
    }
    Ok(names)
}

/// `?after=N&wait=MS` (both optional; `wait` at most 60 000).
pub(crate) fn events_query(query: Option<&str>) -> Result<(u64, std::time::Duration), ApiError> {
    let mut after = 0;
    let mut wait = 0;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let bad = || {
            ApiError::new(
                400,
                format!("bad query parameter `{pair}`"),
                Some("use ?after=SEQ&wait=MILLISECONDS".into()),
            )
        };
        match pair.split_once('=') {
            Some(("after", v)) => after = v.parse().map_err(|_| bad())?,
            Some(("wait", v)) => wait = v.parse::<u64>().map_err(|_| bad())?.min(60_000),
            _ => return Err(bad()),
        }
    }
    Ok((after, std::time::Duration::from_millis(wait)))
}

async fn ask<T: serde::Serialize>(
    engine: &mpsc::Sender<Request>,
    make: impl FnOnce(super::Reply<T>) -> Request,
) -> Result<(u16, Vec<u8>), ApiError> {
    let (tx, rx) = oneshot::channel();
    engine
        .send(make(tx))
        .await
        .map_err(|_| ApiError::new(503, "the supervisor is shutting down", None))?;
    let value = rx
        .await
        .map_err(|_| ApiError::new(503, "the supervisor is shutting down", None))??;
    Ok((200, serde_json::to_vec(&value).unwrap_or_default()))
}

async fn route(
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    engine: &mpsc::Sender<Request>,
) -> Result<(u16, Vec<u8>), ApiError> {
    let post = *method == Method::POST;
    let verb = |v: Verb| post.then_some(v);
    match path {
        "/v1/health" if *method == Method::GET => Ok((200, br#"{"ok":true}"#.to_vec())),
        "/v1/status" if *method == Method::GET => {
            let names = names_from_query(query)?;
            ask(engine, |reply| Request::Status { names, reply }).await
        }
        "/v1/start" | "/v1/stop" | "/v1/restart" => {
            let v = match path {
                "/v1/start" => verb(Verb::Start),
                "/v1/stop" => verb(Verb::Stop),
                _ => verb(Verb::Restart),
            }
            .ok_or_else(|| method_not_allowed(method, path, "POST"))?;
            let req: ActionRequest = parse_body(body)?;
            ask(engine, |reply| Request::Action {
                verb: v,
                names: req.names,
                wait: req.wait,
                reply,
            })
            .await
        }
        "/v1/signal" => {
            post.then_some(())
                .ok_or_else(|| method_not_allowed(method, path, "POST"))?;
            let req: SignalRequest = serde_json::from_slice(body).map_err(|e| {
                ApiError::new(
                    400,
                    format!("bad JSON body: {e}"),
                    Some("send {\"names\": [\"web\"], \"signal\": \"HUP\"}".into()),
                )
            })?;
            let signal = req
                .signal
                .parse()
                .map_err(|e: crate::signal::UnknownSignal| {
                    ApiError::new(400, e.to_string(), None)
                })?;
            ask(engine, |reply| Request::Signal {
                names: req.names,
                signal,
                reply,
            })
            .await
        }
        "/v1/reload" => {
            post.then_some(())
                .ok_or_else(|| method_not_allowed(method, path, "POST"))?;
            ask(engine, |reply| Request::Reload { reply }).await
        }
        "/v1/shutdown" => {
            post.then_some(())
                .ok_or_else(|| method_not_allowed(method, path, "POST"))?;
            ask(engine, |reply| Request::Shutdown { reply })
                .await
                .map(|_| (200, br#"{"ok":true}"#.to_vec()))
        }
        "/v1/events" if *method == Method::GET => {
            let (after, wait) = events_query(query)?;
            ask(engine, |reply| Request::Events { after, wait, reply }).await
        }
        "/v1/health" | "/v1/status" | "/v1/events" => Err(method_not_allowed(method, path, "GET")),
        _ => Err(ApiError::new(
            404,
            format!("no endpoint {method} {path}"),
            Some("the endpoints are listed in docs/api.md; paths start with /v1/".into()),
        )),
    }
}

fn method_not_allowed(method: &Method, path: &str, allowed: &str) -> ApiError {
    ApiError::new(
        405,
        format!("{method} is not allowed on {path}"),
        Some(format!("use {allowed}")),
    )
}
