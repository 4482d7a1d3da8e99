//! The JSON bodies of the control API (`docs/api.md`), shared by the server and the client.

use serde::{Deserialize, Serialize};

use crate::config::Diagnostic;

/// How a process ended, as the API shows it: a code, or a signal name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The exit code, when it exited.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<i32>,
    /// The signal's name (`KILL`), when a signal ended it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signal: Option<String>,
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.code, &self.signal) {
            (Some(c), _) => write!(f, "code {c}"),
            (None, Some(s)) => write!(f, "signal {s}"),
            (None, None) => f.write_str("-"),
        }
    }
}

pub use crate::program::State;

/// The endpoints of the control API, each with its path and method: the server routes by
/// them and the client builds its requests from them, so the two cannot disagree.
///
/// ```
/// use stead_supervisor::control::api::{Endpoint, Verb};
/// assert_eq!(Endpoint::Status.path(), "/v1/status");
/// assert_eq!(Endpoint::from_path("/v1/restart"), Some(Endpoint::Action(Verb::Restart)));
/// assert_eq!(Endpoint::Action(Verb::Stop).method(), "POST");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v1/health`: the supervisor answers.
    Health,
    /// `GET /v1/status`: every program, or those named in `?name=`.
    Status,
    /// `POST /v1/start`, `/v1/stop`, `/v1/restart`.
    Action(Verb),
    /// `POST /v1/signal`.
    Signal,
    /// `POST /v1/reload`.
    Reload,
    /// `POST /v1/shutdown`.
    Shutdown,
    /// `GET /v1/events?after=N&wait=SECONDS`.
    Events,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Health,
        Endpoint::Status,
        Endpoint::Action(Verb::Start),
        Endpoint::Action(Verb::Stop),
        Endpoint::Action(Verb::Restart),
        Endpoint::Signal,
        Endpoint::Reload,
        Endpoint::Shutdown,
        Endpoint::Events,
    ];

    /// Its path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Health => "/v1/health",
            Endpoint::Status => "/v1/status",
            Endpoint::Action(Verb::Start) => "/v1/start",
            Endpoint::Action(Verb::Stop) => "/v1/stop",
            Endpoint::Action(Verb::Restart) => "/v1/restart",
            Endpoint::Signal => "/v1/signal",
            Endpoint::Reload => "/v1/reload",
            Endpoint::Shutdown => "/v1/shutdown",
            Endpoint::Events => "/v1/events",
        }
    }

    /// The endpoint at `path` (without the query).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    /// The method it answers: `GET` or `POST`.
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::Health | Endpoint::Status | Endpoint::Events => "GET",
            _ => "POST",
        }
    }
}

/// What a start, stop or restart asks of programs.
///
/// ```
/// use stead_supervisor::control::api::Verb;
/// assert_eq!("restart".parse::<Verb>(), Ok(Verb::Restart));
/// assert_eq!(Verb::Stop.as_str(), "stop");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Start (a running program is left alone).
    Start,
    /// Stop the whole tree.
    Stop,
    /// Stop, then start.
    Restart,
}

impl Verb {
    /// Its name, as in its path and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }

    /// Its endpoint.
    pub fn endpoint(self) -> Endpoint {
        Endpoint::Action(self)
    }
}

impl std::str::FromStr for Verb {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Verb::Start, Verb::Stop, Verb::Restart]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("no verb `{s}`: start, stop or restart"))
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One program instance in `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramStatus {
    /// Instance name (`web`, or `web:1` with numprocs).
    pub name: String,
    /// The `[program.NAME]` it belongs to.
    pub group: String,
    /// `stopped`, `starting`, `running`, `backoff`, `stopping`, `exited`, `fatal` or
    /// `waiting`.
    pub state: State,
    /// Main process id, while one exists.
    pub pid: Option<u32>,
    /// Milliseconds since the running process started.
    pub uptime_ms: Option<u64>,
    /// Milliseconds since the program entered its state.
    pub since_ms: u64,
    /// Automatic restarts so far.
    pub restarts: u64,
    /// How the last process ended.
    pub last_exit: Option<ExitInfo>,
    /// Why it is in this state, in words.
    pub reason: String,
    /// Where its output goes and how that is going; absent when it is not captured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log: Option<LogStatus>,
    /// Whether it is ready (its `ready` check passed; without one, ready once running);
    /// absent while it does not run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ready: Option<bool>,
    /// `healthy`, `unhealthy` or `unknown`, with a health check, while it runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health: Option<crate::health::Health>,
    /// The last result of each check.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checks: Option<ChecksStatus>,
    /// The last `STATUS=` a notify program sent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_text: Option<String>,
    /// CPU, memory, fds and threads of its whole tree (Linux), while it runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resources: Option<Resources>,
    /// How its process tree is held, while it has one: `cgroup` (Linux: every descendant,
    /// whatever it does), `process-group` (the group, plus descendants found by the marker
    /// they inherit) or `job-object` (Windows).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub containment: Option<String>,
    /// During a rolling restart, on the replacement: the pid of the instance it replaces
    /// (both have the instance's name until the old one is gone).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub replacing: Option<u32>,
}

/// The last result of a program's checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecksStatus {
    /// The readiness check.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ready: Option<crate::health::CheckResult>,
    /// The health check.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health: Option<crate::health::CheckResult>,
}

/// Resources of a program's process tree, summed over its processes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU use over the last sample interval, percent of one core.
    pub cpu_percent: f64,
    /// CPU time used by the live processes of the tree, seconds.
    pub cpu_seconds: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
    /// Processes in the tree.
    pub processes: u64,
    /// Counted from the program's own cgroup (cgroup v2: exact, even for processes that
    /// double-forked away) rather than from its process group and descendants.
    #[serde(default)]
    pub cgroup: bool,
}

pub use stead_logs::LogStatus;

/// `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The supervisor's pid.
    pub pid: u32,
    /// stead's version.
    pub version: String,
    /// The config file in use (empty for `stead run`).
    pub config: String,
    /// Milliseconds since the supervisor started.
    pub uptime_ms: u64,
    /// True once shutdown has begun.
    pub shutting_down: bool,
    /// The programs asked for (all when none were named), in config order.
    pub programs: Vec<ProgramStatus>,
}

/// Body of `POST /v1/start`, `/v1/stop`, `/v1/restart`: `names`, or `"all": true` (one of
/// them; an empty body is refused, so that no request means every program by omission).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// Program or instance names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Every program (instead of `names`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// Answer only once every named program has settled (default true).
    #[serde(default = "yes")]
    pub wait: bool,
    /// A restart, instance by instance: each replacement is started and must be ready
    /// before the instance it replaces is stopped. Restart only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolling: bool,
    /// With `rolling`: replacements beside running instances at once (a count or `"25%"`),
    /// instead of each program's `max_surge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<crate::config::Amount>,
    /// With `rolling`: instances restarted in place at once, instead of each program's
    /// `max_unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<crate::config::Amount>,
}

fn yes() -> bool {
    true
}

/// Body of `POST /v1/signal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRequest {
    /// Program or instance names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Every program (instead of `names`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// Signal name or number (`HUP`, `SIGUSR1`, `15`).
    pub signal: String,
}

/// Answer to start/stop/restart/signal: the programs affected, after the action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionReport {
    /// The programs affected.
    pub programs: Vec<ProgramStatus>,
}

/// Answer to `POST /v1/reload`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// New programs, started if `autostart`.
    pub added: Vec<String>,
    /// Programs no longer in the file, stopped and forgotten.
    pub removed: Vec<String>,
    /// Programs whose settings changed, restarted if they were running.
    pub changed: Vec<String>,
    /// Programs left exactly as they were.
    pub unchanged: Vec<String>,
    /// Supervisor-level settings that changed in the file but take effect only when stead
    /// itself restarts (`[metrics] listen`, `token_file`, `sample`, `log_dir`); each entry
    /// names one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_restart: Vec<String>,
}

/// Every error answer: what went wrong and what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
    /// For a rejected reload: every problem in the file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnostics: Option<Vec<Diagnostic>>,
}

/// `GET /v1/events?after=N&wait=MS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsReport {
    /// Events after `after`, oldest first.
    pub events: Vec<crate::events::EventRecord>,
    /// The newest sequence number: pass it as `after` to get only what comes next.
    pub last: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_verb_and_state_round_trips_through_its_name() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
            assert!(e.path().starts_with("/v1/"));
        }
        for v in [Verb::Start, Verb::Stop, Verb::Restart] {
            assert_eq!(v.as_str().parse::<Verb>(), Ok(v));
            assert_eq!(v.endpoint().path(), format!("/v1/{v}"));
        }
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>(), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), s);
        }
        assert_eq!(Endpoint::from_path("/v1/nope"), None);
    }
}
