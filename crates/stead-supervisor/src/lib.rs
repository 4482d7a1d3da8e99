//! # stead-supervisor
//!
//! The engine behind `stead up` and `stead run`: it keeps programs running the way a careful
//! operator would. Each program is a pure state machine ([`program`]) driven by a single
//! event loop that wakes only for child exits, signals, control requests and its own
//! deadlines. Programs run in their own process group (a Job Object on Windows); stead is a
//! subreaper on Linux, so the whole tree of a program is stopped, never orphaned.
//!
//! Most users drive it through the `stead` binary. Embedding it looks like this:
//!
//! ```no_run
//! use std::path::Path;
//! use stead_supervisor::{Options, OutputMode, config, default_state_dir, supervise};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = config::load(Path::new("stead.toml"))?;
//! let options = Options::new(config, default_state_dir());
//! let exit_code = supervise(options).await?;
//! std::process::exit(exit_code);
//! # }
//! ```
//!
//! The engine needs a current-thread tokio runtime with IO and time enabled
//! (`tokio::runtime::Builder::new_current_thread().enable_all()`); it spawns local tasks for
//! control connections. Output capture runs on two threads of its own ([`logs`]).

pub mod config;
pub mod control;
mod engine;
pub mod events;
pub mod fleet;
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
mod host;
pub mod logs;
mod metrics;
pub mod program;
mod sockets;
mod spawn;

use std::path::PathBuf;

pub use config::{Config, ConfigError};
pub use host::{
    HostLink, HostNotice, HostRequest, InstanceLock, LockError, control_endpoint, default_state_dir,
};
pub use sockets::SocketError;
pub use stead_config::{
    EXIT_PROGRAM_FATAL, INFINITY, Signal, format_duration, parse_duration, parse_timeout, signal,
    terminal,
};
pub(crate) use stead_logs::{ratelimit, wall};

/// Where programs' stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputMode {
    /// Captured, and sent where each program's `[log]` settings say (by default
    /// `<log dir>/<name>.out.log` and `.err.log`).
    Capture,
    /// Straight to the supervisor's own stdout/stderr (a terminal, for `stead run`).
    Inherit,
}

/// How to run the supervisor.
#[non_exhaustive]
pub struct Options {
    /// The programs.
    pub config: Config,
    /// Holds the lock, the control socket and (by default) the logs.
    pub state_dir: PathBuf,
    /// Serve the control API in `state_dir` (and take its single-instance lock).
    pub control: bool,
    /// Where programs' output goes.
    pub output: OutputMode,
    /// Exit when the single program ends for good, with its exit code (`stead run`).
    pub run_mode: bool,
    /// The supervisor runs in the foreground: when its stderr is a terminal, programs' lines
    /// are echoed there as `NAME | line` (unless `log.console` says otherwise, or they go to
    /// journald).
    pub foreground: bool,
    /// Called once the control endpoint answers (or at once without one), before any
    /// program starts. `stead up --daemon` uses it to release the waiting parent.
    pub on_listening: Option<Box<dyn FnOnce() + Send>>,
    /// Write the supervisor's pid here while it holds the state directory's lock.
    pub pid_file: Option<PathBuf>,
    /// The host the supervisor runs under: its stop, reload and reopen-logs requests, and
    /// where readiness and status go. `stead up` and `stead run` run the supervisor inside
    /// the `stead` library's service host, which turns signals, the Windows SCM and
    /// systemd's notify protocol into this link.
    pub host: Option<HostLink>,
}

impl Options {
    /// Where the logs go: `[supervisor] log_dir`, else `logs` in the state directory.
    ///
    /// ```
    /// # let config = stead_supervisor::config::parse(std::path::Path::new("stead.toml"), "[program.a]\ncommand = [\"true\"]\n").unwrap();
    /// let options = stead_supervisor::Options::new(config, "/run/stead".into());
    /// assert_eq!(options.log_dir(), std::path::Path::new("/run/stead/logs"));
    /// ```
    pub fn log_dir(&self) -> PathBuf {
        self.config
            .supervisor
            .log_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("logs"))
    }

    /// Supervise `config` with a control socket in `state_dir`, capturing output.
    pub fn new(config: Config, state_dir: PathBuf) -> Self {
        Options {
            config,
            state_dir,
            control: true,
            output: OutputMode::Capture,
            run_mode: false,
            foreground: false,
            on_listening: None,
            pid_file: None,
            host: None,
        }
    }
}

/// Why the supervisor could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another supervisor holds the state directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The control endpoint could not be created.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket or pipe.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log directory could not be created.
    #[error(
        "cannot create the log directory {path}: {source}; create it or set [supervisor] log_dir"
    )]
    LogDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log directory is reached through a symlink another user could point elsewhere;
    /// the message names it and the fix.
    #[error("{0}")]
    UnsafeLogDir(String),
    /// The pid file could not be written.
    #[error("cannot write the pid file {path}: {source}")]
    PidFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The `[metrics] listen` address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}; change [metrics] listen or free the port")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A held socket (`sockets = [...]`) could not be bound; nothing was started.
    #[error("{}; {}", .0.message, .0.hint)]
    Socket(sockets::SocketError),
    /// The `[metrics] token_file` cannot be used (the message says why and which file).
    #[error("{0}; fix the file or [metrics] token_file")]
    MetricsToken(String),
    /// The OS refused something the supervisor needs (signal handlers, subreaper).
    #[error("cannot set up the supervisor: {0}")]
    Setup(#[source] std::io::Error),
}

/// Runs the supervisor until it shuts down; returns the exit code stead should exit with.
pub async fn supervise(mut options: Options) -> Result<i32, Error> {
    let _lock = if options.control {
        let lock = InstanceLock::acquire(&options.state_dir)?;
        Some(match options.pid_file.take() {
            Some(path) => lock
                .with_pid_file(path.clone())
                .map_err(|source| Error::PidFile { path, source })?,
            None => lock,
        })
    } else {
        None
    };
    // With the lock held, programs still carrying this state directory's marker were left
    // by a supervisor that was killed: end them before starting new ones (no duplicates).
    let state_marker = options.control.then(|| {
        std::path::absolute(&options.state_dir)
            .unwrap_or_else(|_| options.state_dir.clone())
            .display()
            .to_string()
    });
    if let Some(marker) = &state_marker {
        let left = spawn::end_leftovers(
            marker,
            &options.state_dir,
            std::time::Duration::from_secs(2),
        );
        if !left.is_empty() {
            tracing::warn!(
                "ended {} process(es) left running by an earlier stead on {marker} that was killed: {left:?}",
                left.len()
            );
        }
    }
    let log_dir = options.log_dir();
    if options.output == OutputMode::Capture {
        // The default, inside the state directory, was judged with it (`InstanceLock`).
        if options.config.supervisor.log_dir.is_some() || !options.control {
            let verdict = host::judge_path(&log_dir, "log directory");
            if let Some(reason) = verdict.refusal {
                return Err(Error::UnsafeLogDir(reason));
            }
            for w in verdict.warnings {
                tracing::warn!("{w}");
            }
        }
        std::fs::create_dir_all(&log_dir).map_err(|source| Error::LogDir {
            path: log_dir.clone(),
            source,
        })?;
        if let Some(warning) = host::shared_dir_warning(&log_dir) {
            tracing::warn!("{warning}");
        }
    }
    host::raise_fd_limit();
    spawn::init_supervisor(options.control.then_some(options.state_dir.as_path()))
        .map_err(Error::Setup)?;
    // Before the first spawn, so that no exit is missed (the host's requests queue in the
    // link until the engine reads them).
    let exits = spawn::ExitSource::new().map_err(Error::Setup)?;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    if let Some(addr) = options.config.supervisor.metrics.listen {
        let token = match &options.config.supervisor.metrics.token_file {
            Some(path) => Some(metrics::read_token(path).map_err(Error::MetricsToken)?),
            None => None,
        };
        metrics::serve(addr, token, tx.clone())
            .await
            .map_err(|source| Error::Metrics { addr, source })?;
    }
    let server = if options.control {
        let path = control_endpoint(&options.state_dir);
        let listener =
            control::Listener::bind(&path).map_err(|source| Error::Listen { path, source })?;
        Some(control::serve(listener, tx))
    } else {
        drop(tx);
        None
    };
    if let Some(ready) = options.on_listening.take() {
        ready();
    }
    let output = match options.output {
        OutputMode::Capture => spawn::Output::Capture {
            merge_stderr: false,
        },
        OutputMode::Inherit => spawn::Output::Inherit,
    };
    let (host_requests, host_notices, awaits_readiness) = match options.host.take() {
        Some(link) => (
            Some(link.requests),
            Some(link.notices),
            link.awaits_readiness,
        ),
        None => (None, None, false),
    };
    // Before any program starts: a socket that cannot be had is an error of the whole
    // start, like a bad config, not a program that fails over and over.
    let sockets = sockets::Table::default()
        .prepare(&options.config.programs)
        .map_err(Error::Socket)?;
    let engine = engine::Engine::new(engine::EngineSetup {
        config: options.config,
        sockets,
        output,
        log_dir,
        foreground: options.foreground,
        state_marker,
        run_mode: options.run_mode,
        host_notices,
        awaits_readiness,
    });
    let code = engine.run(exits, host_requests, rx).await;
    if options.output == OutputMode::Capture {
        // Every program has stopped: let the last of their output reach the disk.
        logs::drain(std::time::Duration::from_secs(5));
    }
    spawn::finish_supervisor();
    if let Some(server) = server {
        server.drain(std::time::Duration::from_millis(500)).await;
    }
    Ok(code)
}
