//! Unix host: SIGTERM/SIGINT/SIGHUP/SIGUSR1, `sd_notify`, private directories.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::{HostNotice, HostRequest};

/// The signals the supervisor obeys. Registered before the first child is spawned.
pub(crate) struct HostSignals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr1: Signal,
}

impl HostSignals {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(HostSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    pub(crate) async fn recv(&mut self) -> HostRequest {
        tokio::select! {
            _ = self.term.recv() => HostRequest::Shutdown,
            _ = self.int.recv() => HostRequest::Shutdown,
            _ = self.hup.recv() => HostRequest::Reload,
            _ = self.usr1.recv() => HostRequest::ReopenLogs,
        }
    }
}

/// Tells systemd (when it started us with `NOTIFY_SOCKET`) how we are doing.
pub(crate) fn notify(notice: &HostNotice) {
    use sd_notify::NotifyState;
    let state = match notice {
        HostNotice::Ready => NotifyState::Ready,
        HostNotice::Stopping => NotifyState::Stopping,
        HostNotice::Reloading => NotifyState::Reloading,
        HostNotice::Status(s) => NotifyState::Status(s),
    };
    if let Err(e) = sd_notify::notify(&[state]) {
        tracing::debug!("sd_notify failed: {e}");
    }
}

/// `/run/stead` for root; `$XDG_RUNTIME_DIR/stead` for others, or `/tmp/stead-UID` where
/// there is no runtime directory.
pub fn default_state_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/stead");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("stead"),
        _ => PathBuf::from(format!("/tmp/stead-{uid}")),
    }
}

pub(crate) fn control_endpoint(state_dir: &Path) -> PathBuf {
    state_dir.join("stead.sock")
}

/// Creates `dir` with mode 0700, or tightens an existing one that is ours.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Why `dir` (where stead writes logs) is not safe from other users, if it is not: another
/// owner, or group/world write permission. stead refuses to follow symlinks there anyway
/// (`logs/open.rs`), but such a user could still delete or swap log files.
pub(crate) fn shared_dir_warning(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).ok()?;
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.mode() & 0o7777;
    (meta.uid() != me || mode & 0o022 != 0).then(|| {
        format!(
            "the log directory {} (owner uid {}, mode {mode:o}) can be written by users other \
             than stead's (uid {me}); they could remove or replace log files. Use a directory \
             only stead's user can write (for example `chmod go-w` it)",
            dir.display(),
            meta.uid()
        )
    })
}

/// Lowers the calling thread's CPU priority (nice 10) for background work (compressing
/// rotated logs), so that it never slows the live path from programs' pipes to the disk.
pub(crate) fn background_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on our own thread id; failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// The soft `RLIMIT_NOFILE` stead was started with, when [`raise_fd_limit`] raised it.
static INHERITED_NOFILE: OnceLock<libc::rlim_t> = OnceLock::new();

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as a supervisor must: it holds a pipe
/// or two per program, and a soft limit of 1024 (the usual default) would refuse the
/// 500th program. Programs still start with the soft limit stead was given
/// ([`inherited_fd_limit`]), so nothing changes for them.
pub(crate) fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a live local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        tracing::debug!("cannot read RLIMIT_NOFILE: {}", io::Error::last_os_error());
        return;
    }
    let old = lim.rlim_cur;
    if old >= lim.rlim_max {
        tracing::debug!("RLIMIT_NOFILE: the soft limit is the hard limit ({old})");
        return;
    }
    // macOS refuses a soft limit above OPEN_MAX (10240) even when the hard one is unlimited.
    for want in [lim.rlim_max, lim.rlim_max.min(10_240)] {
        let new = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads a live local struct.
        if want > old && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const new) } == 0 {
            let _ = INHERITED_NOFILE.set(old);
            tracing::debug!(
                "raised the soft RLIMIT_NOFILE from {old} to {want} (hard {}); programs start with {old}",
                lim.rlim_max
            );
            return;
        }
    }
    tracing::debug!(
        "cannot raise the soft RLIMIT_NOFILE from {old}: {}",
        io::Error::last_os_error()
    );
}

/// The soft `RLIMIT_NOFILE` to give programs: the one stead was started with, when it
/// raised its own.
pub(crate) fn inherited_fd_limit() -> Option<libc::rlim_t> {
    INHERITED_NOFILE.get().copied()
}

/// What to say when a spawn failed for want of file descriptors (`EMFILE`: stead's own
/// limit; `ENFILE`: the system's), with the fix; `None` for any other error.
pub(crate) fn fd_shortage(e: &io::Error) -> Option<String> {
    match e.raw_os_error()? {
        libc::EMFILE => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into a live local struct.
            let limit = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0 {
                format!("stead may hold {}, ", lim.rlim_cur)
            } else {
                String::new()
            };
            Some(format!(
                "out of file descriptors (EMFILE: {e}; {limit}a program takes one or two): raise \
                 LimitNOFILE= in stead's service unit or `ulimit -Hn` before `stead up`, or run \
                 fewer programs"
            ))
        }
        libc::ENFILE => Some(format!(
            "the system is out of file descriptors (ENFILE: {e}): raise fs.file-max (sysctl) \
             or end what holds them"
        )),
        _ => None,
    }
}
