//! Rolling restarts: `stead restart --rolling`, and a reload of a program with
//! `update = "rolling"`. Instance by instance, in order, as far as the program's
//! [`RollingLimits`] allow at once:
//! - a *surge* step (up to `max_surge` at a time) starts a replacement (a slot of its own,
//!   with the same name) beside the instance; once the replacement is ready the old instance
//!   is stopped, and when it is gone the replacement takes its place. A replacement that
//!   gives up before it is ready (an exit, a failed `ready` check, a stop) is stopped and
//!   removed, and the old instance keeps running;
//! - an *in-place* step (up to `max_unavailable` at a time, once the surge is used up)
//!   restarts the instance with its new settings and waits until it is ready.
//!
//! The first step of a program that fails ends the rollout of that program: no further step
//! of it begins, those under way run to their end, and the answer gives the first reason of
//! each program that failed. Other programs in the same rollout go on.
//!
//! With held sockets (`sockets = [...]`) both processes accept on the same socket while they
//! overlap, so no connection is refused or dropped; the old one then drains as it stops.

use std::collections::VecDeque;
use std::time::Instant;

use std::collections::BTreeMap;

use super::{Engine, Event, Slot, State};
use crate::config::{Amount, ProgramConfig, RollingLimits};
use crate::control::api::ActionReport;
use crate::control::{ApiError, Reply};
use crate::health::Checks;

/// `max_surge` / `max_unavailable` given with one rolling restart, over the programs' own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pace {
    /// Overrides each program's `max_surge`.
    pub(crate) max_surge: Option<Amount>,
    /// Overrides each program's `max_unavailable`.
    pub(crate) max_unavailable: Option<Amount>,
}

impl Pace {
    /// The limits for a program whose own are `own`.
    fn over(self, own: RollingLimits) -> RollingLimits {
        RollingLimits {
            max_surge: self.max_surge.unwrap_or(own.max_surge),
            max_unavailable: self.max_unavailable.unwrap_or(own.max_unavailable),
        }
    }
}

/// One rolling restart in progress.
pub(super) struct Rollout {
    /// Slots still to replace (by id), each with the settings its replacement gets.
    queue: VecDeque<(u64, ProgramConfig)>,
    /// The steps under way.
    steps: Vec<Step>,
    /// `(surge, unavailable)` steps each program may have under way at once.
    limits: BTreeMap<String, (u32, u32)>,
    /// The instances asked for, for the answer.
    names: Vec<String>,
    /// The program its events are filed under.
    group: String,
    /// How many were replaced so far.
    replaced: usize,
    /// Each program whose step failed, with the first reason: no step of it begins after.
    failed: Vec<(String, String)>,
    reply: Option<Reply<ActionReport>>,
}

/// How a step replaces its instance, and which limit it counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A replacement beside the running instance (`max_surge`).
    Surge,
    /// The instance itself is restarted with its new settings (`max_unavailable`), or
    /// started, when it was not running (then against whichever limit had room).
    InPlace { counts_as_surge: bool },
}

struct Step {
    old: u64,
    new: u64,
    /// The replacement's settings: the old instance's next ones if this step fails.
    config: ProgramConfig,
    kind: Kind,
    /// The replacement is ready and the old instance is being stopped.
    stopping_old: bool,
    /// The instance's automatic restarts as an in-place step began: one more is a failure
    /// (a `ready` check that timed out, an exit), even when the restart comes at once.
    restarts: u64,
}

impl Step {
    fn counts_as_surge(&self) -> bool {
        matches!(
            self.kind,
            Kind::Surge
                | Kind::InPlace {
                    counts_as_surge: true
                }
        )
    }
}

/// What became of a step.
enum Progress {
    /// Still waiting for an event.
    Waiting,
    /// Done: the instance runs its new settings.
    Done,
    /// Failed with this reason; the old instance keeps running (a surge step).
    Failed(String),
}

/// Whether the next instance can begin now.
enum Begin {
    /// Under way.
    Started(Box<Step>),
    /// Nothing to do for it (gone, or on its way out).
    Skipped,
    /// Its program's limits are used up by the steps under way.
    NoRoom,
}

impl Rollout {
    /// A rollout of `slots` (ids) with their new settings at `pace`, answered on `reply` when
    /// over.
    pub(super) fn new(
        slots: Vec<(u64, ProgramConfig)>,
        names: Vec<String>,
        pace: Pace,
        reply: Option<Reply<ActionReport>>,
    ) -> Rollout {
        let mut groups: Vec<&str> = slots.iter().map(|(_, c)| c.group.as_str()).collect();
        groups.dedup();
        let group = groups.join(", ");
        let limits = slots
            .iter()
            .map(|(_, c)| (c.group.clone(), pace.over(c.rolling).resolve(c.numprocs)))
            .collect();
        Rollout {
            group,
            queue: slots.into(),
            steps: Vec::new(),
            limits,
            names,
            replaced: 0,
            failed: Vec::new(),
            reply,
        }
    }

    /// Whether it concerns slot `id` (queued, being replaced, or a replacement).
    pub(super) fn involves(&self, id: u64) -> bool {
        self.queue.iter().any(|(q, _)| *q == id)
            || self.steps.iter().any(|s| s.old == id || s.new == id)
    }

    /// `(surge, unavailable)` steps of `group` under way.
    fn in_flight(&self, group: &str) -> (u32, u32) {
        self.steps
            .iter()
            .filter(|s| s.config.group == group)
            .fold((0, 0), |(surge, down), s| {
                if s.counts_as_surge() {
                    (surge + 1, down)
                } else {
                    (surge, down + 1)
                }
            })
    }

    /// What room `group` has: `(surge, unavailable)` steps it may still begin.
    fn room(&self, group: &str) -> (u32, u32) {
        let (max_surge, max_down) = self.limits.get(group).copied().unwrap_or((1, 0));
        let (surge, down) = self.in_flight(group);
        (
            max_surge.saturating_sub(surge),
            max_down.saturating_sub(down),
        )
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

    /// Starts a rolling restart of the slots at `idxs` at `pace`; answered on `reply` when
    /// it is over (the caller answers at once when it does not wait).
    pub(super) fn begin_rollout(
        &mut self,
        idxs: &[usize],
        pace: Pace,
        reply: Option<Reply<ActionReport>>,
    ) -> Result<(), (ApiError, Option<Reply<ActionReport>>)> {
        if let Some(&busy) = idxs.iter().find(|&&i| self.in_rollout(i)) {
            return Err((self.busy_rolling(busy, "another"), reply));
        }
        for &i in idxs {
            let config = self.slots[i].program.config();
            if let Some(why) = pace.over(config.rolling).problem() {
                let e = ApiError::new(
                    400,
                    format!("{why} (for {})", config.group),
                    Some("give max_surge or max_unavailable a count above 0".into()),
                );
                return Err((e, reply));
            }
        }
        let slots = idxs
            .iter()
            .map(|&i| {
                let s = &self.slots[i];
                let config = s
                    .pending_config
                    .as_deref()
                    .unwrap_or_else(|| s.program.config())
                    .clone();
                (s.id, config)
            })
            .collect();
        let names = idxs
            .iter()
            .map(|&i| self.slots[i].program.config().name.clone())
            .collect();
        self.rollouts.push(Rollout::new(slots, names, pace, reply));
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

    /// The instances at `idxs` are being stopped by request: a rollout that has not reached
    /// them yet leaves them stopped (they take their new settings at their next start).
    pub(super) fn unqueue(&mut self, idxs: &[usize]) {
        let ids: Vec<u64> = idxs.iter().map(|&i| self.slots[i].id).collect();
        let mut dropped = Vec::new();
        for r in &mut self.rollouts {
            let (gone, kept) = std::mem::take(&mut r.queue)
                .into_iter()
                .partition(|(id, _)| ids.contains(id));
            r.queue = kept;
            dropped.extend::<VecDeque<_>>(gone);
        }
        for (id, config) in dropped {
            self.leave_due(id, config);
        }
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
            let mut moved = false;
            let mut i = 0;
            while i < r.steps.len() {
                match self.step_progress(&mut r.steps[i], now) {
                    Progress::Waiting => i += 1,
                    Progress::Done => {
                        r.steps.remove(i);
                        r.replaced += 1;
                        moved = true;
                    }
                    Progress::Failed(why) => {
                        let step = r.steps.remove(i);
                        if !r.failed.iter().any(|(g, _)| *g == step.config.group) {
                            r.failed.push((step.config.group.clone(), why));
                        }
                        self.leave_due(step.old, step.config);
                        moved = true;
                    }
                }
            }
            // What was not rolled in stays due: the instances of a program that failed take
            // their new settings at their next start, and a reload still sees them changed.
            let mut i = 0;
            while i < r.queue.len() {
                if r.failed.iter().any(|(g, _)| *g == r.queue[i].1.group) {
                    let (id, config) = r.queue.remove(i).expect("in range");
                    self.leave_due(id, config);
                } else {
                    i += 1;
                }
            }
            // In order within each program; a program without room holds back only its own.
            let mut full: Vec<String> = Vec::new();
            let mut i = 0;
            while i < r.queue.len() {
                let (id, config) = &r.queue[i];
                if full.contains(&config.group) {
                    i += 1;
                    continue;
                }
                let room = r.room(&config.group);
                match self.begin_step(*id, config, room, now) {
                    Begin::NoRoom => {
                        full.push(config.group.clone());
                        i += 1;
                    }
                    Begin::Skipped => {
                        r.queue.remove(i);
                    }
                    Begin::Started(step) => {
                        r.queue.remove(i);
                        // Looked at in the next round: without a `ready` check the
                        // replacement is ready as it runs, and no later event might come
                        // to say so.
                        r.steps.push(*step);
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        if !r.steps.is_empty() || !r.queue.is_empty() {
            return true;
        }
        let failed = std::mem::take(&mut r.failed);
        let failed = (!failed.is_empty()).then(|| {
            failed
                .into_iter()
                .map(|(_, why)| why)
                .collect::<Vec<_>>()
                .join("; ")
        });
        self.rollout_done(r, now, failed);
        false
    }

    /// Slot `id` was not rolled to `config`: it takes it at its next start.
    fn leave_due(&mut self, id: u64, config: ProgramConfig) {
        if let Some(slot) = self.slot_index(id).map(|i| &mut self.slots[i])
            && config != *slot.program.config()
        {
            slot.pending_config = Some(Box::new(config));
        }
    }

    /// Begins replacing slot `id` if its program has `room` (`(surge, unavailable)` steps it
    /// may still begin): a replacement beside it, started, while there is surge; else the
    /// instance is restarted with `config` where an instance may be unavailable. An instance
    /// that is not running is started (or restarted) with `config` in place, against either
    /// limit.
    fn begin_step(
        &mut self,
        id: u64,
        config: &ProgramConfig,
        (surge, down): (u32, u32),
        now: Instant,
    ) -> Begin {
        let Some(idx) = self.slot_index(id) else {
            return Begin::Skipped;
        };
        let old = &mut self.slots[idx];
        if old.remove_when_stopped {
            return Begin::Skipped;
        }
        let running = old.program.state() == State::Running;
        // An instance that is not running is down already: restarting it in place takes
        // nothing more away, so it uses the unavailable room first and spares the surge.
        let kind = match (running, surge > 0, down > 0) {
            (true, true, _) => Kind::Surge,
            (false, _, true) | (true, false, true) => Kind::InPlace {
                counts_as_surge: false,
            },
            (false, true, false) => Kind::InPlace {
                counts_as_surge: true,
            },
            (_, false, false) => return Begin::NoRoom,
        };
        let config = config.clone();
        if let Kind::InPlace { .. } = kind {
            if old.program.state().is_at_rest() {
                old.pending_config = None;
                old.resolved = None;
                old.program.set_config(config.clone());
            } else {
                old.pending_config = Some(Box::new(config.clone()));
            }
            if running {
                let name = config.name.clone();
                self.events.push(
                    &name,
                    "rollout",
                    "restarting in place (max_unavailable)".to_string(),
                );
            }
            self.feed(idx, Event::Restart, now);
            return Begin::Started(Box::new(Step {
                old: id,
                new: id,
                config,
                kind,
                stopping_old: false,
                restarts: self.slots[idx].program.restarts(),
            }));
        }
        let name = config.name.clone();
        let old_pid = old.program.pid();
        let shared_log = old.log.clone();
        let mut surge_slot: Slot = self.new_slot(config.clone());
        // Both write to the instance's one log (its files, its counters).
        if shared_log.is_some() {
            surge_slot.log = shared_log;
        }
        surge_slot.surge_of = Some(id);
        let new_id = surge_slot.id;
        self.slots.push(surge_slot);
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
        Begin::Started(Box::new(Step {
            old: id,
            new: new_id,
            config,
            kind,
            stopping_old: false,
            restarts: 0,
        }))
    }

    fn step_progress(&mut self, step: &mut Step, now: Instant) -> Progress {
        if let Kind::InPlace { .. } = step.kind {
            let Some(idx) = self.slot_index(step.old) else {
                return Progress::Done;
            };
            let s = &self.slots[idx];
            if s.program.restarts() > step.restarts {
                return Progress::Failed(format!(
                    "{} did not become ready after its restart in place ({}); it keeps its new settings and its restart policy",
                    s.program.config().name,
                    s.program.reason()
                ));
            }
            return match s.program.state() {
                State::Running if s.checks.as_ref().is_none_or(Checks::is_ready) => Progress::Done,
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
            return Progress::Done;
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
                let old = &self.slots[old_idx];
                let fate = if old.program.state() == State::Running {
                    "the old instance keeps running"
                } else {
                    "the old instance is not running either"
                };
                return Progress::Failed(format!(
                    "the replacement of {} did not become ready ({reason}); {fate}",
                    old.program.config().name
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
        Progress::Done
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
