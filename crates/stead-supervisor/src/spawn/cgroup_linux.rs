//! cgroup v2 containment and accounting on Linux, where the unified hierarchy is mounted and
//! stead may create cgroups under its own: each program instance gets
//! `<stead's cgroup>/stead-<pid>-<start time>/<instance>` and the child is born in it
//! (`clone3` with `CLONE_INTO_CGROUP`, Linux 5.7+) or moves itself there before `exec`
//! (older kernels, or where a seccomp filter refuses `clone3`), so nothing it forks leaves it: not a double fork with `setsid`, not a
//! daemon that clears its environment (`env -i`, nginx). A tree stop signals every member, a
//! kill is `cgroup.kill` (or freeze, SIGKILL each member, thaw, on kernels before 5.14), and a
//! tree is gone only when its cgroup is empty. No controller is enabled: membership
//! (`cgroup.procs`) and CPU time (`cpu.stat`) need none; memory is `memory.current` when the
//! memory controller is there, else the members' resident sizes. Where none of this works
//! (no cgroup2 mount, read-only, no permission) the process group and the instance marker
//! are the containment, and resources come from `/proc`.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Finds the cgroup2 mount and stead's own cgroup; creates stead's directory under it.
pub(crate) fn init() {
    if std::env::var_os(FORK_AND_MOVE).is_some_and(|v| v == "1") {
        NO_CLONE_INTO.store(true, Ordering::Relaxed);
    }
    BASE.get_or_init(|| match detect() {
        Ok(p) => {
            tracing::debug!("cgroup v2 accounting in {}", p.display());
            Some(p)
        }
        Err(e) => {
            tracing::debug!("no cgroup v2 accounting ({e}); resources come from /proc");
            None
        }
    });
}

fn detect() -> io::Result<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mount = mountinfo
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))
                .flatten()
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cgroup2 mount"))?;
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in a cgroup v2 hierarchy"))?;
    let own_dir = mount.join(rel.trim_start_matches('/'));
    remove_stale(&own_dir);
    // Named after this process's pid *and* start time: a directory left by a killed
    // supervisor whose pid is reused (by anything, this supervisor included) is never taken
    // for a live one's, nor adopted with what is still running in it.
    let pid = std::process::id();
    let started = start_time(pid)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no start time in /proc"))?;
    let base = own_dir.join(format!("stead-{pid}-{started}"));
    std::fs::create_dir(&base)?;
    Ok(base)
}

/// The start time of process `pid` (clock ticks since boot, `/proc/PID/stat` field 22):
/// with the pid, what tells one process from a later one that reuses its pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Whether the supervisor a `stead-PID-START` (or older `stead-PID`) directory is named after
/// is still running: `None` when the name is not a supervisor's directory.
fn owner_alive(name: &str) -> Option<bool> {
    let rest = name.strip_prefix("stead-")?;
    let (pid, started) = match rest.split_once('-') {
        Some((pid, started)) => (pid.parse::<u32>().ok()?, Some(started.parse::<u64>().ok()?)),
        None => (rest.parse::<u32>().ok()?, None),
    };
    Some(match started {
        Some(t) => start_time(pid) == Some(t),
        None => pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists(),
    })
}

/// Directories left by supervisors that were killed (their pid is gone), once empty.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_str().and_then(owner_alive) == Some(false) {
            remove_tree(&e.path());
        }
    }
}

fn base() -> Option<&'static Path> {
    BASE.get().and_then(Option::as_deref)
}

/// Where stead's own cgroup directory is, to be recorded in the state directory for the
/// sweep after a killed supervisor (`None`: no cgroup containment here).
pub(crate) fn base_dir() -> Option<&'static Path> {
    base()
}

/// Whether `pid` sits in the instance's cgroup (read from `/proc/PID/cgroup`): proof that
/// the child joined it before `exec`.
pub(crate) fn contains(instance: &str, pid: u32) -> bool {
    let Some(base) = base() else { return false };
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    let Some(rel) = text.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    joined(&base.join(instance), rel)
}

/// Whether the cgroup `rel` (as `/proc/PID/cgroup` names it, from the mount's root) is `want`
/// or one below it: a program running as root may move into a cgroup it made under its own,
/// and is still contained.
fn joined(want: &Path, rel: &str) -> bool {
    Path::new(rel.trim_start_matches('/'))
        .ancestors()
        .any(|a| !a.as_os_str().is_empty() && want.ends_with(a))
}

/// Whether any process is left in the instance's cgroup or below it (`cgroup.events`:
/// exited processes leave at once, before they are reaped).
pub(crate) fn populated(instance: &str) -> bool {
    base().is_some_and(|b| dir_populated(&b.join(instance)))
}

fn dir_populated(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|t| t.lines().any(|l| l.trim() == "populated 1"))
}

/// Sends `sig` to every process in the instance's cgroup and the cgroups below it, but
/// not to those `had_it` names: a tree's stop signal goes to its process group first, and
/// a member must not get it twice (many programs take a second SIGINT or SIGTERM as "stop
/// now, skip the drain", and a shell's trap runs once per signal).
pub(crate) fn signal(instance: &str, sig: libc::c_int, had_it: impl Fn(u32) -> bool) {
    let Some(base) = base() else { return };
    for pid in members_below(&base.join(instance)) {
        if !had_it(pid) {
            // SAFETY: kill(2) with a pid read from the cgroup; a process that went is ESRCH.
            unsafe { libc::kill(pid as libc::pid_t, sig) };
        }
    }
}

fn signal_dir(dir: &Path, sig: libc::c_int) {
    for pid in members_below(dir) {
        // SAFETY: kill(2) with a pid read from the cgroup; a process that went is ESRCH.
        unsafe { libc::kill(pid as libc::pid_t, sig) };
    }
}

/// The processes of `dir` and of every cgroup below it (a program running as root may make
/// sub-cgroups and move into them).
fn members_below(dir: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
            out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            todo.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    out
}

/// SIGKILL to everything in the instance's cgroup, atomically where the kernel can.
pub(crate) fn kill(instance: &str) {
    if let Some(base) = base() {
        kill_dir(&base.join(instance));
    }
}

/// `cgroup.kill` (Linux 5.14+) kills every process of the cgroup and its descendants,
/// including those forked while it runs. Before that: freeze the cgroup so that nothing can
/// fork, SIGKILL each member (fatal signals reach frozen tasks), thaw.
fn kill_dir(dir: &Path) {
    if let Err(e) = std::fs::write(dir.join("cgroup.kill"), b"1")
        && e.kind() == io::ErrorKind::NotFound
        && dir.is_dir()
    {
        let frozen = std::fs::write(dir.join("cgroup.freeze"), b"1").is_ok();
        // Without a freezer, a member may fork between the read and the kill: go round
        // until nothing is left to signal (bounded).
        for _ in 0..if frozen { 1 } else { 8 } {
            let pids = members_below(dir);
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: kill(2) with a pid read from the cgroup.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
        if frozen {
            let _ = std::fs::write(dir.join("cgroup.freeze"), b"0");
        }
    }
}

/// What a supervisor that was killed left in its cgroup (`recorded`: the directory it wrote
/// into its state directory): every process there gets SIGTERM, and SIGKILL after `grace`;
/// then the directories go. Only a `stead-PID-START` (or older `stead-PID`) directory on a
/// cgroup2 file system whose supervisor is gone is touched. Returns the pids found.
pub(crate) fn end_leftovers(recorded: &Path, grace: std::time::Duration) -> Vec<u32> {
    if !is_stale_supervisor_dir(recorded) {
        return Vec::new();
    }
    let found = members_below(recorded);
    if !found.is_empty() {
        signal_dir(recorded, libc::SIGTERM);
        if !emptied_within(recorded, grace) {
            kill_dir(recorded);
            emptied_within(recorded, grace);
        }
    }
    remove_tree(recorded);
    found
}

/// Waits up to `limit` for `dir` to hold no process; whether it got there.
fn emptied_within(dir: &Path, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while dir_populated(dir) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    true
}

/// A `stead-PID-START` (or `stead-PID`) directory of a cgroup2 file system whose supervisor
/// is not running (its pid gone, or taken by a process that started at another time).
fn is_stale_supervisor_dir(dir: &Path) -> bool {
    if dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(owner_alive)
        != Some(false)
    {
        return false;
    }
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// Removes `dir` and the (empty) cgroups below it, deepest first.
fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Makes the instance's cgroup and opens it (close-on-exec) for the child to be started in
/// ([`fork_into`]), `None`: no accounting for it.
pub(crate) fn dir_for(instance: &str) -> Option<File> {
    let dir = base()?.join(instance);
    if let Err(e) = std::fs::create_dir(&dir)
        && e.kind() != io::ErrorKind::AlreadyExists
    {
        return None;
    }
    File::open(dir).ok()
}

/// `STEAD_FORK_AND_MOVE=1`: start every program the way kernels before 5.7 need (fork, then
/// the child writes itself into `cgroup.procs`) even where it can be born in its cgroup. For
/// the tests of that path, and a way out should `clone3` misbehave somewhere.
const FORK_AND_MOVE: &str = "STEAD_FORK_AND_MOVE";

/// Set once `clone3` with `CLONE_INTO_CGROUP` is known not to exist here (a kernel before
/// 5.7, or a seccomp filter that answers `ENOSYS`): every later start forks and moves.
static NO_CLONE_INTO: AtomicBool = AtomicBool::new(false);

/// `struct clone_args` as far as `cgroup` (`CLONE_ARGS_SIZE_VER2`, Linux 5.7). Declared here
/// because the `libc` crate has it, and `CLONE_INTO_CGROUP`, only for some targets (not musl
/// on `x86_64` for the flag): the layout is the kernel's ABI, the same on every architecture.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `CLONE_INTO_CGROUP` from `linux/sched.h`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks a child that is born in the cgroup `dir` (an fd from [`dir_for`]): the kernel puts
/// it there as it is created, so the start pays no move (a write to `cgroup.procs` takes the
/// cgroup core's process-wide lock and waits for an RCU grace period: about a millisecond of
/// every start and restart, measured in `bench/`). Returns as `fork` does (0 in the child),
/// or `Err(None)` where this way is not available: the caller then forks and the child moves
/// itself through `cgroup.procs`. `Err(Some(e))` is a failure `fork` would have too
/// (`EAGAIN`, `ENOMEM`).
///
/// # Safety
///
/// As for `fork`: in the child only async-signal-safe calls may follow. The raw system call
/// skips libc's fork handlers, which matters to nothing the child does before `exec`
/// (it takes no lock and allocates nothing); the standard library starts children with a
/// raw `clone3` too.
pub(crate) unsafe fn fork_into(dir: RawFd) -> Result<libc::pid_t, Option<io::Error>> {
    if NO_CLONE_INTO.load(Ordering::Relaxed) {
        return Err(None);
    }
    let mut args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: dir as u64,
        ..CloneArgs::default()
    };
    // SAFETY: the kernel reads `size_of::<CloneArgs>()` bytes of a live local struct; the
    // caller upholds fork's rules for the child.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &raw mut args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid >= 0 {
        return Ok(pid as libc::pid_t);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN | libc::ENOMEM) => Err(Some(err)),
        // No clone3 (before 5.3, or filtered), or one that knows no cgroup field (5.3-5.6).
        Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL) => {
            NO_CLONE_INTO.store(true, Ordering::Relaxed);
            Err(None)
        }
        // Refused for this cgroup (permissions, a filter answering EPERM): the move through
        // `cgroup.procs` says the same or works.
        _ => Err(None),
    }
}

/// The `cgroup.procs` of the cgroup `dir`, opened for a child to write itself into.
pub(crate) fn procs_of(dir: RawFd) -> Option<OwnedFd> {
    // SAFETY: openat on a directory fd the caller holds, with a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            dir,
            c"cgroup.procs".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    // SAFETY: a successful openat returns a new fd that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The processes in the instance's cgroup and the cgroups below it, when it has one.
pub(crate) fn members(instance: &str) -> Option<Vec<u32>> {
    let dir = base()?.join(instance);
    dir.is_dir().then(|| members_below(&dir))
}

/// CPU time of everything that ran in the instance's cgroup, seconds.
pub(crate) fn cpu_seconds(instance: &str) -> Option<f64> {
    let text = std::fs::read_to_string(base()?.join(instance).join("cpu.stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us as f64 / 1e6)
}

/// `memory.current`, when the memory controller is enabled there.
pub(crate) fn memory(instance: &str) -> Option<u64> {
    std::fs::read_to_string(base()?.join(instance).join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Removes the cgroups of instances not in `live` that are empty now, with the empty cgroups
/// a program made below its own (the rest next time).
pub(crate) fn tidy(live: &[&str]) {
    let Some(base) = base() else { return };
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let live: std::collections::HashSet<&str> = live.iter().copied().collect();
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = e.file_name();
        if name.to_str().is_some_and(|n| live.contains(n)) {
            continue;
        }
        remove_tree(&e.path());
    }
}

/// At exit: removes what is empty, stead's own directory last.
pub(crate) fn finish() {
    tidy(&[]);
    if let Some(base) = base() {
        let _ = std::fs::remove_dir(base);
    }
}
