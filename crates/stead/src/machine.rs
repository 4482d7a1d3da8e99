//! The lifecycle of one service run as a pure state machine: inputs from the host, the
//! service and the clock go in; reports for the host and actions for the driver come out.
//! No I/O, no clock of its own: every adapter (SCM, systemd, console, …) shares it, and the
//! tests drive it with a fake clock.

use std::time::{Duration, Instant};

use crate::exit::Exit;
use crate::lifecycle::{Event, StopReason};

/// Where the service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The start function runs; `ready()` not yet called.
    Starting,
    /// Ready and serving.
    Running,
    /// Paused by the host (Windows SCM).
    Paused,
    /// The shutdown token is cancelled; the service drains.
    Stopping,
    /// Done: the exit was reported.
    Stopped,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The periodic tick (every `checkpoint_interval`).
    Tick,
    /// The service called `ready()`.
    Ready,
    /// The service called `status(msg)`.
    Status(String),
    /// The service changed its stop timeout.
    SetStopTimeout(Duration),
    /// The service began a reload of its own accord (not a host's [`Event::Reload`]):
    /// the host is told it is reloading until the next `ready()`.
    Reloading,
    /// The host or a signal asked the service to stop.
    Stop(StopReason),
    /// A control for the service: pause, continue, reload, custom, power, session.
    Control(Event),
    /// The start function returned, its tracked tasks finished and cleanups ran.
    Finished(Result<(), crate::Failure>),
}

/// What the host is told. Each adapter maps these to its own protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Still starting: SCM `START_PENDING` with this checkpoint and wait hint; systemd
    /// `EXTEND_TIMEOUT_USEC` after the first.
    Starting {
        /// Rises by one per tick, from 1.
        checkpoint: u32,
        /// How long until the next report at the latest.
        wait_hint: Duration,
    },
    /// Serving: SCM `RUNNING`; systemd `READY=1`.
    Running,
    /// SCM `PAUSED`.
    Paused,
    /// A reload began: systemd `RELOADING=1` (then `Running` when `ready()` is called again).
    Reloading,
    /// Free-form status: systemd `STATUS=`.
    Status(String),
    /// Draining: SCM `STOP_PENDING` with checkpoint; systemd `STOPPING=1`, then
    /// `EXTEND_TIMEOUT_USEC`.
    Stopping {
        /// Rises by one per tick, from 1.
        checkpoint: u32,
        /// How long until the next report at the latest.
        wait_hint: Duration,
    },
    /// Done: SCM `STOPPED` with the exit code; systemd `STATUS=` with the reason on failure.
    Stopped(Exit),
}

/// What the driver must do besides reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Tell the host.
    Report(Report),
    /// Cancel the shutdown token.
    Cancel,
    /// Hand this event to the service's event stream.
    Deliver(Event),
    /// Log a line about the lifecycle (warning level when `warn`).
    Log {
        /// Warning (true) or information.
        warn: bool,
        /// The line.
        message: String,
    },
    /// Stop waiting: the process exits with this now (after the `Stopped` report).
    Exit(Exit),
}

/// Timing of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often pending states are reported with a rising checkpoint.
    pub checkpoint_interval: Duration,
    /// How long the start function may take to call `ready()`; `None` waits forever.
    pub start_timeout: Option<Duration>,
    /// How long the service may take to finish after the shutdown token is cancelled.
    pub stop_timeout: Duration,
    /// Whether a pending start or stop extends the host's own timeout (systemd
    /// `EXTEND_TIMEOUT_USEC`); when false the unit's `TimeoutStartSec=` and
    /// `TimeoutStopSec=` hold as written. The SCM is always given checkpoints.
    pub extend_host_timeouts: bool,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            checkpoint_interval: Duration::from_secs(1),
            start_timeout: Some(Duration::from_secs(90)),
            stop_timeout: Duration::from_secs(30),
            extend_host_timeouts: true,
        }
    }
}

/// One run's state.
#[derive(Debug)]
pub struct Machine {
    timing: Timing,
    phase: Phase,
    checkpoint: u32,
    began: Instant,
    stop_began: Option<Instant>,
    stop_reason: Option<StopReason>,
    reloading: bool,
    /// Set when the start timed out: the exit is a start failure however the drain ends.
    start_timed_out: bool,
    accepts: Accepts,
}

/// Which optional controls the service handles; the others are refused or ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepts {
    /// Pause and continue (Windows SCM).
    pub pause: bool,
    /// Reload (SIGHUP, SCM `ParamChange`, `stead reload`).
    pub reload: bool,
    /// A second Ctrl-C while draining is not a request to exit at once: the drain goes on
    /// (a supervisor whose children must be stopped, not abandoned).
    pub second_interrupt_waits: bool,
}

impl Machine {
    /// A run that begins now; the first actions report `Starting` with checkpoint 1.
    pub fn start(timing: Timing, accepts: Accepts, now: Instant) -> (Machine, Vec<Action>) {
        let m = Machine {
            timing,
            phase: Phase::Starting,
            checkpoint: 1,
            began: now,
            stop_began: None,
            stop_reason: None,
            reloading: false,
            start_timed_out: false,
            accepts,
        };
        let first = vec![Action::Report(m.pending())];
        (m, first)
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Why the service is stopping, once it is.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop_reason
    }

    /// The stop timeout in force.
    pub fn stop_timeout(&self) -> Duration {
        self.timing.stop_timeout
    }

    fn wait_hint(&self) -> Duration {
        // Twice the tick: one late tick on a busy machine is not a hang.
        self.timing.checkpoint_interval * 2
    }

    fn pending(&self) -> Report {
        let (checkpoint, wait_hint) = (self.checkpoint, self.wait_hint());
        if self.phase == Phase::Stopping {
            Report::Stopping {
                checkpoint,
                wait_hint,
            }
        } else {
            Report::Starting {
                checkpoint,
                wait_hint,
            }
        }
    }

    /// Feeds one input; returns what to do, in order.
    pub fn feed(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Stopped {
            return out;
        }
        match input {
            Input::Tick => self.tick(now, &mut out),
            Input::Ready => match self.phase {
                Phase::Starting => {
                    self.phase = Phase::Running;
                    out.push(Action::Report(Report::Running));
                }
                Phase::Running | Phase::Paused if self.reloading => {
                    self.reloading = false;
                    out.push(Action::Report(Report::Running));
                }
                _ => {}
            },
            Input::Status(s) => out.push(Action::Report(Report::Status(s))),
            Input::SetStopTimeout(d) => self.timing.stop_timeout = d,
            Input::Reloading => {
                let serving = matches!(self.phase, Phase::Running | Phase::Paused);
                if serving && !self.reloading {
                    self.reloading = true;
                    out.push(Action::Report(Report::Reloading));
                }
            }
            Input::Stop(reason) => self.stop(reason, now, &mut out),
            Input::Control(event) => self.control(event, &mut out),
            Input::Finished(result) => self.finished(result, &mut out),
        }
        out
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Starting => {
                if let Some(limit) = self.timing.start_timeout
                    && now.duration_since(self.began) >= limit
                {
                    self.start_timed_out = true;
                    out.push(Action::Log {
                        warn: true,
                        message: format!(
                            "start did not report ready within {}; stopping (raise it with Service::start_timeout)",
                            human(limit)
                        ),
                    });
                    self.stop(StopReason::StartTimeout, now, out);
                    return;
                }
                self.checkpoint += 1;
                out.push(Action::Report(self.pending()));
            }
            Phase::Stopping => {
                let began = self.stop_began.unwrap_or(now);
                if now.duration_since(began) >= self.timing.stop_timeout {
                    let exit = Exit::stop_timeout(self.timing.stop_timeout);
                    out.push(Action::Log {
                        warn: true,
                        message: exit.reason.clone(),
                    });
                    self.end(exit, out);
                    return;
                }
                self.checkpoint += 1;
                out.push(Action::Report(self.pending()));
            }
            Phase::Running | Phase::Paused | Phase::Stopped => {}
        }
    }

    fn stop(&mut self, reason: StopReason, now: Instant, out: &mut Vec<Action>) {
        if self.phase == Phase::Stopping {
            if reason == StopReason::Interrupt
                && self.stop_reason == Some(StopReason::Interrupt)
                && !self.accepts.second_interrupt_waits
            {
                out.push(Action::Log {
                    warn: true,
                    message: "interrupted again: exiting without waiting for the drain".into(),
                });
                self.end(Exit::forced(), out);
            }
            return;
        }
        self.phase = Phase::Stopping;
        self.stop_reason = Some(reason);
        self.stop_began = Some(now);
        self.checkpoint = 1;
        self.reloading = false;
        out.push(Action::Log {
            warn: false,
            message: if self.timing.stop_timeout >= NO_LIMIT {
                format!(
                    "stopping ({}); draining with no time limit",
                    reason.describe()
                )
            } else {
                format!(
                    "stopping ({}); draining for at most {}",
                    reason.describe(),
                    human(self.timing.stop_timeout)
                )
            },
        });
        out.push(Action::Cancel);
        out.push(Action::Report(self.pending()));
    }

    fn control(&mut self, event: Event, out: &mut Vec<Action>) {
        let serving = matches!(self.phase, Phase::Running | Phase::Paused);
        match event {
            Event::Pause | Event::Continue if !self.accepts.pause => out.push(Action::Log {
                warn: true,
                message: format!("{event:?} refused: this service does not handle pause"),
            }),
            Event::Pause => {
                if self.phase == Phase::Running {
                    self.phase = Phase::Paused;
                    out.push(Action::Deliver(Event::Pause));
                    out.push(Action::Report(Report::Paused));
                }
            }
            Event::Continue => {
                if self.phase == Phase::Paused {
                    self.phase = Phase::Running;
                    out.push(Action::Deliver(Event::Continue));
                    out.push(Action::Report(Report::Running));
                }
            }
            Event::Reload if !self.accepts.reload => out.push(Action::Log {
                warn: true,
                message:
                    "reload ignored: this service does not handle reload (Service::handles_reload)"
                        .into(),
            }),
            Event::Reload if !serving => out.push(Action::Log {
                warn: true,
                message: format!("reload ignored while {:?}", self.phase).to_lowercase(),
            }),
            Event::Reload => {
                if !self.reloading {
                    self.reloading = true;
                    out.push(Action::Report(Report::Reloading));
                }
                out.push(Action::Deliver(Event::Reload));
            }
            other => out.push(Action::Deliver(other)),
        }
    }

    fn finished(&mut self, result: Result<(), crate::Failure>, out: &mut Vec<Action>) {
        let exit = match (self.phase, result) {
            (_, Ok(())) if self.start_timed_out => Exit::start_timeout(),
            (Phase::Starting, Err(f)) => {
                let e = Exit::failed(&f, true);
                out.push(Action::Log {
                    warn: true,
                    message: e.reason.clone(),
                });
                e
            }
            (_, Err(f)) => {
                let e = Exit::failed(&f, false);
                out.push(Action::Log {
                    warn: true,
                    message: e.reason.clone(),
                });
                e
            }
            (Phase::Stopping, Ok(())) => Exit::clean("stopped"),
            (_, Ok(())) => Exit::clean("the service finished on its own"),
        };
        self.end(exit, out);
    }

    fn end(&mut self, exit: Exit, out: &mut Vec<Action>) {
        self.phase = Phase::Stopped;
        out.push(Action::Report(Report::Stopped(exit.clone())));
        out.push(Action::Exit(exit));
    }
}

/// A stop timeout this long (a century) or longer is no limit: the drain is waited for.
pub const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `1.5s`, `30s`, `2m`: durations as people write them.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests;
