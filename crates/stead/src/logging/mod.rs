//! Logs through `tracing`, to the host's sink: the journal under systemd, the Event Log
//! under the Windows SCM, stderr in a console, under launchd and under the stead supervisor
//! (which captures it).

use tracing_subscriber::layer::Layered;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::runtime::HostKind;

#[cfg(windows)]
pub(crate) mod eventlog;

/// A sink layer for the subscriber stead builds.
pub(crate) type BoxLayer = Box<dyn Layer<Layered<EnvFilter, Registry>> + Send + Sync>;

/// How a service logs.
///
/// ```
/// let _ = stead::Service::new("quiet").logging(stead::Logging::Off);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Logging {
    /// The host's sink, filtered by `RUST_LOG` (default `info`). Skipped when the program
    /// already installed a global `tracing` subscriber.
    #[default]
    Auto,
    /// Always stderr, whatever the host.
    Stderr,
    /// stead installs nothing: the program sets up `tracing` itself.
    Off,
}

/// The sink `Auto` picks for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// The systemd journal (native protocol: priority per level, `SYSLOG_IDENTIFIER`).
    Journald,
    /// The Windows Event Log (source = service name, event id and type per level).
    EventLog,
    /// stderr with colours when it is a terminal and timestamps.
    Console,
    /// stderr, plain, without timestamps (the host stamps lines).
    Plain,
}

/// Which sink a host's logs go to.
///
/// ```
/// use stead::{HostKind, logging::{sink_for, Sink}};
/// assert_eq!(sink_for(HostKind::Systemd), Sink::Journald);
/// assert_eq!(sink_for(HostKind::Supervised), Sink::Plain);
/// ```
pub fn sink_for(kind: HostKind) -> Sink {
    match kind {
        HostKind::Systemd => Sink::Journald,
        HostKind::WindowsService => Sink::EventLog,
        HostKind::Supervised => Sink::Plain,
        HostKind::Console | HostKind::Launchd => Sink::Console,
    }
}

/// The event id an Event Log record gets for a level: 1 error, 2 warning, 3 information,
/// 4 debug, 5 trace.
pub fn event_id(level: tracing::Level) -> u32 {
    match level {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        tracing::Level::TRACE => 5,
    }
}

pub(crate) fn init(kind: HostKind, name: &str, logging: &Logging) {
    use tracing_subscriber::prelude::*;
    let sink = match logging {
        Logging::Off => return,
        Logging::Stderr => Sink::Console,
        Logging::Auto => sink_for(kind),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let stderr_plain = || {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .with_target(false)
    };
    let result = match sink {
        Sink::Journald => match crate::platform::journald(name) {
            Some(layer) => registry.with(layer).try_init(),
            None => registry.with(stderr_plain()).try_init(),
        },
        Sink::EventLog => match crate::platform::event_log(name) {
            Some(layer) => registry.with(layer).try_init(),
            None => registry.with(stderr_plain()).try_init(),
        },
        Sink::Plain => registry.with(stderr_plain()).try_init(),
        Sink::Console => {
            use std::io::IsTerminal;
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(
                            std::io::stderr().is_terminal()
                                && std::env::var_os("NO_COLOR").is_none(),
                        )
                        .with_target(false),
                )
                .try_init()
        }
    };
    // Err: the program installed its own subscriber, which wins.
    let _ = result;
}
