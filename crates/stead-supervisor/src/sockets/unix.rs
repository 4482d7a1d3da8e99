//! Unix: binding held sockets with the options a program's config asks for.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
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
    /// A unix socket's file, as stead made it.
    file: Option<SocketFile>,
}

/// The file of a unix socket stead bound: its path and the inode made there. Every later
/// change to it (mode, owner, removal) first checks that the path still holds that inode,
/// and never follows a symlink: the directory may belong to the program's user, who could
/// otherwise swap the socket for a link to any file.
#[derive(Clone)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Only the file stead made: another may have taken the path since.
        if let Some(f) = &self.file
            && std::fs::symlink_metadata(&f.path)
                .is_ok_and(|m| m.dev() == f.dev && m.ino() == f.ino)
        {
            let _ = std::fs::remove_file(&f.path);
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
    /// Makes the socket blocking again (`O_NONBLOCK` lives in the open file description
    /// that every instance shares): what a program that finds it so expects of a fresh one.
    pub(crate) fn make_blocking(&self) {
        let fd = self.raw();
        // SAFETY: F_GETFL / F_SETFL on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
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
            // Refused when the path no longer holds the socket just made (swapped).
            let file = file_access::made(path)?;
            (s, Some(file))
        }
    };
    // From here a failure drops `bound`, which removes the file it made.
    let bound = Bound(Arc::new(Inner {
        fd: socket.into(),
        file,
    }));
    if let Some(file) = &bound.0.file {
        // Mode and owner before `listen`: until then a connection is refused, so nobody gets
        // in through the umask's mode in between.
        file_access::set(file, spec)?;
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
    if let Some(file) = &bound.0.file
        && (new.mode != old.mode || new.owner != old.owner || new.group != old.group)
    {
        file_access::set(file, new)?;
    }
    if new.backlog != old.backlog && new.listen.is_stream() {
        // SAFETY: listen(2) on a descriptor we own.
        if unsafe { libc::listen(bound.raw(), backlog(new)) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn backlog(spec: &SocketSpec) -> i32 {
    i32::try_from(spec.backlog).unwrap_or(i32::MAX)
}

/// Removes a unix socket left by an earlier run; refuses a path that holds anything else, or
/// a socket someone still listens on. The probe does not wait: a listener whose queue is
/// full (it answers `EAGAIN`) is in use too, and must not hold up the supervisor.
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
    let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    probe.set_nonblocking(true)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => std::fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(()) | Err(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a process listens on `{}`", path.display()),
        )),
    }
}

/// Changes to a socket's file that never follow a symlink and only touch the inode stead
/// made. Linux: through an `O_PATH | O_NOFOLLOW` descriptor checked with `fstat` (so the
/// check and the change are about one inode, whatever happens to the path meanwhile).
/// Elsewhere: a check with `lstat`, then `*at(…, AT_SYMLINK_NOFOLLOW)` calls, which can
/// still meet a socket swapped in between, never a link to another file.
mod file_access {
    use std::io;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use super::SocketFile;
    use stead_config::SocketSpec;

    /// The socket file just bound at `path`, refused when the path holds anything else.
    pub(super) fn made(path: &Path) -> io::Result<SocketFile> {
        let m = std::fs::symlink_metadata(path)?;
        if !std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) {
            return Err(io::Error::other(format!(
                "`{}` is no longer the socket stead bound there",
                path.display()
            )));
        }
        Ok(SocketFile {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    fn ids(spec: &SocketSpec) -> io::Result<(Option<u32>, Option<u32>)> {
        let uid = match &spec.owner {
            Some(name) => Some(
                nix::unistd::User::from_name(name)
                    .map_err(io::Error::from)?
                    .ok_or_else(|| io::Error::other(format!("no user `{name}`")))?
                    .uid
                    .as_raw(),
            ),
            None => None,
        };
        let gid = match &spec.group {
            Some(name) => Some(
                nix::unistd::Group::from_name(name)
                    .map_err(io::Error::from)?
                    .ok_or_else(|| io::Error::other(format!("no group `{name}`")))?
                    .gid
                    .as_raw(),
            ),
            None => None,
        };
        Ok((uid, gid))
    }

    fn swapped(f: &SocketFile) -> io::Error {
        io::Error::other(format!(
            "`{}` is no longer the socket stead made (replaced by someone else); stead leaves it alone",
            f.path.display()
        ))
    }

    #[cfg(target_os = "linux")]
    pub(super) fn set(f: &SocketFile, spec: &SocketSpec) -> io::Result<()> {
        use std::ffi::CString;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        use std::os::unix::ffi::OsStrExt;

        let (uid, gid) = ids(spec)?;
        let c = CString::new(f.path.as_os_str().as_bytes())?;
        // SAFETY: open(2) with a NUL-terminated path; the result is checked.
        let raw = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just opened, owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: fstat into a zeroed local struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK || st.st_dev != f.dev || st.st_ino != f.ino {
            return Err(swapped(f));
        }
        // chmod through the descriptor's /proc link reaches exactly that inode.
        let proc_path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        // SAFETY: chmod(2) with a NUL-terminated path.
        if unsafe { libc::chmod(proc_path.as_ptr(), spec.mode) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if uid.is_some() || gid.is_some() {
            // SAFETY: fchownat(2) on our O_PATH descriptor with an empty path.
            let r = unsafe {
                libc::fchownat(
                    fd.as_raw_fd(),
                    c"".as_ptr(),
                    uid.unwrap_or(u32::MAX),
                    gid.unwrap_or(u32::MAX),
                    libc::AT_EMPTY_PATH,
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn set(f: &SocketFile, spec: &SocketSpec) -> io::Result<()> {
        use std::os::unix::fs::FileTypeExt;

        use nix::fcntl::AtFlags;
        use nix::sys::stat::{FchmodatFlags, Mode, fchmodat};

        let (uid, gid) = ids(spec)?;
        let m = std::fs::symlink_metadata(&f.path)?;
        if !m.file_type().is_socket() || m.dev() != f.dev || m.ino() != f.ino {
            return Err(swapped(f));
        }
        fchmodat(
            nix::fcntl::AT_FDCWD,
            &f.path,
            Mode::from_bits_truncate(spec.mode as _),
            FchmodatFlags::NoFollowSymlink,
        )
        .map_err(io::Error::from)?;
        if uid.is_some() || gid.is_some() {
            nix::unistd::fchownat(
                nix::fcntl::AT_FDCWD,
                &f.path,
                uid.map(nix::unistd::Uid::from_raw),
                gid.map(nix::unistd::Gid::from_raw),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(io::Error::from)?;
        }
        Ok(())
    }
}
