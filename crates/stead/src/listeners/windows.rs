//! Windows: no host hands sockets over yet (the SCM has no such protocol, and the stead
//! supervisor's held sockets are Unix-only for now), so the service binds what it declared.

use std::io;
use std::path::Path;

use super::{Listen, Listener};

pub(super) fn take_at_start() {}

pub(super) fn handed(_declared: &[(String, Listen)]) -> Vec<(String, Listener)> {
    Vec::new()
}

pub(super) fn bind_unix(path: &Path) -> io::Result<Listener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "unix socket `{}`: not supported on Windows; declare a TCP address",
            path.display()
        ),
    ))
}
