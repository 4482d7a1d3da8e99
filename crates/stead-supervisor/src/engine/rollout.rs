//! Rolling restarts: `stead restart --rolling`, and a reload of a program with
//! `update = "rolling"`. For each instance in turn a replacement (a slot of its own, with the
//! same name) is started beside it; once the replacement is ready the old instance is
//! stopped, and when it is gone the replacement takes its place. A replacement that gives up
//! before it is ready (an exit, a failed `ready` check, a stop) is stopped and removed, the
//! old instance keeps running, and the rollout ends with the reason.
//!
//! With held sockets (`sockets = [...]`) both processes accept on the same socket while they
//! overlap, so no connection is refused or dropped; the old one then drains as it stops.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Engine, Event, Slot, State};
use crate::config::ProgramConfig;
use crate::control::api::ActionReport;
use crate::control::{ApiError, Reply};
use crate::health::Checks;

/// One rolling restart in progress.
pub(super) struct Rollout {
    /// Slots still to replace (by id), each with the settings its replacement gets.
    queue: VecDeque<(u64, ProgramConfig)>,
    step: Option<Step>,
    /// The instances asked for, for the answer.
    names: Vec<String>,
    /// The program its events are filed under.
    group: String,
    /// How many were replaced so far.
    replaced: usize,
    reply: Option<Reply<ActionReport>>,
}

struct Step {
    old: u64,
    new: u64,
    /// The replacement's settings: the old instance's next ones if this step fails.
    config: ProgramConfig,
    /// The replacement is ready and the old instance is being stopped.
    stopping_old: bool,
    /// Nothing ran to overlap: the instance itself was (re)started, and the step waits until
    /// it is ready or gives up.
    plain: bool,
}

/// What became of the current step.
enum Progress {
    /// Still waiting for an event.
    Waiting,
    /// Move on to the next instance.
    Next,
    /// The rollout ends with this reason; the old instance keeps running.
    Failed(String),
}

impl Rollout {
    /// A rollout of `slots` (ids) with their new settings, answered on `reply` when over.
    pub(super) fn new(
        slots: Vec<(u64, ProgramConfig)>,
        names: Vec<String>,
        reply: Option<Reply<ActionReport>>,
    ) -> Rollout {
        let mut groups: Vec<&str> = slots.iter().map(|(_, c)| c.group.as_str()).collect();
        groups.dedup();
        let group = groups.join(", ");
        Rollout {
            group,
            queue: slots.into(),
            step: None,
            names,
            replaced: 0,
            reply,
        }
    }

    /// Whether it concerns slot `id` (queued, being replaced, or a replacement).
    pub(super) fn involves(&self, id: u64) -> bool {
        self.queue.iter().any(|(q, _)| *q == id)
            || self
                .step
                .as_ref()
                .is_some_and(|s| s.old == id || s.new == id)
    }
}

impl Engine {
    fn slot_index(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    /// Whether the instance of slot `idx` takes part in a rolling restart: queued or being
    /// replaced, a replacement itself, or one with a replacement (live, or failed and still
    /// stopping) under its name. A plain start or restart of it is refused meanwhile: it
    /// would bring back what the rollout stops.
    pub(super) fn in_rollout(&self, idx: usize) -> bool {
        let slot = &self.slots[idx];
        let name = &slot.program.config().name;
        slot.surge_of.is_some()
            || self.rollouts.iter().any(|r| r.involves(slot.id))
            || self
                .slots
                .iter()
                .any(|s| s.surge_of.is_some() && s.program.config().name == *name)
    }

    /// Whether a rollout or what is left of one (a failed replacement still stopping) is
    /// there: a reload waits until both are gone, since two slots then share one name.
    pub(super) fn rolling(&self) -> bool {
        !self.rollouts.is_empty() || self.slots.iter().any(|s| s.surge_of.is_some())
    }

    /// The refusal of a request that would cut into a rolling restart of `idx`.
    pub(super) fn busy_rolling(&self, idx: usize, what: &str) -> ApiError {
        let name = self.slots[idx].program.config().name.clone();
        ApiError::new(
            409,
            format!("a rolling restart of {name} is in progress; {what} would cut into it"),
            Some(format!(
                "wait until it is over (stead events -f shows it), or stop {name}"
            )),
        )
    }

    /// Starts a rolling restart of the slots at `idxs`; answered on `reply` when it is over
    /// (at once, with the programs' states, when `reply` is `None`'s caller does not wait).
    pub(super) fn begin_rollout(
        &mut self,
        idxs: &[usize],
        reply: Option<Reply<ActionReport>>,
    ) -> Result<(), (ApiError, Option<Reply<ActionReport>>)> {
        if let Some(&busy) = idxs.iter().find(|&&i| self.in_rollout(i)) {
            return Err((self.busy_rolling(busy, "another"), reply));
        }
        let slots = idxs
            .iter()
            .map(|&i| {
                let s = &self.slots[i];
                let config = s
                    .pending_config
                    .clone()
                    .unwrap_or_else(|| s.program.config().clone());
                (s.id, config)
            })
            .collect();
        let names = idxs
            .iter()
            .map(|&i| self.slots[i].program.config().name.clone())
            .collect();
        self.rollouts.push(Rollout::new(slots, names, reply));
        Ok(())
    }

    /// Moves every rollout on as far as the programs' states allow; called at each settle.
    pub(super) fn advance_rollouts(&mut self, now: Instant) {
        let mut rollouts = std::mem::take(&mut self.rollouts);
        rollouts.retain_mut(|r| self.advance(r, now));
        // Rollouts begun meanwhile (none today) would have been pushed to `self.rollouts`.
        rollouts.append(&mut self.rollouts);
        self.rollouts = rollouts;
    }

    /// Ends every rollout: the supervisor is shutting down. Replacements stop with the rest.
    pub(super) fn abandon_rollouts(&mut self, why: &str) {
        for r in std::mem::take(&mut self.rollouts) {
            if let Some(reply) = r.reply {
                let _ = reply.send(Err(ApiError::new(
                    409,
                    format!("the rolling restart was abandoned: {why}"),
                    None,
                )));
            }
        }
    }

    /// One rollout's progress; false once it is over (and answered).
    fn advance(&mut self, r: &mut Rollout, now: Instant) -> bool {
        loop {
            let progress = match &mut r.step {
                None => {
                    let Some((id, config)) = r.queue.pop_front() else {
                        self.rollout_done(r, now, None);
                        return false;
                    };
                    match self.replace(id, config, now) {
                        Some(step) => {
                            // Looked at at once: without a `ready` check the replacement
                            // is ready as it runs, and no later event might come to say so.
                            r.step = Some(step);
                            continue;
                        }
                        None => Progress::Next,
                    }
                }
                Some(step) => self.step_progress(step, now),
            };
            match progress {
                Progress::Waiting => return true,
                Progress::Next => {
                    if r.step.take().is_some() {
                        r.replaced += 1;
                    }
                }
                Progress::Failed(why) => {
                    // What was not rolled in stays due: the instances take their new
                    // settings at their next start, and a reload still sees them changed.
                    let step = r.step.take().map(|s| (s.old, s.config));
                    for (id, config) in step.into_iter().chain(r.queue.drain(..)) {
                        if let Some(slot) = self.slot_index(id).map(|i| &mut self.slots[i])
                            && config != *slot.program.config()
                        {
                            slot.pending_config = Some(config);
                        }
                    }
                    self.rollout_done(r, now, Some(why));
                    return false;
                }
            }
        }
    }

    /// Begins replacing slot `id`: a replacement slot beside it, started. When there is
    /// nothing to overlap (the instance is not running) it is started or restarted the plain
    /// way with the new settings, and the step waits for it; `None` when the slot is gone or
    /// on its way out.
    fn replace(&mut self, id: u64, config: ProgramConfig, now: Instant) -> Option<Step> {
        let idx = self.slot_index(id)?;
        let old = &mut self.slots[idx];
        if old.remove_when_stopped {
            return None;
        }
        if old.program.state() != State::Running {
            if old.program.state().is_at_rest() {
                old.pending_config = None;
                old.resolved = None;
                old.program.set_config(config.clone());
            } else {
                old.pending_config = Some(config.clone());
            }
            self.feed(idx, Event::Restart, now);
            return Some(Step {
                old: id,
                new: id,
                config,
                stopping_old: false,
                plain: true,
            });
        }
        let name = config.name.clone();
        let old_pid = old.program.pid();
        let shared_log = old.log.clone();
        let mut surge: Slot = self.new_slot(config.clone());
        // Both write to the instance's one log (its files, its counters).
        if shared_log.is_some() {
            surge.log = shared_log;
        }
        surge.surge_of = Some(id);
        let new_id = surge.id;
        self.slots.push(surge);
        self.reindex();
        let new_idx = self.slots.len() - 1;
        self.events.push(
            &name,
            "rollout",
            format!(
                "starting a replacement beside pid {}",
                old_pid.map_or_else(|| "-".into(), |p| p.to_string())
            ),
        );
        self.feed(new_idx, Event::Start, now);
        Some(Step {
            old: id,
            new: new_id,
            config,
            stopping_old: false,
            plain: false,
        })
    }

    fn step_progress(&mut self, step: &mut Step, now: Instant) -> Progress {
        if step.plain {
            let Some(idx) = self.slot_index(step.old) else {
                return Progress::Next;
            };
            let s = &self.slots[idx];
            return match s.program.state() {
                State::Running if s.checks.as_ref().is_none_or(Checks::is_ready) => Progress::Next,
                // Not `Waiting`: what it waits for may never come, and the rollout would
                // hold every reload until then.
                State::Running | State::Starting | State::Stopping => Progress::Waiting,
                _ => Progress::Failed(format!(
                    "{} did not become ready ({})",
                    s.program.config().name,
                    s.program.reason()
                )),
            };
        }
        let Some(new_idx) = self.slot_index(step.new) else {
            return Progress::Failed("its replacement was removed".into());
        };
        let Some(old_idx) = self.slot_index(step.old) else {
            // The old instance is gone already (stopped and removed by a person): the
            // replacement simply takes over.
            self.slots[new_idx].surge_of = None;
            return Progress::Next;
        };
        if !step.stopping_old {
            let new = &self.slots[new_idx];
            let state = new.program.state();
            let ready = state == State::Running && new.checks.as_ref().is_none_or(Checks::is_ready);
            if ready {
                let name = new.program.config().name.clone();
                let pid = new.program.pid().unwrap_or(0);
                self.events.push(
                    &name,
                    "rollout",
                    format!("replacement pid {pid} is ready; stopping the old instance"),
                );
                self.feed(old_idx, Event::Stop, now);
                step.stopping_old = true;
                return self.step_progress(step, now);
            }
            // Waiting for a dependency counts as giving up: it may never come, and the
            // rollout would hold every reload until then.
            let gave_up =
                !matches!(state, State::Starting | State::Running) || new.program.restarts() > 0;
            if gave_up {
                let reason = new.program.reason().to_string();
                let new = &mut self.slots[new_idx];
                new.remove_when_stopped = true;
                new.autostart = false;
                self.feed(new_idx, Event::Stop, now);
                return Progress::Failed(format!(
                    "the replacement of {} did not become ready ({reason}); the old instance keeps running",
                    self.slots[old_idx].program.config().name
                ));
            }
            return Progress::Waiting;
        }
        let old = &self.slots[old_idx];
        if old.child.is_some() || !old.program.state().is_at_rest() {
            return Progress::Waiting;
        }
        // The old instance is gone: the replacement takes its place (and its position).
        let mut new = self.slots.remove(new_idx);
        new.surge_of = None;
        let old_idx = self.slot_index(step.old).expect("found above");
        let old = std::mem::replace(&mut self.slots[old_idx], new);
        if let Some(pid) = old.indexed_pid {
            self.pids.remove(&pid);
        }
        self.reindex();
        Progress::Next
    }

    fn rollout_done(&mut self, r: &mut Rollout, now: Instant, failed: Option<String>) {
        let group = r.group.clone();
        match &failed {
            None => self.events.push(
                &group,
                "rollout",
                format!("done: {} instance(s) replaced", r.replaced),
            ),
            Some(why) => {
                tracing::warn!("rolling restart of {}: {why}", r.names.join(", "));
                self.events
                    .push(&group, "rollout", format!("failed: {why}"));
            }
        }
        let Some(reply) = r.reply.take() else {
            return;
        };
        let result = match failed {
            None => {
                let programs = self
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| r.names.contains(&s.program.config().name))
                    .map(|(i, _)| self.status_of(i, now))
                    .collect();
                Ok(ActionReport { programs })
            }
            Some(why) => Err(ApiError::new(
                500,
                why,
                Some("see its output (stead logs) and its events (stead events)".into()),
            )),
        };
        let _ = reply.send(result);
    }
}
