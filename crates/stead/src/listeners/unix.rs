//! Unix: sockets handed with systemd's protocol (systemd, the stead supervisor) or, on macOS,
//! by launchd (`launch_activate_socket`).

use std::io;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use super::{Listen, Listener};

/// Takes the descriptors the host handed with systemd's protocol. Called as the service
/// starts, before the async runtime opens descriptors of its own: a `LISTEN_FDS` that
/// claims more than was handed then finds nothing there, instead of the runtime's own.
/// Only sockets are taken; anything else is left open and untouched. Called once.
pub(super) fn take() -> (Vec<(String, Listener)>, Vec<String>) {
    let var = |k: &str| std::env::var(k).ok();
    let fds = systemd_protocol(
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
        std::process::id(),
    );
    let mut out = Vec::with_capacity(fds.len());
    let mut notes = Vec::new();
    for (fd, name) in fds {
        // SAFETY: F_GETFD on a number: no memory is touched.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            notes.push(format!(
                "socket `{name}`: the host said descriptor {fd}, which is not open; ignored"
            ));
            continue;
        }
        if let Some(l) = classify(fd) {
            out.push((name, l));
        } else {
            notes.push(format!(
                "socket `{name}` (descriptor {fd}) handed by the host is not a TCP, UDP or unix stream socket; left open, unused"
            ));
        }
    }
    (out, notes)
}

/// Sockets found by name when none was handed: launchd's (macOS), else none.
pub(super) fn by_name(declared: &[(String, Listen)]) -> Vec<(String, Listener)> {
    launchd(declared)
}

/// What kind of socket `raw` is, from its type and address family; taken (owned, and
/// close-on-exec) only when it is one of ours to serve on.
fn classify(raw: RawFd) -> Option<Listener> {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes an int into a live local.
    let ok = unsafe {
        libc::getsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut ty).cast(),
            &raw mut len,
        )
    } == 0;
    if !ok {
        return None;
    }
    // SAFETY: a zeroed sockaddr_storage is valid; getsockname writes at most its size.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut alen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    if unsafe { libc::getsockname(raw, (&raw mut addr).cast(), &raw mut alen) } != 0 {
        return None;
    }
    let family = libc::c_int::from(addr.ss_family);
    let inet = family == libc::AF_INET || family == libc::AF_INET6;
    let kind = match ty {
        libc::SOCK_STREAM if inet => 0,
        libc::SOCK_DGRAM if inet => 1,
        libc::SOCK_STREAM if family == libc::AF_UNIX => 2,
        _ => return None,
    };
    // SAFETY: the protocol gives this process the descriptor, `take` runs once, and
    // it is a socket of a kind we serve on.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // Not for the service's own children. SAFETY: F_SETFD on a descriptor we own.
    unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(match kind {
        0 => Listener::Tcp(TcpListener::from(fd)),
        1 => Listener::Udp(UdpSocket::from(fd)),
        _ => Listener::Unix(UnixListener::from(fd)),
    })
}

pub(super) fn bind_unix(path: &Path) -> io::Result<Listener> {
    Ok(Listener::Unix(UnixListener::bind(path)?))
}

/// launchd hands the sockets of a job's `Sockets` dictionary by name.
#[cfg(target_os = "macos")]
fn launchd(declared: &[(String, Listen)]) -> Vec<(String, Listener)> {
    unsafe extern "C" {
        fn launch_activate_socket(
            name: *const libc::c_char,
            fds: *mut *mut libc::c_int,
            cnt: *mut libc::size_t,
        ) -> libc::c_int;
    }
    if std::env::var_os("XPC_SERVICE_NAME").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, _) in declared {
        let Ok(cname) = std::ffi::CString::new(name.as_str()) else {
            continue;
        };
        let mut fds: *mut libc::c_int = std::ptr::null_mut();
        let mut cnt: libc::size_t = 0;
        // SAFETY: launchd fills `fds` with a malloc'd array of `cnt` descriptors.
        if unsafe { launch_activate_socket(cname.as_ptr(), &raw mut fds, &raw mut cnt) } != 0 {
            continue;
        }
        for i in 0..cnt {
            // SAFETY: `i < cnt` elements of the array launchd gave.
            let fd = unsafe { *fds.add(i) };
            if let Some(l) = classify(fd) {
                out.push((name.clone(), l));
            }
        }
        // SAFETY: the array was allocated with malloc by launchd.
        unsafe { libc::free(fds.cast()) };
    }
    out
}

#[cfg(not(target_os = "macos"))]
fn launchd(_declared: &[(String, Listen)]) -> Vec<(String, Listener)> {
    Vec::new()
}

/// The descriptors a host handed with systemd's protocol: `LISTEN_FDS` from 3 when
/// `LISTEN_PID` is this process, named by `LISTEN_FDNAMES` (`unknown` where it has none,
/// as `sd_listen_fds_with_names` does). Pure, for the platform code and its tests.
fn systemd_protocol(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    names: Option<&str>,
    pid: u32,
) -> Vec<(i32, String)> {
    if listen_pid.and_then(|p| p.trim().parse::<u32>().ok()) != Some(pid) {
        return Vec::new();
    }
    let Some(n) = listen_fds.and_then(|n| n.trim().parse::<i32>().ok()) else {
        return Vec::new();
    };
    let names: Vec<&str> = names.map(|s| s.split(':').collect()).unwrap_or_default();
    (0..n.clamp(0, 4096))
        .map(|i| {
            let name = names
                .get(i as usize)
                .filter(|s| !s.is_empty())
                .unwrap_or(&"unknown");
            (3 + i, (*name).to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_systemd_protocol_is_read_only_for_this_process() {
        let got = systemd_protocol(Some("42"), Some("2"), Some("http:admin"), 42);
        assert_eq!(got, vec![(3, "http".into()), (4, "admin".into())]);
        assert!(systemd_protocol(Some("41"), Some("2"), None, 42).is_empty());
        assert!(systemd_protocol(None, Some("2"), None, 42).is_empty());
        assert!(systemd_protocol(Some("42"), Some("x"), None, 42).is_empty());
        assert!(systemd_protocol(Some("42"), Some("-3"), None, 42).is_empty());
        assert_eq!(
            systemd_protocol(Some("42"), Some("2"), Some("only"), 42),
            vec![(3, "only".into()), (4, "unknown".into())]
        );
    }
}
