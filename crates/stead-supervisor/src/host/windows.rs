//! Windows host: console control events; named pipes live in their own namespace.

use std::io;
use std::path::{Path, PathBuf};

use tokio::signal::windows::{CtrlBreak, CtrlC, CtrlClose, CtrlShutdown};

use super::{HostNotice, HostRequest};

/// Ctrl-C, Ctrl-Break, console close and system shutdown all mean "stop everything".
/// (Reload arrives through the control API; the SCM adapter comes with the service host.)
pub(crate) struct HostSignals {
    c: CtrlC,
    brk: CtrlBreak,
    close: CtrlClose,
    shutdown: CtrlShutdown,
}

impl HostSignals {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(HostSignals {
            c: tokio::signal::windows::ctrl_c()?,
            brk: tokio::signal::windows::ctrl_break()?,
            close: tokio::signal::windows::ctrl_close()?,
            shutdown: tokio::signal::windows::ctrl_shutdown()?,
        })
    }

    pub(crate) async fn recv(&mut self) -> HostRequest {
        tokio::select! {
            _ = self.c.recv() => HostRequest::Shutdown,
            _ = self.brk.recv() => HostRequest::Shutdown,
            _ = self.close.recv() => HostRequest::Shutdown,
            _ = self.shutdown.recv() => HostRequest::Shutdown,
        }
    }
}

/// No readiness protocol on a Windows console; the SCM adapter reports status itself.
pub(crate) fn notify(_notice: &HostNotice) {}

/// `%LOCALAPPDATA%\stead`, or `%ProgramData%\stead` where there is no user profile (services).
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("LOCALAPPDATA")
        .or_else(|| std::env::var_os("ProgramData"))
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("stead")
}

/// `\\.\pipe\stead-<directory>`, with the directory's separators and colons made safe.
pub(crate) fn control_endpoint(state_dir: &Path) -> PathBuf {
    let flat: String = state_dir
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!(r"\\.\pipe\stead-{flat}"))
}

pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Lowers the calling thread's CPU priority for background work (compressing rotated logs),
/// so that it never slows the live path from programs' pipes to the disk.
/// Unix-only concern: on Windows the directory's ACL is inherited from its parent, which
/// stead's installer sets (docs/security.md).
pub(crate) fn shared_dir_warning(_dir: &Path) -> Option<String> {
    None
}

pub(crate) fn background_priority() {
    use windows_sys::Win32::System::Threading::{
        GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
    };
    // SAFETY: the pseudo-handle of the calling thread; failure leaves the priority as it was.
    unsafe { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL) };
}
