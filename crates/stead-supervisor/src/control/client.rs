//! A small blocking client for the control API, for the CLI.
//!
//! One request per connection (`Connection: close`), no async runtime: a status round trip
//! is a connect, one write and one read, which keeps `stead status` near the cost of
//! starting a process. `httparse` parses the answer.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

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
}

/// A client for one supervisor's control endpoint.
///
/// ```no_run
/// use stead_supervisor::control::{api::StatusReport, client::Client};
/// let client = Client::new(stead_supervisor::control_endpoint(&stead_supervisor::default_state_dir()));
/// let status: StatusReport = client.get("/v1/status").unwrap();
/// println!("{} programs", status.programs.len());
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: PathBuf,
}

impl Client {
    /// A client for the socket (or pipe) at `endpoint`.
    pub fn new(endpoint: PathBuf) -> Self {
        Client { endpoint }
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Path {
        &self.endpoint
    }

    /// `GET path`, decoding the JSON answer.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let (status, body) = self.call("GET", path, None)?;
        self.decode(status, &body)
    }

    /// `POST path` with a JSON body, decoding the JSON answer.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| self.protocol(e.to_string()))?;
        let (status, body) = self.call("POST", path, Some(&json))?;
        self.decode(status, &body)
    }

    /// Sends one request; returns the status and the raw body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut stream = self.connect()?;
        let body = body.unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: stead\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        stream.write_all(&req).map_err(|e| self.io_error(&e))?;
        let mut raw = Vec::with_capacity(16 * 1024);
        stream
            .read_to_end(&mut raw)
            .map_err(|e| self.io_error(&e))?;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(&raw) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err(self.protocol("the answer ended early".into()));
            }
            Err(e) => return Err(self.protocol(format!("not an HTTP answer: {e}"))),
        };
        let status = resp.code.unwrap_or(0);
        let declared = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value)
                    .ok()?
                    .trim()
                    .parse::<usize>()
                    .ok()
            });
        let mut body = raw.split_off(head_len);
        if let Some(n) = declared {
            if body.len() < n {
                return Err(self.protocol(format!(
                    "the answer ended after {} of {n} bytes",
                    body.len()
                )));
            }
            body.truncate(n);
        }
        Ok((status, body))
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

    fn io_error(&self, e: &io::Error) -> ClientError {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
                endpoint: self.endpoint.clone(),
            },
            io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
                endpoint: self.endpoint.clone(),
            },
            _ => self.protocol(e.to_string()),
        }
    }

    #[cfg(unix)]
    fn connect(&self) -> Result<std::os::unix::net::UnixStream, ClientError> {
        std::os::unix::net::UnixStream::connect(&self.endpoint).map_err(|e| self.io_error(&e))
    }

    #[cfg(windows)]
    fn connect(&self) -> Result<std::fs::File, ClientError> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.endpoint)
            .map_err(|e| self.io_error(&e))
    }
}
