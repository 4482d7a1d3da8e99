//! The hosts a service can run under, how stead tells which one it is, and the one seam
//! every adapter implements: turn a lifecycle [`Report`] into the host's protocol.

use std::time::Duration;

use crate::machine::Report;

mod console;
#[cfg(unix)]
mod notify;
pub mod scm_status;
#[cfg(windows)]
pub(crate) mod windows_scm;

pub(crate) use console::Console;
#[cfg(unix)]
pub(crate) use notify::Notify;

/// The host a service runs under.
///
/// ```
/// use stead::HostKind;
/// let env = |k: &str| (k == "NOTIFY_SOCKET").then(|| "/run/systemd/notify".to_string());
/// assert_eq!(HostKind::detect_from(env), HostKind::Systemd);
/// assert_eq!(HostKind::detect_from(|_| None), HostKind::Console);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostKind {
    /// An interactive console or any other plain parent: Ctrl-C and signals stop it,
    /// logs go to stderr.
    Console,
    /// A systemd unit: `READY=1`, `STOPPING=1`, `STATUS=`, `WATCHDOG=1` on
    /// `NOTIFY_SOCKET`; logs to the journal.
    Systemd,
    /// The stead supervisor: the same notify protocol on the socket stead gives, logs to
    /// stderr (stead captures them).
    Supervised,
    /// A launchd job (`XPC_SERVICE_NAME`): signals stop it, logs to stderr (the plist's
    /// `StandardErrorPath`). launchd has no readiness protocol.
    Launchd,
    /// The Windows Service Control Manager: `START_PENDING` checkpoints, `RUNNING`,
    /// `PAUSED`, `STOP_PENDING`, `STOPPED` with exit codes; logs to the Event Log.
    WindowsService,
}

impl HostKind {
    /// Tells the host from the environment a Unix service manager sets. (The Windows SCM
    /// is recognised by connecting to its dispatcher, not by the environment.)
    ///
    /// `STEAD_HOST=console|systemd|supervised|launchd` overrides the guess.
    pub fn detect_from(env: impl Fn(&str) -> Option<String>) -> HostKind {
        let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
        match env("STEAD_HOST").as_deref() {
            Some("console") => return HostKind::Console,
            Some("systemd") => return HostKind::Systemd,
            Some("supervised") => return HostKind::Supervised,
            Some("launchd") => return HostKind::Launchd,
            _ => {}
        }
        if set("STEAD_SUPERVISED_BY") {
            HostKind::Supervised
        } else if set("NOTIFY_SOCKET") || set("INVOCATION_ID") {
            HostKind::Systemd
        } else if env("XPC_SERVICE_NAME").is_some_and(|v| !v.is_empty() && v != "0") {
            HostKind::Launchd
        } else {
            HostKind::Console
        }
    }

    /// The host of this process, from its environment.
    pub fn detect() -> HostKind {
        HostKind::detect_from(|k| std::env::var(k).ok())
    }

    /// The name used in logs and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            HostKind::Console => "console",
            HostKind::Systemd => "systemd",
            HostKind::Supervised => "supervised",
            HostKind::Launchd => "launchd",
            HostKind::WindowsService => "windows-service",
        }
    }
}

/// One adapter: the host's side of the lifecycle.
pub(crate) trait Host: Send {
    /// Tells the host about a lifecycle step.
    fn report(&mut self, report: &Report);

    /// The watchdog interval the host asks for, if any.
    fn watchdog(&self) -> Option<Duration> {
        None
    }

    /// Tells the host the service is alive (only called while the liveness check passes).
    fn ping(&mut self) {}
}
