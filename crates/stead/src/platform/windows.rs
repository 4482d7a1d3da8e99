//! Windows: the SCM when the dispatcher answers, else a console where Ctrl-C, Ctrl-Break,
//! closing the window, logoff and shutdown stop the service.

use tokio::signal::windows as console_signal;
use tokio::sync::mpsc;

use super::Setup;
use crate::Exit;
use crate::driver::{Job, Plan, drive};
use crate::lifecycle::StopReason;
use crate::logging::Logging;
use crate::machine::Input;
use crate::runtime::windows_scm::{self, ServiceRun};
use crate::runtime::{Console, HostKind};
use crate::service::run_on_new_runtime;

pub(crate) fn launch(setup: Setup, job: Job) -> Exit {
    let Setup {
        plan,
        logging,
        host,
        worker_threads,
    } = setup;
    let run = ServiceRun {
        plan,
        logging,
        worker_threads,
        job,
    };
    let run = if host.is_none() || host == Some(HostKind::WindowsService) {
        match windows_scm::dispatch(run) {
            Ok(exit) => return exit,
            Err(run) => *run,
        }
    } else {
        run
    };
    let kind = match host {
        Some(HostKind::WindowsService) | None => HostKind::Console,
        Some(k) => k,
    };
    console(kind, run.plan, &run.logging, run.worker_threads, run.job)
}

fn console(
    kind: HostKind,
    plan: Plan,
    logging: &Logging,
    worker_threads: Option<usize>,
    job: Job,
) -> Exit {
    crate::logging::init(kind, &plan.name, logging);
    let name = plan.name.clone();
    run_on_new_runtime(worker_threads, &name, move || {
        Box::pin(async move {
            let (tx, rx) = mpsc::unbounded_channel();
            if let Err(e) = listen(tx.clone()) {
                let exit = Exit {
                    code: crate::exit::FAILURE,
                    reason: format!("cannot install console control handlers: {e}"),
                };
                tracing::error!("{}", exit.reason);
                return exit;
            }
            let host = Box::new(Console::new(kind, &plan.name));
            drive(plan, kind, host, (tx, rx), job).await
        })
    })
}

/// Turns console control events into inputs.
fn listen(tx: mpsc::UnboundedSender<Input>) -> std::io::Result<()> {
    let mut c = console_signal::ctrl_c()?;
    let mut brk = console_signal::ctrl_break()?;
    let mut close = console_signal::ctrl_close()?;
    let mut logoff = console_signal::ctrl_logoff()?;
    let mut shutdown = console_signal::ctrl_shutdown()?;
    tokio::spawn(async move {
        loop {
            let reason = tokio::select! {
                _ = c.recv() => StopReason::Interrupt,
                _ = brk.recv() => StopReason::CtrlBreak,
                _ = close.recv() => StopReason::CtrlBreak,
                _ = logoff.recv() => StopReason::SystemShutdown,
                _ = shutdown.recv() => StopReason::SystemShutdown,
            };
            if tx.send(Input::Stop(reason)).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The Windows Event Log sink.
pub(crate) fn event_log(name: &str) -> Option<crate::logging::BoxLayer> {
    crate::logging::eventlog::layer(name)
}

/// No journal on Windows.
pub(crate) fn journald(_: &str) -> Option<crate::logging::BoxLayer> {
    None
}

/// A named mutex held for the life of a [`SingleInstance`](crate::SingleInstance).
#[derive(Debug)]
pub(crate) struct NamedMutex(windows_sys::Win32::Foundation::HANDLE);

// SAFETY: a mutex handle may be closed from any thread.
unsafe impl Send for NamedMutex {}
// SAFETY: the handle is only closed, once, in Drop.
unsafe impl Sync for NamedMutex {}

impl Drop for NamedMutex {
    fn drop(&mut self) {
        // SAFETY: the handle came from CreateMutexW and is closed once.
        unsafe { windows_sys::Win32::Foundation::CloseHandle(self.0) };
    }
}

/// `Global\` mutex names reach every session (services run in session 0).
pub(crate) fn default_lock_dir() -> std::path::PathBuf {
    std::path::PathBuf::new()
}

pub(crate) fn acquire_instance(
    name: &str,
    dir: &std::path::Path,
) -> Result<crate::SingleInstance, crate::InstanceError> {
    use windows_sys::Win32::Foundation::{ERROR_ALREADY_EXISTS, GetLastError};
    use windows_sys::Win32::System::Threading::CreateMutexW;
    // Backslashes are not allowed after the namespace prefix.
    let scope = dir.to_string_lossy().replace(['\\', '/', ':'], "_");
    let mutex_name = if scope.is_empty() {
        format!("Global\\stead-instance-{name}")
    } else {
        format!("Global\\stead-instance-{scope}-{name}")
    };
    let location = std::path::PathBuf::from(&mutex_name);
    let wide: Vec<u16> = mutex_name.encode_utf16().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated and outlives the call; no security attributes.
    let handle = unsafe { CreateMutexW(std::ptr::null(), 0, wide.as_ptr()) };
    // SAFETY: reads this thread's last error right after the call.
    let err = unsafe { GetLastError() };
    if handle.is_null() {
        return Err(crate::InstanceError::Io {
            location,
            source: std::io::Error::from_raw_os_error(err as i32),
        });
    }
    let mutex = NamedMutex(handle);
    if err == ERROR_ALREADY_EXISTS {
        return Err(crate::InstanceError::Held {
            name: name.to_string(),
            location,
            pid: None,
        });
    }
    Ok(crate::SingleInstance {
        _mutex: mutex,
        location,
    })
}
