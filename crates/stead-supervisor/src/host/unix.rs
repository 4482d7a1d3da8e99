//! Unix host: SIGTERM/SIGINT/SIGHUP/SIGUSR1, `sd_notify`, private directories.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
