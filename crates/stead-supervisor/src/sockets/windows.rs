//! Windows: binding held sockets (TCP and UDP) with the options a program's config asks for.
//! Handing them to an instance is the spawn's (`spawn/windows.rs`: `WSADuplicateSocketW`
//! for the new process, the results sent down a pipe in `stead-handover`'s format).
//!
//! The options mean on Windows what they mean on Unix, not what the same names do there:
//!
//! - `reuse_address = true` (the default: a restarted stead binds again at once, whatever
//!   connections of the last run linger) is what Windows does without any option, so none is
//!   set. `SO_REUSEADDR` is never set: on Windows it lets a socket bind an address another
//!   socket is listening on, which would let a second process take the held socket's
//!   connections.
//! - `reuse_address = false` sets `SO_EXCLUSIVEADDRUSE`: nobody else may bind the address,
//!   not even with `SO_REUSEADDR`, at the price that a restarted stead cannot bind it again
//!   while connections the last run accepted are still open.
//! - `ipv6_only` unset means `false` (`[::]` takes IPv4 too), as Linux does by default and
//!   as the config's overlap check assumes; Windows' own default is `true`.
//! - Unix sockets are refused: Wine, where the Windows build is tested, has none, and
//!   `WSADuplicateSocketW` of an `AF_UNIX` socket is not documented to work.
//!
//! The socket is created with `WSA_FLAG_NO_HANDLE_INHERIT` (socket2 does so for every socket
//! it makes), so no child inherits the supervisor's handle: each instance gets its own,
//! made for its process alone.

use std::io;
use std::os::windows::io::{AsRawSocket, RawSocket};
use std::sync::Arc;

use socket2::{Domain, Socket, Type};
use stead_config::{Listen, SocketSpec};
use windows_sys::Win32::Networking::WinSock::{
    SO_EXCLUSIVEADDRUSE, SOCKET, SOL_SOCKET, setsockopt,
};

/// What an instance is handed: a socket of the supervisor's, duplicated for the instance's
/// process at each spawn.
pub(crate) type Raw = RawSocket;

/// A bound socket, shared by the tables of successive reloads; closed with the last of them.
pub(crate) struct Bound(Arc<Socket>);

impl Bound {
    pub(crate) fn raw(&self) -> Raw {
        self.0.as_raw_socket()
    }
    pub(crate) fn share(&self) -> Bound {
        Bound(Arc::clone(&self.0))
    }
    /// Makes the socket blocking again: the duplicates every instance gets share the
    /// socket's state, so one that made it non-blocking made it so for the next. Best
    /// effort: Windows refuses while another process has `WSAEventSelect` on it, and then
    /// that process is still running anyway.
    pub(crate) fn make_blocking(&self) {
        let _ = self.0.set_nonblocking(false);
    }
}

/// Binds (and, for TCP, listens on) `spec`.
pub(crate) fn bind(spec: &SocketSpec) -> io::Result<Bound> {
    let addr = match &spec.listen {
        Listen::Tcp(a) | Listen::Udp(a) => *a,
        Listen::Unix(path) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "stead holds no unix socket on Windows (`{}`); hold a tcp:// address instead, such as tcp://127.0.0.1:PORT for clients on this machine",
                    path.display()
                ),
            ));
        }
    };
    let kind = if spec.listen.is_stream() {
        Type::STREAM
    } else {
        Type::DGRAM
    };
    let s = Socket::new(Domain::for_address(addr), kind, None)?;
    if !spec.reuse_address {
        exclusive(&s)?;
    }
    if addr.is_ipv6() {
        s.set_only_v6(spec.ipv6_only.unwrap_or(false))?;
    }
    s.bind(&addr.into())?;
    if spec.listen.is_stream() {
        s.listen(backlog(spec))?;
    }
    Ok(Bound(Arc::new(s)))
}

/// Brings a held socket up to date with its new spec. Windows keeps the first backlog of a
/// listening socket (a second `listen` succeeds and changes nothing), so a new one takes
/// effect when stead restarts, as `ipv6_only` and `reuse_address` do.
#[allow(clippy::unnecessary_wraps)] // the same signature as the Unix backend
pub(crate) fn adjust(_bound: &Bound, old: &SocketSpec, new: &SocketSpec) -> io::Result<()> {
    if old.backlog != new.backlog && new.listen.is_stream() {
        tracing::warn!(
            "the backlog of {} takes effect when stead restarts: Windows keeps a listening socket's first one",
            new.listen
        );
    }
    Ok(())
}

fn backlog(spec: &SocketSpec) -> i32 {
    i32::try_from(spec.backlog).unwrap_or(i32::MAX)
}

/// `SO_EXCLUSIVEADDRUSE`, which socket2 does not offer.
fn exclusive(s: &Socket) -> io::Result<()> {
    let on: i32 = 1;
    // SAFETY: setsockopt reads an i32 from a live local of that size; the socket is ours.
    let r = unsafe {
        setsockopt(
            s.as_raw_socket() as SOCKET,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&raw const on).cast(),
            size_of::<i32>() as i32,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
