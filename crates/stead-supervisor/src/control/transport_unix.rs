//! The control socket: a unix socket, mode 0600 in a 0700 directory, and a peer-credential
//! check (same uid, or root) on every connection before a byte is read.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

pub(crate) type Stream = UnixStream;

pub(crate) struct Listener {
    inner: UnixListener,
    path: PathBuf,
    uid: u32,
}

impl Listener {
    /// Binds `path`, replacing a stale socket left by a supervisor that died (the caller
    /// holds the state directory's lock, so no live supervisor owns it).
    pub(crate) fn bind(path: &Path) -> io::Result<Listener> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a socket; remove it or choose another --state-dir",
                        path.display()
                    ),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let inner = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Listener {
            inner,
            path: path.to_path_buf(),
            uid: nix::unistd::geteuid().as_raw(),
        })
    }

    /// The next connection, and whether its peer may talk to us (`Err` says why not).
    pub(crate) async fn accept(&self) -> io::Result<(Stream, Result<(), String>)> {
        let (stream, _) = self.inner.accept().await?;
        let verdict = match stream.peer_cred() {
            Ok(cred) if cred.uid() == self.uid || cred.uid() == 0 => Ok(()),
            Ok(cred) => Err(format!(
                "uid {} may not control this supervisor (it runs as uid {})",
                cred.uid(),
                self.uid
            )),
            Err(e) => Err(format!("cannot read the peer's credentials: {e}")),
        };
        Ok((stream, verdict))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
