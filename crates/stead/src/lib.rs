//! Write a service once; run it correctly under the Windows Service Control Manager,
//! systemd, launchd, the stead supervisor, or a console.
//!
//! A service is one async start function. It receives a [`Context`]: a shutdown token that
//! every way of stopping cancels (SCM Stop/Shutdown/PreShutdown, SIGTERM, SIGINT, SIGQUIT,
//! Ctrl-C, Ctrl-Break), a stream of [`Event`]s (pause, continue, reload, custom SCM controls,
//! power and session events), [`Context::ready`], [`Context::status`], a task tracker and
//! ordered cleanups. stead reports to the host while start runs (SCM `START_PENDING` with
//! rising checkpoints, systemd `EXTEND_TIMEOUT_USEC`) and while the service drains
//! (`STOP_PENDING`, `STOPPING=1`), ends a drain that outlives its timeout with a distinct exit
//! code instead of hanging, pings systemd's watchdog only while the service's liveness check
//! passes, and hands the exit code and reason to the host.
//!
//! ```no_run
//! fn main() -> stead::Exit {
//!     stead::Service::new("hello").run(|ctx| async move {
//!         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?; // preflight
//!         ctx.ready();
//!         loop {
//!             tokio::select! {
//!                 () = ctx.shutdown() => break,
//!                 accepted = listener.accept() => {
//!                     let (_socket, _) = accepted?;
//!                     ctx.spawn(async move { /* served to the end, even during stop */ });
//!                 }
//!             }
//!         }
//!         Ok(())
//!     })
//! }
//! ```
//!
//! The lifecycle itself is a pure state machine ([`machine`]) that every host adapter
//! shares; [`runtime`] holds the hosts. Helpers people keep rewriting: [`SingleInstance`],
//! [`is_interactive`], [`ConfigFile`] (reload a config file, keep the old one on error), and
//! [`daemonize`] on Unix.

mod config_file;
mod driver;
pub mod exit;
#[cfg(feature = "install")]
mod install;
mod instance;
mod lifecycle;
mod listeners;
pub mod logging;
pub mod machine;
mod platform;
pub mod runtime;
mod service;

pub use config_file::{ConfigFile, ReloadError};
pub use exit::Exit;
pub use instance::{InstanceError, SingleInstance};
pub use lifecycle::{Context, Event, Events, Failure, StopReason};
pub use listeners::{Listen, Listener, Listeners};
pub use logging::Logging;
pub use runtime::HostKind;
pub use service::Service;
pub use tokio_util::sync::CancellationToken;

#[cfg(unix)]
pub use platform::daemonize;

/// Whether the process talks to a person: its stdin is a terminal (false under a service
/// manager, in a pipeline, or with stdin redirected).
///
/// ```
/// let _ = stead::is_interactive();
/// ```
pub fn is_interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}
