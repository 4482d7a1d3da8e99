//! HTTP/1.1 over the control transport, with limits: 128 connections, a request head of at
//! most 16 KiB read within 2 s, 64 KiB of body. A malformed or oversized request gets a 4xx
//! on its own connection and never reaches the engine.
//!
//! Idle connections cannot lock anyone out: a connection that has not sent a whole request
//! head within 2 s is closed (hyper's header timeout, which also runs between the requests
//! of a kept-alive connection), and when all 128 are taken, the oldest connection that is
//! not in the middle of a request is closed to make room for the new one. Only when every
//! connection is busy with a request does a new one get `503`, with a `Retry-After`.
//! Connections from other users are answered `403` by at most 16 tasks at once (more are
//! closed at once), apart from the table, and the warnings they cause are rate-limited.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use super::api::{ActionRequest, Endpoint, ErrorBody, SignalRequest};
use super::{ApiError, Listener, Request};
use crate::ratelimit::{INTERVAL, Limiter, Verdict};

const MAX_CONNECTIONS: usize = 128;
const MAX_REFUSING: usize = 16;
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

/// Serves the API until the returned handle is dropped; `drain` waits for open connections.
pub(crate) struct Server {
    conns: Arc<Conns>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting, closes idle connections, then waits (at most `limit`) for answers in
    /// flight to be written.
    pub(crate) async fn drain(self, limit: Duration) {
        self.task.abort();
        self.conns.close_all();
        let _ = tokio::time::timeout(limit, self.conns.emptied()).await;
    }
}

/// One open connection in the table.
struct Slot {
    /// True while a request is being answered (its head has arrived).
    busy: Arc<AtomicBool>,
    /// Tells the connection to finish what it is answering, then close.
    close: Option<oneshot::Sender<()>>,
}

/// The open connections, oldest first, and which one to close when all are taken.
#[derive(Default)]
struct Slots {
    next: u64,
    open: BTreeMap<u64, Slot>,
}

/// A connection admitted to the table.
struct Admitted {
    id: u64,
    busy: Arc<AtomicBool>,
    close: oneshot::Receiver<()>,
}

impl Slots {
    /// A place for a new connection. When all `max` are taken, the oldest connection that is
    /// not answering a request is told to close and leaves the table; `None` when every one
    /// is busy.
    fn admit(&mut self, max: usize) -> Option<Admitted> {
        if self.open.len() >= max {
            let idle = self
                .open
                .iter()
                .find(|(_, s)| !s.busy.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(close) = self.open.remove(&idle).and_then(|mut s| s.close.take()) {
                let _ = close.send(());
            }
        }
        let id = self.next;
        self.next += 1;
        let busy = Arc::new(AtomicBool::new(false));
        let (tx, close) = oneshot::channel();
        self.open.insert(
            id,
            Slot {
                busy: busy.clone(),
                close: Some(tx),
            },
        );
        Some(Admitted { id, busy, close })
    }
}

/// The table, shared by the accept loop and the connections.
#[derive(Default)]
struct Conns {
    slots: Mutex<Slots>,
    left: Notify,
}

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn leave(&self, id: u64) {
        self.lock().open.remove(&id);
        self.left.notify_waiters();
    }

    fn close_all(&self) {
        for slot in self.lock().open.values_mut() {
            if let Some(close) = slot.close.take() {
                let _ = close.send(());
            }
        }
    }

    async fn emptied(&self) {
        loop {
            let left = self.left.notified();
            if self.lock().open.is_empty() {
                return;
            }
            left.await;
        }
    }
}

/// Removes a connection from the table when its task ends, however it ends.
struct Leave(Arc<Conns>, u64);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// Warnings the accept loop may see thousands of times a second, rate-limited: the first of
/// each kind is logged, then one line per 10 s with the count.
struct Warnings {
    limiter: Limiter<&'static str>,
    tell_at: Option<Instant>,
}

impl Warnings {
    fn note(&mut self, kind: &'static str, detail: &str) {
        match self.limiter.hit(&kind, Instant::now()) {
            v @ Verdict::Log { .. } => {
                tracing::warn!("control socket: {kind}: {detail}{}", v.suffix());
            }
            Verdict::Counted { first: true, ends } => {
                self.tell_at = Some(self.tell_at.map_or(ends, |t| t.min(ends)));
            }
            Verdict::Counted { .. } => {}
        }
    }

    fn tell(&mut self) {
        for (kind, n) in self.limiter.due(Instant::now()) {
            tracing::warn!(
                "control socket: {kind}: {n} more like this in the last {} s",
                INTERVAL.as_secs()
            );
        }
        self.tell_at = None;
    }
}

async fn until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn serve(listener: Listener, engine: mpsc::Sender<Request>) -> Server {
    let conns = Arc::new(Conns::default());
    let table = conns.clone();
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let task = tokio::spawn(async move {
        let mut warnings = Warnings {
            limiter: Limiter::new(INTERVAL),
            tell_at: None,
        };
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = until(warnings.tell_at) => {
                    warnings.tell();
                    continue;
                }
            };
            let (stream, verdict) = match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of fds or similar: back off briefly rather than spin.
                    warnings.note("accept failed", &e.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Err(why) = verdict {
                warnings.note("refused a connection", &why);
                refuse(
                    &refusing,
                    stream,
                    403,
                    why,
                    "run the command as the user that runs stead, or as root",
                );
                continue;
            }
            let Some(slot) = table.lock().admit(MAX_CONNECTIONS) else {
                warnings.note(
                    "too many connections",
                    &format!("all {MAX_CONNECTIONS} are answering requests; answered 503"),
                );
                refuse(
                    &refusing,
                    stream,
                    503,
                    format!("too many control connections ({MAX_CONNECTIONS} busy)"),
                    "retry in a moment",
                );
                continue;
            };
            let engine = engine.clone();
            let leave = Leave(table.clone(), slot.id);
            tokio::spawn(async move {
                let close = async move {
                    let _ = slot.close.await;
                };
                serve_with(stream, engine, slot.busy, close).await;
                drop(leave);
            });
        }
    });
    Server { conns, task }
}

/// Answers a connection with one error and closes it, in a task of its own; at most
/// `MAX_REFUSING` at once, beyond which the connection is closed unanswered.
fn refuse(
    refusing: &Arc<Semaphore>,
    mut stream: super::transport::Stream,
    status: u16,
    error: String,
    hint: &'static str,
) {
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        // Read the request head first (bounded), answer, then close: closing with unread
        // input would reset the connection before the peer reads the answer.
        let _ = tokio::time::timeout(Duration::from_secs(1), read_head(&mut stream)).await;
        let _ = stream.write_all(&raw_error(status, &error, hint)).await;
        let _ = stream.shutdown().await;
        drop(permit);
    });
}

/// Answers the requests of one accepted connection (the peer already checked), with the
/// limits above, until the peer closes it.
pub(crate) async fn serve_connection<S>(stream: S, engine: mpsc::Sender<Request>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_with(stream, engine, Arc::default(), std::future::pending()).await;
}

/// Clears a connection's busy mark when its request is answered (or abandoned).
struct Answered(Arc<AtomicBool>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// [`serve_connection`], marking `busy` while a request is answered; once `close` resolves,
/// the request in flight (if any) is answered and the connection closed.
async fn serve_with<S>(
    stream: S,
    engine: mpsc::Sender<Request>,
    busy: Arc<AtomicBool>,
    close: impl Future<Output = ()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let engine = engine.clone();
        let busy = busy.clone();
        async move {
            busy.store(true, Ordering::Release);
            let _answered = Answered(busy);
            handle(req, engine).await
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        // A client that shuts its side after its last request still gets every answer.
        .half_close(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::pin!(close);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = &mut close => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("control connection ended: {e}");
    }
}

/// Reads until the end of an HTTP request head, at most 16 KiB.
async fn read_head(stream: &mut super::transport::Stream) {
    let mut buf = [0u8; 1024];
    let mut seen: Vec<u8> = Vec::new();
    while seen.len() < MAX_HEAD {
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
    // A refusal for load says when to try again; the client retries only those.
    let retry = if status == 503 {
        "retry-after: 1\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}connection: close\r\n\r\n",
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
    if parts.headers.contains_key(hyper::header::TRANSFER_ENCODING) {
        // hyper drops a Content-Length sent along with Transfer-Encoding and decodes the
        // chunks: such a message means one thing to one reader and another to the next (RFC
        // 9112 section 6.3). Bodies here are small JSON, so no body may be chunked at all.
        return Ok(error_response(&ApiError::new(
            400,
            "Transfer-Encoding is not accepted here (with a Content-Length too, the request is ambiguous)",
            Some("send the body with a Content-Length only".into()),
        )));
    }
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

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], example: &str) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            400,
            "the request has no body: it must name the programs, or ask for all of them",
            Some(format!("send {example}")),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            format!("bad JSON body: {e}"),
            Some(format!("send {example}; see docs/api.md")),
        )
    })
}

/// The programs a body selects: its `names`, or every program (an empty list to the
/// engine) when it says `"all": true`. Neither, or both, is a 400.
fn selection(names: Vec<String>, all: bool) -> Result<Vec<String>, ApiError> {
    match (all, names.is_empty()) {
        (true, true) => Ok(Vec::new()),
        (false, false) => Ok(names),
        (true, false) => Err(ApiError::new(
            400,
            "the body has both `names` and `\"all\": true`",
            Some("send one of them".into()),
        )),
        (false, true) => Err(ApiError::new(
            400,
            "no programs named",
            Some("send {\"names\": [\"web\"]}, or {\"all\": true} for every program".into()),
        )),
    }
}

/// Decodes one part of a query string: `%XX` escapes and `+` for a space, as a form
/// encodes them. A `%` not followed by two hex digits, or bytes that are not UTF-8, are
/// refused.
fn query_part(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return None;
        }
    }
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// The `key=value` pairs of a query string, decoded; `hint` says what the endpoint takes.
fn query_pairs(query: Option<&str>, hint: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (query_part(k), query_part(v)) {
            (Some(k), Some(v)) => pairs.push((k, v)),
            _ => {
                return Err(ApiError::new(
                    400,
                    format!("bad percent-encoding in query parameter `{pair}`"),
                    Some(format!(
                        "escape bytes as %XX (two hex digits), in UTF-8; {hint}"
                    )),
                ));
            }
        }
    }
    Ok(pairs)
}

pub(crate) fn names_from_query(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    const HINT: &str = "use ?name=NAME, repeated";
    let mut names = Vec::new();
    for (k, v) in query_pairs(query, HINT)? {
        if k == "name" && !v.is_empty() {
            names.push(v);
        } else {
            return Err(ApiError::new(
                400,
                format!("unknown query parameter `{k}={v}`"),
                Some(HINT.into()),
            ));
        }
    }
    Ok(names)
}

/// `?after=N&wait=MS` (both optional; `wait` at most 60 000).
pub(crate) fn events_query(query: Option<&str>) -> Result<(u64, std::time::Duration), ApiError> {
    const HINT: &str = "use ?after=SEQ&wait=MILLISECONDS";
    let mut after = 0;
    let mut wait = 0;
    for (k, v) in query_pairs(query, HINT)? {
        let bad = || {
            ApiError::new(
                400,
                format!("bad query parameter `{k}={v}`"),
                Some(HINT.into()),
            )
        };
        match k.as_str() {
            "after" => after = v.parse().map_err(|_| bad())?,
            "wait" => wait = v.parse::<u64>().map_err(|_| bad())?.min(60_000),
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
    let Some(endpoint) = Endpoint::from_path(path) else {
        return Err(ApiError::new(
            404,
            format!("no endpoint {method} {path}"),
            Some("the endpoints are listed in docs/api.md; paths start with /v1/".into()),
        ));
    };
    if method.as_str() != endpoint.method() {
        return Err(method_not_allowed(method, path, endpoint.method()));
    }
    match endpoint {
        Endpoint::Health => Ok((200, br#"{"ok":true}"#.to_vec())),
        Endpoint::Status => {
            let names = names_from_query(query)?;
            ask(engine, |reply| Request::Status { names, reply }).await
        }
        Endpoint::Action(v) => {
            let req: ActionRequest = parse_json(body, "{\"names\": [\"web\"]} or {\"all\": true}")?;
            let names = selection(req.names, req.all)?;
            if req.rolling && v != crate::control::Verb::Restart {
                return Err(ApiError::new(
                    400,
                    format!("`rolling` applies to a restart, not a {v}"),
                    Some("POST it to /v1/restart".into()),
                ));
            }
            if !req.rolling && (req.max_surge.is_some() || req.max_unavailable.is_some()) {
                return Err(ApiError::new(
                    400,
                    "`max_surge` and `max_unavailable` apply to a rolling restart",
                    Some("add \"rolling\": true".into()),
                ));
            }
            let rolling = req.rolling.then_some(crate::engine::Pace {
                max_surge: req.max_surge,
                max_unavailable: req.max_unavailable,
            });
            ask(engine, |reply| Request::Action {
                verb: v,
                names,
                wait: req.wait,
                rolling,
                reply,
            })
            .await
        }
        Endpoint::Signal => {
            let req: SignalRequest =
                parse_json(body, "{\"names\": [\"web\"], \"signal\": \"HUP\"}")?;
            let names = selection(req.names, req.all)?;
            let signal = req
                .signal
                .parse()
                .map_err(|e: crate::signal::UnknownSignal| {
                    ApiError::new(400, e.to_string(), None)
                })?;
            ask(engine, |reply| Request::Signal {
                names,
                signal,
                reply,
            })
            .await
        }
        Endpoint::Reload => ask(engine, |reply| Request::Reload { reply }).await,
        Endpoint::Shutdown => ask(engine, |reply| Request::Shutdown { reply })
            .await
            .map(|_| (200, br#"{"ok":true}"#.to_vec())),
        Endpoint::Events => {
            let (after, wait) = events_query(query)?;
            ask(engine, |reply| Request::Events { after, wait, reply }).await
        }
    }
}

fn method_not_allowed(method: &Method, path: &str, allowed: &str) -> ApiError {
    ApiError::new(
        405,
        format!("{method} is not allowed on {path}"),
        Some(format!("use {allowed}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_makes_room_by_closing_the_oldest_idle_connection() {
        let mut slots = Slots::default();
        let mut admitted: Vec<Admitted> = (0..3).map(|_| slots.admit(3).unwrap()).collect();
        admitted[0].busy.store(true, Ordering::Release);
        // Full: the oldest that is not answering a request (the second) is told to close.
        let fourth = slots.admit(3).expect("room was made");
        assert_eq!(admitted[1].close.try_recv(), Ok(()));
        assert!(admitted[0].close.try_recv().is_err(), "a busy one stays");
        assert!(admitted[2].close.try_recv().is_err(), "a newer one stays");
        assert_eq!(
            slots.open.keys().copied().collect::<Vec<_>>(),
            vec![0, 2, fourth.id]
        );
        // Every one busy: no room, nobody closed.
        admitted[2].busy.store(true, Ordering::Release);
        fourth.busy.store(true, Ordering::Release);
        assert!(slots.admit(3).is_none());
        assert_eq!(slots.open.len(), 3);
    }

    #[test]
    fn query_strings_are_percent_decoded() {
        assert_eq!(
            names_from_query(Some("name=worker%3A0&name=a+b&name=%2B")).unwrap(),
            ["worker:0", "a b", "+"]
        );
        assert_eq!(
            names_from_query(Some("n%61me=caf%C3%A9")).unwrap(),
            ["café"]
        );
        assert_eq!(
            events_query(Some("after=%31%32&wait=5")).unwrap(),
            (12, Duration::from_millis(5))
        );
        for bad in ["name=worker%3", "name=%zz", "name=%", "name=%FF", "after=%"] {
            let e = names_from_query(Some(bad)).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.body.error.contains("percent-encoding"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn an_action_names_its_programs_or_asks_for_all() {
        assert_eq!(selection(vec!["a".into()], false).unwrap(), ["a"]);
        assert!(selection(Vec::new(), true).unwrap().is_empty());
        assert_eq!(selection(Vec::new(), false).unwrap_err().status, 400);
        assert_eq!(selection(vec!["a".into()], true).unwrap_err().status, 400);
        let e = parse_json::<ActionRequest>(b" \n", "{}").unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn content_length_with_chunked_is_a_400_in_either_order() {
        for (order, req) in [
            (
                "length first",
                &b"POST /v1/stop HTTP/1.1\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{\"all\":true}"[..],
            ),
            (
                "chunked first",
                &b"POST /v1/stop HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"[..],
            ),
        ] {
            assert_eq!(crate::fuzzing::control_exchange(req), [400], "{order}");
        }
        // An empty stop is refused before the engine, too.
        assert_eq!(
            crate::fuzzing::control_exchange(
                b"POST /v1/stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
            ),
            [400]
        );
    }
}
