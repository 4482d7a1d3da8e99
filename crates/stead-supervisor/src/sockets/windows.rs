//! Windows: held sockets are not built yet. A socket would be bound here and handed to each
//! instance with `WSADuplicateSocketW`; until then a config that asks for one is refused at
//! start and at reload, with the reason.

use std::io;

use stead_config::SocketSpec;

/// Never made by [`bind`], which refuses every socket.
pub(crate) struct Bound;

/// What an instance is handed.
pub(crate) type Raw = u64;

#[allow(clippy::unused_self)] // the Unix type's interface, on a type with nothing in it
impl Bound {
    pub(crate) fn raw(&self) -> Raw {
        0
    }
    pub(crate) fn share(&self) -> Bound {
        Bound
    }
    pub(crate) fn make_blocking(&self) {}
}

pub(crate) fn bind(_spec: &SocketSpec) -> io::Result<Bound> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "held sockets (`sockets = [...]`) are not supported on Windows yet",
    ))
}

pub(crate) fn adjust(_bound: &Bound, _old: &SocketSpec, new: &SocketSpec) -> io::Result<()> {
    bind(new).map(drop)
}
