//! The control pipe: a local-only named pipe (remote clients rejected). The pipe's default
//! DACL grants write access only to `LocalSystem`, Administrators and the creating owner.

use std::io;
use std::path::Path;

use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use tokio::sync::Mutex;

pub(crate) type Stream = NamedPipeServer;

pub(crate) struct Listener {
    name: String,
    next: Mutex<NamedPipeServer>,
}

impl Listener {
    pub(crate) fn bind(path: &Path) -> io::Result<Listener> {
        let name = path.to_string_lossy().into_owned();
        let first = ServerOptions::new()
            .first_pipe_instance(true)
            .reject_remote_clients(true)
            .create(&name)?;
        Ok(Listener {
            name,
            next: Mutex::new(first),
        })
    }

    pub(crate) async fn accept(&self) -> io::Result<(Stream, Result<(), String>)> {
        let mut next = self.next.lock().await;
        next.connect().await?;
        let fresh = ServerOptions::new()
            .reject_remote_clients(true)
            .create(&self.name)?;
        let connected = std::mem::replace(&mut *next, fresh);
        Ok((connected, Ok(())))
    }
}
