//! Windows backend: a Job Object per program (kill on close), its own console process group
//! for `CTRL_BREAK_EVENT`, one waiting thread per child feeding the engine's exit channel.
//! Held sockets are duplicated for each new process and sent down an inherited pipe
//! (`handover_windows.rs`).

#[path = "handover_windows.rs"]
mod handover;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

use process_wrap::std::{ChildWrapper, CommandWrap, CreationFlags, JobObject};
use tokio::sync::mpsc;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, GetExitCodeProcess, INFINITE, OpenProcess,
    PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, WaitForSingleObject,
};

use super::{Output, SpawnRequest, Spawned};
use crate::Signal;
use crate::program::ExitStatus;

/// The read end of a child's stdout or stderr, read on a thread of its own.
pub(crate) type OutputPipe = Box<dyn Read + Send>;

/// The environment variable that marks every process of one spawned instance.
pub(crate) const INSTANCE_VAR: &str = "STEAD_INSTANCE_ID";
/// Set in every program's environment when the supervisor owns a state directory.
pub(crate) const STATE_VAR: &str = "STEAD_SUPERVISED_BY";

/// Nothing to end on Windows: a killed supervisor's Job Objects close with it, and their
/// processes die with them (kill on close).
pub(crate) fn end_leftovers(
    _marker: &str,
    _state_dir: &Path,
    _grace: std::time::Duration,
) -> Vec<u32> {
    Vec::new()
}

static EXITS: OnceLock<mpsc::UnboundedSender<(u32, ExitStatus)>> = OnceLock::new();

/// Held by every process creation of the spawn layer: while a program's process is created,
/// the read end of its sockets' pipe is inheritable, and no other process of ours may be
/// created meanwhile and inherit it too.
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

/// A spawned program instance inside its Job Object. Dropping it closes the job, which kills
/// whatever is left of the tree.
#[derive(Debug)]
pub(crate) struct ProcessTree {
    pid: u32,
    /// The instance id (`STEAD_INSTANCE_ID`) it was started with.
    marker: String,
    job: Mutex<Box<dyn ChildWrapper>>,
}

impl ProcessTree {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The instance id it was started with.
    pub(crate) fn marker(&self) -> &str {
        &self.marker
    }

    /// `INT`/`TERM` become `CTRL_BREAK_EVENT` to the program's process group; `KILL`
    /// terminates the job. Other signals do not exist on Windows.
    pub(crate) fn signal(&self, sig: Signal, _tree: bool) -> io::Result<()> {
        match sig {
            Signal::Int | Signal::Term => {
                // SAFETY: plain call with a process-group id; no pointers.
                if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.pid) } == 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            }
            Signal::Kill => self
                .job
                .lock()
                .map_err(|_| io::Error::other("job lock poisoned"))?
                .start_kill(),
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("signal {other} does not exist on Windows; use TERM, INT or KILL"),
            )),
        }
    }

    /// Spawn errors are reported synchronously by `CreateProcess`; nothing to collect later.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn take_exec_error(&mut self) -> Option<io::Error> {
        None
    }

    /// Nothing to wake: Windows processes are not stopped by signals.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn resume(&self, _tree: bool) {}

    /// Nothing to release: spawn errors are synchronous on Windows.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn release_exec_pipe(&mut self) {}

    /// The job is closed (and the tree killed) when the child is dropped after its exit, so
    /// nothing of it outlives the main process.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn tree_alive(&mut self) -> bool {
        false
    }

    /// Nothing to forget: a Job Object has no escapees.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn reaped(&mut self, _pids: &[u32]) {}

    /// A Job Object holds every process the program starts.
    #[allow(clippy::unused_self)] // the same signature as the Unix backend
    pub(crate) fn containment(&self) -> &'static str {
        "job-object"
    }
}

#[allow(clippy::unnecessary_wraps)] // the same signature as the Unix backend
/// Gives the supervisor a console of its own when it has none (a service, a scheduled task):
/// programs are console processes that inherit it, and `CTRL_BREAK_EVENT` only reaches a
/// process group on the sender's own console. Without this, a graceful stop could not reach
/// any program of a service and every stop would end in the Job Object kill. The window is
/// hidden (in a service's session 0 nobody would see it anyway). A process that already has
/// a console keeps it (`AllocConsole` then fails, which is fine).
pub(crate) fn init_supervisor(_state_dir: Option<&Path>) -> io::Result<()> {
    use windows_sys::Win32::System::Console::{AllocConsole, GetConsoleWindow};
    use windows_sys::Win32::UI::WindowsAndMessaging::{SW_HIDE, ShowWindow};
    // SAFETY: plain calls without pointers; the window handle comes from the system.
    unsafe {
        if AllocConsole() != 0 {
            let window = GetConsoleWindow();
            if !window.is_null() {
                ShowWindow(window, SW_HIDE);
            }
            tracing::debug!("no console: made a hidden one for programs' Ctrl-Break");
        }
    }
    Ok(())
}

/// Starts one instance in a new Job Object and console process group, then hands a process
/// handle to a thread that reports its exit.
pub(crate) fn spawn(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
    let cfg = req.config;
    if cfg.user.is_some() || cfg.group_name.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "`user`/`group` are not supported on Windows; run stead's service under the account instead",
        ));
    }
    let mut merged = None;
    let mut cmd = Command::new(req.program);
    cmd.args(&cfg.command[1..])
        .current_dir(&cfg.cwd)
        .stdin(Stdio::null())
        .envs(&cfg.env)
        .envs(&req.extra_env)
        .env(INSTANCE_VAR, &req.instance_id)
        // Only a hand-over of this spawn's own is ever announced to the program.
        .env_remove(stead_handover::HANDLE_VAR)
        .env_remove(stead_handover::PARENT_VAR);
    let sockets = if req.sockets.is_empty() {
        None
    } else {
        let pipe = handover::Pipe::new(&req.sockets)?;
        cmd.env(stead_handover::HANDLE_VAR, pipe.child_handle())
            .env(stead_handover::PARENT_VAR, std::process::id().to_string());
        Some(pipe)
    };
    match req.output {
        Output::Capture {
            merge_stderr: false,
        } => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        Output::Capture { merge_stderr: true } => {
            let (reader, writer) = std::io::pipe()?;
            merged = Some(reader);
            cmd.stdout(writer.try_clone()?).stderr(writer)
        }
        Output::Inherit => cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit()),
    };
    let mut wrapped = CommandWrap::from(cmd);
    wrapped.wrap(CreationFlags(
        windows::Win32::System::Threading::PROCESS_CREATION_FLAGS(CREATE_NEW_PROCESS_GROUP),
    ));
    wrapped.wrap(JobObject);
    let mut child = {
        let _lock = SPAWN_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let _inheritable = sockets
            .as_ref()
            .map(handover::Pipe::inheritable)
            .transpose()?;
        wrapped.spawn()?
    };
    let pid = child.id();
    if let Some(pipe) = sockets
        && let Err(e) = pipe.send(pid, &req.sockets)
    {
        let _ = child.start_kill();
        return Err(e);
    }
    // The command holds the merged pipe's write ends until it is dropped with `wrapped`.
    let stdout = match merged {
        Some(r) => Some(Box::new(r) as OutputPipe),
        None => child.stdout().take().map(|p| Box::new(p) as OutputPipe),
    };
    let stderr = child.stderr().take().map(|p| Box::new(p) as OutputPipe);
    // SAFETY: OpenProcess takes flags and a pid; the returned handle is closed by the waiter.
    let handle = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            pid,
        )
    };
    if handle.is_null() {
        let err = io::Error::last_os_error();
        let _ = child.start_kill();
        return Err(err);
    }
    let waiter = ProcessHandle(handle);
    let tx = EXITS.get().cloned();
    std::thread::Builder::new()
        .name(format!("wait-{pid}"))
        .spawn(move || {
            let status = waiter.wait();
            if let Some(tx) = tx {
                let _ = tx.send((pid, status));
            }
        })?;
    Ok(Spawned {
        child: ProcessTree {
            pid,
            marker: req.instance_id.clone(),
            job: Mutex::new(child),
        },
        stdout,
        stderr,
    })
}

/// An owned process handle, closed on drop.
struct ProcessHandle(HANDLE);

// SAFETY: a process handle may be used and closed from any thread.
unsafe impl Send for ProcessHandle {}

impl ProcessHandle {
    fn wait(&self) -> ExitStatus {
        // SAFETY: the handle is valid until drop; the out-pointer is a live local.
        unsafe {
            if WaitForSingleObject(self.0, INFINITE) != WAIT_OBJECT_0 {
                return ExitStatus::Code(-1);
            }
            let mut code = 0u32;
            if GetExitCodeProcess(self.0, &raw mut code) == 0 {
                return ExitStatus::Code(-1);
            }
            ExitStatus::Code(code as i32)
        }
    }
}

impl Drop for ProcessHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenProcess and is closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Every exit of a managed child, reported by the waiting threads.
pub(crate) struct ExitSource {
    rx: mpsc::UnboundedReceiver<(u32, ExitStatus)>,
    arrived: Vec<(u32, ExitStatus)>,
}

impl ExitSource {
    pub(crate) fn new() -> io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        EXITS
            .set(tx)
            .map_err(|_| io::Error::other("one supervisor per process"))?;
        Ok(ExitSource {
            rx,
            arrived: Vec::new(),
        })
    }

    /// Waits until a child has exited; [`ExitSource::collect`] then takes every exit.
    /// Cancel-safe.
    pub(crate) async fn arrived(&mut self) {
        match self.rx.recv().await {
            Some(first) => self.arrived.push(first),
            None => std::future::pending::<()>().await,
        }
    }

    /// Every exit reported so far.
    pub(crate) fn collect(&mut self) -> Vec<(u32, ExitStatus)> {
        let mut out = std::mem::take(&mut self.arrived);
        while let Ok(more) = self.rx.try_recv() {
            out.push(more);
        }
        out
    }
}

/// Job Objects hold every descendant, so nothing escapes a program's tree.
pub(crate) fn sweep(_trees: &mut [(&mut ProcessTree, Signal)]) {}

pub(crate) fn is_executable(path: &Path) -> bool {
    path.is_file()
}

pub(crate) fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
    let mut out = vec![dir.join(name)];
    if Path::new(name).extension().is_none() {
        out.extend(
            exts.split(';')
                .filter(|e| !e.is_empty())
                .map(|e| dir.join(format!("{name}{}", e.to_ascii_lowercase()))),
        );
    }
    out
}

pub(crate) fn check_user(name: &str) -> Result<(), (String, String)> {
    Err((
        format!("`user = \"{name}\"` is not supported on Windows"),
        "install stead as a service under that account instead (stead install --account)".into(),
    ))
}

pub(crate) fn check_group(name: &str) -> Result<(), (String, String)> {
    Err((
        format!("`group = \"{name}\"` is not supported on Windows"),
        "remove it; Windows services run under one account".into(),
    ))
}

#[allow(clippy::unnecessary_wraps)] // the same signature as the Unix backend
pub(crate) fn check_can_switch_user() -> Result<(), (String, String)> {
    Ok(())
}

/// Reads `pipe` on a thread of its own until end of file, handing every chunk to `sink`,
/// then tells it the pipe ended. (Anonymous pipes cannot be waited on with IOCP, so the
/// runtime is not used here.)
pub(crate) fn pump(
    mut pipe: OutputPipe,
    mut sink: impl super::PipeSink,
    _rt: &tokio::runtime::Handle,
) {
    let _ = std::thread::Builder::new()
        .name("stead-output".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.chunk(&buf[..n]),
                }
            }
            sink.end();
        });
}

/// Starts a helper process (an `exec` probe, a hook); a thread waits for it and sends its
/// exit code (there is no global reaper on Windows, so nothing needs registering).
pub(crate) fn spawn_aux(
    argv: &[String],
    cwd: &Path,
    env: &std::collections::BTreeMap<String, String>,
    extra_env: &std::collections::BTreeMap<String, String>,
    _account: (Option<&str>, Option<&str>),
) -> io::Result<super::AuxChild> {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(cwd)
        .envs(env)
        .envs(extra_env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = {
        let _lock = SPAWN_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        command.spawn()?
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stderr = child.stderr.take();
    let pid = child.id();
    std::thread::Builder::new()
        .name("stead-aux-wait".into())
        .spawn(move || {
            let status = child.wait().map_or(ExitStatus::Code(-1), |s| {
                ExitStatus::Code(s.code().unwrap_or(-1))
            });
            let _ = tx.send(status);
        })?;
    Ok(super::AuxChild {
        pid,
        register: None,
        exit: rx,
        stderr,
    })
}

/// A helper that outlives its timeout is left to finish (its waiting thread reaps it).
pub(crate) fn kill_aux(_pid: u32) {}

/// Windows programs run as stead's own account (no `user` setting there).
#[allow(clippy::unnecessary_wraps)] // the signature of the Unix version
pub(crate) fn owner_of(
    _user: Option<&str>,
    _group: Option<&str>,
) -> io::Result<Option<(u32, u32)>> {
    Ok(None)
}

/// Nothing outlives the supervisor on Windows (Job Objects close with it).
pub(crate) fn finish_supervisor() {}
