//! The supervisor's own relation to whatever runs it: the [`HostLink`] through which its
//! host (the `stead` library's service host: signals, systemd's notify socket, the Windows
//! SCM) asks and is told, its state directory and the single-instance lock. The
//! OS-specific parts are chosen once, here.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub use imp::default_state_dir;

/// What [`judge_path`] found on the way to a directory stead writes in.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PathVerdict {
    /// Why stead must not use the directory, with the fix.
    pub refusal: Option<String>,
    /// What is not safe but not refused, each with the fix.
    pub warnings: Vec<String>,
}

/// Used by the Unix fork+exec only (Windows has no descriptor limit to restore).
#[cfg(unix)]
pub(crate) use imp::inherited_fd_limit;
pub(crate) use imp::{fd_shortage, judge_path, raise_fd_limit, shared_dir_warning};

/// What the supervisor's host asks of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostRequest {
    /// SIGTERM, SIGINT, SIGQUIT, Ctrl-C, Ctrl-Break, console close, the SCM's stop: stop
    /// every program in dependency order, then end. The text says what asked, for the log
    /// ("SIGTERM", "interrupted").
    Shutdown(&'static str),
    /// SIGHUP: re-read the config and apply the difference.
    Reload,
    /// SIGUSR1: reopen every log file (after an external `logrotate` moved them).
    ReopenLogs,
}

/// What the supervisor tells its host: systemd's `READY=1`, `STOPPING=1`, `RELOADING=1`
/// and `STATUS=`, the SCM's `RUNNING` and `STOP_PENDING`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostNotice {
    /// The start is over (every autostarted program ready, or given up on), or a reload
    /// is done.
    Ready,
    /// A shutdown began that the supervisor decided itself (`stead shutdown`, a fatal
    /// program with `exit_on_fatal`, the end of `stead run`'s program).
    Stopping,
    /// A reload began (SIGHUP or `stead reload`).
    Reloading,
    /// A one-line summary of the programs' states, whenever it changes.
    Status(String),
}

/// The supervisor's link to its host: requests in, notices out. Without one
/// ([`Options::host`](crate::Options::host) `None`) nothing outside the control API can
/// stop or reload it, and nobody is told anything.
///
/// ```
/// use stead_supervisor::{HostLink, HostNotice, HostRequest};
/// let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
/// let link = HostLink {
///     requests: rx,
///     notices: Box::new(|n: HostNotice| eprintln!("host told: {n:?}")),
///     awaits_readiness: false,
/// };
/// tx.send(HostRequest::Shutdown("SIGTERM")).unwrap();
/// # drop(link);
/// ```
pub struct HostLink {
    /// The host's requests; the supervisor acts on each in turn.
    pub requests: tokio::sync::mpsc::UnboundedReceiver<HostRequest>,
    /// Called (on the supervisor's thread) with each notice.
    pub notices: Box<dyn FnMut(HostNotice) + Send>,
    /// The host waits for readiness and reads a failed start as failed (systemd
    /// `Type=notify`): then a program that cannot start fails the supervisor's start
    /// (it shuts down with [`EXIT_PROGRAM_FATAL`](crate::EXIT_PROGRAM_FATAL)) instead of
    /// being reported ready and left to retry.
    pub awaits_readiness: bool,
}

impl std::fmt::Debug for HostLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostLink")
            .field("awaits_readiness", &self.awaits_readiness)
            .finish_non_exhaustive()
    }
}

/// The control endpoint inside a state directory: a unix socket file, or on Windows a named
/// pipe named after the directory.
///
/// ```
/// let ep = stead_supervisor::control_endpoint(std::path::Path::new("/run/stead"));
/// # #[cfg(unix)]
/// assert_eq!(ep, std::path::PathBuf::from("/run/stead/stead.sock"));
/// ```
pub fn control_endpoint(state_dir: &Path) -> PathBuf {
    imp::control_endpoint(state_dir)
}

/// Held for the supervisor's lifetime: a second supervisor on the same state directory
/// cannot take it and refuses to start.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    pid_file: Option<PathBuf>,
}

impl InstanceLock {
    /// Writes our pid to `path` now and removes it before the lock is released, so that a
    /// pid file exists exactly while the lock is held.
    pub fn with_pid_file(mut self, path: PathBuf) -> io::Result<Self> {
        std::fs::write(&path, format!("{}\n", std::process::id()))?;
        self.pid_file = Some(path);
        Ok(self)
    }

    /// Whether a supervisor holds the lock of `state_dir` right now.
    pub fn is_held(state_dir: &Path) -> bool {
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(state_dir.join("stead.lock"))
        else {
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        if let Some(p) = &self.pid_file {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another supervisor holds it.
    #[error(
        "another stead supervisor (pid {pid}) is already running on {dir}; talk to it with `stead status`, stop it with `stead shutdown`, or use another --state-dir"
    )]
    Held {
        /// The state directory.
        dir: PathBuf,
        /// The pid written by the holder, or "unknown".
        pid: String,
    },
    /// The state directory is reached through a symlink another user could point elsewhere;
    /// the message names it and the fix.
    #[error("{reason}")]
    Unsafe {
        /// The state directory.
        dir: PathBuf,
        /// Which link, why, and the fix.
        reason: String,
    },
    /// The directory or lock file could not be created or opened.
    #[error(
        "cannot use state directory {dir}: {source}; create it with write access for this user or pass --state-dir"
    )]
    Io {
        /// The state directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl InstanceLock {
    /// Creates the state directory (mode 0700 on Unix) and takes its lock, writing our pid.
    pub fn acquire(state_dir: &Path) -> Result<InstanceLock, LockError> {
        let io_err = |source| LockError::Io {
            dir: state_dir.to_path_buf(),
            source,
        };
        let verdict = judge_path(state_dir, "state directory");
        if let Some(reason) = verdict.refusal {
            return Err(LockError::Unsafe {
                dir: state_dir.to_path_buf(),
                reason,
            });
        }
        for w in verdict.warnings {
            tracing::warn!("{w}");
        }
        imp::create_private_dir(state_dir).map_err(io_err)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(state_dir.join("stead.lock"))
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = if pid.trim().is_empty() {
                    "unknown".into()
                } else {
                    pid.trim().to_string()
                };
                return Err(LockError::Held {
                    dir: state_dir.to_path_buf(),
                    pid,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        Ok(InstanceLock {
            _file: file,
            pid_file: None,
        })
    }
}

/// Whether a directory's DACL, in SDDL, is already private to stead: protected from
/// inheritance, and granting access to nobody but `SYSTEM`, Administrators and `own_sid` (the
/// account stead runs as). Then stead leaves it as it is — a service's account may use its
/// state folder (`stead install` gives it Modify) without the right to rewrite its ACL.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn is_private_sddl(sddl: &str, own_sid: &str) -> bool {
    let Some(rest) = sddl.strip_prefix("D:") else {
        return false;
    };
    let (flags, aces) = rest.split_at(rest.find('(').unwrap_or(rest.len()));
    if !flags.contains('P') || aces.is_empty() {
        return false;
    }
    aces.trim_start_matches('(')
        .trim_end_matches(')')
        .split(")(")
        .all(|ace| {
            let fields: Vec<&str> = ace.split(';').collect();
            let [kind, _, _, _, _, sid] = fields[..] else {
                return false;
            };
            kind == "D"
                || (kind == "A" && matches!(sid, "SY" | "BA" | "S-1-5-18" | "S-1-5-32-544"))
                || (kind == "A" && sid == own_sid)
        })
}

#[cfg(test)]
mod sddl_tests {
    use super::is_private_sddl;

    #[test]
    fn a_dacl_is_private_only_when_protected_and_for_stead_alone() {
        let me = "S-1-5-80-1-2-3-4-5";
        let install = format!("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;{me})");
        assert!(is_private_sddl(&install, me));
        assert!(is_private_sddl("D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", me));
        // Inherited from C:\ProgramData: Users may read and create.
        assert!(!is_private_sddl(
            "D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)",
            me
        ));
        // Protected, but someone else is let in.
        assert!(!is_private_sddl(&format!("{install}(A;;FR;;;WD)"), me));
        assert!(!is_private_sddl(&install, "S-1-5-80-9"));
        assert!(!is_private_sddl("D:P", me));
        assert!(!is_private_sddl("", me));
    }
}
