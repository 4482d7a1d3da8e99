//! The supervisor inside the `stead` library's service host, on every OS: the library
//! turns signals (SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1), systemd's notify protocol,
//! Windows console events and the Windows SCM into one [`HostLink`], and reports the
//! supervisor's readiness, reloads, stops and status back. `stead up`, `stead run`,
//! `stead up --daemon` (after it has detached) and `stead up --service NAME` (the
//! NSSM/WinSW role under the SCM) all go through here.
//!
//! The supervisor stops its programs itself, each with its own `stop_timeout` and a kill
//! after it, so a console or systemd run gives the drain no time limit of its own (systemd's
//! `TimeoutStopSec=` stays the backstop, never extended). Under the SCM, which must be given
//! a wait hint, the limit is the longest ordered shutdown plus a margin. A second Ctrl-C
//! does not abandon the programs: the drain goes on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stead::{Event, HostKind};
use stead_supervisor::{HostLink, HostNotice, HostRequest, Options};

use crate::{EXIT_FAILED, Failure};

/// Under the SCM: beyond the longest ordered shutdown ([`stead_supervisor::Config::shutdown_budget`]),
/// the SCM waits this long for the stop.
#[cfg(windows)]
const STOP_MARGIN: Duration = Duration::from_secs(15);

/// How the supervisor is hosted.
pub(crate) enum Hosting {
    /// In the foreground of a console, under systemd, launchd or OpenRC, or detached by
    /// `--daemon`: the host is detected; stead's own log goes where the CLI set it up.
    Detected,
    /// As the Windows service `NAME`: the SCM's dispatcher, and a rotating log file.
    #[cfg(windows)]
    WindowsService(String),
}

/// Runs the supervisor to its end under its host; its exit code, or why it could not start.
#[cfg_attr(not(windows), allow(clippy::needless_pass_by_value))]
pub(crate) fn supervise(mut options: Options, hosting: Hosting) -> Result<u8, Failure> {
    let outcome: Arc<Mutex<Option<Result<u8, Failure>>>> = Arc::default();
    let slot = outcome.clone();
    #[cfg(windows)]
    let windows_service = matches!(hosting, Hosting::WindowsService(_));
    #[cfg(not(windows))]
    let windows_service = false;
    let service = match hosting {
        Hosting::Detected => stead::Service::new("stead")
            .logging(stead::Logging::Off)
            .worker_threads(0)
            .stop_timeout(Duration::MAX),
        #[cfg(windows)]
        Hosting::WindowsService(name) => {
            let log_dir = options.log_dir();
            let file = stead::logging::LogFile::new(&log_dir)
                .max_size(10 << 20)
                .keep(5);
            // Programs stop in dependency order, so a chain's stop timeouts add up.
            let slowest = options.config.shutdown_budget();
            stead::Service::new(name)
                .logging(stead::Logging::File(file))
                .worker_threads(2)
                .stop_timeout(slowest.saturating_add(STOP_MARGIN))
        }
    };

    let exit = service
        .start_timeout(None)
        .extend_host_timeouts(false)
        .second_interrupt_forces(false)
        .handles_reload()
        .handles_log_reopen()
        .run(move |ctx| async move {
            if windows_service {
                tracing::info!(
                    "supervising {} program(s) from {} as a service; control pipe {}",
                    options.config.programs.len(),
                    options.config.path.display(),
                    stead_supervisor::control_endpoint(&options.state_dir).display()
                );
                // The SCM is told RUNNING once the control pipe answers.
                let ready = ctx.clone();
                let mut before = options.on_listening.take();
                options.on_listening = Some(Box::new(move || {
                    if let Some(f) = before.take() {
                        f();
                    }
                    ready.ready();
                }));
            }
            options.host = Some(link(&ctx));
            let result = stead_supervisor::supervise(options).await;
            *slot.lock().expect("outcome lock") = Some(outcome_of(result));
            Ok(())
        });
    let ended = outcome.lock().expect("outcome lock").take();
    ended.unwrap_or_else(|| {
        // The host ended the run before the supervisor did (the SCM's stop limit).
        Err(Failure::new(
            u8::try_from(exit.code).unwrap_or(EXIT_FAILED),
            format!("stead: {}", exit.reason),
        ))
    })
}

/// The link between the library's context and the supervisor: the shutdown token and the
/// host's events become requests; notices become `ready`, `reloading`, `stop` and `status`.
fn link(ctx: &stead::Context) -> HostLink {
    let (tx, requests) = tokio::sync::mpsc::unbounded_channel();
    let token = ctx.shutdown_token();
    let stopping = ctx.clone();
    let shutdowns = tx.clone();
    // Not on the context's tracker: these end with the runtime, not before the run ends.
    tokio::spawn(async move {
        token.cancelled().await;
        let why = stopping.stop_reason().map_or("stop", |r| r.describe());
        let _ = shutdowns.send(HostRequest::Shutdown(why));
    });
    let mut events = ctx.events();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let request = match event {
                Event::Reload => HostRequest::Reload,
                Event::ReopenLogs => HostRequest::ReopenLogs,
                _ => continue,
            };
            if tx.send(request).is_err() {
                break;
            }
        }
    });
    let host = ctx.host();
    // Only the notify protocol has a status line (`systemctl status`); the SCM has none,
    // and a console or launchd log would only repeat what `stead status` shows.
    let wants_status = matches!(host, HostKind::Systemd | HostKind::Supervised);
    let awaits_readiness = matches!(host, HostKind::Systemd | HostKind::Supervised)
        && std::env::var_os("NOTIFY_SOCKET").is_some_and(|v| !v.is_empty());
    let ctx = ctx.clone();
    HostLink {
        requests,
        notices: Box::new(move |notice| match notice {
            HostNotice::Ready => ctx.ready(),
            HostNotice::Reloading => ctx.reloading(),
            HostNotice::Stopping => ctx.stop(),
            HostNotice::Status(s) if wants_status => ctx.status(s),
            _ => {}
        }),
        awaits_readiness,
    }
}

fn outcome_of(result: Result<i32, stead_supervisor::Error>) -> Result<u8, Failure> {
    let code = result.map_err(|e| {
        let code = match &e {
            stead_supervisor::Error::Lock(stead_supervisor::LockError::Held { .. }) => {
                crate::EXIT_TEMPORARY
            }
            _ => EXIT_FAILED,
        };
        Failure::new(code, format!("stead: {e}"))
    })?;
    Ok(u8::try_from(code).unwrap_or(EXIT_FAILED))
}
