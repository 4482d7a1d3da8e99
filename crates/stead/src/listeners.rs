//! Sockets handed to the service: [`Context::listeners`](crate::Context::listeners).
//!
//! A service declares the sockets it serves on with [`Service::listen`](crate::Service::listen).
//! Where its host hands sockets over (systemd socket activation, the stead supervisor's held
//! sockets, launchd's `Sockets`), the service takes those, already bound, and keeps serving
//! on the same socket across its own restarts; elsewhere (a console run, the Windows SCM) it
//! binds the declared addresses itself. The code that serves is the same either way.
//!
//! ```no_run
//! use stead::{Listen, Service};
//!
//! fn main() -> stead::Exit {
//!     Service::new("web")
//!         .listen("http", Listen::Tcp("127.0.0.1:8080".parse().unwrap()))
//!         .run(|ctx| async move {
//!             let listener = ctx.listeners()?.tcp("http")?;
//!             listener.set_nonblocking(true)?;
//!             let listener = tokio::net::TcpListener::from_std(listener)?;
//!             ctx.ready();
//!             # let _ = listener;
//!             ctx.shutdown().await;
//!             Ok(())
//!         })
//! }
//! ```

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(unix)]
#[path = "listeners/unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "listeners/windows.rs"]
mod imp;

/// An address a service serves on, declared with [`Service::listen`](crate::Service::listen).
///
/// ```
/// let l = stead::Listen::Tcp("0.0.0.0:8080".parse().unwrap());
/// assert_eq!(l.to_string(), "tcp://0.0.0.0:8080");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP listening socket.
    Tcp(SocketAddr),
    /// A UDP socket.
    Udp(SocketAddr),
    /// A unix stream socket at a path (Unix only; refused on Windows).
    Unix(PathBuf),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "tcp://{a}"),
            Listen::Udp(a) => write!(f, "udp://{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// One socket the service serves on.
///
/// ```no_run
/// # fn f(l: stead::Listener) -> std::io::Result<()> {
/// if let stead::Listener::Tcp(tcp) = l {
///     println!("serving on {}", tcp.local_addr()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// A listening TCP socket.
    Tcp(TcpListener),
    /// A UDP socket.
    Udp(UdpSocket),
    /// A listening unix stream socket.
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

impl Listener {
    /// Another handle on the same socket (`dup`).
    ///
    /// ```no_run
    /// # fn f(l: &stead::Listener) -> std::io::Result<()> {
    /// let again = l.try_clone()?;
    /// # Ok(()) }
    /// ```
    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(s) => Listener::Tcp(s.try_clone()?),
            Listener::Udp(s) => Listener::Udp(s.try_clone()?),
            #[cfg(unix)]
            Listener::Unix(s) => Listener::Unix(s.try_clone()?),
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Listener::Tcp(_) => "a TCP socket",
            Listener::Udp(_) => "a UDP socket",
            #[cfg(unix)]
            Listener::Unix(_) => "a unix socket",
        }
    }
}

/// The sockets of a service, by name: those its host handed over, and those it declared and
/// bound itself. Returned by [`Context::listeners`](crate::Context::listeners).
///
/// ```no_run
/// # fn f(ctx: stead::Context) -> std::io::Result<()> {
/// let mut sockets = ctx.listeners()?;
/// println!("handed by the host: {}", sockets.handed_by_host());
/// let http = sockets.tcp("http")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Listeners {
    items: Vec<(String, Listener)>,
    handed: bool,
}

impl Listeners {
    /// Takes the socket named `name`. When no socket has that name and there is exactly
    /// one socket, that one is taken: a host that hands a single socket under another name
    /// (systemd names it after its unit by default) still serves.
    ///
    /// ```no_run
    /// # fn f(mut s: stead::Listeners) {
    /// let admin = s.take("admin");
    /// # }
    /// ```
    pub fn take(&mut self, name: &str) -> Option<Listener> {
        let at = self
            .items
            .iter()
            .position(|(n, _)| n == name)
            .or_else(|| (self.items.len() == 1).then_some(0))?;
        Some(self.items.remove(at).1)
    }

    /// Takes the socket named `name` as a TCP listener (see [`Listeners::take`]); the error
    /// says which sockets there are.
    ///
    /// ```no_run
    /// # fn f(mut s: stead::Listeners) -> std::io::Result<()> {
    /// let http: std::net::TcpListener = s.tcp("http")?;
    /// # Ok(()) }
    /// ```
    pub fn tcp(&mut self, name: &str) -> io::Result<TcpListener> {
        match self.take(name) {
            Some(Listener::Tcp(l)) => Ok(l),
            Some(other) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("socket `{name}` is {}, not a TCP socket", other.kind()),
            )),
            None => Err(self.missing(name)),
        }
    }

    /// Takes the socket named `name` as a unix listener (see [`Listeners::take`]).
    ///
    /// ```no_run
    /// # fn f(mut s: stead::Listeners) -> std::io::Result<()> {
    /// let admin = s.unix("admin")?;
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub fn unix(&mut self, name: &str) -> io::Result<std::os::unix::net::UnixListener> {
        match self.take(name) {
            Some(Listener::Unix(l)) => Ok(l),
            Some(other) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("socket `{name}` is {}, not a unix socket", other.kind()),
            )),
            None => Err(self.missing(name)),
        }
    }

    /// Whether the host handed sockets over (systemd, the stead supervisor, launchd);
    /// false when the service bound its declared addresses itself.
    pub fn handed_by_host(&self) -> bool {
        self.handed
    }

    /// The names of the sockets not yet taken.
    ///
    /// ```no_run
    /// # fn f(s: stead::Listeners) {
    /// for name in s.names() { println!("{name}"); }
    /// # }
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(n, _)| n.as_str())
    }

    /// How many sockets are not yet taken.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether every socket was taken (or there were none).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn missing(&self, name: &str) -> io::Error {
        let have: Vec<&str> = self.names().collect();
        io::Error::new(
            io::ErrorKind::NotFound,
            if have.is_empty() {
                format!(
                    "no socket named `{name}`: the host handed none and none was declared; declare it with Service::listen(\"{name}\", …)"
                )
            } else {
                format!(
                    "no socket named `{name}`; there are: {}. Name it so in the host's config (stead: sockets = [{{ listen = …, name = \"{name}\" }}]; systemd: FileDescriptorName={name})",
                    have.join(", ")
                )
            },
        )
    }
}

impl IntoIterator for Listeners {
    type Item = (String, Listener);
    type IntoIter = std::vec::IntoIter<(String, Listener)>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Sockets by name, as taken from the host.
type Named = Vec<(String, Listener)>;

/// The hand-over belongs to one owner per process: taken at most once.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// What was taken at start: the sockets, and notes for the log (which is not set up then).
static HANDED: Mutex<Option<(Named, Vec<String>)>> = Mutex::new(None);

/// Takes the sockets a host handed over, once per process, before the runtime opens
/// descriptors of its own (see `unix.rs`); `Service::run` calls it first.
pub(crate) fn take_at_start() {
    if TAKEN.swap(true, Ordering::SeqCst) {
        return;
    }
    let taken = imp::take();
    *HANDED.lock().expect("handed sockets lock") = Some(taken);
}

/// The sockets taken at start (the notes about them logged now), or what the platform
/// finds by name for `declared` when none was handed (launchd).
fn handed(declared: &[(String, Listen)]) -> Named {
    take_at_start();
    let (out, notes) = HANDED
        .lock()
        .expect("handed sockets lock")
        .take()
        .unwrap_or_default();
    for n in notes {
        tracing::warn!("{n}");
    }
    if out.is_empty() {
        return imp::by_name(declared);
    }
    out
}

/// Every socket of the service, resolved once per process: the handed ones, then each
/// declared name the host did not hand, bound here.
pub(crate) fn resolve(declared: &[(String, Listen)]) -> io::Result<Listeners> {
    let mut items = handed(declared);
    let handed = !items.is_empty();
    for (n, addr) in declared {
        if items.iter().any(|(have, _)| have == n) {
            continue;
        }
        // One handed socket under another name stands for the single declared one.
        if declared.len() == 1 && items.len() == 1 {
            continue;
        }
        let l = bind(addr).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on {addr} (socket `{n}`): {e}"),
            )
        })?;
        items.push((n.clone(), l));
    }
    Ok(Listeners { items, handed })
}

fn bind(addr: &Listen) -> io::Result<Listener> {
    Ok(match addr {
        Listen::Tcp(a) => Listener::Tcp(TcpListener::bind(a)?),
        Listen::Udp(a) => Listener::Udp(UdpSocket::bind(a)?),
        Listen::Unix(p) => imp::bind_unix(p)?,
    })
}

impl Listeners {
    /// A copy with each socket duplicated: every call of `Context::listeners` gets its own.
    pub(crate) fn try_clone(&self) -> io::Result<Listeners> {
        Ok(Listeners {
            items: self
                .items
                .iter()
                .map(|(n, l)| Ok((n.clone(), l.try_clone()?)))
                .collect::<io::Result<_>>()?,
            handed: self.handed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_socket_answers_to_any_name_and_many_need_theirs() {
        let udp = || Listener::Udp(UdpSocket::bind("127.0.0.1:0").unwrap());
        let mut one = Listeners {
            items: vec![("web".into(), udp())],
            handed: true,
        };
        assert!(one.take("http").is_some());
        let mut two = Listeners {
            items: vec![("a".into(), udp()), ("b".into(), udp())],
            handed: true,
        };
        let e = two.tcp("c").unwrap_err().to_string();
        assert!(e.contains("there are: a, b"), "{e}");
        let e = two.tcp("b").unwrap_err().to_string();
        assert!(e.contains("a UDP socket, not a TCP socket"), "{e}");
    }

    #[test]
    fn declared_sockets_are_bound_when_none_are_handed() {
        let declared = vec![(
            "http".to_string(),
            Listen::Tcp("127.0.0.1:0".parse().unwrap()),
        )];
        let mut l = resolve(&declared).unwrap();
        assert!(!l.handed_by_host());
        let tcp = l.tcp("http").unwrap();
        assert_ne!(tcp.local_addr().unwrap().port(), 0);
    }
}
