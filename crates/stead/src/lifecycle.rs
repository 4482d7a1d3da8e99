//! What a service sees of its host: the [`Context`] its start function receives, the
//! [`Event`]s it may handle, why it is asked to stop, and the [`Failure`] it returns.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::machine::Input;
use crate::runtime::HostKind;

/// A control from the host, other than stop (which cancels the shutdown token instead).
///
/// Pause and continue arrive only from the Windows SCM, and only when the service declared
/// [`Service::handles_pause`](crate::Service::handles_pause); reload arrives from SIGHUP,
/// the SCM's `ParamChange` control and `stead reload` when it declared
/// [`Service::handles_reload`](crate::Service::handles_reload).
///
/// ```
/// use stead::Event;
/// fn describe(e: &Event) -> &'static str {
///     match e {
///         Event::Reload => "reload the configuration, then call ctx.ready()",
///         Event::Pause | Event::Continue => "stop or resume taking new work",
///         _ => "other",
///     }
/// }
/// assert_eq!(describe(&Event::Pause), "stop or resume taking new work");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Stop taking new work, keep state (SCM Pause). Already reported as PAUSED.
    Pause,
    /// Resume after a pause (SCM Continue). Already reported as RUNNING.
    Continue,
    /// Reload configuration. Under systemd `RELOADING=1` was sent: call
    /// [`Context::ready`] when done.
    Reload,
    /// Reopen log files (SIGUSR1, after `logrotate` moved them), when accepted with
    /// [`Service::handles_log_reopen`](crate::Service::handles_log_reopen).
    ReopenLogs,
    /// A user-defined SCM control code, 128–255 (`sc control NAME 200`).
    Custom(u8),
    /// A power event (SCM `SERVICE_CONTROL_POWEREVENT`; the `PBT_*` code), when accepted
    /// with [`Service::handles_power_events`](crate::Service::handles_power_events).
    Power(u32),
    /// A session change (SCM `SERVICE_CONTROL_SESSIONCHANGE`; the `WTS_*` code and
    /// session id), when accepted with
    /// [`Service::handles_session_events`](crate::Service::handles_session_events).
    Session {
        /// `WTS_SESSION_LOGON` (5), `WTS_SESSION_LOCK` (7), …
        kind: u32,
        /// The session it concerns.
        session: u32,
    },
}

/// Why the service was asked to stop.
///
/// ```
/// assert_eq!(stead::StopReason::Terminate.describe(), "SIGTERM");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Ctrl-C in a console, or SIGINT.
    Interrupt,
    /// SIGTERM: `systemctl stop`, `launchctl bootout`, `stead stop`, `kill`.
    Terminate,
    /// SIGQUIT.
    Quit,
    /// SIGHUP in a console (the terminal went away) when the service does not handle reload.
    Hangup,
    /// Ctrl-Break, or the console window closing (Windows).
    CtrlBreak,
    /// The user logs off or the system shuts down (Windows console).
    SystemShutdown,
    /// SCM Stop (`sc stop`, `net stop`, the Services console).
    ScmStop,
    /// SCM Shutdown: the system is shutting down.
    ScmShutdown,
    /// SCM `PreShutdown`: the system will shut down after the pre-shutdown timeout.
    ScmPreShutdown,
    /// The service called [`Context::stop`].
    Requested,
    /// `ready()` was not called within the start timeout.
    StartTimeout,
}

impl StopReason {
    /// How the reason reads in a log line.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::Interrupt => "interrupted",
            StopReason::Terminate => "SIGTERM",
            StopReason::Quit => "SIGQUIT",
            StopReason::Hangup => "SIGHUP",
            StopReason::CtrlBreak => "Ctrl-Break",
            StopReason::SystemShutdown => "logoff or system shutdown",
            StopReason::ScmStop => "stop requested by the service manager",
            StopReason::ScmShutdown => "system shutdown",
            StopReason::ScmPreShutdown => "system pre-shutdown",
            StopReason::Requested => "the service asked to stop",
            StopReason::StartTimeout => "start timed out",
        }
    }
}

/// The error a service's start function returns: a message for the log, and the exit code
/// for the host (default 1; the SCM gets it as a service-specific error code).
///
/// Any `std::error::Error` converts with `?`:
///
/// ```
/// fn preflight() -> Result<(), stead::Failure> {
///     let port: u16 = "80x".parse().map_err(|e| stead::Failure::from(e).with_code(3))?;
///     let _ = port;
///     Ok(())
/// }
/// let f = preflight().unwrap_err();
/// assert_eq!(f.code(), 3);
/// assert!(f.to_string().contains("invalid digit"));
/// ```
pub struct Failure {
    code: u32,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Failure {
    /// A failure with this message and exit code 1.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            code: crate::exit::FAILURE,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure with another exit code (0 is turned into 1: a failure is never a
    /// success to the host).
    #[must_use]
    pub fn with_code(mut self, code: u32) -> Failure {
        self.code = code.max(1);
        self
    }

    /// The exit code the host will see.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// The underlying error, when the failure was made from one.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Failure {
        let mut message = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            message.push_str(": ");
            message.push_str(&c.to_string());
            cause = c.source();
        }
        Failure {
            code: crate::exit::FAILURE,
            message,
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failure({}, {:?})", self.code, self.message)
    }
}

impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl Eq for Failure {}

impl Clone for Failure {
    fn clone(&self) -> Failure {
        Failure {
            code: self.code,
            message: self.message.clone(),
            source: None,
        }
    }
}

type Cleanup = (String, Pin<Box<dyn Future<Output = ()> + Send>>);

pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) host: HostKind,
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    pub(crate) events: Mutex<Option<mpsc::UnboundedReceiver<Event>>>,
    pub(crate) cleanups: Mutex<Vec<Cleanup>>,
    pub(crate) stop_reason: Mutex<Option<StopReason>>,
    pub(crate) declared_sockets: Vec<(String, crate::Listen)>,
    /// Resolved on the first `Context::listeners`: handed descriptors are taken once.
    pub(crate) listeners:
        std::sync::OnceLock<Result<crate::Listeners, (std::io::ErrorKind, String)>>,
}

/// The service's handle on its host, given to the start function. Cheap to clone.
///
/// ```no_run
/// # async fn serve(_: &stead::Context) {}
/// async fn start(ctx: stead::Context) -> Result<(), stead::Failure> {
///     // preflight checks and dependency initialisation go here: while they run the host
///     // is kept informed (SCM START_PENDING checkpoints, systemd EXTEND_TIMEOUT_USEC).
///     ctx.ready();
///     tokio::select! {
///         () = serve(&ctx) => {}
///         () = ctx.shutdown() => {} // SCM Stop, SIGTERM, Ctrl-C, …
///     }
///     Ok(()) // tasks started with ctx.spawn are awaited, then on_stop cleanups run
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) shared: Arc<Shared>,
}

impl Context {
    /// The service's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Which host runs the service.
    pub fn host(&self) -> HostKind {
        self.shared.host
    }

    /// The shutdown token: cancelled once, when the service must stop, whatever asked
    /// (SCM Stop/Shutdown/PreShutdown, SIGTERM, SIGINT, SIGQUIT, Ctrl-C, Ctrl-Break).
    /// Clone it into tasks and select on `cancelled()`.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shared.token.clone()
    }

    /// Completes when the service must stop.
    pub async fn shutdown(&self) {
        self.shared.token.cancelled().await;
    }

    /// Whether the service has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// Why the service is stopping, once it is.
    pub fn stop_reason(&self) -> Option<StopReason> {
        *self.shared.stop_reason.lock().expect("stop reason lock")
    }

    /// The sockets the service serves on (see [`Listeners`](crate::Listeners)): those its
    /// host handed over (systemd socket activation, the stead supervisor's `sockets`,
    /// launchd's `Sockets`), and each address declared with
    /// [`Service::listen`](crate::Service::listen) that the host did not hand, bound here.
    /// Every call returns its own handles on the same sockets. Under a host that hands
    /// sockets, a restart of the service loses no connection: the host keeps the socket
    /// open and the kernel queues connections until the new process accepts.
    ///
    /// ```no_run
    /// # async fn f(ctx: stead::Context) -> Result<(), stead::Failure> {
    /// let http = ctx.listeners()?.tcp("http")?;
    /// http.set_nonblocking(true)?;
    /// let http = tokio::net::TcpListener::from_std(http)?;
    /// # Ok(()) }
    /// ```
    pub fn listeners(&self) -> std::io::Result<crate::Listeners> {
        let resolved = self.shared.listeners.get_or_init(|| {
            crate::listeners::resolve(&self.shared.declared_sockets)
                .map_err(|e| (e.kind(), e.to_string()))
        });
        match resolved {
            Ok(l) => l.try_clone(),
            Err((kind, msg)) => Err(std::io::Error::new(*kind, msg.clone())),
        }
    }

    /// Reports the service ready: SCM `RUNNING`, systemd `READY=1`. Call it once start is
    /// done, and again after handling [`Event::Reload`]. Before it, the host sees the
    /// service as starting.
    pub fn ready(&self) {
        let _ = self.shared.inputs.send(Input::Ready);
    }

    /// Tells the host a reload began that the service started itself (an API call, a
    /// file watch) rather than an [`Event::Reload`] from the host: systemd gets
    /// `RELOADING=1`. Call [`Context::ready`] when it is done. Only while running.
    ///
    /// ```no_run
    /// # async fn reload_config() {}
    /// # fn f(ctx: stead::Context) { async move {
    /// ctx.reloading();
    /// reload_config().await;
    /// ctx.ready();
    /// # };}
    /// ```
    pub fn reloading(&self) {
        let _ = self.shared.inputs.send(Input::Reloading);
    }

    /// A one-line status for the host (systemd `STATUS=`, shown by `systemctl status`).
    pub fn status(&self, message: impl Into<String>) {
        let _ = self.shared.inputs.send(Input::Status(message.into()));
    }

    /// Changes how long the drain may take once the shutdown token is cancelled.
    pub fn set_stop_timeout(&self, timeout: Duration) {
        let _ = self.shared.inputs.send(Input::SetStopTimeout(timeout));
    }

    /// Asks the service to stop, as if the host had: the shutdown token is cancelled.
    pub fn stop(&self) {
        let _ = self.shared.inputs.send(Input::Stop(StopReason::Requested));
    }

    /// The stream of host controls. The first call takes it; later calls get a stream that
    /// ends at once.
    pub fn events(&self) -> Events {
        let rx = self.shared.events.lock().expect("events lock").take();
        if rx.is_none() {
            tracing::warn!("Context::events() called twice: the second stream is empty");
        }
        Events {
            rx,
            token: self.shared.token.clone(),
        }
    }

    /// Runs `task` on the runtime and tracks it: when the start function returns, stead
    /// waits for every tracked task (within the stop timeout) before the cleanups.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.tracker.spawn(task)
    }

    /// The task tracker behind [`Context::spawn`], for `spawn_blocking` or other spawners.
    pub fn tracker(&self) -> TaskTracker {
        self.shared.tracker.clone()
    }

    /// Registers a cleanup. Cleanups run after the start function returned and tracked
    /// tasks finished, in reverse order of registration (last initialised, first closed),
    /// each logged by `name`.
    pub fn on_stop<F>(&self, name: impl Into<String>, cleanup: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shared
            .cleanups
            .lock()
            .expect("cleanup lock")
            .push((name.into(), Box::pin(cleanup)));
    }

    /// Blocks the calling thread until the service must stop. For
    /// [`Service::run_blocking`](crate::Service::run_blocking) services; do not call it on
    /// the async runtime.
    pub fn wait_for_shutdown_blocking(&self) {
        let handle = Self::runtime_handle();
        handle.block_on(self.shared.token.cancelled());
    }

    fn runtime_handle() -> tokio::runtime::Handle {
        tokio::runtime::Handle::try_current()
            .or_else(|_| RUNTIME.lock().expect("runtime lock").clone().ok_or(()))
            .expect("a stead Context is used outside Service::run")
    }
}

/// The runtime of the current run, for blocking helpers called from plain threads.
pub(crate) static RUNTIME: Mutex<Option<tokio::runtime::Handle>> = Mutex::new(None);

/// Host controls, in order. Obtained once with [`Context::events`]. The stream ends when
/// the service is asked to stop, so a task looping over it ends with the service.
pub struct Events {
    rx: Option<mpsc::UnboundedReceiver<Event>>,
    token: CancellationToken,
}

impl Events {
    /// The next control; `None` once the service is stopping.
    pub async fn next(&mut self) -> Option<Event> {
        let rx = self.rx.as_mut()?;
        tokio::select! {
            biased;
            () = self.token.cancelled() => None,
            e = rx.recv() => e,
        }
    }

    /// The next control if one is waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.as_mut().and_then(|rx| rx.try_recv().ok())
    }

    /// The next control, blocking the thread (for `run_blocking` services).
    pub fn next_blocking(&mut self) -> Option<Event> {
        self.rx
            .as_mut()
            .and_then(mpsc::UnboundedReceiver::blocking_recv)
    }
}
