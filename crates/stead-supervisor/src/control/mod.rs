//! The control API: HTTP/1.1 + JSON, versioned under `/v1`, over a unix socket (mode 0600,
//! peer credentials checked before any request is read) or a Windows named pipe.
//! `docs/api.md` documents every endpoint; `curl --unix-socket` works against it.

pub mod api;
pub mod client;
pub(crate) mod server;

#[cfg(unix)]
#[path = "transport_unix.rs"]
pub(crate) mod transport;
#[cfg(windows)]
#[path = "transport_windows.rs"]
pub(crate) mod transport;

use tokio::sync::oneshot;

pub(crate) use server::serve;
pub(crate) use transport::Listener;

use api::{ActionReport, ErrorBody, ReloadReport, StatusReport};

pub use api::{Endpoint, Verb};

/// An API error: the HTTP status and the body.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: u16, error: impl Into<String>, hint: Option<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                hint,
                diagnostics: None,
            },
        }
    }
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// A request from the API to the engine, with the channel to answer on.
#[derive(Debug)]
pub(crate) enum Request {
    Status {
        names: Vec<String>,
        reply: Reply<StatusReport>,
    },
    Action {
        verb: Verb,
        names: Vec<String>,
        wait: bool,
        /// A rolling restart at this pace (see [`api::ActionRequest::rolling`]).
        rolling: Option<crate::engine::Pace>,
        reply: Reply<ActionReport>,
    },
    Signal {
        names: Vec<String>,
        signal: crate::Signal,
        reply: Reply<ActionReport>,
    },
    Reload {
        reply: Reply<ReloadReport>,
    },
    Shutdown {
        reply: Reply<()>,
    },
    /// Events after `after`; with `wait`, held up to that long until there is one.
    Events {
        after: u64,
        wait: std::time::Duration,
        reply: Reply<api::EventsReport>,
    },
    /// The Prometheus text exposition.
    Metrics {
        reply: Reply<String>,
    },
}
