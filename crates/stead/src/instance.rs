//! [`SingleInstance`]: at most one copy of a service per machine (or per user): a lock file
//! on Unix (released by the kernel when the process dies, so never stale), a named mutex on
//! Windows.

use std::path::PathBuf;

/// Held while this process is the only instance; dropping it lets another start.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("stead-doc-{}", std::process::id()));
/// let first = stead::SingleInstance::acquire_in("doc-example", &dir).unwrap();
/// assert!(stead::SingleInstance::acquire_in("doc-example", &dir).is_err());
/// drop(first);
/// assert!(stead::SingleInstance::acquire_in("doc-example", &dir).is_ok());
/// ```
#[derive(Debug)]
pub struct SingleInstance {
    #[cfg(unix)]
    pub(crate) _file: std::fs::File,
    #[cfg(windows)]
    pub(crate) _mutex: crate::platform::NamedMutex,
    /// Where the lock lives (the lock file, or the mutex name).
    pub location: PathBuf,
}

/// Why the guard could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstanceError {
    /// Another process holds it.
    #[error("another instance of {name} is already running (it holds {location}); stop it first")]
    Held {
        /// The service name.
        name: String,
        /// The lock file or mutex name.
        location: PathBuf,
        /// The holder's pid, when it wrote one.
        pid: Option<u32>,
    },
    /// The lock could not be created.
    #[error(
        "cannot create the single-instance lock {location}: {source}; make its directory writable or choose another with SingleInstance::acquire_in"
    )]
    Io {
        /// The lock file or mutex name.
        location: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl SingleInstance {
    /// Takes the guard for `name` in the default place: `$XDG_RUNTIME_DIR`, else `/run`
    /// for root and the temp dir for others (Unix); the `Global\` mutex namespace (Windows).
    pub fn acquire(name: &str) -> Result<SingleInstance, InstanceError> {
        Self::acquire_in(name, &crate::platform::default_lock_dir())
    }

    /// Takes the guard for `name` with its lock file in `dir` (created if missing). On
    /// Windows `dir` only makes the mutex name distinct.
    pub fn acquire_in(name: &str, dir: &std::path::Path) -> Result<SingleInstance, InstanceError> {
        crate::platform::acquire_instance(name, dir)
    }
}
