//! Unix backend: process groups, a subreaper, one reaper for every exit, privilege drop.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::signal::{self, Signal as NixSignal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Group, Pid, User};

#[cfg(target_os = "linux")]
#[path = "cgroup_linux.rs"]
pub(crate) mod cgroup;
#[cfg(not(target_os = "linux"))]
#[path = "cgroup_none.rs"]
pub(crate) mod cgroup;
#[path = "fork_exec.rs"]
mod fork_exec;
// What only Linux has: /proc scans, supplementary groups, pipe sizes.
#[cfg(target_os = "linux")]
#[path = "os_linux.rs"]
mod os;
#[cfg(not(target_os = "linux"))]
#[path = "os_other.rs"]
mod os;

use super::{Output, SpawnRequest, Spawned};
use crate::Signal;
use crate::program::ExitStatus;

/// The read end of a child's stdout or stderr (non-blocking).
pub(crate) type OutputPipe = OwnedFd;

/// The environment variable that marks every process of one spawned instance.
pub(crate) const INSTANCE_VAR: &str = "STEAD_INSTANCE_ID";
/// Set in every program's environment when the supervisor owns a state directory: what
/// [`end_leftovers`] looks for after a supervisor was killed.
pub(crate) const STATE_VAR: &str = "STEAD_SUPERVISED_BY";

/// A spawned program instance: the leader of its own process group and, where stead can
/// make one, the first member of its own cgroup.
#[derive(Debug)]
pub(crate) struct ProcessTree {
    pid: u32,
    /// The instance id its processes carry in their environment (`STEAD_INSTANCE_ID`).
    marker: String,
    /// Descendants found outside its process group by their marker, until they are gone.
    escapees: Vec<u32>,
    /// Read end of the exec-error pipe, until the exit is examined.
    exec_err: Option<OwnedFd>,
    /// The instance's cgroup (its name under stead's), while the child may be in it: made
    /// before the fork; dropped if the exec'd child turns out not to have joined it.
    cgroup: Option<String>,
}

impl ProcessTree {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The instance id its processes carry (`STEAD_INSTANCE_ID`).
    pub(crate) fn marker(&self) -> &str {
        &self.marker
    }

    /// Sends `sig` to the main process, or to its process group and the escapees found so far
    /// (descendants that left the group; [`sweep`] finds more).
    /// With a cgroup, every member of it gets the signal too (a kill is `cgroup.kill`), so a
    /// process that left both the group and the marker behind (`setsid env -i …`) does not
    /// escape.
    pub(crate) fn signal(&self, sig: Signal, tree: bool) -> io::Result<()> {
        let nsig = to_nix(sig);
        let main = if tree {
            signal::killpg(Pid::from_raw(self.pid as i32), nsig)
        } else {
            signal::kill(Pid::from_raw(self.pid as i32), nsig)
        };
        if tree {
            for pid in &self.escapees {
                // A process that already went is not an error.
                let _ = signal::kill(Pid::from_raw(*pid as i32), nsig);
            }
            if let Some(cg) = &self.cgroup {
                if sig == Signal::Kill {
                    cgroup::kill(cg);
                } else {
                    // The group and the escapees have it already.
                    let group = self.pid as libc::pid_t;
                    cgroup::signal(cg, nsig as libc::c_int, |pid| {
                        self.escapees.contains(&pid)
                            // SAFETY: getpgid(2) on a pid read from the cgroup; a process
                            // that went is ESRCH (-1), which is no group.
                            || unsafe { libc::getpgid(pid as libc::pid_t) } == group
                    });
                }
            }
        }
        match main {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// Wakes what a stop signal just went to, in case it was stopped (SIGSTOP, a debugger's
    /// or a shell's ^Z): a stopped process acts on no signal but KILL until continued, so
    /// without this a stop would always wait the whole `stop_timeout` (systemd sends the same
    /// SIGCONT after its kill signal).
    pub(crate) fn resume(&self, tree: bool) {
        let _ = self.signal(Signal::Cont, tree);
    }

    /// After the main process exited: why it could not be started, if it never exec'd.
    pub(crate) fn take_exec_error(&mut self) -> Option<io::Error> {
        self.exec_err
            .take()
            .and_then(|fd| fork_exec::exec_error(&fd))
    }

    /// Closes the exec-error pipe once the child has exec'd (its end closed with nothing
    /// written), so that a supervisor of many programs does not hold an fd per program —
    /// every fd the supervisor holds is copied by each fork and closed by each exec.
    pub(crate) fn release_exec_pipe(&mut self) {
        let Some(fd) = &self.exec_err else { return };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one live pollfd with a zero timeout.
        let ready = unsafe { libc::poll(&raw mut pfd, 1, 0) };
        if ready == 1 && pfd.revents & libc::POLLIN == 0 && pfd.revents & libc::POLLHUP != 0 {
            // Hang-up without data: exec succeeded, so the child has joined its cgroup, if it
            // could; check once, so that `containment` tells the truth.
            self.exec_err = None;
            if let Some(cg) = &self.cgroup
                && !cgroup::contains(cg, self.pid)
                && alive(self.pid)
            {
                tracing::warn!(
                    pid = self.pid,
                    "the program could not join its cgroup; its tree is contained by its process group and marker only"
                );
                self.cgroup = None;
            }
        }
    }

    /// Whether anything of the tree is still alive: a process of the group (zombies not yet
    /// reaped count), a member of the cgroup, or an escapee (the dead ones are forgotten).
    pub(crate) fn tree_alive(&mut self) -> bool {
        self.escapees.retain(|p| alive(*p));
        !matches!(
            signal::killpg(Pid::from_raw(self.pid as i32), None),
            Err(Errno::ESRCH)
        ) || self.cgroup.as_deref().is_some_and(cgroup::populated)
            || !self.escapees.is_empty()
    }

    /// Forgets escapees the reaper has reaped (their pids may be reused).
    pub(crate) fn reaped(&mut self, pids: &[u32]) {
        self.escapees.retain(|p| !pids.contains(p));
    }

    /// How the tree is held together: `cgroup` (every descendant, whatever it does) or
    /// `process-group` (the group, plus descendants found by their inherited marker).
    pub(crate) fn containment(&self) -> &'static str {
        if self.cgroup.is_some() {
            "cgroup"
        } else {
            "process-group"
        }
    }
}

fn to_nix(sig: Signal) -> NixSignal {
    match sig {
        Signal::Hup => NixSignal::SIGHUP,
        Signal::Int => NixSignal::SIGINT,
        Signal::Quit => NixSignal::SIGQUIT,
        Signal::Kill => NixSignal::SIGKILL,
        Signal::Usr1 => NixSignal::SIGUSR1,
        Signal::Usr2 => NixSignal::SIGUSR2,
        Signal::Cont => NixSignal::SIGCONT,
        Signal::Stop => NixSignal::SIGSTOP,
        Signal::Winch => NixSignal::SIGWINCH,
        Signal::Alrm => NixSignal::SIGALRM,
        Signal::Term => NixSignal::SIGTERM,
    }
}

/// Makes the supervisor fit to own process trees: on Linux, a child subreaper, so that
/// orphaned descendants of programs are reparented to it and reaped by it.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(clippy::unnecessary_wraps)
)]
///
/// With `state_dir`, the supervisor's cgroup is recorded there, so that the next supervisor of
/// that directory can end what is left in it if this one is killed ([`end_leftovers`]).
pub(crate) fn init_supervisor(state_dir: Option<&Path>) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    cgroup::init();
    if let (Some(dir), Some(base)) = (state_dir, cgroup::base_dir()) {
        let record = dir.join(CGROUP_RECORD);
        match std::fs::write(&record, base.as_os_str().as_encoded_bytes()) {
            Ok(()) => {
                let _ = RECORD.set(record);
            }
            Err(e) => tracing::warn!(
                "cannot record the supervisor's cgroup in {}: {e}; if this supervisor is killed, the next one cannot end what it leaves there",
                record.display()
            ),
        }
    }
    // Descriptors stead inherited without close-on-exec (from a shell, a CI runner) must not
    // reach the helpers it starts (probes, hooks); programs get the same in `fork_exec`.
    fork_exec::cloexec_above_stdio(fork_exec::fd_ceiling());
    Ok(())
}

/// The file in the state directory that names the supervisor's cgroup directory.
const CGROUP_RECORD: &str = "cgroup";
static RECORD: OnceLock<PathBuf> = OnceLock::new();

/// Undoes what `init_supervisor` set up that outlives the process (cgroup directories and
/// their record).
pub(crate) fn finish_supervisor() {
    cgroup::finish();
    if let Some(record) = RECORD.get() {
        let _ = std::fs::remove_file(record);
    }
}

struct Credentials {
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
    home: PathBuf,
    name: String,
}

/// The uid and gid a program with these `user`/`group` settings runs as (`None`: as stead).
pub(crate) fn owner_of(user: Option<&str>, group: Option<&str>) -> io::Result<Option<(u32, u32)>> {
    Ok(credentials(user, group)?.map(|c| (c.uid, c.gid)))
}

fn credentials(user: Option<&str>, group: Option<&str>) -> io::Result<Option<Credentials>> {
    if user.is_none() && group.is_none() {
        return Ok(None);
    }
    let not_found = |what: &str, name: &str| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{what} `{name}` does not exist"),
        )
    };
    let u = match user {
        Some(name) => User::from_name(name)
            .map_err(io::Error::from)?
            .ok_or_else(|| not_found("user", name))?,
        None => User::from_uid(nix::unistd::getuid())
            .map_err(io::Error::from)?
            .ok_or_else(|| not_found("uid", "current"))?,
    };
    let gid = match group {
        Some(name) => {
            Group::from_name(name)
                .map_err(io::Error::from)?
                .ok_or_else(|| not_found("group", name))?
                .gid
        }
        None => u.gid,
    };
    Ok(Some(Credentials {
        uid: u.uid.as_raw(),
        gid: gid.as_raw(),
        groups: os::supplementary_groups(&u.name, gid.as_raw()),
        home: u.dir,
        name: u.name,
    }))
}

/// Variables of the supervisor's own environment that a program must not inherit: the host's
/// readiness and socket-activation protocol is stead's to speak, not the program's.
const HOST_ONLY_VARS: &[&str] = &[
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
];

/// Starts one instance in its own process group, with stdin on /dev/null, without waiting
/// for its exec (see `fork_exec.rs`).
pub(crate) fn spawn(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
    static BASE_ENV: OnceLock<BTreeMap<OsString, OsString>> = OnceLock::new();
    let cfg = req.config;
    let mut env = BASE_ENV
        .get_or_init(|| {
            std::env::vars_os()
                .filter(|(k, _)| !HOST_ONLY_VARS.iter().any(|v| k == *v))
                .collect()
        })
        .clone();
    let creds = credentials(cfg.user.as_deref(), cfg.group_name.as_deref())?;
    if let Some(c) = &creds {
        env.insert("USER".into(), c.name.clone().into());
        env.insert("LOGNAME".into(), c.name.clone().into());
        env.insert("HOME".into(), c.home.clone().into());
    }
    env.extend(cfg.env.iter().map(|(k, v)| (k.into(), v.into())));
    env.extend(req.extra_env.iter().map(|(k, v)| (k.into(), v.into())));
    env.insert(INSTANCE_VAR.into(), req.instance_id.clone().into());
    if !req.sockets.is_empty() {
        // The systemd protocol; `LISTEN_PID` is the child's own pid, written by the child
        // (see `fork_exec`), so it is left out here.
        env.remove(std::ffi::OsStr::new("LISTEN_PID"));
        env.insert("LISTEN_FDS".into(), req.sockets.len().to_string().into());
        let names: Vec<&str> = req.sockets.iter().map(|(_, n)| n.as_str()).collect();
        env.insert("LISTEN_FDNAMES".into(), names.join(":").into());
    }
    let mut envp = Vec::with_capacity(env.len() + 1);
    for (k, v) in &env {
        let mut kv = k.clone();
        kv.push("=");
        kv.push(v);
        envp.push(fork_exec::cstring(&kv)?);
    }
    let (stdout, stderr, out_w, err_w) = match req.output {
        Output::Capture { merge_stderr: true } => {
            let (out_r, out_w) = fork_exec::pipe()?;
            let err_w = out_w.try_clone()?;
            (Some(out_r), None, Some(out_w), Some(err_w))
        }
        Output::Capture {
            merge_stderr: false,
        } => {
            let (out_r, out_w) = fork_exec::pipe()?;
            let (err_r, err_w) = fork_exec::pipe()?;
            (Some(out_r), Some(err_r), Some(out_w), Some(err_w))
        }
        Output::Inherit => (None, None, None, None),
    };
    let prepared = fork_exec::Prepared {
        path: fork_exec::cstring(req.program)?,
        argv: cfg
            .command
            .iter()
            .map(fork_exec::cstring)
            .collect::<io::Result<_>>()?,
        envp,
        cwd: fork_exec::cstring(&cfg.cwd)?,
        creds: creds.map(|c| (c.uid, c.gid, c.groups)),
        stdout: out_w,
        stderr: err_w,
        parent: std::process::id() as libc::pid_t,
        cgroup: cgroup::dir_for(&req.instance_id).map(OwnedFd::from),
        sockets: req.sockets.iter().map(|(fd, _)| *fd).collect(),
    };
    let in_cgroup = prepared.cgroup.is_some();
    let (pid, exec_err) = fork_exec::fork_exec(&prepared)?;
    // The write ends now belong to the child alone.
    drop(prepared);
    let stdout = stdout.map(nonblocking_reader).transpose()?;
    let stderr = stderr.map(nonblocking_reader).transpose()?;
    Ok(Spawned {
        child: ProcessTree {
            pid,
            marker: req.instance_id.clone(),
            escapees: Vec::new(),
            exec_err: Some(exec_err),
            cgroup: in_cgroup.then(|| req.instance_id.clone()),
        },
        stdout,
        stderr,
    })
}

/// Makes the read end of a fresh pipe non-blocking. The pipe was just made by us (no flags
/// set), so one `fcntl` does it; tokio's checked constructor would spend three more system
/// calls per pipe finding that out.
fn nonblocking_reader(fd: OwnedFd) -> io::Result<OutputPipe> {
    // SAFETY: F_SETFL on an fd we own.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Every exit of every child of the supervisor, managed or reparented.
pub(crate) struct ExitSource {
    sigchld: tokio::signal::unix::Signal,
}

impl ExitSource {
    /// Must be created before the first spawn, so that no `SIGCHLD` is missed.
    pub(crate) fn new() -> io::Result<Self> {
        Ok(ExitSource {
            sigchld: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?,
        })
    }

    /// Waits until a child may have exited (a `SIGCHLD`); [`ExitSource::collect`] then
    /// reaps. Cancel-safe.
    ///
    /// Reaps only after a `SIGCHLD`: the stream remembers a signal that arrives while the
    /// engine is busy, so waking on it loses nothing, and the engine's other wake-ups cost no
    /// `waitpid`. Waiting and reaping are two steps so that the engine can act between them
    /// while the exited pids are still zombies, which no new process can take.
    pub(crate) async fn arrived(&mut self) {
        self.sigchld.recv().await;
    }

    /// Reaps every exited child; empty when the signal was for a child that stopped, or
    /// for one already reaped. (A method, as on Windows, where the exits are queued.)
    #[allow(clippy::unused_self)]
    pub(crate) fn collect(&mut self) -> Vec<(u32, ExitStatus)> {
        reap_all()
    }
}

fn reap_all() -> Vec<(u32, ExitStatus)> {
    let mut out = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                out.push((pid.as_raw() as u32, ExitStatus::Code(code)))
            }
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                out.push((pid.as_raw() as u32, ExitStatus::Signal(sig as i32)))
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

/// Finds, in one pass over `/proc`, the processes of each tree that left its process group
/// (they carry its marker), sends them the tree's signal, and keeps them with the tree so
/// that it is alive until they are gone. Linux only; other Unixes rely on the process group
/// alone.
pub(crate) fn sweep(trees: &mut [(&mut ProcessTree, Signal)]) {
    let pgids: HashMap<String, u32> = trees
        .iter()
        .map(|(c, _)| (c.marker.clone(), c.pid))
        .collect();
    let found = sweep_escapees(&pgids);
    for (child, sig) in trees.iter_mut() {
        for pid in found.get(&child.marker).into_iter().flatten() {
            if child.escapees.contains(pid) {
                // Known when the signal went: it went to this one too.
                continue;
            }
            // In the tree's cgroup it had the signal with the other members; a second
            // TERM or INT is "stop now" to many programs.
            if !child
                .cgroup
                .as_deref()
                .is_some_and(|cg| cgroup::contains(cg, *pid))
            {
                signal_pid(*pid, *sig);
            }
            child.escapees.push(*pid);
        }
    }
}

/// The processes carrying each instance id that are not in that instance's process group
/// (`pgids` maps instance id to its group).
fn sweep_escapees(pgids: &HashMap<String, u32>) -> HashMap<String, Vec<u32>> {
    if pgids.is_empty() {
        return HashMap::new();
    }
    os::sweep_proc(pgids)
}

/// Ends the processes left by an earlier supervisor of this state directory (it was killed
/// and could not stop them): everything in the cgroup it recorded there, and every process
/// carrying `STATE_VAR=marker` in its environment. The caller holds the state directory's
/// lock, so no live supervisor owns them. They get SIGTERM, then SIGKILL after `grace`.
/// Returns their pids.
pub(crate) fn end_leftovers(
    marker: &str,
    state_dir: &Path,
    grace: std::time::Duration,
) -> Vec<u32> {
    let record = state_dir.join(CGROUP_RECORD);
    let mut found = match std::fs::read(&record) {
        Ok(bytes) => {
            let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
            let _ = std::fs::remove_file(&record);
            cgroup::end_leftovers(&dir, grace)
        }
        Err(_) => Vec::new(),
    };
    for pid in end_marked(marker, grace) {
        if !found.contains(&pid) {
            found.push(pid);
        }
    }
    found
}

fn end_marked(marker: &str, grace: std::time::Duration) -> Vec<u32> {
    let found = os::marked(&format!("{STATE_VAR}={marker}"));
    if found.is_empty() {
        return found;
    }
    for &pid in &found {
        signal_pid(pid, Signal::Term);
    }
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline && found.iter().any(|&p| alive(p)) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for &pid in &found {
        signal_pid(pid, Signal::Kill);
    }
    found
}

pub(crate) fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(crate) fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    vec![dir.join(name)]
}

pub(crate) fn check_user(name: &str) -> Result<(), (String, String)> {
    match User::from_name(name) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err((
            format!("unknown user `{name}`"),
            "create the user (useradd) or fix the name".into(),
        )),
        Err(e) => Err((
            format!("cannot look up user `{name}`: {e}"),
            "check /etc/passwd and NSS".into(),
        )),
    }
}

pub(crate) fn check_group(name: &str) -> Result<(), (String, String)> {
    match Group::from_name(name) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err((
            format!("unknown group `{name}`"),
            "create the group (groupadd) or fix the name".into(),
        )),
        Err(e) => Err((
            format!("cannot look up group `{name}`: {e}"),
            "check /etc/group and NSS".into(),
        )),
    }
}

pub(crate) fn check_can_switch_user() -> Result<(), (String, String)> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err((
            format!(
                "`user`/`group` need stead to run as root; it runs as uid {}",
                nix::unistd::geteuid()
            ),
            "run stead as root, or remove `user` and `group` to run the program as yourself".into(),
        ))
    }
}

thread_local! {
    // One read buffer per log thread, borrowed only between awaits: a hundred idle
    // programs cost no buffer memory.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_SIZE]);
}

/// Bytes taken from a pipe per read. Larger than a pipe, so that one read empties it.
const READ_SIZE: usize = 1024 * 1024;
/// A read this large means the pipe was full: its writer was (or will be) blocked.
const FULL_PIPE: usize = 64 * 1024;
/// Reads taken from one pipe before letting other pipes on the same thread have a turn.
const READS_PER_TURN: usize = 16;

/// Reads `pipe` on `rt` until end of file, handing every chunk to `sink` in order; then
/// tells it the pipe ended. A sink that blocks (a slow disk) stops the reading, which fills
/// the pipe, which blocks the program's writes: backpressure, nothing dropped.
pub(crate) fn pump(pipe: OutputPipe, mut sink: impl super::PipeSink, rt: &tokio::runtime::Handle) {
    rt.spawn(async move {
        let raw = pipe.as_raw_fd();
        let pipe = match tokio::net::unix::pipe::Receiver::from_owned_fd_unchecked(pipe) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(
                    "cannot watch an output pipe: {e}; the program's output is not captured"
                );
                sink.end();
                return;
            }
        };
        let mut grown = false;
        loop {
            if pipe.readable().await.is_err() {
                break;
            }
            let (done, full) = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let mut full = false;
                for _ in 0..READS_PER_TURN {
                    match pipe.try_read(&mut buf) {
                        Ok(0) => return (true, full),
                        Ok(n) => {
                            full |= n >= FULL_PIPE;
                            sink.chunk(&buf[..n]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (false, full),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return (true, full),
                    }
                }
                (false, full)
            });
            if done {
                break;
            }
            if full && !grown {
                grown = true;
                os::grow_pipe(raw);
            }
            tokio::task::yield_now().await;
        }
        sink.end();
    });
}

/// Whether a process exists (a zombie not yet reaped counts).
pub(crate) fn alive(pid: u32) -> bool {
    !matches!(
        signal::kill(Pid::from_raw(pid as i32), None),
        Err(Errno::ESRCH)
    )
}

/// Sends a signal to one process; a process that is already gone is not an error.
pub(crate) fn signal_pid(pid: u32, sig: Signal) {
    let _ = signal::kill(Pid::from_raw(pid as i32), to_nix(sig));
}

/// Starts a helper process (an `exec` probe, a hook): stdin and stdout to `/dev/null`,
/// stderr piped for the probe's message. Its exit status arrives through the one reaper,
/// like every child's: the returned sender must be registered with the engine, which hands
/// the status to the receiver.
///
/// With `account` (a program's `user`/`group`), the helper runs as that account, as the
/// program does (an `exec` probe such as `pg_isready` must connect as the program's role,
/// not as root), with its `USER`, `LOGNAME` and `HOME`, and without supplementary groups.
pub(crate) fn spawn_aux(
    argv: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    extra_env: &BTreeMap<String, String>,
    account: (Option<&str>, Option<&str>),
) -> io::Result<super::AuxChild> {
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(cwd);
    if let Some(c) = credentials(account.0, account.1)? {
        std::os::unix::process::CommandExt::uid(&mut cmd, c.uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, c.gid);
        cmd.env("USER", &c.name)
            .env("LOGNAME", &c.name)
            .env("HOME", &c.home);
    }
    cmd.envs(env)
        .envs(extra_env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // Its own process group: a timeout kills the helper's whole tree.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stderr = child.stderr.take();
    Ok(super::AuxChild {
        pid: child.id(),
        register: Some(tx),
        exit: rx,
        stderr,
    })
}

/// Kills a helper's process group (its status still arrives through the reaper).
pub(crate) fn kill_aux(pid: u32) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), NixSignal::SIGKILL);
}
