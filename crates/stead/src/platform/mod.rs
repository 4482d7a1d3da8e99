//! The per-OS half of `Service::run`: which host, which signals, which log sink.

use crate::driver::Plan;
use crate::logging::Logging;
use crate::runtime::HostKind;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::daemonize;
#[cfg(unix)]
pub(crate) use unix::{acquire_instance, default_lock_dir, event_log, journald, launch};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::{
    NamedMutex, acquire_instance, default_lock_dir, event_log, journald, launch,
};

/// What `launch` needs besides the start function.
pub(crate) struct Setup {
    pub(crate) plan: Plan,
    pub(crate) logging: Logging,
    pub(crate) host: Option<HostKind>,
    pub(crate) worker_threads: Option<usize>,
}
