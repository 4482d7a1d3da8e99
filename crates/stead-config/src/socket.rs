//! Held sockets: `sockets = [...]` of a program. stead binds each one once and hands it to
//! every instance, across restarts and reloads, with the systemd socket-activation protocol
//! (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`, descriptors from 3) on Unix, and on Windows
//! down an inherited pipe (the `stead-handover` crate).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where a held socket listens.
///
/// ```
/// use stead_config::Listen;
/// let l = Listen::parse("tcp://[::]:8443", std::path::Path::new("/srv")).unwrap();
/// assert_eq!(l.to_string(), "tcp://[::]:8443");
/// let u = Listen::parse("unix:run/app.sock", std::path::Path::new("/srv")).unwrap();
/// assert_eq!(u.to_string(), "unix:/srv/run/app.sock");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub enum Listen {
    /// A TCP listening socket (`tcp://IP:PORT`).
    Tcp(SocketAddr),
    /// A UDP socket (`udp://IP:PORT`).
    Udp(SocketAddr),
    /// A unix stream socket at a path (`unix:/run/app.sock`).
    Unix(PathBuf),
}

impl From<Listen> for String {
    fn from(l: Listen) -> String {
        l.to_string()
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "tcp://{a}"),
            Listen::Udp(a) => write!(f, "udp://{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl Listen {
    /// Parses `tcp://IP:PORT`, `udp://IP:PORT` or `unix:PATH` (a relative path starts at
    /// `base`). The error says what is wrong and how to write it.
    ///
    /// ```
    /// use stead_config::Listen;
    /// let e = Listen::parse("tcp://localhost:80", std::path::Path::new("/")).unwrap_err();
    /// assert!(e.contains("an IP address"));
    /// ```
    pub fn parse(text: &str, base: &std::path::Path) -> Result<Listen, String> {
        let ip_port = |rest: &str, scheme: &str| {
            rest.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "`{text}` is not {scheme}://IP:PORT: give an IP address and a port, like \
                     {scheme}://0.0.0.0:8080 or {scheme}://[::]:8080 (host names are not resolved)"
                )
            })
        };
        let fixed_port = |a: SocketAddr| {
            if a.port() == 0 {
                Err(format!(
                    "`{text}` has port 0, which picks another port at each start: clients could not find it; give a port"
                ))
            } else {
                Ok(a)
            }
        };
        if let Some(rest) = text.strip_prefix("tcp://") {
            return ip_port(rest, "tcp").and_then(fixed_port).map(Listen::Tcp);
        }
        if let Some(rest) = text.strip_prefix("udp://") {
            return ip_port(rest, "udp").and_then(fixed_port).map(Listen::Udp);
        }
        if let Some(rest) = text.strip_prefix("unix:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.is_empty() {
                return Err(format!("`{text}` names no path: write unix:/run/app.sock"));
            }
            if rest.starts_with('@') {
                return Err(format!(
                    "`{text}`: abstract unix sockets are not supported; give a path, like unix:/run/app.sock"
                ));
            }
            let path = normalize(&base.join(rest));
            // sockaddr_un holds 108 bytes with the terminating NUL.
            if path.as_os_str().len() > 107 {
                return Err(format!(
                    "`{}` is {} bytes long; a unix socket's path can have at most 107",
                    path.display(),
                    path.as_os_str().len()
                ));
            }
            return Ok(Listen::Unix(path));
        }
        Err(format!(
            "`{text}` is not a socket address: write tcp://IP:PORT, udp://IP:PORT or unix:/path"
        ))
    }

    /// Whether it is a stream socket that listens (TCP, unix), as opposed to a datagram one.
    ///
    /// ```
    /// use stead_config::Listen;
    /// assert!(Listen::Tcp("127.0.0.1:80".parse().unwrap()).is_stream());
    /// ```
    pub fn is_stream(&self) -> bool {
        !matches!(self, Listen::Udp(_))
    }
}

/// `a/./b/../c` as `a/c`, without asking the file system: two spellings of one path are one
/// socket address.
fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether sockets `a` and `b` cannot both be bound: the same protocol and port where one
/// address is a wildcard of the other's family (`0.0.0.0` takes every IPv4 address; `[::]`
/// every IPv6 one and, unless `ipv6_only = true`, every IPv4 one too), or the same unix path.
///
/// ```
/// use stead_config::{Listen, SocketSpec, overlaps};
/// let s = |l: &str| SocketSpec::new(Listen::parse(l, std::path::Path::new("/")).unwrap(), "p");
/// assert!(overlaps(&s("tcp://0.0.0.0:80"), &s("tcp://127.0.0.1:80")));
/// assert!(overlaps(&s("tcp://[::]:80"), &s("tcp://0.0.0.0:80")));
/// assert!(!overlaps(&s("tcp://0.0.0.0:80"), &s("udp://127.0.0.1:80")));
/// let mut v6 = s("tcp://[::]:80");
/// v6.ipv6_only = Some(true);
/// assert!(!overlaps(&v6, &s("tcp://0.0.0.0:80")));
/// ```
pub fn overlaps(a: &SocketSpec, b: &SocketSpec) -> bool {
    // Whether `w`, if a wildcard, takes `o`'s address.
    let covers = |w: &SocketSpec, wa: &SocketAddr, oa: &SocketAddr| {
        wa.ip().is_unspecified()
            && if wa.is_ipv6() {
                oa.is_ipv6() || w.ipv6_only != Some(true)
            } else {
                oa.is_ipv4()
            }
    };
    match (&a.listen, &b.listen) {
        (Listen::Tcp(x), Listen::Tcp(y)) | (Listen::Udp(x), Listen::Udp(y)) => {
            x.port() == y.port() && (x.ip() == y.ip() || covers(a, x, y) || covers(b, y, x))
        }
        (Listen::Unix(x), Listen::Unix(y)) => x == y,
        _ => false,
    }
}

/// One held socket of a program and how it is made.
///
/// ```
/// use stead_config::{Listen, SocketSpec};
/// let s = SocketSpec::new(Listen::Tcp("0.0.0.0:8080".parse().unwrap()), "web");
/// assert_eq!((s.name.as_str(), s.backlog, s.reuse_address), ("web", 4096, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SocketSpec {
    /// Where it listens.
    pub listen: Listen,
    /// Its name in `LISTEN_FDNAMES` (default: the program's name).
    pub name: String,
    /// The length of the queue of connections not yet accepted (`listen(2)`'s backlog).
    pub backlog: u32,
    /// A unix socket's file mode (default 0o666, like systemd's `SocketMode=`).
    pub mode: u32,
    /// A unix socket's owner (a user name; default: stead's).
    pub owner: Option<String>,
    /// A unix socket's group (a group name; default: stead's).
    pub group: Option<String>,
    /// `SO_REUSEADDR` (default true): a restarted stead can bind again at once. (On Windows,
    /// where that is the default, true sets nothing and false sets `SO_EXCLUSIVEADDRUSE`.)
    pub reuse_address: bool,
    /// `IPV6_V6ONLY` for an IPv6 address; `None` keeps the system's default (`false` on
    /// Windows, whose own default is `true`: as on Linux, `[::]` takes IPv4 too).
    pub ipv6_only: Option<bool>,
}

impl SocketSpec {
    /// A socket with every default, named `name`.
    ///
    /// ```
    /// use stead_config::{Listen, SocketSpec};
    /// let s = SocketSpec::new(Listen::Unix("/run/a.sock".into()), "a");
    /// assert_eq!(s.mode, 0o666);
    /// ```
    pub fn new(listen: Listen, name: &str) -> SocketSpec {
        SocketSpec {
            listen,
            name: name.to_string(),
            backlog: 4096,
            mode: 0o666,
            owner: None,
            group: None,
            reuse_address: true,
            ipv6_only: None,
        }
    }
}

/// Why `name` cannot be a name in `LISTEN_FDNAMES`, if it cannot (the rules of systemd's
/// `FileDescriptorName=`: 1 to 255 printable ASCII characters, no `:`).
///
/// ```
/// assert!(stead_config::socket_name_problem("https").is_none());
/// assert!(stead_config::socket_name_problem("a:b").is_some());
/// ```
pub fn socket_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 255 {
        return Some(format!(
            "socket name `{name}` must have 1 to 255 characters"
        ));
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_graphic() || *c == ':') {
        return Some(format!(
            "socket name `{name}` contains {c:?}: use printable ASCII without `:` or spaces"
        ));
    }
    None
}
