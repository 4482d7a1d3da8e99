//! Logs through `tracing`, to the host's sink: the journal under systemd, the Event Log
//! under the Windows SCM, stderr in a console, under launchd and under the stead supervisor
//! (which captures it).

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Layered;
use tracing_subscriber::{Layer, Registry};

use crate::runtime::HostKind;

#[cfg(windows)]
pub(crate) mod eventlog;

/// A sink layer for the subscriber stead builds.
pub(crate) type BoxLayer = Box<dyn Layer<Layered<Targets, Registry>> + Send + Sync>;

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
    /// The host's sink as with `Auto`, and also a rotating file (feature `log-file`, on by
    /// default): `DIR/NAME.log`, rotated by size, gzipped, the oldest removed.
    #[cfg(feature = "log-file")]
    File(LogFile),
}

/// Where and how [`Logging::File`] writes.
///
/// ```
/// let file = stead::logging::LogFile::new("/var/log/myservice").max_size(10 << 20).keep(5);
/// let _ = stead::Service::new("myservice").logging(stead::Logging::File(file));
/// ```
#[cfg(feature = "log-file")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The directory; `NAME.log` is the live file.
    pub dir: std::path::PathBuf,
    /// Rotate when the file would pass this many bytes (default 100 MB; 0: never).
    pub max_size: u64,
    /// Rotated files kept (default 10).
    pub keep: u32,
    /// Gzip rotated files in the background (default true).
    pub compress: bool,
    /// Also rotate at the first line after midnight, local time (default false).
    pub daily: bool,
}

#[cfg(feature = "log-file")]
impl LogFile {
    /// Files in `dir`, with the defaults.
    pub fn new(dir: impl Into<std::path::PathBuf>) -> LogFile {
        LogFile {
            dir: dir.into(),
            max_size: 100_000_000,
            keep: 10,
            compress: true,
            daily: false,
        }
    }

    /// Rotate past this size.
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> LogFile {
        self.max_size = bytes;
        self
    }

    /// Keep this many rotated files.
    #[must_use]
    pub fn keep(mut self, files: u32) -> LogFile {
        self.keep = files;
        self
    }

    /// Gzip rotated files (or not).
    #[must_use]
    pub fn compress(mut self, on: bool) -> LogFile {
        self.compress = on;
        self
    }

    /// Also rotate daily.
    #[must_use]
    pub fn daily(mut self, on: bool) -> LogFile {
        self.daily = on;
        self
    }

    fn open(&self, name: &str) -> stead_logs::RotatingLog {
        use stead_config::{LogSettings, RotateEvery};
        let settings = LogSettings {
            max_size: self.max_size,
            keep: self.keep,
            compress: self.compress,
            rotate: if self.daily {
                RotateEvery::Daily
            } else {
                RotateEvery::Never
            },
            ..LogSettings::default()
        };
        stead_logs::RotatingLog::open(&self.dir, name, settings)
    }
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
        _ => sink_for(kind),
    };
    let filter = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let stderr_plain = || -> BoxLayer {
        Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .without_time()
                .with_target(false),
        )
    };
    let mut layers: Vec<BoxLayer> = Vec::new();
    layers.push(match sink {
        Sink::Journald => crate::platform::journald(name).unwrap_or_else(stderr_plain),
        Sink::EventLog => crate::platform::event_log(name).unwrap_or_else(stderr_plain),
        Sink::Plain => stderr_plain(),
        Sink::Console => {
            use std::io::IsTerminal;
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            Box::new(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(colour)
                    .with_target(false),
            )
        }
    });
    #[cfg(feature = "log-file")]
    if let Logging::File(file) = logging {
        let log = file.open(name);
        layers.push(Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(move || log.clone())
                .with_ansi(false)
                .with_target(false),
        ));
        FILE_LOGGING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // Err: the program installed its own subscriber, which wins.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init();
}

/// The filter for `RUST_LOG`: `info` when unset or invalid (with a warning on stderr).
/// Directives are `level` or `target=level`, comma-separated (`tracing`'s `Targets`; no
/// regular expressions, which keeps them out of every service's binary).
///
/// ```
/// use stead::logging::filter_from;
/// let f = filter_from(Some("warn,myservice=debug"));
/// assert!(f.would_enable("myservice::db", &tracing::Level::DEBUG));
/// assert!(!f.would_enable("hyper", &tracing::Level::INFO));
/// assert!(filter_from(None).would_enable("any", &tracing::Level::INFO));
/// ```
pub fn filter_from(rust_log: Option<&str>) -> Targets {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => default(),
        Some(text) => text.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={text:?} is not understood ({e}); logging at info");
            default()
        }),
    }
}

#[cfg(feature = "log-file")]
static FILE_LOGGING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets background log work (compression of a file just rotated) finish before exit.
pub(crate) fn finish() {
    #[cfg(feature = "log-file")]
    if FILE_LOGGING.load(std::sync::atomic::Ordering::Relaxed) {
        stead_logs::RotatingLog::settle(std::time::Duration::from_secs(5));
    }
}
