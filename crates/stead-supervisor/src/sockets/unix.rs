//! Unix: binding held sockets with the options a program's config asks for.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use socket2::{Domain, SockAddr, Socket, Type};
use stead_config::{Listen, SocketSpec};

/// What an instance is handed: a descriptor number of the supervisor's.
pub(crate) type Raw = RawFd;

/// A bound socket, shared by the tables of successive reloads; a unix socket's file goes
/// with the last of them.
pub(crate) struct Bound(Arc<Inner>);

struct Inner {
    fd: OwnedFd,
    /// A unix socket's path, and the file stead made there (device, inode).
    file: Option<(PathBuf, u64, u64)>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Only the file stead made: another may have taken the path since.
        if let Some((path, dev, ino)) = &self.file
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.dev() == *dev && m.ino() == *ino)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Bound {
    pub(crate) fn raw(&self) -> Raw {
        self.0.fd.as_raw_fd()
    }
    pub(crate) fn share(&self) -> Bound {
        Bound(Arc::clone(&self.0))
    }
}

/// Binds (and, for a stream socket, listens on) `spec`. The descriptor is close-on-exec in
/// the supervisor; the spawn hands it on explicitly.
pub(crate) fn bind(spec: &SocketSpec) -> io::Result<Bound> {
    let (socket, file) = match &spec.listen {
        Listen::Tcp(addr) | Listen::Udp(addr) => {
            let kind = if spec.listen.is_stream() {
                Type::STREAM
            } else {
                Type::DGRAM
            };
            let s = Socket::new(Domain::for_address(*addr), kind, None)?;
            if spec.reuse_address {
                s.set_reuse_address(true)?;
            }
            if let (Some(only), true) = (spec.ipv6_only, addr.is_ipv6()) {
                s.set_only_v6(only)?;
            }
            s.bind(&(*addr).into())?;
            (s, None)
        }
        Listen::Unix(path) => {
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            clear_stale(path)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            s.bind(&SockAddr::unix(path)?)?;
            let meta = std::fs::symlink_metadata(path)?;
            (s, Some((path.clone(), meta.dev(), meta.ino())))
        }
    };
    // From here a failure drops `bound`, which removes the file it made.
    let bound = Bound(Arc::new(Inner {
        fd: socket.into(),
        file,
    }));
    if let Listen::Unix(path) = &spec.listen {
        // Mode and owner before `listen`: until then a connection is refused, so nobody gets
        // in through the umask's mode in between.
        set_file_access(path, spec)?;
    }
    if spec.listen.is_stream() {
        // SAFETY: listen(2) on a descriptor we own.
        if unsafe { libc::listen(bound.raw(), backlog(spec)) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(bound)
}

/// Brings a held socket up to date with its new spec: the backlog (`listen` again), a unix
/// socket's mode and owner. The address and the bind options stay.
pub(crate) fn adjust(bound: &Bound, old: &SocketSpec, new: &SocketSpec) -> io::Result<()> {
    if new.backlog != old.backlog && new.listen.is_stream() {
        // SAFETY: listen(2) on a descriptor we own.
        if unsafe { libc::listen(bound.raw(), backlog(new)) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if let Listen::Unix(path) = &new.listen
        && (new.mode != old.mode || new.owner != old.owner || new.group != old.group)
    {
        set_file_access(path, new)?;
    }
    Ok(())
}

fn backlog(spec: &SocketSpec) -> i32 {
    i32::try_from(spec.backlog).unwrap_or(i32::MAX)
}

/// Removes a unix socket left by an earlier run; refuses a path that holds anything else, or
/// a socket someone still listens on.
fn clear_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "`{}` exists and is not a socket; stead does not remove it",
                path.display()
            ),
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a process listens on `{}`", path.display()),
        ));
    }
    std::fs::remove_file(path)
}

fn set_file_access(path: &Path, spec: &SocketSpec) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(spec.mode))?;
    let uid = match &spec.owner {
        Some(name) => Some(
            nix::unistd::User::from_name(name)
                .map_err(io::Error::from)?
                .ok_or_else(|| io::Error::other(format!("no user `{name}`")))?
                .uid,
        ),
        None => None,
    };
    let gid = match &spec.group {
        Some(name) => Some(
            nix::unistd::Group::from_name(name)
                .map_err(io::Error::from)?
                .ok_or_else(|| io::Error::other(format!("no group `{name}`")))?
                .gid,
        ),
        None => None,
    };
    if uid.is_some() || gid.is_some() {
        nix::unistd::chown(path, uid, gid).map_err(io::Error::from)?;
    }
    Ok(())
}
