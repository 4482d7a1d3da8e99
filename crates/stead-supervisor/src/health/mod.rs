//! Readiness and liveness of one running instance: which probe is due, what its results
//! mean, when the start timeout or the watchdog runs out. Pure (time passed in): the engine
//! runs the probes (`probe.rs`) and feeds results and notify messages back.

#[cfg(unix)]
#[path = "notify_unix.rs"]
pub(crate) mod notify;
#[cfg(windows)]
#[path = "notify_windows.rs"]
pub(crate) mod notify;
pub(crate) mod probe;
pub(crate) mod resources;

use std::collections::VecDeque;
use std::sync::Arc;

use std::time::{Duration, Instant};

use crate::config::{CheckAction, HealthCheck, HealthProbe, Probe, ProgramConfig, ReadyCheck};
use crate::format_duration;

pub(crate) use stead_logs::LineWatch;

/// Which check a probe result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Ready,
    Health,
}

/// A probe to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) which: Which,
    pub(crate) probe: Probe,
    pub(crate) timeout: Duration,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ready,
    NotReadyInTime(String),
    Unhealthy { reason: String, action: CheckAction },
    Healthy,
}

/// Health as status shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check, or none finished yet.
    Unknown,
    /// The last check passed (or failed fewer times than `failures`).
    Healthy,
    /// `failures` checks in a row failed.
    Unhealthy,
}

/// The last result of a check, for status.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    /// Passed.
    pub ok: bool,
    /// What it said (the error, the status line, the match count…).
    pub message: String,
    /// When, as seconds since the Unix epoch.
    pub at: f64,
}

/// What the probes and notify sockets report to the engine, by instance id.
#[derive(Debug)]
pub(crate) enum CheckEvent {
    Probe {
        instance: String,
        which: Which,
        outcome: Result<String, String>,
    },
    // Sent by the Unix notify socket only.
    #[cfg_attr(not(unix), allow(dead_code))]
    Notify {
        instance: String,
        message: NotifyMessage,
    },
}

/// A notify datagram's effect (the parsed fields the engine passes on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NotifyMessage {
    pub(crate) ready: bool,
    pub(crate) reloading: bool,
    pub(crate) stopping: bool,
    pub(crate) watchdog: bool,
    pub(crate) status: Option<String>,
    pub(crate) extend: Option<Duration>,
    pub(crate) main_pid: Option<u32>,
}

impl NotifyMessage {
    /// Parses `KEY=VALUE` lines; unknown keys and malformed lines are ignored (as systemd
    /// does); `None` for an empty or non-UTF-8 datagram.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn parse(data: &[u8]) -> Option<NotifyMessage> {
        if data.is_empty() {
            return None;
        }
        let text = std::str::from_utf8(data).ok()?;
        let mut m = NotifyMessage::default();
        for line in text.split('\n') {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "READY" => m.ready |= v == "1",
                "RELOADING" => m.reloading |= v == "1",
                "STOPPING" => m.stopping |= v == "1",
                "WATCHDOG" => m.watchdog |= v == "1",
                "STATUS" => m.status = Some(v.chars().take(256).collect()),
                "EXTEND_TIMEOUT_USEC" => {
                    m.extend = v.parse::<u64>().ok().map(Duration::from_micros);
                }
                "MAINPID" => m.main_pid = v.parse().ok(),
                _ => {}
            }
        }
        Some(m)
    }
}

fn epoch_now() -> f64 {
    crate::wall::epoch_secs()
}

/// The checks of one running instance.
#[derive(Debug)]
pub(crate) struct Checks {
    ready_cfg: Option<ReadyCheck>,
    health_cfg: Option<HealthCheck>,
    spawned: Instant,
    ready: bool,
    ready_at: Option<Instant>,
    ready_deadline: Option<Instant>,
    next_ready: Option<Instant>,
    ready_in_flight: bool,
    health: Health,
    failures: u32,
    next_health: Option<Instant>,
    health_in_flight: bool,
    last_watchdog: Option<Instant>,
    ready_watch: Option<Arc<LineWatch>>,
    health_watch: Option<Arc<LineWatch>>,
    samples: VecDeque<(Instant, u64)>,
    /// The last result of each check.
    pub(crate) last_ready: Option<CheckResult>,
    pub(crate) last_health: Option<CheckResult>,
    /// `STATUS=` from a notify program.
    pub(crate) status_text: Option<String>,
}

impl Checks {
    /// The checks of an instance spawned at `now`; `watches` are the line counters made for
    /// its `log` probes (ready, health).
    pub(crate) fn new(
        config: &ProgramConfig,
        now: Instant,
        watches: (Option<Arc<LineWatch>>, Option<Arc<LineWatch>>),
    ) -> Checks {
        let ready_cfg = config.ready.clone();
        let mut c = Checks {
            ready: ready_cfg.is_none(),
            ready_at: ready_cfg.is_none().then_some(now),
            // `timeout = "infinity"`: no deadline.
            ready_deadline: ready_cfg.as_ref().and_then(|r| now.checked_add(r.timeout)),
            next_ready: ready_cfg.as_ref().map(|_| now),
            ready_cfg,
            health_cfg: config.health.clone(),
            spawned: now,
            ready_in_flight: false,
            health: Health::Unknown,
            failures: 0,
            next_health: None,
            health_in_flight: false,
            last_watchdog: None,
            ready_watch: watches.0,
            health_watch: watches.1,
            samples: VecDeque::new(),
            last_ready: None,
            last_health: None,
            status_text: None,
        };
        if c.ready {
            c.schedule_health(now);
        }
        c
    }

    /// Which line patterns the log pipeline must count for `config`: (ready, health).
    pub(crate) fn watches(
        config: &ProgramConfig,
    ) -> (Option<Arc<LineWatch>>, Option<Arc<LineWatch>>) {
        let ready = match config.ready.as_ref().map(|r| &r.probe) {
            Some(Probe::Log(p)) => LineWatch::new(p),
            _ => None,
        };
        let health = match config.health.as_ref().map(|h| &h.probe) {
            Some(HealthProbe::LogRate { pattern, .. }) => LineWatch::new(pattern),
            _ => None,
        };
        (ready, health)
    }

    /// Whether the program needs `NOTIFY_SOCKET`.
    pub(crate) fn wants_notify(config: &ProgramConfig) -> bool {
        matches!(config.ready.as_ref().map(|r| &r.probe), Some(Probe::Notify))
            || matches!(
                config.health.as_ref().map(|h| &h.probe),
                Some(HealthProbe::Watchdog(_))
            )
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready
    }

    pub(crate) fn health(&self) -> Health {
        self.health
    }

    fn schedule_health(&mut self, now: Instant) {
        if let Some(h) = &self.health_cfg {
            let from = self.ready_at.unwrap_or(now);
            self.next_health = Some((from + h.grace).max(now) + h.interval);
            if let HealthProbe::Watchdog(_) = h.probe {
                self.last_watchdog = Some(now + h.grace);
            }
        }
    }

    /// When `tick` is next needed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let mut d = Vec::new();
        if !self.ready {
            d.extend(self.ready_deadline);
            if !self.ready_in_flight {
                d.extend(self.next_ready);
            }
        } else if !self.health_in_flight {
            d.extend(self.next_health);
        }
        if let (Some(last), Some(HealthProbe::Watchdog(every))) = (
            self.last_watchdog,
            self.health_cfg.as_ref().map(|h| &h.probe),
        ) && self.ready
        {
            d.push(last + *every);
        }
        d.into_iter().min()
    }

    /// Time passed: probes to start, and what changed.
    pub(crate) fn tick(&mut self, now: Instant) -> (Vec<Due>, Vec<Verdict>) {
        let mut due = Vec::new();
        let mut verdicts = Vec::new();
        if !self.ready {
            let Some(cfg) = self.ready_cfg.clone() else {
                return (due, verdicts);
            };
            if let Some(w) = &self.ready_watch
                && w.count() > 0
            {
                self.last_ready = Some(CheckResult {
                    ok: true,
                    message: format!("a line matched /{}/", w.pattern()),
                    at: epoch_now(),
                });
                verdicts.extend(self.become_ready(now));
                return (due, verdicts);
            }
            if self.ready_deadline.is_some_and(|d| now >= d) {
                self.ready_deadline = None;
                self.next_ready = None;
                let last = self
                    .last_ready
                    .as_ref()
                    .map(|r| format!(" (last try: {})", r.message))
                    .unwrap_or_default();
                verdicts.push(Verdict::NotReadyInTime(format!(
                    "not ready within {} ({}){last}",
                    format_duration(cfg.timeout),
                    cfg.probe.describe()
                )));
                return (due, verdicts);
            }
            let polled = matches!(
                cfg.probe,
                Probe::Tcp(_) | Probe::Http { .. } | Probe::Exec(_)
            );
            if polled && !self.ready_in_flight && self.next_ready.is_some_and(|t| now >= t) {
                self.ready_in_flight = true;
                due.push(Due {
                    which: Which::Ready,
                    probe: cfg.probe.clone(),
                    timeout: cfg.interval.max(Duration::from_secs(1)),
                });
            } else if !polled && self.next_ready.is_some_and(|t| now >= t) {
                // Log lines are counted as they come: look again after the interval.
                self.next_ready = Some(now + cfg.interval);
            }
            return (due, verdicts);
        }
        let Some(h) = self.health_cfg.clone() else {
            return (due, verdicts);
        };
        if let (HealthProbe::Watchdog(every), Some(last)) = (&h.probe, self.last_watchdog)
            && now >= last + *every
        {
            self.last_watchdog = Some(now);
            let reason = format!("no WATCHDOG=1 for {}", format_duration(*every));
            self.last_health = Some(CheckResult {
                ok: false,
                message: reason.clone(),
                at: epoch_now(),
            });
            verdicts.extend(self.failed(&reason, &h, true));
        }
        if self.health_in_flight || self.next_health.is_none_or(|t| now < t) {
            return (due, verdicts);
        }
        self.next_health = Some(now + h.interval);
        match &h.probe {
            HealthProbe::Probe(p) => {
                self.health_in_flight = true;
                due.push(Due {
                    which: Which::Health,
                    probe: p.clone(),
                    timeout: h.timeout,
                });
            }
            HealthProbe::LogRate {
                max,
                window,
                pattern,
                ..
            } => {
                let count = self.health_watch.as_ref().map_or(0, |w| w.count());
                self.samples.push_back((now, count));
                while self
                    .samples
                    .front()
                    .is_some_and(|(t, _)| now.saturating_duration_since(*t) > *window)
                {
                    self.samples.pop_front();
                }
                // Matches since the oldest sample still in the window (or since spawn).
                let base = if now.saturating_duration_since(self.spawned) <= *window {
                    0
                } else {
                    self.samples.front().map_or(count, |(_, c)| *c)
                };
                let seen = count - base.min(count);
                let ok = seen <= u64::from(*max);
                let message = format!(
                    "{seen} lines matched /{pattern}/ in the last {} (max {max})",
                    format_duration(*window)
                );
                self.last_health = Some(CheckResult {
                    ok,
                    message: message.clone(),
                    at: epoch_now(),
                });
                if ok {
                    verdicts.extend(self.passed());
                } else {
                    // A rate over its window is already a judgement: no threshold on top.
                    verdicts.extend(self.failed(&message, &h, true));
                }
            }
            HealthProbe::Watchdog(_) => {}
        }
        (due, verdicts)
    }

    fn become_ready(&mut self, now: Instant) -> Vec<Verdict> {
        if self.ready {
            return Vec::new();
        }
        self.ready = true;
        self.ready_at = Some(now);
        self.ready_deadline = None;
        self.next_ready = None;
        self.schedule_health(now);
        vec![Verdict::Ready]
    }

    fn passed(&mut self) -> Vec<Verdict> {
        self.failures = 0;
        if self.health == Health::Healthy {
            return Vec::new();
        }
        let was = self.health;
        self.health = Health::Healthy;
        if was == Health::Unhealthy {
            vec![Verdict::Healthy]
        } else {
            Vec::new()
        }
    }

    fn failed(&mut self, reason: &str, h: &HealthCheck, at_once: bool) -> Vec<Verdict> {
        self.failures += 1;
        if (self.failures < h.failures && !at_once) || self.health == Health::Unhealthy {
            return Vec::new();
        }
        self.health = Health::Unhealthy;
        let reason = if at_once || h.failures == 1 {
            format!("unhealthy: {reason}")
        } else {
            format!(
                "unhealthy: {} checks in a row failed, the last: {reason}",
                self.failures
            )
        };
        vec![Verdict::Unhealthy {
            reason,
            action: h.action,
        }]
    }

    /// A probe finished.
    pub(crate) fn result(
        &mut self,
        which: Which,
        outcome: Result<String, String>,
        now: Instant,
    ) -> Vec<Verdict> {
        let (ok, message) = match outcome {
            Ok(m) => (true, m),
            Err(m) => (false, m),
        };
        let result = CheckResult {
            ok,
            message: message.clone(),
            at: epoch_now(),
        };
        match which {
            Which::Ready => {
                self.ready_in_flight = false;
                self.last_ready = Some(result);
                if ok {
                    return self.become_ready(now);
                }
                if let Some(cfg) = &self.ready_cfg {
                    self.next_ready = Some(now + cfg.interval);
                }
                Vec::new()
            }
            Which::Health => {
                self.health_in_flight = false;
                self.last_health = Some(result);
                let Some(h) = self.health_cfg.clone() else {
                    return Vec::new();
                };
                if ok {
                    self.passed()
                } else {
                    self.failed(&message, &h, false)
                }
            }
        }
    }

    /// A notify datagram arrived.
    pub(crate) fn notify(&mut self, m: &NotifyMessage, now: Instant) -> Vec<Verdict> {
        let mut out = Vec::new();
        if let Some(s) = &m.status {
            self.status_text = Some(s.clone());
        }
        if let Some(extra) = m.extend
            && !self.ready
            && let Some(d) = &mut self.ready_deadline
        {
            *d = (*d).max(now + extra);
        }
        if m.watchdog && self.last_watchdog.is_some() {
            self.last_watchdog = Some(now);
            if self.health == Health::Unhealthy {
                self.health = Health::Healthy;
                self.failures = 0;
                out.push(Verdict::Healthy);
            } else {
                self.health = Health::Healthy;
            }
        }
        if m.ready
            && matches!(
                self.ready_cfg.as_ref().map(|r| &r.probe),
                Some(Probe::Notify)
            )
        {
            self.last_ready = Some(CheckResult {
                ok: true,
                message: "READY=1".into(),
                at: epoch_now(),
            });
            out.extend(self.become_ready(now));
        }
        out
    }
}

#[cfg(test)]
mod tests;
