//! A small blocking client for the control API, for the CLI.
//!
//! One request per connection (`Connection: close`), no async runtime: a status round trip
//! is a connect, one write and one read, which keeps `stead status` near the cost of
//! starting a process. `httparse` parses the answer.
//!
//! With a timeout ([`Client::with_timeout`]), a supervisor that does not answer (stopped
//! with SIGSTOP, stuck) is a [`ClientError::TimedOut`] rather than a wait without end, and a
//! refusal for load (`503` with `Retry-After`, a connection closed or reset before any
//! answer, a full connection queue) is retried until the timeout. On Unix the limit is the
//! socket's own: a connect that does not wait and a time limit on each read and write. On
//! Windows, where a pipe's reads have no time limit, the exchange runs on a thread of its
//! own. Either way the limit holds in every step, connecting included.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::api::ErrorBody;

/// Why a request to the supervisor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing listens at the endpoint.
    #[error(
        "no stead supervisor is running at {endpoint}; start one with `stead up`, or pass the --state-dir it uses"
    )]
    NotRunning {
        /// The socket or pipe tried.
        endpoint: PathBuf,
    },
    /// The endpoint exists but we may not use it.
    #[error(
        "permission denied on {endpoint}: run the command as the user that runs stead, or as root"
    )]
    PermissionDenied {
        /// The socket or pipe tried.
        endpoint: PathBuf,
    },
    /// The supervisor answered with an error.
    #[error("{}{}", body.error, body.hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: ErrorBody,
    },
    /// The connection broke or the answer was not HTTP/JSON.
    #[error("talking to the supervisor at {endpoint}: {message}")]
    Protocol {
        /// The socket or pipe tried.
        endpoint: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No answer within the timeout: a temporary failure, worth a retry.
    #[error(
        "the supervisor at {} did not answer within {}{}; it may be stopped (SIGSTOP), overloaded or stuck: check that its process runs, then retry, or wait longer with --timeout",
        endpoint.display(),
        crate::format_duration(*after),
        last.as_ref().map(|l| format!(" (last try: {l})")).unwrap_or_default()
    )]
    TimedOut {
        /// The socket or pipe tried.
        endpoint: PathBuf,
        /// The time given.
        after: Duration,
        /// What the last try that failed for load ran into, if one did.
        last: Option<String>,
    },
}

/// How long an answer may take once the supervisor has the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// At once: the whole exchange fits in the client's timeout.
    Prompt,
    /// Held on purpose up to this long (a long poll: `/v1/events?wait=`), plus the timeout.
    HeldFor(Duration),
    /// Once the work is done (a stop answers when the tree is gone): the supervisor must
    /// take the request up within the timeout (it answers `Expect: 100-continue`), and the
    /// answer may then take as long as the work does.
    WhenDone,
}

impl Answer {
    /// Until when a try may wait for the answer, given the client's `deadline`.
    fn limit(self, deadline: Instant) -> Instant {
        match self {
            Answer::HeldFor(held) => deadline + held,
            _ => deadline,
        }
    }
}

/// One try's failure: worth another try (refused for load, closed before any answer), or not.
enum Failed {
    Again(String),
    Final(ClientError),
    /// The try's time ran out (Unix: a read or write past its limit).
    #[cfg_attr(windows, allow(dead_code))]
    OutOfTime,
}

/// What a try gets back.
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// A `503` with `Retry-After`: refused for load, nothing done.
    retry: bool,
}

/// A step of an exchange run on a thread.
enum Step {
    TakenUp,
    #[cfg(windows)]
    Done(Result<Reply, Failed>),
}

/// A client for one supervisor's control endpoint.
///
/// ```no_run
/// use std::time::Duration;
/// use stead_supervisor::control::{api::StatusReport, client::Client};
/// let client = Client::new(stead_supervisor::control_endpoint(&stead_supervisor::default_state_dir()))
///     .with_timeout(Duration::from_secs(10));
/// let status: StatusReport = client.get("/v1/status").unwrap();
/// println!("{} programs", status.programs.len());
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: PathBuf,
    timeout: Option<Duration>,
}

impl Client {
    /// A client for the socket (or pipe) at `endpoint`, without a timeout: it waits as long
    /// as the supervisor takes, and tries once.
    pub fn new(endpoint: PathBuf) -> Self {
        Client {
            endpoint,
            timeout: None,
        }
    }

    /// Gives up after `timeout` with [`ClientError::TimedOut`], retrying refusals for load
    /// until then (see [`Answer`] for requests whose answer may take longer on purpose).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Path {
        &self.endpoint
    }

    /// `GET path`, decoding the JSON answer.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.get_held(path, Duration::ZERO)
    }

    /// `GET path` of a long poll the supervisor may hold up to `held`, decoding the answer.
    pub fn get_held<T: DeserializeOwned>(
        &self,
        path: &str,
        held: Duration,
    ) -> Result<T, ClientError> {
        let (status, body) = self.exchange("GET", path, None, Answer::HeldFor(held))?;
        self.decode(status, &body)
    }

    /// `POST path` with a JSON body, decoding the JSON answer.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        self.post_with(path, body, Answer::Prompt)
    }

    /// `POST path` with a JSON body, with `answer` saying how long the answer may take.
    pub fn post_with<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        answer: Answer,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| self.protocol(e.to_string()))?;
        let (status, body) = self.exchange("POST", path, Some(&json), answer)?;
        self.decode(status, &body)
    }

    /// Sends one request for a prompt answer; returns the status and the raw body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        self.exchange(method, path, body, Answer::Prompt)
    }

    /// Sends one request (again while it is refused for load, within the timeout); returns
    /// the status and the raw body.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        answer: Answer,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: stead\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
            body.map_or(0, <[u8]>::len),
            if answer == Answer::WhenDone && body.is_some() {
                "expect: 100-continue\r\n"
            } else {
                ""
            }
        );
        let body = body.unwrap_or_default().to_vec();
        let Some(timeout) = self.timeout else {
            return match self.once(head.as_bytes(), &body, None, &|_| {}) {
                Ok(r) => Ok((r.status, r.body)),
                Err(Failed::Again(m)) => Err(self.protocol(m)),
                Err(Failed::Final(e)) => Err(e),
                Err(Failed::OutOfTime) => Err(self.protocol("no answer in time".into())),
            };
        };
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(10);
        let mut last = None;
        loop {
            // No time left, no try: on Windows it would start a thread that could still
            // send the request after the CLI said it timed out.
            let tried = if answer.limit(deadline) > Instant::now() {
                self.once_within(&head, &body, answer, deadline)
            } else {
                None
            };
            match tried {
                Some(Ok(r)) if !r.retry => return Ok((r.status, r.body)),
                Some(Ok(r)) => {
                    last = match self.decode::<serde_json::Value>(r.status, &r.body) {
                        Err(e) => Some(e.to_string()),
                        Ok(_) => None,
                    };
                }
                Some(Err(Failed::Final(e))) => return Err(e),
                Some(Err(Failed::Again(m))) => last = Some(m),
                Some(Err(Failed::OutOfTime)) | None => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::TimedOut {
                    endpoint: self.endpoint.clone(),
                    after: timeout,
                    last,
                });
            }
            // The last pause ends at the deadline, after which the try gives up at once.
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// One try on this thread, with each read and write limited to `deadline` (later, for an
    /// answer held on purpose; no limit once a request is taken up); `None` when the time ran
    /// out. No thread to start keeps a status round trip near the cost of the process.
    #[cfg(unix)]
    fn once_within(
        &self,
        head: &str,
        body: &[u8],
        answer: Answer,
        deadline: Instant,
    ) -> Option<Result<Reply, Failed>> {
        let limit = answer.limit(deadline);
        match self.once(head.as_bytes(), body, Some(limit), &|_| {}) {
            Err(Failed::OutOfTime) => None,
            r => Some(r),
        }
    }

    /// One try on a thread of its own, waited for until `deadline` (later, for an answer
    /// held on purpose or a request taken up); `None` when the time ran out.
    #[cfg(windows)]
    fn once_within(
        &self,
        head: &str,
        body: &[u8],
        answer: Answer,
        deadline: Instant,
    ) -> Option<Result<Reply, Failed>> {
        let limit = answer.limit(deadline);
        let (tx, rx) = std::sync::mpsc::channel();
        let me = self.clone();
        let (head, body) = (head.to_owned(), body.to_owned());
        let spawned = std::thread::Builder::new()
            .name("stead-control".into())
            .spawn(move || {
                let step = |s: Step| drop(tx.send(s));
                let r = me.once(head.as_bytes(), &body, None, &step);
                step(Step::Done(r));
            });
        if let Err(e) = spawned {
            // No thread to spare (the process limit): say so rather than wait without end.
            return Some(Err(Failed::Again(format!(
                "cannot start a thread to wait with a timeout: {e}"
            ))));
        }
        let ended = || {
            Some(Err(Failed::Final(
                self.protocol("the request ended without an answer".into()),
            )))
        };
        match rx.recv_timeout(limit.saturating_duration_since(Instant::now())) {
            Ok(Step::Done(r)) => Some(r),
            // The supervisor has the request: the answer comes when the work is done.
            Ok(Step::TakenUp) => match rx.recv() {
                Ok(Step::Done(r)) => Some(r),
                _ => ended(),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => ended(),
        }
    }

    /// One connection, one request, blocking; every read and write ends by `limit` (Unix),
    /// until the supervisor has taken the request up. With `expect: 100-continue` in `head`,
    /// the body goes once the supervisor says `100 Continue` (`step(TakenUp)`), or not at all
    /// when it answers at once.
    fn once(
        &self,
        head: &[u8],
        body: &[u8],
        limit: Option<Instant>,
        step: &dyn Fn(Step),
    ) -> Result<Reply, Failed> {
        let mut stream = self.connect(limit).map_err(|e| self.io_failed(&e))?;
        let expect = memchr::memmem::find(head, b"expect: 100-continue").is_some();
        let mut raw = Vec::with_capacity(16 * 1024);
        let mut request = head.to_vec();
        if !expect {
            request.extend_from_slice(body);
        }
        if let Err(e) = stream.write_all(&request) {
            // A refusal may have been written before the supervisor closed its side.
            let _ = stream.read_to_end(&mut raw);
            return self.parse(raw).map_err(|_| self.io_failed(&e));
        }
        if expect {
            let mut buf = [0u8; 4096];
            loop {
                let n = match stream.read(&mut buf) {
                    // A socket with a timeout is not restarted after a signal (`fg` after
                    // Ctrl-Z): read again; the time limit still holds.
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => r.map_err(|e| self.io_failed(&e))?,
                };
                if n == 0 {
                    return self.parse(raw);
                }
                raw.extend_from_slice(&buf[..n]);
                if let Some(end) = memchr::memmem::find(&raw, b"\r\n\r\n") {
                    if raw.starts_with(b"HTTP/1.1 100") {
                        raw.drain(..end + 4);
                        step(Step::TakenUp);
                        // Taken up: the answer comes when the work is done.
                        stream.unlimit().map_err(|e| self.io_failed(&e))?;
                        stream.write_all(body).map_err(|e| self.io_failed(&e))?;
                    }
                    break;
                }
            }
        }
        stream
            .read_to_end(&mut raw)
            .map_err(|e| self.io_failed(&e))?;
        self.parse(raw)
    }

    fn parse(&self, mut raw: Vec<u8>) -> Result<Reply, Failed> {
        if raw.is_empty() {
            return Err(Failed::Again(
                "the supervisor closed the connection without answering".into(),
            ));
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(&raw) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err(Failed::Final(
                    self.protocol("the answer ended early".into()),
                ));
            }
            Err(e) => {
                return Err(Failed::Final(
                    self.protocol(format!("not an HTTP answer: {e}")),
                ));
            }
        };
        let status = resp.code.unwrap_or(0);
        let header = |name: &str| {
            resp.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let declared = header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
        let retry = status == 503 && header("retry-after").is_some();
        let mut body = raw.split_off(head_len);
        if let Some(n) = declared {
            if body.len() < n {
                return Err(Failed::Final(self.protocol(format!(
                    "the answer ended after {} of {n} bytes",
                    body.len()
                ))));
            }
            body.truncate(n);
        }
        Ok(Reply {
            status,
            body,
            retry,
        })
    }

    fn decode<T: DeserializeOwned>(&self, status: u16, body: &[u8]) -> Result<T, ClientError> {
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice::<ErrorBody>(body).unwrap_or_else(|_| ErrorBody {
                error: format!("HTTP {status}: {}", String::from_utf8_lossy(body)),
                hint: None,
                diagnostics: None,
            });
            return Err(ClientError::Api { status, body });
        }
        serde_json::from_slice(body)
            .map_err(|e| self.protocol(format!("bad JSON in the answer: {e}")))
    }

    fn protocol(&self, message: String) -> ClientError {
        ClientError::Protocol {
            endpoint: self.endpoint.clone(),
            message,
        }
    }

    /// An I/O error as a try's failure: a connection refused for load, closed or reset
    /// before any answer is worth another try.
    fn io_failed(&self, e: &io::Error) -> Failed {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                Failed::Final(ClientError::NotRunning {
                    endpoint: self.endpoint.clone(),
                })
            }
            io::ErrorKind::PermissionDenied => Failed::Final(ClientError::PermissionDenied {
                endpoint: self.endpoint.clone(),
            }),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::WouldBlock => Failed::Again(e.to_string()),
            io::ErrorKind::TimedOut => Failed::OutOfTime,
            // Windows: every instance of the pipe is busy.
            _ if e.raw_os_error() == Some(PIPE_BUSY) && cfg!(windows) => {
                Failed::Again(e.to_string())
            }
            _ => Failed::Final(self.protocol(e.to_string())),
        }
    }

    /// Connects, without waiting when there is a `limit`: a full connection queue (a
    /// supervisor that stopped accepting) is `WouldBlock`, a refusal for load.
    #[cfg(unix)]
    fn connect(&self, limit: Option<Instant>) -> io::Result<Timed> {
        let inner = if limit.is_none() {
            std::os::unix::net::UnixStream::connect(&self.endpoint)?
        } else {
            let addr = socket2::SockAddr::unix(&self.endpoint)?;
            let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
            socket.set_nonblocking(true)?;
            // A unix socket connects at once or not at all (EAGAIN: the queue is full); it
            // is never in progress.
            socket.connect(&addr)?;
            socket.set_nonblocking(false)?;
            std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(socket))
        };
        Ok(Timed {
            inner,
            until: limit,
        })
    }

    #[cfg(windows)]
    fn connect(&self, limit: Option<Instant>) -> io::Result<Timed> {
        let inner = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.endpoint)?;
        Ok(Timed {
            inner,
            until: limit,
        })
    }
}

/// The connection to the supervisor: a unix socket, or a named pipe on Windows.
#[cfg(unix)]
type Conn = std::os::unix::net::UnixStream;
#[cfg(windows)]
type Conn = std::fs::File;

/// A connection whose reads and writes end by `until` (while it is set) with
/// `ErrorKind::TimedOut`. A unix socket takes the time left as its own read and write
/// timeout; a Windows pipe is never given a limit here (its exchange runs on a thread that is
/// waited for).
struct Timed {
    inner: Conn,
    until: Option<Instant>,
}

impl Timed {
    /// Sets the socket's timeouts to the time left; `TimedOut` when none is.
    #[cfg(unix)]
    fn arm(&self) -> io::Result<()> {
        let Some(until) = self.until else {
            return Ok(());
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.inner.set_read_timeout(Some(left))?;
        self.inner.set_write_timeout(Some(left))
    }

    #[cfg(windows)]
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn arm(&self) -> io::Result<()> {
        Ok(())
    }

    /// No time limit from now on: the supervisor has taken the request up.
    #[cfg_attr(windows, allow(clippy::unnecessary_wraps))]
    fn unlimit(&mut self) -> io::Result<()> {
        self.until = None;
        #[cfg(unix)]
        {
            self.inner.set_read_timeout(None)?;
            self.inner.set_write_timeout(None)?;
        }
        Ok(())
    }

    /// A read or write that ran into the socket's timeout ran out of time.
    fn timed_out(&self, e: io::Error) -> io::Error {
        if self.until.is_some() && e.kind() == io::ErrorKind::WouldBlock {
            io::ErrorKind::TimedOut.into()
        } else {
            e
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.inner.read(buf).map_err(|e| self.timed_out(e))
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.inner.write(buf).map_err(|e| self.timed_out(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `ERROR_PIPE_BUSY`.
const PIPE_BUSY: i32 = 231;
