//! fork + exec that does not wait for the exec.
//!
//! Written here rather than using `std::process::Command` because `Command::spawn` blocks
//! until the child has called `execve` (it must, to report exec errors synchronously). On
//! machines where exec costs a millisecond or more, a supervisor starting a hundred programs
//! would serialise on that cost, and every restart would pay it before the next event is
//! handled. Here the parent returns as soon as the child exists; exec errors travel back
//! through a close-on-exec pipe and are read when the child exits (with code 127).
//!
//! Everything the child needs (argv, envp, paths, credentials) is prepared before the fork;
//! the child only makes async-signal-safe system calls and never allocates.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// What a child must do before exec, prepared in the parent.
pub(super) struct Prepared {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: CString,
    /// (uid, gid, supplementary groups) to switch to.
    pub creds: Option<(u32, u32, Vec<libc::gid_t>)>,
    /// New stdout/stderr (write ends); `None` keeps the supervisor's own.
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// The supervisor's pid: on Linux the child asks for SIGTERM when it goes
    /// (`PR_SET_PDEATHSIG`), so that a supervisor killed with SIGKILL leaves no program
    /// running unmanaged; what is left (their descendants) is swept at the next start.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub parent: libc::pid_t,
    /// The instance's cgroup (a directory): the child is born in it, or writes itself into
    /// its `cgroup.procs` before anything else.
    pub cgroup: Option<OwnedFd>,
    /// Held sockets of the supervisor's, to become descriptors 3, 4, … of the child, with
    /// `LISTEN_PID` set to the child's pid (socket activation).
    pub sockets: Vec<RawFd>,
}

/// The highest descriptor number the fallback of [`cloexec_above_stdio`] visits: the soft
/// `RLIMIT_NOFILE` (no descriptor can be opened at or above it), at most 65 536 so that a
/// huge limit does not make every spawn slow on a kernel without `close_range`.
pub(super) fn fd_ceiling() -> libc::c_int {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a live local struct.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0;
    if ok && lim.rlim_cur != libc::RLIM_INFINITY {
        lim.rlim_cur.min(65_536) as libc::c_int
    } else {
        65_536
    }
}

/// Marks every descriptor from 3 up close-on-exec, so that a program gets its stdin, stdout
/// and stderr and nothing else, whatever the supervisor itself inherited from whoever started
/// it (a shell, a CI runner, an init system). `close_range(2)` does it in one call on Linux
/// 5.11 and later; elsewhere each descriptor below `ceiling` is marked (`fcntl` is
/// async-signal-safe; unused numbers just fail with `EBADF`). The supervisor also calls it
/// on itself once at start, for the helpers it starts through `std::process::Command`.
pub(super) fn cloexec_above_stdio(ceiling: libc::c_int) {
    cloexec_from(3, ceiling);
}

/// [`cloexec_above_stdio`] from descriptor `first` up.
fn cloexec_from(first: libc::c_int, ceiling: libc::c_int) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain system call with integer arguments.
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first as u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if r == 0 {
            return;
        }
    }
    for fd in first..ceiling {
        // SAFETY: fcntl on a number that may or may not be open; no memory is touched.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

pub(super) fn cstring(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte"))
}

/// A pipe whose both ends are close-on-exec.
pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = io::pipe()?;
    Ok((OwnedFd::from(r), OwnedFd::from(w)))
}

/// Forks a child that becomes the leader of a new process group and execs `p`. Returns its
/// pid and the read end of the exec-error pipe.
pub(super) fn fork_exec(p: &Prepared) -> io::Result<(u32, OwnedFd)> {
    static DEVNULL: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();
    let devnull = if let Some(f) = DEVNULL.get() {
        f
    } else {
        let f = std::fs::File::open("/dev/null")?;
        DEVNULL.get_or_init(|| f)
    };
    let (err_r, err_w) = pipe()?;
    let mut argv: Vec<*const libc::c_char> = p.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = p.envp.iter().map(|a| a.as_ptr()).collect();
    // `LISTEN_PID=` and room for any pid, filled in by the child; and room for the held
    // sockets' temporary numbers. Both are written only in the child's copy of memory.
    let mut listen_pid = [0u8; 32];
    listen_pid[..11].copy_from_slice(b"LISTEN_PID=");
    let listen_pid = (&raw mut listen_pid).cast::<u8>();
    if !p.sockets.is_empty() {
        envp.push(listen_pid.cast_const().cast());
    }
    envp.push(std::ptr::null());
    let mut scratch: Vec<RawFd> = p.sockets.clone();
    let null_fd = devnull.as_raw_fd();
    let out_fd = p.stdout.as_ref().map(AsRawFd::as_raw_fd);
    let err_fd = p.stderr.as_ref().map(AsRawFd::as_raw_fd);
    let report = err_w.as_raw_fd();
    let ceiling = fd_ceiling();
    // The soft descriptor limit stead was started with (it raised its own): the program's.
    let nofile = crate::host::inherited_fd_limit().and_then(|soft| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into a live local struct.
        (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0).then(|| {
            lim.rlim_cur = soft.min(lim.rlim_max);
            lim
        })
    });
    // Born in the instance's cgroup where the kernel can do it; otherwise a plain fork and
    // the child moves itself through `cgroup.procs`.
    // SAFETY (fork_into and fork): the child runs only async-signal-safe calls on memory
    // prepared above, then execs or _exits; the parent's state is untouched by it.
    let cloned = match p.cgroup.as_ref() {
        Some(dir) => unsafe { super::cgroup::fork_into(dir.as_raw_fd()) },
        None => Err(None),
    };
    let mut procs = None;
    let pid = match cloned {
        Ok(pid) => pid,
        Err(Some(e)) => return Err(e),
        Err(None) => {
            procs = p
                .cgroup
                .as_ref()
                .and_then(|dir| super::cgroup::procs_of(dir.as_raw_fd()));
            // SAFETY: as above.
            unsafe { libc::fork() }
        }
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let procs_fd = procs.as_ref().map(AsRawFd::as_raw_fd);
        // SAFETY: see above; every pointer refers to memory owned by `p`, `argv` or `envp`,
        // which stay alive in this (copied) address space until exec.
        unsafe {
            child(
                p,
                &argv,
                &envp,
                (null_fd, out_fd, err_fd),
                (report, ceiling),
                (procs_fd, nofile.as_ref()),
                (&p.sockets, &mut scratch, listen_pid),
            )
        }
    }
    drop(procs);
    drop(err_w);
    Ok((pid as u32, err_r))
}

/// The child side. Never returns.
///
/// # Safety
///
/// Must only be called in a freshly forked child, with pointers valid in its address space.
unsafe fn child(
    p: &Prepared,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    (null_fd, out_fd, err_fd): (RawFd, Option<RawFd>, Option<RawFd>),
    (report, ceiling): (RawFd, libc::c_int),
    (procs_fd, nofile): (Option<RawFd>, Option<&libc::rlimit>),
    (sockets, scratch, listen_pid): (&[RawFd], &mut [RawFd], *mut u8),
) -> ! {
    let report = std::cell::Cell::new(report);
    let fail = |stage: i32| -> ! {
        // Reading errno allocates nothing; write and _exit are async-signal-safe.
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: writing a live local buffer to our own fd, then exiting.
        unsafe {
            let msg = [stage, errno];
            libc::write(
                report.get(),
                msg.as_ptr().cast(),
                std::mem::size_of_val(&msg),
            );
            libc::_exit(127)
        }
    };
    // SAFETY: plain system calls on fds and memory valid in this process.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            fail(1);
        }
        // Into the instance's cgroup ("0": the writer itself) while still privileged, when
        // it was not born there. A refusal only loses the cgroup accounting (resources then
        // come from /proc).
        if let Some(fd) = procs_fd {
            libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
        }
        if libc::dup2(null_fd, 0) < 0 {
            fail(2);
        }
        if let Some(fd) = out_fd
            && libc::dup2(fd, 1) < 0
        {
            fail(2);
        }
        if let Some(fd) = err_fd
            && libc::dup2(fd, 2) < 0
        {
            fail(2);
        }
        let first_free = if sockets.is_empty() {
            3
        } else {
            // Sockets to 3, 4, …: first every one, and the error pipe, out of that range
            // (any of them may sit in it), then into place; `dup2` clears close-on-exec.
            let n = sockets.len() as libc::c_int;
            let above = 3 + n;
            let moved = libc::fcntl(report.get(), libc::F_DUPFD_CLOEXEC, above);
            if moved < 0 {
                fail(6);
            }
            report.set(moved);
            for (i, fd) in sockets.iter().enumerate() {
                scratch[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, above);
                if scratch[i] < 0 {
                    fail(6);
                }
            }
            for (i, fd) in scratch.iter().enumerate() {
                if libc::dup2(*fd, 3 + i as libc::c_int) < 0 {
                    fail(6);
                }
            }
            write_pid(listen_pid.add(11), libc::getpid());
            above
        };
        cloexec_from(first_free, ceiling);
        if let Some(lim) = nofile {
            // Failure leaves the program stead's raised limit: more, never less.
            libc::setrlimit(libc::RLIMIT_NOFILE, lim);
        }
        // A clean signal state: nothing blocked, SIGPIPE back to its default (Rust ignores
        // it; handlers are reset by exec, ignored dispositions are not).
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if let Some((uid, gid, groups)) = &p.creds {
            if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0 {
                fail(3);
            }
            if libc::setgid(*gid) != 0 {
                fail(3);
            }
            if libc::setuid(*uid) != 0 {
                fail(3);
            }
        }
        // After the credentials: a change of uid clears the parent-death signal.
        #[cfg(target_os = "linux")]
        {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if libc::getppid() != p.parent {
                // The supervisor died before we got here: nobody would manage us.
                libc::_exit(127);
            }
        }
        if libc::chdir(p.cwd.as_ptr()) != 0 {
            fail(4);
        }
        libc::execve(p.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(5)
    }
}

/// Writes `pid` in decimal and a NUL at `at`; at most 21 bytes. Async-signal-safe.
///
/// # Safety
///
/// `at` must be valid for 21 bytes of writes.
unsafe fn write_pid(at: *mut u8, pid: libc::pid_t) {
    let mut digits = [0u8; 20];
    let mut n = pid.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        // SAFETY: within the 21 bytes the caller promised.
        unsafe { *at.add(i) = digits[len - 1 - i] };
    }
    // SAFETY: as above.
    unsafe { *at.add(len) = 0 };
}

/// Reads an exec error reported by a child that has exited; `None` if it exec'd fine.
pub(super) fn exec_error(fd: &OwnedFd) -> Option<io::Error> {
    let mut msg = [0i32; 2];
    // SAFETY: reading into a live local buffer from an fd we own; the write end is closed
    // (the child exec'd or exited), so this cannot block.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            msg.as_mut_ptr().cast(),
            std::mem::size_of_val(&msg),
        )
    };
    if n != std::mem::size_of_val(&msg) as isize {
        return None;
    }
    let stage = match msg[0] {
        1 => "setpgid",
        2 => "redirecting stdio",
        6 => "handing over the held sockets",
        3 => "switching user",
        4 => "changing directory",
        _ => "exec",
    };
    let err = io::Error::from_raw_os_error(msg[1]);
    Some(io::Error::new(err.kind(), format!("{stage}: {err}")))
}
