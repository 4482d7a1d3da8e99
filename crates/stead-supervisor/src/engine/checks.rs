//! The engine's side of readiness, health, resource limits, events and hooks: opens notify
//! sockets, starts due probes, applies their verdicts, samples resources, runs hooks.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::{Engine, Event, State};
use crate::config::{CheckAction, Probe};
use crate::control::api::{EventsReport, Resources};
use crate::health::notify::{self, NotifySocket};
use crate::health::probe::{self, Started};
use crate::health::{CheckEvent, Due, Verdict};
use crate::spawn;

impl Engine {
    /// A notify socket for a new instance of slot `idx`.
    pub(super) fn open_notify(
        &mut self,
        idx: usize,
        instance: &str,
    ) -> Result<NotifySocket, String> {
        if self.notify_dir.is_none() {
            // The state marker is the state directory this supervisor holds the lock of.
            let state_dir = self.state_marker.as_ref().map(std::path::PathBuf::from);
            self.notify_dir = Some(
                notify::make_dir(state_dir.as_deref())
                    .map_err(|e| format!("cannot create the notify socket directory: {e}"))?,
            );
        }
        let dir = self
            .notify_dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let cfg = self.slots[idx].program.config();
        let owner = spawn::owner_of(cfg.user.as_deref(), cfg.group_name.as_deref())
            .map_err(|e| format!("cannot find the owner for NOTIFY_SOCKET: {e}"))?;
        NotifySocket::open(&dir, instance, owner, self.checks_tx.clone())
            .map_err(|e| format!("cannot create NOTIFY_SOCKET in {}: {e}", dir.display()))
    }

    /// A program changed state: drop the checks of an instance that no longer runs, record
    /// the event, run `on_fatal`.
    pub(super) fn on_transition(&mut self, idx: usize) {
        let slot = &mut self.slots[idx];
        let state = slot.program.state();
        if state != State::Running {
            slot.checks = None;
            slot.notify = None;
        }
        let name = slot.program.config().name.clone();
        let reason = slot.program.reason().to_string();
        let kind = match state {
            State::Running => "started",
            State::Backoff => "backoff",
            State::Fatal => "fatal",
            State::Stopped => "stopped",
            State::Stopping => "stopping",
            State::Waiting => "waiting",
            // An exit (`Exited`) is recorded by the exit itself, with its status and what
            // follows; a start, once it runs.
            State::Exited | State::Starting => return,
        };
        let detail = match (state, slot.program.pid()) {
            (State::Running, Some(pid)) => format!("pid {pid}"),
            _ => reason.clone(),
        };
        self.events.push(&name, kind, detail);
        if state == State::Fatal
            && let Some(hook) = self.slots[idx].program.config().on_fatal.clone()
        {
            self.run_hook(&hook, &name, "fatal", &reason);
        }
    }

    /// Runs a hook command, detached: its exit is reaped and logged, never waited for.
    pub(super) fn run_hook(&mut self, argv: &[String], program: &str, event: &str, reason: &str) {
        let mut env = BTreeMap::new();
        env.insert("STEAD_PROGRAM".to_string(), program.to_string());
        env.insert("STEAD_EVENT".to_string(), event.to_string());
        env.insert("STEAD_REASON".to_string(), reason.to_string());
        let cwd = self
            .config
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || std::path::PathBuf::from("."),
                std::path::Path::to_path_buf,
            );
        // A hook is the operator's alert: it runs as stead does.
        match spawn::spawn_aux(argv, &cwd, &BTreeMap::new(), &env, (None, None)) {
            Ok(mut child) => {
                tracing::info!(
                    program,
                    "ran the {event} hook `{}` (pid {})",
                    argv[0],
                    child.pid
                );
                if let Some(tx) = child.register.take() {
                    self.aux.insert(child.pid, tx);
                }
                let name = argv[0].clone();
                let program = program.to_string();
                tokio::spawn(async move {
                    drop(child.stderr.take());
                    if let Ok(status) = child.exit.await
                        && status != crate::program::ExitStatus::Code(0)
                    {
                        tracing::warn!(program, "hook `{name}` {status}");
                    }
                });
            }
            Err(e) => tracing::error!(program, "cannot run the {event} hook `{}`: {e}", argv[0]),
        }
    }

    /// Starts due probes, applies time-based verdicts, samples resources when due.
    pub(super) fn tick_checks(&mut self, now: Instant) {
        for idx in 0..self.slots.len() {
            let Some(checks) = self.slots[idx].checks.as_mut() else {
                continue;
            };
            if checks.deadline().is_none_or(|d| d > now) {
                continue;
            }
            let (due, verdicts) = checks.tick(now);
            for d in due {
                self.start_probe(idx, &d);
            }
            for v in verdicts {
                self.apply_verdict(idx, v, now);
            }
        }
        if self.monitor.due(now) {
            self.sample_resources(now);
        }
    }

    /// Begins a sample of every running program's tree, taken off the engine's thread
    /// (reading `/proc` for thousands of processes takes a while); [`Engine::on_sample`]
    /// gets it.
    pub(super) fn sample_resources(&mut self, now: Instant) {
        let targets: Vec<(String, u32)> = self
            .slots
            .iter()
            .filter_map(|s| s.program.pid().map(|pid| (s.instance_id.clone(), pid)))
            .collect();
        self.monitor.start(targets, now);
    }

    /// A sample was taken: keep its figures, check the limits, remove what stopped instances
    /// left, and answer the requests that waited for it.
    pub(super) fn on_sample(&mut self, sample: Sample) {
        let now = Instant::now();
        self.monitor.absorb(sample, now);
        self.check_limits(now);
        let live: Vec<&str> = self
            .slots
            .iter()
            .filter(|s| s.program.pid().is_some())
            .map(|s| s.instance_id.as_str())
            .collect();
        crate::health::resources::tidy(&live);
        for req in std::mem::take(&mut self.deferred) {
            self.on_request(req);
        }
    }

    /// Someone looks (status, metrics, `stead top`): keep sampling for a while, and sample
    /// at once when the figures are stale. True when the answer must wait for that sample.
    pub(super) fn resources_wanted(&mut self, now: Instant) -> bool {
        if self.monitor.watch(now) && !self.shutting_down {
            if !self.monitor.sampling() {
                self.sample_resources(now);
            }
            return self.monitor.sampling();
        }
        false
    }

    fn start_probe(&mut self, idx: usize, due: &Due) {
        let slot = &self.slots[idx];
        let instance = slot.instance_id.clone();
        let cfg = slot.program.config();
        let started = match &due.probe {
            Probe::Exec(argv) => match spawn::spawn_aux(
                argv,
                &cfg.cwd,
                &cfg.env,
                &BTreeMap::new(),
                (cfg.user.as_deref(), cfg.group_name.as_deref()),
            ) {
                Ok(mut child) => {
                    if let Some(tx) = child.register.take() {
                        self.aux.insert(child.pid, tx);
                    }
                    Started::Exec {
                        name: argv[0].clone(),
                        child,
                    }
                }
                Err(e) => {
                    let _ = self.checks_tx.send(CheckEvent::Probe {
                        instance,
                        which: due.which,
                        outcome: Err(format!("cannot run {}: {e}", argv[0])),
                    });
                    return;
                }
            },
            other => Started::Net(other.clone()),
        };
        let tx = self.checks_tx.clone();
        let which = due.which;
        let timeout = due.timeout;
        tokio::spawn(async move {
            let outcome = probe::finish(started, timeout).await;
            let _ = tx.send(CheckEvent::Probe {
                instance,
                which,
                outcome,
            });
        });
    }

    /// A probe finished or a notify datagram arrived.
    pub(super) fn on_check(&mut self, ev: CheckEvent) {
        let now = Instant::now();
        let instance = match &ev {
            CheckEvent::Probe { instance, .. } | CheckEvent::Notify { instance, .. } => {
                instance.clone()
            }
        };
        let Some(idx) = self
            .slots
            .iter()
            .position(|s| s.instance_id == instance && s.checks.is_some())
        else {
            return; // an instance that stopped meanwhile
        };
        let name = self.slots[idx].program.config().name.clone();
        let checks = self.slots[idx].checks.as_mut().expect("checked above");
        let verdicts = match ev {
            CheckEvent::Probe { which, outcome, .. } => checks.result(which, outcome, now),
            CheckEvent::Notify { message, .. } => {
                if message.stopping {
                    tracing::info!(program = %name, "the program says it is stopping");
                }
                if let Some(pid) = message.main_pid {
                    tracing::debug!(program = %name, "MAINPID={pid} ignored: stead tracks the process it started");
                }
                checks.notify(&message, now)
            }
        };
        for v in verdicts {
            self.apply_verdict(idx, v, now);
        }
    }

    fn apply_verdict(&mut self, idx: usize, v: Verdict, now: Instant) {
        let name = self.slots[idx].program.config().name.clone();
        match v {
            Verdict::Ready => {
                tracing::info!(program = %name, "ready");
                let detail = self.slots[idx]
                    .checks
                    .as_ref()
                    .and_then(|c| c.last_ready.as_ref().map(|r| r.message.clone()))
                    .unwrap_or_default();
                self.events.push(&name, "ready", detail);
            }
            Verdict::NotReadyInTime(reason) => {
                tracing::warn!(program = %name, "{reason}");
                self.events.push(&name, "failed", reason.clone());
                self.feed(idx, Event::Failed { reason }, now);
            }
            Verdict::Unhealthy { reason, action } => {
                tracing::warn!(program = %name, "{reason}");
                self.events.push(&name, "unhealthy", reason.clone());
                self.unhealthy(idx, &name, reason, action, now);
            }
            Verdict::Healthy => {
                tracing::info!(program = %name, "healthy again");
                self.events.push(&name, "healthy", "");
            }
        }
    }

    fn unhealthy(
        &mut self,
        idx: usize,
        name: &str,
        reason: String,
        action: CheckAction,
        now: Instant,
    ) {
        if let Some(hook) = self.slots[idx].program.config().on_unhealthy.clone() {
            self.run_hook(&hook, name, "unhealthy", &reason);
        }
        if action == CheckAction::Restart {
            self.feed(idx, Event::Failed { reason }, now);
        }
    }

    fn check_limits(&mut self, now: Instant) {
        for idx in 0..self.slots.len() {
            let slot = &self.slots[idx];
            let (Some(limits), Some(_)) = (slot.program.config().limits, slot.program.pid()) else {
                continue;
            };
            if slot.program.state() != State::Running {
                continue;
            }
            let Some(r) = self.monitor.of(&slot.instance_id, true) else {
                continue;
            };
            let over = match (limits.max_memory, limits.max_cpu) {
                (Some(m), _) if r.rss_bytes > m => Some(format!(
                    "memory {} over max_memory {}",
                    human_bytes(r.rss_bytes),
                    human_bytes(m)
                )),
                (_, Some(c)) if r.cpu_percent > c => {
                    Some(format!("CPU {:.0}% over max_cpu {c:.0}%", r.cpu_percent))
                }
                _ => None,
            };
            if let Some(reason) = over {
                let name = slot.program.config().name.clone();
                tracing::warn!(program = %name, "{reason}");
                self.events.push(&name, "limit", reason.clone());
                self.unhealthy(
                    idx,
                    &name,
                    format!("over a limit: {reason}"),
                    limits.action,
                    now,
                );
            }
        }
    }
}

impl Engine {
    /// Answers the event requests that have something to see or whose wait is over.
    pub(super) fn answer_event_waiters(&mut self, now: Instant) {
        if self.event_waiters.is_empty() {
            return;
        }
        let last = self.events.last_seq();
        let waiters = std::mem::take(&mut self.event_waiters);
        for (after, until, reply) in waiters {
            if last > after || now >= until || self.shutting_down {
                let _ = reply.send(Ok(EventsReport {
                    events: self.events.after(after, 1000),
                    last,
                }));
            } else {
                self.event_waiters.push((after, until, reply));
            }
        }
    }

    /// The Prometheus text exposition of every program.
    pub(super) fn metrics(&self, now: Instant) -> String {
        let mut m = crate::metrics::Exposition::default();
        for idx in 0..self.slots.len() {
            let st = self.status_of(idx, now);
            m.program(&st);
        }
        m.finish(self.events.last_seq())
    }
}

fn human_bytes(n: u64) -> String {
    const MB: f64 = 1_000_000.0;
    format!("{:.1} MB", n as f64 / MB)
}

/// A sample of trees (by instance id), and when it began.
pub(crate) type Sample = (Instant, HashMap<String, crate::health::resources::Tree>);

/// Samples CPU, memory, fds and threads of every running program's tree: all the time when
/// something depends on it (limits, the metrics endpoint, an explicit `[metrics] sample`),
/// else only while someone looks — so an idle supervisor keeps no timer. A sample is taken
/// on tokio's blocking pool and delivered on a channel the engine waits on.
pub(crate) struct Monitor {
    every: Duration,
    next: Instant,
    always: bool,
    watched_until: Option<Instant>,
    last: Option<Instant>,
    /// CPU seconds of each instance's tree at the last sample.
    last_cpu: HashMap<String, (Instant, f64)>,
    current: HashMap<String, Resources>,
    /// A sample is being taken.
    sampling: bool,
    samples_tx: tokio::sync::mpsc::UnboundedSender<Sample>,
    samples_rx: Option<tokio::sync::mpsc::UnboundedReceiver<Sample>>,
}

impl Monitor {
    pub(crate) fn new(every: Option<Duration>, always: bool) -> Monitor {
        let always = always || every.is_some();
        let every = every.unwrap_or(Duration::from_secs(5));
        let (samples_tx, samples_rx) = tokio::sync::mpsc::unbounded_channel();
        Monitor {
            every,
            next: Instant::now() + every.min(Duration::from_secs(1)),
            always,
            watched_until: None,
            last: None,
            last_cpu: HashMap::new(),
            current: HashMap::new(),
            sampling: false,
            samples_tx,
            samples_rx: Some(samples_rx),
        }
    }

    /// Where samples arrive (taken once, by the engine's loop).
    pub(crate) fn samples(&mut self) -> tokio::sync::mpsc::UnboundedReceiver<Sample> {
        self.samples_rx.take().expect("samples channel")
    }

    /// Whether a sample is being taken.
    pub(crate) fn sampling(&self) -> bool {
        self.sampling
    }

    pub(crate) fn deadline(&self, any_running: bool) -> Option<Instant> {
        let wanted = self.always || self.watched_until.is_some_and(|w| w > Instant::now());
        (any_running && wanted && crate::health::resources::SUPPORTED).then_some(self.next)
    }

    /// After a reload: whether sampling must run all the time now.
    pub(crate) fn set_always(&mut self, always: bool) {
        self.always = always;
    }

    /// Someone looks: sample for the next minute. True when the figures are stale (older
    /// than two intervals) and should be taken now.
    fn watch(&mut self, now: Instant) -> bool {
        self.watched_until = Some(now + Duration::from_secs(60));
        crate::health::resources::SUPPORTED
            && self
                .last
                .is_none_or(|t| now.saturating_duration_since(t) > self.every * 2)
    }

    fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Begins a sample of `targets` (instance id, main pid), unless one is being taken.
    fn start(&mut self, targets: Vec<(String, u32)>, now: Instant) {
        self.next = now + self.every;
        if self.sampling {
            return;
        }
        self.sampling = true;
        let tx = self.samples_tx.clone();
        tokio::task::spawn_blocking(move || {
            // CPU percentages divide by the time between samples: count from the reading.
            let at = Instant::now();
            let _ = tx.send((at, crate::health::resources::sample(&targets)));
        });
    }

    /// Keeps a sample's figures; CPU percentages are over the time since the last one.
    fn absorb(&mut self, (now, trees): Sample, done: Instant) {
        self.sampling = false;
        // Fresh from when it was complete: a slow sample is not stale at once.
        self.last = Some(done);
        let mut current = HashMap::new();
        for (instance, t) in trees {
            let cpu_percent = match self.last_cpu.get(&instance) {
                Some((at, secs)) if now > *at => {
                    ((t.cpu_seconds - secs).max(0.0) / now.duration_since(*at).as_secs_f64())
                        * 100.0
                }
                _ => 0.0,
            };
            self.last_cpu.insert(instance.clone(), (now, t.cpu_seconds));
            current.insert(
                instance,
                Resources {
                    cpu_percent,
                    cpu_seconds: t.cpu_seconds,
                    rss_bytes: t.rss_bytes,
                    fds: t.fds,
                    threads: t.threads,
                    processes: t.processes,
                    cgroup: t.cgroup,
                },
            );
        }
        self.last_cpu.retain(|k, _| current.contains_key(k));
        self.current = current;
    }

    pub(crate) fn of(&self, instance: &str, running: bool) -> Option<Resources> {
        running
            .then(|| self.current.get(instance).copied())
            .flatten()
    }
}
