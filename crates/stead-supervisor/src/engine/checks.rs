//! The engine's side of readiness and health: opens notify sockets, starts due probes,
//! applies their verdicts (a restart, an event, a hook) as programs change state.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Engine, Event, State};
use crate::config::{CheckAction, Probe};
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

    pub(super) fn unhealthy(
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
}
