//! No `NOTIFY_SOCKET` on Windows (no Unix datagram sockets): the config parser refuses
//! `ready = "notify"` and `health = { watchdog = … }` there, so nothing opens one.

use std::io;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::CheckEvent;

pub(crate) struct NotifyDir {
    path: PathBuf,
}

impl NotifyDir {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn make_dir(_state_dir: Option<&Path>) -> io::Result<NotifyDir> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "notify sockets are Unix only",
    ))
}

pub(crate) struct NotifySocket {
    path: PathBuf,
}

impl NotifySocket {
    pub(crate) fn open(
        _dir: &Path,
        _instance: &str,
        _owner: Option<(u32, u32)>,
        _tx: mpsc::UnboundedSender<CheckEvent>,
    ) -> io::Result<NotifySocket> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "notify sockets are Unix only",
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
