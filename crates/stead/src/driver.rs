//! The async loop around the [`Machine`](crate::machine::Machine): runs the service's start
//! function, feeds the machine with host inputs, ticks and the service's end, and carries
//! out its actions on the [`Host`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::lifecycle::{Context, Shared};
use crate::machine::{Accepts, Action, Input, Machine, Phase, Timing};
use crate::runtime::{Host, HostKind};
use crate::{Exit, Failure};

/// The start function, type-erased so that host adapters (the SCM's static service main)
/// can hold it.
pub(crate) type Job =
    Box<dyn FnOnce(Context) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>> + Send>;

/// The liveness check for the watchdog.
pub(crate) type Liveness = Arc<dyn Fn() -> bool + Send + Sync>;

/// Everything about a run but the start function and the host.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) timing: Timing,
    pub(crate) handles: crate::runtime::scm_status::Handles,
    pub(crate) liveness: Option<Liveness>,
    /// Sockets declared with `Service::listen`, by name.
    pub(crate) sockets: Vec<(String, crate::Listen)>,
}

/// Runs one service to its end on the current runtime. `inputs` carries what the host's
/// own sources (signals, SCM controls) send.
pub(crate) async fn drive(
    plan: Plan,
    kind: HostKind,
    mut host: Box<dyn Host>,
    inputs: (mpsc::UnboundedSender<Input>, mpsc::UnboundedReceiver<Input>),
    job: Job,
) -> Exit {
    let (inputs_tx, mut inputs_rx) = inputs;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let shared = Arc::new(Shared {
        name: plan.name.clone(),
        host: kind,
        token: token.clone(),
        tracker: tracker.clone(),
        inputs: inputs_tx,
        events: Mutex::new(Some(events_rx)),
        cleanups: Mutex::new(Vec::new()),
        stop_reason: Mutex::new(None),
        declared_sockets: plan.sockets.clone(),
        listeners: std::sync::OnceLock::new(),
    });
    let ctx = Context {
        shared: shared.clone(),
    };

    let (mut machine, first) = Machine::start(
        plan.timing,
        Accepts {
            pause: plan.handles.pause,
            reload: plan.handles.reload,
            second_interrupt_waits: plan.handles.second_interrupt_waits,
        },
        Instant::now(),
    );
    for a in first {
        if let Action::Report(r) = a {
            host.report(&r);
        }
    }

    let service = tokio::spawn(job(ctx));
    let finish = finish(service, shared.clone());
    tokio::pin!(finish);
    let mut finished = false;

    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + plan.timing.checkpoint_interval,
        plan.timing.checkpoint_interval,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watchdog = host.watchdog().map(|d| d / 2);
    let mut dog = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    dog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut alive = true;
    // The tick matters only while starting or stopping (checkpoints, the time limits): a
    // running service sleeps with no timer of ours.
    let ticks_in = |phase: Phase| matches!(phase, Phase::Starting | Phase::Stopping);
    let mut ticking = ticks_in(machine.phase());

    loop {
        let actions = tokio::select! {
            result = &mut finish, if !finished => {
                finished = true;
                // What the service said before it returned (a last status, a stop) comes
                // before its end: the select picks among ready branches at random, and the
                // end would otherwise leave those inputs unread.
                let now = Instant::now();
                let mut actions = Vec::new();
                while let Ok(input) = inputs_rx.try_recv() {
                    actions.extend(machine.feed(input, now));
                }
                actions.extend(machine.feed(Input::Finished(result), now));
                actions
            }
            Some(input) = inputs_rx.recv() => machine.feed(input, Instant::now()),
            _ = tick.tick(), if ticking => machine.feed(Input::Tick, Instant::now()),
            _ = dog.tick(), if watchdog.is_some() => {
                if matches!(machine.phase(), Phase::Running | Phase::Paused) {
                    let ok = plan.liveness.as_ref().is_none_or(|f| f());
                    if ok {
                        host.ping();
                    } else if alive {
                        tracing::warn!("liveness check failed: not pinging the watchdog");
                    }
                    if ok && !alive {
                        tracing::info!("liveness check passes again: pinging the watchdog");
                    }
                    alive = ok;
                }
                Vec::new()
            }
        };
        let now_ticking = ticks_in(machine.phase());
        if now_ticking && !ticking {
            // A full period from now, not the ticks missed while running.
            tick.reset();
        }
        ticking = now_ticking;
        for action in actions {
            match action {
                Action::Report(r) => host.report(&r),
                Action::Cancel => {
                    *shared.stop_reason.lock().expect("stop reason lock") = machine.stop_reason();
                    token.cancel();
                }
                Action::Deliver(e) => {
                    let _ = events_tx.send(e);
                }
                Action::Log {
                    warn: true,
                    message,
                } => tracing::warn!("{message}"),
                Action::Log {
                    warn: false,
                    message,
                } => tracing::info!("{message}"),
                Action::Exit(exit) => return exit,
            }
        }
    }
}

/// Waits for the start function, then (the token cancelled, so tracked tasks see the end)
/// for every tracked task, then runs the cleanups, last registered first.
async fn finish(
    service: tokio::task::JoinHandle<Result<(), Failure>>,
    shared: Arc<Shared>,
) -> Result<(), Failure> {
    let result = match service.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let what = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic".into());
            Err(Failure::new(format!("the service panicked: {what}")))
        }
        Err(_) => Err(Failure::new("the service task was cancelled")),
    };
    shared.token.cancel();
    shared.tracker.close();
    if !shared.tracker.is_empty() {
        tracing::debug!("waiting for {} tracked task(s)", shared.tracker.len());
    }
    shared.tracker.wait().await;
    let cleanups = std::mem::take(&mut *shared.cleanups.lock().expect("cleanup lock"));
    for (name, cleanup) in cleanups.into_iter().rev() {
        tracing::debug!("cleanup: {name}");
        cleanup.await;
    }
    result
}

#[cfg(test)]
mod tests;
