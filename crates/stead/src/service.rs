//! [`Service`]: the builder a program's `main` ends with.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::driver::{Job, Plan};
use crate::lifecycle::Context;
use crate::logging::Logging;
use crate::machine::Timing;
use crate::runtime::HostKind;
use crate::runtime::scm_status::Handles;
use crate::{Exit, Failure};

/// A service: its name, timeouts, the controls it handles, and how it logs. `run` picks the
/// host (Windows SCM, systemd, launchd, the stead supervisor, or a console) and runs the
/// start function under it with the right lifecycle.
///
/// ```no_run
/// use std::time::Duration;
///
/// fn main() -> stead::Exit {
///     stead::Service::new("hello")
///         .stop_timeout(Duration::from_secs(10))
///         .handles_reload()
///         .run(|ctx| async move {
///             // preflight checks, open the database, bind sockets…
///             ctx.ready();
///             let mut events = ctx.events();
///             loop {
///                 tokio::select! {
///                     () = ctx.shutdown() => break,
///                     Some(stead::Event::Reload) = events.next() => {
///                         tracing::info!("reloading");
///                         ctx.ready();
///                     }
///                 }
///             }
///             Ok(())
///         })
/// }
/// ```
#[must_use = "a Service does nothing until run"]
pub struct Service {
    name: String,
    timing: Timing,
    handles: Handles,
    liveness: Option<crate::driver::Liveness>,
    logging: Logging,
    host: Option<HostKind>,
    worker_threads: Option<usize>,
    description: Option<String>,
    sockets: Vec<(String, crate::Listen)>,
    #[cfg(feature = "install")]
    install_commands: bool,
}

impl Service {
    /// A service named `name`: the SCM service name, the syslog identifier and the Event
    /// Log source.
    pub fn new(name: impl Into<String>) -> Service {
        Service {
            name: name.into(),
            timing: Timing::default(),
            handles: Handles::default(),
            liveness: None,
            logging: Logging::Auto,
            host: None,
            worker_threads: None,
            description: None,
            sockets: Vec::new(),
            #[cfg(feature = "install")]
            install_commands: false,
        }
    }

    /// Declares a socket the service serves on, under `name`: taken from the host when it
    /// hands one by that name (systemd `FileDescriptorName=`, stead's
    /// `sockets = [{ listen = …, name = … }]`, launchd's `Sockets` key), bound at `addr`
    /// otherwise. [`Context::listeners`] returns them.
    ///
    /// ```no_run
    /// let service = stead::Service::new("web")
    ///     .listen("http", stead::Listen::Tcp("0.0.0.0:8080".parse().unwrap()));
    /// ```
    pub fn listen(mut self, name: impl Into<String>, addr: crate::Listen) -> Service {
        self.sockets.push((name.into(), addr));
        self
    }

    /// What the service does, in a sentence: the description `install` registers (systemd
    /// `Description=`, the SCM description, the plist's comment).
    pub fn description(mut self, text: impl Into<String>) -> Service {
        self.description = Some(text.into());
        self
    }

    /// The program answers `install`, `uninstall`, `start`, `stop`, `restart` and `status`
    /// as its first argument by registering or controlling itself with the OS's service
    /// manager (systemd, the Windows SCM, launchd, `OpenRC`) — the same installer as
    /// `stead install`; any other arguments run the service. Feature `install`.
    ///
    /// ```no_run
    /// fn main() -> stead::Exit {
    ///     // `orders install -- --port 8080` registers `orders --port 8080` as a service.
    ///     stead::Service::new("orders")
    ///         .description("Takes orders")
    ///         .install_commands()
    ///         .run(|ctx| async move {
    ///             ctx.ready();
    ///             ctx.shutdown().await;
    ///             Ok(())
    ///         })
    /// }
    /// ```
    #[cfg(feature = "install")]
    pub fn install_commands(mut self) -> Service {
        self.install_commands = true;
        self
    }

    /// How long the drain may take after the shutdown token is cancelled (default 30 s).
    /// Past it the process logs why and exits with [`exit::STOP_TIMEOUT`](crate::exit::STOP_TIMEOUT).
    /// [`Duration::MAX`] (anything from [`machine::NO_LIMIT`](crate::machine::NO_LIMIT)
    /// up) waits for the drain however long it takes, leaving the limit to the host.
    pub fn stop_timeout(mut self, timeout: Duration) -> Service {
        self.timing.stop_timeout = timeout;
        self
    }

    /// How long start may take before `ready()` (default 90 s; `None`: no limit). While it
    /// runs the host is told the service is still starting; past it the service is stopped
    /// and exits with [`exit::START_TIMEOUT`](crate::exit::START_TIMEOUT).
    pub fn start_timeout(mut self, timeout: Option<Duration>) -> Service {
        self.timing.start_timeout = timeout;
        self
    }

    /// How often a pending start or stop is reported (default 1 s): the SCM checkpoint
    /// rises and the wait hint is twice this; systemd gets `EXTEND_TIMEOUT_USEC`.
    pub fn checkpoint_interval(mut self, every: Duration) -> Service {
        self.timing.checkpoint_interval = every.max(Duration::from_millis(10));
        self
    }

    /// The service handles [`Event::Pause`](crate::Event::Pause) and
    /// [`Event::Continue`](crate::Event::Continue): the SCM is told it accepts them.
    pub fn handles_pause(mut self) -> Service {
        self.handles.pause = true;
        self
    }

    /// The service handles [`Event::Reload`](crate::Event::Reload) (SIGHUP, SCM
    /// `ParamChange`). Without it SIGHUP is ignored with a warning (in a console it stops).
    pub fn handles_reload(mut self) -> Service {
        self.handles.reload = true;
        self
    }

    /// The service handles [`Event::ReopenLogs`](crate::Event::ReopenLogs): SIGUSR1 on Unix
    /// asks it to reopen its log files (what `logrotate`'s `postrotate` sends). Without it
    /// SIGUSR1 keeps its default action (the process ends). No effect on Windows.
    ///
    /// ```no_run
    /// fn main() -> stead::Exit {
    ///     stead::Service::new("writer").handles_log_reopen().run(|ctx| async move {
    ///         ctx.ready();
    ///         let mut events = ctx.events();
    ///         loop {
    ///             tokio::select! {
    ///                 () = ctx.shutdown() => break,
    ///                 Some(stead::Event::ReopenLogs) = events.next() => { /* reopen */ }
    ///             }
    ///         }
    ///         Ok(())
    ///     })
    /// }
    /// ```
    pub fn handles_log_reopen(mut self) -> Service {
        self.handles.reopen_logs = true;
        self
    }

    /// Whether a second Ctrl-C (SIGINT) while the service drains exits at once (the
    /// default, `true`: a person who presses it twice wants out) or is ignored so that the
    /// drain completes (for a service whose drain must not be cut short, such as one that
    /// stops child processes).
    pub fn second_interrupt_forces(mut self, forces: bool) -> Service {
        self.handles.second_interrupt_waits = !forces;
        self
    }

    /// Whether a pending start or stop extends the host's own timeout (default `true`):
    /// under systemd, `EXTEND_TIMEOUT_USEC` every checkpoint, so the service's own
    /// [`start_timeout`](Service::start_timeout) and [`stop_timeout`](Service::stop_timeout)
    /// decide. With `false` the unit's `TimeoutStartSec=` and `TimeoutStopSec=` hold as
    /// written. The Windows SCM is given checkpoints either way (it needs them).
    pub fn extend_host_timeouts(mut self, extend: bool) -> Service {
        self.timing.extend_host_timeouts = extend;
        self
    }

    /// The service wants [`Event::Power`](crate::Event::Power) from the SCM.
    pub fn handles_power_events(mut self) -> Service {
        self.handles.power = true;
        self
    }

    /// The service wants [`Event::Session`](crate::Event::Session) from the SCM.
    pub fn handles_session_events(mut self) -> Service {
        self.handles.session = true;
        self
    }

    /// A liveness check for the host's watchdog (systemd `WatchdogSec=`): stead pings at
    /// half the interval only while `check` returns true, so a hung service is restarted.
    /// Keep it cheap: it runs on the runtime (read an atomic heartbeat, say).
    pub fn liveness(mut self, check: impl Fn() -> bool + Send + Sync + 'static) -> Service {
        self.liveness = Some(Arc::new(check));
        self
    }

    /// How to log (default: [`Logging::Auto`], the host's sink).
    pub fn logging(mut self, logging: Logging) -> Service {
        self.logging = logging;
        self
    }

    /// Runs under this host instead of detecting it (Unix hosts only; the Windows SCM is
    /// always detected by connecting to its dispatcher).
    pub fn host(mut self, kind: HostKind) -> Service {
        self.host = Some(kind);
        self
    }

    /// Worker threads of the runtime stead builds (default: one per core). `0` runs
    /// everything on the thread that calls `run` (tokio's current-thread runtime): the
    /// least memory, for a service that mostly waits.
    pub fn worker_threads(mut self, n: usize) -> Service {
        self.worker_threads = Some(n);
        self
    }

    /// Runs the service to its end and returns how it ended; return that from `main`.
    /// Builds its own tokio runtime: do not call it inside one (no `#[tokio::main]`).
    pub fn run<F, Fut>(self, start: F) -> Exit
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Failure>> + Send + 'static,
    {
        let job: Job = Box::new(move |ctx| Box::pin(start(ctx)));
        self.launch(job)
    }

    /// Like [`run`](Service::run) for code without async: `start` runs on a thread of its
    /// own and uses the blocking helpers ([`Context::wait_for_shutdown_blocking`],
    /// [`Events::next_blocking`](crate::Events::next_blocking)).
    ///
    /// ```no_run
    /// fn main() -> stead::Exit {
    ///     stead::Service::new("plain").run_blocking(|ctx| {
    ///         ctx.ready();
    ///         ctx.wait_for_shutdown_blocking();
    ///         Ok(())
    ///     })
    /// }
    /// ```
    pub fn run_blocking<F>(self, start: F) -> Exit
    where
        F: FnOnce(Context) -> Result<(), Failure> + Send + 'static,
    {
        let job: Job = Box::new(move |ctx| {
            Box::pin(async move {
                match tokio::task::spawn_blocking(move || start(ctx)).await {
                    Ok(r) => r,
                    Err(e) => Err(Failure::new(format!("the service thread failed: {e}"))),
                }
            })
        });
        self.launch(job)
    }

    fn launch(self, job: Job) -> Exit {
        if !self.sockets.is_empty() {
            crate::listeners::take_at_start();
        }
        #[cfg(feature = "install")]
        if self.install_commands {
            let args: Vec<String> = std::env::args().skip(1).collect();
            if let Some(exit) =
                crate::install::handle(&self.name, self.description.as_deref(), &args)
            {
                return exit;
            }
        }
        let plan = Plan {
            sockets: self.sockets,
            name: self.name,
            handles: self.handles,
            timing: self.timing,
            liveness: self.liveness,
        };
        let setup = crate::platform::Setup {
            plan,
            logging: self.logging,
            host: self.host,
            worker_threads: self.worker_threads,
        };
        let exit = crate::platform::launch(setup, job);
        crate::logging::finish();
        exit
    }
}

/// Builds the runtime for one run and drives it; shared by every platform's `launch`.
pub(crate) fn run_on_new_runtime(
    worker_threads: Option<usize>,
    name: &str,
    body: impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Exit> + Send>>,
) -> Exit {
    let mut builder = if worker_threads == Some(0) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().thread_name(format!("{name}-rt"));
    if let Some(n) = worker_threads.filter(|n| *n > 0) {
        builder.worker_threads(n);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            let exit = Exit {
                code: crate::exit::FAILURE,
                reason: format!("cannot start the async runtime: {e}"),
            };
            tracing::error!("{}", exit.reason);
            return exit;
        }
    };
    *crate::lifecycle::RUNTIME.lock().expect("runtime lock") = Some(runtime.handle().clone());
    let exit = runtime.block_on(body());
    *crate::lifecycle::RUNTIME.lock().expect("runtime lock") = None;
    // Tasks still running past a stop timeout are abandoned, not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    exit
}
