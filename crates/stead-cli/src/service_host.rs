//! `stead up --service NAME` on Windows: the supervisor as an SCM service — the NSSM/WinSW
//! role. The `stead` library speaks to the SCM (dispatcher, `START_PENDING` checkpoints,
//! `RUNNING` once the control pipe answers, `STOP_PENDING` checkpoints while every program
//! stops, `STOPPED` with the exit code); its one shutdown token — cancelled by Stop,
//! Shutdown and `PreShutdown` — is the supervisor's stop. During an OS shutdown nothing is
//! restarted: the supervisor is already shutting down. Started outside the SCM, the library
//! runs it as a console program (Ctrl-C, Ctrl-Break and close stop it).

use std::path::PathBuf;
use std::time::Duration;

use stead_supervisor::{Config, Options};

use crate::{EXIT_FAILED, Failure};

/// Beyond the longest ordered shutdown ([`Config::shutdown_budget`]): the SCM waits this long
/// for the stop.
const STOP_MARGIN: Duration = Duration::from_secs(15);

pub(crate) fn up(config: Config, state_dir: PathBuf, name: String) -> Result<u8, Failure> {
    let log_dir = config
        .supervisor
        .log_dir
        .clone()
        .unwrap_or_else(|| state_dir.join("logs"));
    // Programs stop in dependency order, so a chain's stop timeouts add up.
    let slowest = config.shutdown_budget();
    let file = stead::logging::LogFile::new(&log_dir)
        .max_size(10 << 20)
        .keep(5);
    let exit = stead::Service::new(name)
        .stop_timeout(slowest.saturating_add(STOP_MARGIN))
        .logging(stead::Logging::File(file))
        .worker_threads(2)
        .run(move |ctx| async move {
            tracing::info!(
                "supervising {} program(s) from {} as a service; control pipe {}",
                config.programs.len(),
                config.path.display(),
                stead_supervisor::control_endpoint(&state_dir).display()
            );
            let mut options = Options::new(config, state_dir);
            let ready = ctx.clone();
            options.on_listening = Some(Box::new(move || ready.ready()));
            options.stop = Some(Box::pin(ctx.shutdown_token().cancelled_owned()));
            match stead_supervisor::supervise(options).await {
                Ok(0) => Ok(()),
                Ok(code) => Err(stead::Failure::new(format!(
                    "the supervisor ended with exit code {code} (its log says why)"
                ))
                .with_code(code as u32)),
                Err(e) => Err(stead::Failure::new(e.to_string()).with_code(u32::from(EXIT_FAILED))),
            }
        });
    if exit.success() {
        Ok(0)
    } else {
        Err(Failure::new(
            u8::try_from(exit.code).unwrap_or(EXIT_FAILED),
            format!("stead: {}", exit.reason),
        ))
    }
}
