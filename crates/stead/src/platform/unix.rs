//! Unix: the host comes from the environment; SIGTERM, SIGINT, SIGQUIT stop, SIGHUP reloads.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::Setup;
use crate::Exit;
use crate::driver::{Job, drive};
use crate::lifecycle::{Event, StopReason};
use crate::machine::Input;
use crate::runtime::{Console, Host, HostKind, Notify};
use crate::service::run_on_new_runtime;

pub(crate) fn launch(setup: Setup, job: Job) -> Exit {
    let kind = setup.host.unwrap_or_else(HostKind::detect);
    crate::logging::init(kind, &setup.plan.name, &setup.logging);
    let plan = setup.plan;
    let name = plan.name.clone();
    run_on_new_runtime(setup.worker_threads, &name, move || {
        Box::pin(async move {
            let (tx, rx) = mpsc::unbounded_channel();
            if let Err(e) = listen(tx.clone(), kind, plan.handles) {
                let exit = Exit {
                    code: crate::exit::FAILURE,
                    reason: format!("cannot install signal handlers: {e}"),
                };
                tracing::error!("{}", exit.reason);
                return exit;
            }
            let host = host_for(kind, &plan.name, plan.timing.extend_host_timeouts);
            drive(plan, kind, host, (tx, rx), job).await
        })
    })
}

/// The adapter for a Unix host: the notify protocol for systemd and stead, the log for a
/// console and launchd.
fn host_for(kind: HostKind, name: &str, extend_timeouts: bool) -> Box<dyn Host> {
    match kind {
        HostKind::Systemd | HostKind::Supervised => {
            Box::new(Notify::from_env(kind, extend_timeouts))
        }
        _ => Box::new(Console::new(kind, name)),
    }
}

/// Turns signals into inputs for as long as the run lasts.
fn listen(
    tx: mpsc::UnboundedSender<Input>,
    kind: HostKind,
    handles: crate::runtime::scm_status::Handles,
) -> std::io::Result<()> {
    let handles_reload = handles.reload;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut hup = signal(SignalKind::hangup())?;
    // Registered only when handled: otherwise SIGUSR1 keeps its default action.
    let mut usr1 = if handles.reopen_logs {
        Some(signal(SignalKind::user_defined1())?)
    } else {
        None
    };
    tokio::spawn(async move {
        loop {
            let input = tokio::select! {
                Some(()) = async { match usr1.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                } } => Input::Control(Event::ReopenLogs),
                _ = term.recv() => Input::Stop(StopReason::Terminate),
                _ = int.recv() => Input::Stop(StopReason::Interrupt),
                _ = quit.recv() => Input::Stop(StopReason::Quit),
                _ = hup.recv() => {
                    if !handles_reload && kind == HostKind::Console {
                        Input::Stop(StopReason::Hangup)
                    } else {
                        Input::Control(Event::Reload)
                    }
                }
            };
            if tx.send(input).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The systemd journal sink (Linux), `None` when the journal cannot be reached.
#[cfg(target_os = "linux")]
pub(crate) fn journald(name: &str) -> Option<crate::logging::BoxLayer> {
    let layer = tracing_journald::layer()
        .ok()?
        .with_syslog_identifier(name.to_string());
    Some(Box::new(layer))
}

/// No journal off Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn journald(_: &str) -> Option<crate::logging::BoxLayer> {
    None
}

/// No Event Log off Windows.
pub(crate) fn event_log(_: &str) -> Option<crate::logging::BoxLayer> {
    None
}

/// Detaches from the terminal the classic way, for Unix users who insist on it (under
/// systemd, launchd or stead, do not: they track the process you would leave): fork, the
/// parent exits 0, `setsid`, fork again, `chdir /`, `umask 022`, stdin/stdout/stderr to
/// `/dev/null`. Call it first in `main`, before any thread (and so before `Service::run`).
///
/// ```no_run
/// fn main() -> stead::Exit {
///     if std::env::args().any(|a| a == "--daemon") {
///         stead::daemonize().expect("daemonize");
///     }
///     stead::Service::new("old-school").run(|ctx| async move {
///         ctx.ready();
///         ctx.shutdown().await;
///         Ok(())
///     })
/// }
/// ```
pub fn daemonize() -> std::io::Result<()> {
    use nix::unistd::{ForkResult, fork, setsid};
    let to_io = |e: nix::errno::Errno| std::io::Error::from_raw_os_error(e as i32);
    // SAFETY: documented precondition: called before any other thread exists.
    match unsafe { fork() }.map_err(to_io)? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => {}
    }
    setsid().map_err(to_io)?;
    // SAFETY: still single-threaded (the first child).
    match unsafe { fork() }.map_err(to_io)? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => {}
    }
    std::env::set_current_dir("/")?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(to_io)?;
    nix::unistd::dup2_stdout(&null).map_err(to_io)?;
    nix::unistd::dup2_stderr(&null).map_err(to_io)?;
    Ok(())
}

/// Where [`SingleInstance::acquire`](crate::SingleInstance::acquire) puts its lock files.
pub(crate) fn default_lock_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return d.into();
    }
    if nix::unistd::geteuid().is_root() {
        "/run".into()
    } else {
        std::env::temp_dir()
    }
}

pub(crate) fn acquire_instance(
    name: &str,
    dir: &std::path::Path,
) -> Result<crate::SingleInstance, crate::InstanceError> {
    use std::io::{Read, Seek, Write};
    let location = dir.join(format!("{name}.lock"));
    let io = |source| crate::InstanceError::Io {
        location: location.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&location)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(crate::InstanceError::Held {
                name: name.to_string(),
                location,
                pid: text.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(crate::SingleInstance {
        _file: file,
        location,
    })
}
