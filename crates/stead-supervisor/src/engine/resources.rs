//! Resource sampling and limits: the monitor that samples every running tree's CPU,
//! memory, fds and threads off the engine's thread, and the limits checked on each sample.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Engine, State};
use crate::control::api::Resources;

impl Engine {
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

    pub(super) fn check_limits(&mut self, now: Instant) {
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

    pub(super) fn due(&self, now: Instant) -> bool {
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
