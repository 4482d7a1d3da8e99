//! Readiness, health, resource limits and hooks of a program: the model of `ready = …`,
//! `health = …`, `limits = …`, `on_fatal`/`on_unhealthy`, and `[metrics]`.

use std::net::SocketAddr;
use std::time::Duration;

/// One way of asking a program whether it is ready (or healthy).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// The program says so on `NOTIFY_SOCKET` (`READY=1`), as under systemd (Unix).
    Notify,
    /// A TCP connect to `host:port` succeeds.
    Tcp(String),
    /// `GET url` (plain HTTP) answers with `status`, or any 2xx when `None`.
    Http {
        /// `http://host:port/path`.
        url: String,
        /// The expected status.
        status: Option<u16>,
    },
    /// The command exits 0.
    Exec(Vec<String>),
    /// A line of the program's output matches this regular expression.
    Log(String),
}

impl Probe {
    /// `notify`, `tcp 127.0.0.1:80`, … for status output.
    pub fn describe(&self) -> String {
        match self {
            Probe::Notify => "notify".into(),
            Probe::Tcp(a) => format!("tcp {a}"),
            Probe::Http { url, .. } => format!("http {url}"),
            Probe::Exec(argv) => format!("exec {}", argv.join(" ")),
            Probe::Log(re) => format!("log /{re}/"),
        }
    }
}

/// `ready = …`: the program counts as ready (for `depends_on`, status and metrics) once
/// the probe passes; until then it is `running` but not ready; past `timeout` it has failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadyCheck {
    /// How.
    pub probe: Probe,
    /// Time from spawn to ready before the start counts as failed (restarted per policy).
    #[serde(with = "crate::serde_duration")]
    pub timeout: Duration,
    /// Time between two tries of a polled probe (tcp, http, exec).
    #[serde(with = "crate::serde_duration")]
    pub interval: Duration,
}

/// What a health check looks at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthProbe {
    /// A polled probe (tcp, http or exec).
    Probe(Probe),
    /// A notify program must send `WATCHDOG=1` at least this often.
    Watchdog(#[serde(with = "crate::serde_duration")] Duration),
    /// Unhealthy when more than `max` output lines match `pattern` within `window`.
    LogRate {
        /// Regular expression.
        pattern: String,
        /// Matches allowed within the window.
        max: u32,
        /// The sliding window.
        #[serde(with = "crate::serde_duration")]
        window: Duration,
    },
}

/// What to do about a failed health check or a limit passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckAction {
    /// Stop the program's tree and restart it per its restart policy (counts as a failure).
    Restart,
    /// Report only: status, events, metrics, `on_unhealthy`.
    Report,
}

/// `health = …`: a liveness check while the program runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthCheck {
    /// What is checked.
    pub probe: HealthProbe,
    /// Time between checks.
    #[serde(with = "crate::serde_duration")]
    pub interval: Duration,
    /// A probe that takes longer has failed.
    #[serde(with = "crate::serde_duration")]
    pub timeout: Duration,
    /// Consecutive failures that make the program unhealthy.
    pub failures: u32,
    /// No checks this long after the program became ready (or started, without `ready`).
    #[serde(with = "crate::serde_duration")]
    pub grace: Duration,
    /// What happens when it is unhealthy.
    pub action: CheckAction,
}

/// `limits = …`: resources of the program's whole process tree.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Resident memory, bytes.
    pub max_memory: Option<u64>,
    /// CPU, percent of one core, averaged over one sample interval.
    pub max_cpu: Option<f64>,
    /// What happens when a limit is passed.
    pub action: CheckAction,
}

/// `[metrics]`: the opt-in Prometheus endpoint and how often resources are sampled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSettings {
    /// `listen = "127.0.0.1:9102"`: serve `/metrics` there (plain HTTP, read-only).
    pub listen: Option<SocketAddr>,
    /// How often CPU, memory, fds and threads of every program are sampled (default 5 s).
    pub sample: Option<Duration>,
    /// `token_file = "/etc/stead/metrics.token"`: scrapers must send
    /// `Authorization: Bearer TOKEN` with the file's content (trimmed). Required when
    /// `listen` is not a loopback address.
    pub token_file: Option<std::path::PathBuf>,
}
