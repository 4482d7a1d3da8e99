//! `NOTIFY_SOCKET` for supervised programs: one datagram socket per instance, in a directory
//! only stead can write (0711: the program reaches its own socket by name, lists nothing),
//! owned by the program's user when it runs as another. Datagrams are read on the engine's
//! runtime, parsed ([`NotifyMessage::parse`]: empty, oversized, non-UTF-8 and unknown keys
//! are ignored, never fatal), and handed to the engine.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::{CheckEvent, NotifyMessage};

/// A datagram larger than this is cut; systemd allows about the same.
const MAX_DATAGRAM: usize = 4096;

/// Makes the directory for the sockets of this supervisor: `<temp>/stead-notify-<pid>-<n>`.
pub(crate) fn make_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let dir = base.join(format!("stead-notify-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a notify socket directory"))
}

/// The socket of one instance; removed (and its reader stopped) on drop.
pub(crate) struct NotifySocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl NotifySocket {
    /// Binds `<dir>/<instance>.sock`, owned by `owner` (uid, gid) if given, mode 0600.
    pub(crate) fn open(
        dir: &Path,
        instance: &str,
        owner: Option<(u32, u32)>,
        tx: mpsc::UnboundedSender<CheckEvent>,
    ) -> io::Result<NotifySocket> {
        let path = dir.join(format!("{instance}.sock"));
        let _ = std::fs::remove_file(&path);
        let sock = tokio::net::UnixDatagram::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        if let Some((uid, gid)) = owner {
            // The directory is stead's own (0711): nobody can swap the path meanwhile.
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        let instance = instance.to_string();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let Ok(n) = sock.recv(&mut buf).await else {
                    break;
                };
                if let Some(message) = NotifyMessage::parse(&buf[..n]) {
                    let event = CheckEvent::Notify {
                        instance: instance.clone(),
                        message,
                    };
                    if tx.send(event).is_err() {
                        break;
                    }
                }
            }
        });
        Ok(NotifySocket { path, task })
    }

    /// The value for the program's `NOTIFY_SOCKET`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}
