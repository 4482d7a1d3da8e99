//! The engine: one task that owns every program, their processes and the timers.
//!
//! It waits on four things only: child exits (the reaper), host signals, control requests and
//! the earliest program deadline. With nothing to do it sleeps in the kernel; there is no
//! polling tick. Everything it does to a program goes through that program's pure state
//! machine ([`crate::program`]); this file is the thin I/O around it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

mod checks;

use crate::config::{Config, ProgramConfig};
use crate::control::api::{
    ActionReport, ChecksStatus, ExitInfo, ProgramStatus, ReloadReport, StatusReport,
};
use crate::control::{ApiError, Reply, Request, Verb};
use crate::events::Events;
use crate::health::notify::NotifySocket;
use crate::health::{CheckEvent, Checks};
use crate::host::{HostNotice, HostRequest, HostSignals, notify};
use crate::logs::InstanceLog;
use crate::program::{Action, Event, ExitStatus, Program, State};
use crate::spawn::{self, Child, ExitSource, Output, SpawnRequest};
use crate::{EXIT_PROGRAM_FATAL, Signal};

/// How long to wait before looking again for a tree that outlived its main process, when no
/// exit event will tell us (a grandchild reaped by its own parent).
const TREE_RECHECK: Duration = Duration::from_millis(100);

struct Slot {
    program: Program,
    child: Option<Child>,
    instance_id: String,
    /// Descendants of the current instance found outside its process group.
    escapees: Vec<u32>,
    /// Settings to apply at the next spawn (a changed program on reload).
    pending_config: Option<ProgramConfig>,
    /// The program file, found once and kept until the settings change or a start fails.
    resolved: Option<PathBuf>,
    remove_when_stopped: bool,
    /// Where its output goes (when output is captured); made with the slot, remade at a
    /// spawn after its `log` settings changed.
    log: Option<InstanceLog>,
    /// Shutdown has been sent to it (after every program that depends on it had stopped).
    shutdown_sent: bool,
    /// Readiness and health of the running instance (dropped when it stops running).
    checks: Option<Checks>,
    /// Its `NOTIFY_SOCKET`, while it runs.
    notify: Option<NotifySocket>,
}

struct Sweep {
    slot_id: String,
    instance_id: String,
    pgid: u32,
    signal: Signal,
}

struct Waiter {
    names: Vec<String>,
    /// A start or restart: answered once each program is ready (or has given up: backoff,
    /// fatal, exited), not merely spawned. Its `ready` timeout bounds the wait.
    until_ready: bool,
    reply: Reply<ActionReport>,
}

/// What the engine was asked to be.
pub(crate) struct EngineSetup {
    pub config: Config,
    pub output: Output,
    pub log_dir: PathBuf,
    /// Echo programs' lines to stderr unless their `log.console` says otherwise.
    pub foreground: bool,
    /// `STEAD_SUPERVISED_BY` for the programs, when this supervisor owns a state directory.
    pub state_marker: Option<String>,
    /// `stead run`: exit when the single program ends for good, with its exit code.
    pub run_mode: bool,
}

pub(crate) struct Engine {
    config: Config,
    slots: Vec<Slot>,
    orphans: Vec<Child>,
    sweeps: Vec<Sweep>,
    waiters: Vec<Waiter>,
    shutdown_replies: Vec<Reply<()>>,
    shutting_down: bool,
    exit_code: i32,
    output: Output,
    log_dir: PathBuf,
    foreground: bool,
    state_marker: Option<String>,
    run_mode: bool,
    seq: u64,
    recheck_at: Option<Instant>,
    started: Instant,
    last_status: String,
    /// Probe results and notify messages, by instance id.
    checks_tx: mpsc::UnboundedSender<CheckEvent>,
    checks_rx: Option<mpsc::UnboundedReceiver<CheckEvent>>,
    /// Where notify sockets live (made at the first one, removed when the engine ends).
    notify_dir: Option<crate::health::notify::NotifyDir>,
    /// Helper processes (exec probes, hooks) whose exit the reaper hands over, by pid.
    aux: HashMap<u32, tokio::sync::oneshot::Sender<ExitStatus>>,
    events: Events,
    /// `GET /v1/events?wait=…` requests held until an event comes or their time is up.
    event_waiters: Vec<(u64, Instant, Reply<crate::control::api::EventsReport>)>,
    monitor: checks::Monitor,
}

impl Engine {
    pub(crate) fn new(setup: EngineSetup) -> Self {
        let (checks_tx, checks_rx) = mpsc::unbounded_channel();
        let mut engine = Engine {
            config: setup.config.clone(),
            slots: Vec::new(),
            orphans: Vec::new(),
            sweeps: Vec::new(),
            waiters: Vec::new(),
            shutdown_replies: Vec::new(),
            shutting_down: false,
            exit_code: 0,
            output: setup.output,
            log_dir: setup.log_dir,
            foreground: setup.foreground,
            state_marker: setup.state_marker,
            run_mode: setup.run_mode,
            seq: 0,
            recheck_at: None,
            started: Instant::now(),
            last_status: String::new(),
            checks_tx,
            checks_rx: Some(checks_rx),
            notify_dir: None,
            aux: HashMap::new(),
            events: Events::default(),
            event_waiters: Vec::new(),
            monitor: checks::Monitor::new(
                setup.config.supervisor.metrics.sample,
                setup.config.supervisor.metrics.listen.is_some()
                    || setup.config.programs.iter().any(|p| p.limits.is_some()),
            ),
        };
        for p in setup.config.programs {
            let slot = engine.new_slot(p);
            engine.slots.push(slot);
        }
        engine
    }

    fn new_slot(&mut self, config: ProgramConfig) -> Slot {
        self.seq += 1;
        let seed = u64::from(std::process::id()) << 32 ^ self.seq ^ fastrand::u64(..);
        // Made now, not at the first start, so that `status` (and `stead logs`) know where
        // a program's output goes before it runs. Files are opened at the first output.
        let log = matches!(self.output, Output::Capture { .. }).then(|| {
            InstanceLog::new(
                &self.log_dir,
                &config.name,
                &config.group,
                &config.log,
                self.foreground,
            )
        });
        Slot {
            program: Program::new(config, seed),
            child: None,
            instance_id: String::new(),
            escapees: Vec::new(),
            pending_config: None,
            resolved: None,
            remove_when_stopped: false,
            log,
            shutdown_sent: false,
            checks: None,
            notify: None,
        }
    }

    /// Runs until shutdown completes; returns the supervisor's exit code.
    pub(crate) async fn run(
        mut self,
        mut exits: ExitSource,
        mut signals: HostSignals,
        mut requests: mpsc::Receiver<Request>,
        mut stop: Option<crate::StopSignal>,
    ) -> i32 {
        let now = Instant::now();
        for idx in 0..self.slots.len() {
            if self.slots[idx].program.config().autostart {
                self.feed(idx, Event::Start, now);
            }
        }
        self.settle(Instant::now());
        notify(&HostNotice::Ready);
        let mut requests_open = true;
        let mut checks_rx = self.checks_rx.take().expect("checks channel");
        while !self.finished() {
            let deadline = self.next_deadline();
            tokio::select! {
                batch = exits.next() => self.on_exits(batch),
                host = signals.recv() => match host {
                    HostRequest::Shutdown => self.begin_shutdown("signal"),
                    HostRequest::Reload => {
                        if let Err(e) = self.reload() {
                            tracing::error!("reload refused, nothing changed:\n{}", e.body.error);
                        }
                    }
                    HostRequest::ReopenLogs => {
                        tracing::info!("reopening log files (SIGUSR1)");
                        crate::logs::reopen_all();
                    }
                },
                () = async { if let Some(s) = stop.as_mut() { s.await } }, if stop.is_some() => {
                    stop = None;
                    self.begin_shutdown("the service manager's stop");
                }
                req = requests.recv(), if requests_open => match req {
                    Some(req) => self.on_request(req),
                    None => requests_open = false,
                },
                () = sleep_until(deadline), if deadline.is_some() => self.on_tick(),
                Some(ev) = checks_rx.recv() => self.on_check(ev),
            }
            self.settle(Instant::now());
        }
        for reply in self.shutdown_replies.drain(..) {
            let _ = reply.send(Ok(()));
        }
        self.exit_code
    }

    fn finished(&self) -> bool {
        self.shutting_down
            && self.orphans.is_empty()
            && self
                .slots
                .iter()
                .all(|s| s.shutdown_sent && s.child.is_none() && s.program.state().is_at_rest())
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.program.deadline())
            .chain(
                self.slots
                    .iter()
                    .filter_map(|s| s.checks.as_ref().and_then(Checks::deadline)),
            )
            .chain(self.recheck_at)
            .chain(self.event_waiters.iter().map(|w| w.1))
            .chain(
                self.monitor
                    .deadline(self.slots.iter().any(|s| s.program.pid().is_some())),
            )
            .min()
    }

    fn find_pid(&self, pid: u32) -> Option<usize> {
        self.slots.iter().position(|s| s.program.pid() == Some(pid))
    }

    /// Feeds one event to a program and carries out what it asks.
    fn feed(&mut self, idx: usize, event: Event, now: Instant) {
        let event = match event {
            // A start waits for what the program depends on.
            Event::Start | Event::Restart
                if self.slots[idx].program.state().is_at_rest() && !self.shutting_down =>
            {
                match self.dependencies_met(idx) {
                    Ok(()) => event,
                    Err(reason) => Event::Wait { reason },
                }
            }
            other => other,
        };
        let before = self.slots[idx].program.state();
        let actions = self.slots[idx].program.handle(event, now);
        let p = &self.slots[idx].program;
        if p.state() != before {
            log_transition(p);
            self.on_transition(idx);
        }
        for action in actions {
            self.act(idx, action, now);
        }
    }

    fn act(&mut self, idx: usize, action: Action, now: Instant) {
        match action {
            Action::Spawn => self.spawn(idx, now),
            Action::Signal { signal, tree } => {
                // A stop signal that cannot be delivered at all (Windows: a program without a
                // console) will not be answered: go straight to the kill, not the timeout.
                if !self.signal(idx, signal, tree)
                    && self.slots[idx].program.state() == State::Stopping
                {
                    tracing::warn!(program = %self.slots[idx].program.config().name, "killing at once: the stop signal could not be delivered");
                    self.act(idx, Action::Kill { tree }, now);
                } else if !matches!(signal, Signal::Kill | Signal::Stop | Signal::Cont)
                    && let Some(child) = &self.slots[idx].child
                {
                    child.resume(tree, &self.slots[idx].escapees);
                }
            }
            Action::Kill { tree } => {
                self.signal(idx, Signal::Kill, tree);
                self.recheck_at = Some(now + TREE_RECHECK);
            }
        }
    }

    fn spawn(&mut self, idx: usize, now: Instant) {
        self.seq += 1;
        let instance_id = format!("{}.{}", std::process::id(), self.seq);
        let slot = &mut self.slots[idx];
        if let Some(cfg) = slot.pending_config.take() {
            slot.program.set_config(cfg);
            slot.resolved = None;
        }
        // A previous generation still being killed is tracked until it is gone.
        if let Some(old) = slot.child.take() {
            self.orphans.push(old);
        }
        if slot.resolved.is_none() {
            let cfg = slot.program.config();
            match spawn::resolve_program(
                &cfg.command[0],
                &cfg.cwd,
                cfg.env.get("PATH").map(String::as_str),
            ) {
                Ok(path) => slot.resolved = Some(path),
                Err(msg) => {
                    let error = format!("{msg} (cwd {})", cfg.cwd.display());
                    self.feed(idx, Event::SpawnFailed { error }, now);
                    return;
                }
            }
        }
        let config = slot.program.config();
        let mut extra_env = BTreeMap::new();
        extra_env.insert("STEAD_PROGRAM".to_string(), config.name.clone());
        if let Some(marker) = &self.state_marker {
            extra_env.insert(spawn::STATE_VAR.to_string(), marker.clone());
        }
        let mut notify_socket = None;
        if Checks::wants_notify(config) {
            match self.open_notify(idx, &instance_id) {
                Ok(sock) => {
                    extra_env.insert(
                        "NOTIFY_SOCKET".to_string(),
                        sock.path().display().to_string(),
                    );
                    notify_socket = Some(sock);
                }
                Err(error) => {
                    self.feed(idx, Event::SpawnFailed { error }, now);
                    return;
                }
            }
        }
        let slot = &mut self.slots[idx];
        let config = slot.program.config();
        let program = slot.resolved.as_deref().unwrap_or(Path::new(""));
        let watches = Checks::watches(config);
        let mut output = Output::Inherit;
        if let Output::Capture { .. } = self.output {
            if slot.log.as_ref().is_none_or(|l| !l.is_for(config)) {
                slot.log = Some(InstanceLog::new(
                    &self.log_dir,
                    &config.name,
                    &config.group,
                    &config.log,
                    self.foreground,
                ));
            }
            if let Some(log) = slot.log.as_ref().filter(|l| l.captures()) {
                output = Output::Capture {
                    merge_stderr: log.merge_stderr(),
                };
            }
        }
        let req = SpawnRequest {
            config,
            program,
            instance_id: instance_id.clone(),
            output,
            extra_env,
        };
        let event = match spawn::spawn(&req) {
            Ok(spawned) => {
                let pid = spawned.child.pid();
                if let Some(log) = &slot.log {
                    let list: Vec<_> = [&watches.0, &watches.1]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect();
                    log.attach(spawned.stdout, spawned.stderr, &list);
                }
                slot.checks = Some(Checks::new(config, now, watches));
                slot.notify = notify_socket;
                slot.child = Some(spawned.child);
                slot.instance_id = instance_id;
                slot.escapees.clear();
                Event::Spawned { pid }
            }
            Err(e) => {
                let error = spawn_error(&e, config);
                slot.resolved = None;
                Event::SpawnFailed { error }
            }
        };
        self.feed(idx, event, now);
    }

    /// Sends `signal`; false when it could not be delivered to the main process or group.
    fn signal(&mut self, idx: usize, signal: Signal, tree: bool) -> bool {
        let slot = &self.slots[idx];
        let Some(child) = &slot.child else {
            return true;
        };
        let delivered = match child.signal(signal, tree, &slot.escapees) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(program = %slot.program.config().name, "cannot send {signal}: {e}");
                false
            }
        };
        if tree {
            self.sweeps.push(Sweep {
                slot_id: slot.program.config().name.clone(),
                instance_id: slot.instance_id.clone(),
                pgid: child.pid(),
                signal,
            });
        }
        delivered
    }

    fn on_exits(&mut self, batch: Vec<(u32, ExitStatus)>) {
        let now = Instant::now();
        let mut unknown = Vec::new();
        for (pid, status) in batch {
            let Some(idx) = self.find_pid(pid) else {
                if let Some(tx) = self.aux.remove(&pid) {
                    let _ = tx.send(status);
                } else {
                    unknown.push(pid);
                }
                continue;
            };
            let slot = &mut self.slots[idx];
            if let Some(err) = slot.child.as_mut().and_then(Child::take_exec_error) {
                slot.child = None;
                slot.resolved = None;
                let error = spawn_error(&err, slot.program.config());
                self.feed(idx, Event::SpawnFailed { error }, now);
                continue;
            }
            let tree_left = slot.program.config().kill_tree
                && (slot.child.as_ref().is_some_and(Child::tree_alive)
                    || slot.escapees.iter().any(|p| spawn::alive(*p)));
            if !tree_left {
                slot.child = None;
            }
            self.feed(idx, Event::Exited { status, tree_left }, now);
        }
        if !unknown.is_empty() {
            for slot in &mut self.slots {
                slot.escapees.retain(|p| !unknown.contains(p));
            }
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        if self.recheck_at.is_some_and(|t| t <= now) {
            self.recheck_at = None;
        }
        for idx in 0..self.slots.len() {
            if self.slots[idx].program.deadline().is_some_and(|d| d <= now) {
                self.feed(idx, Event::Tick, now);
            }
        }
        self.tick_checks(now);
    }

    /// After every batch of events: signal escaped descendants, notice trees that are gone,
    /// answer waiters, forget removed programs, decide about exiting.
    fn settle(&mut self, now: Instant) {
        if !self.sweeps.is_empty() {
            let sweeps = std::mem::take(&mut self.sweeps);
            let ids: HashMap<String, u32> = sweeps
                .iter()
                .map(|s| (s.instance_id.clone(), s.pgid))
                .collect();
            let found = spawn::sweep_escapees(&ids);
            for sw in sweeps {
                let Some(pids) = found.get(&sw.instance_id) else {
                    continue;
                };
                for pid in pids {
                    spawn::signal_pid(*pid, sw.signal);
                }
                if let Some(slot) = self.slots.iter_mut().find(|s| {
                    s.program.config().name == sw.slot_id && s.instance_id == sw.instance_id
                }) {
                    for pid in pids {
                        if !slot.escapees.contains(pid) {
                            slot.escapees.push(*pid);
                        }
                    }
                }
            }
        }
        let mut lingering = false;
        for idx in 0..self.slots.len() {
            let slot = &mut self.slots[idx];
            if slot.program.pid().is_some() {
                if let Some(child) = &mut slot.child {
                    child.release_exec_pipe();
                }
                continue;
            }
            let Some(child) = &slot.child else { continue };
            slot.escapees.retain(|p| spawn::alive(*p));
            if child.tree_alive() || !slot.escapees.is_empty() {
                lingering = true;
                continue;
            }
            slot.child = None;
            if slot.program.state() == State::Stopping {
                self.feed(idx, Event::TreeGone, now);
            }
        }
        self.orphans.retain(Child::tree_alive);
        lingering |= !self.orphans.is_empty();
        if lingering {
            self.recheck_at.get_or_insert(now + TREE_RECHECK);
        }
        self.slots.retain(|s| {
            !(s.remove_when_stopped && s.child.is_none() && s.program.state().is_at_rest())
        });
        if self.shutting_down {
            self.shut_down_in_order(now);
        } else {
            self.start_waiting(now);
        }
        self.answer_waiters();
        self.answer_event_waiters(now);
        if !self.shutting_down {
            if self.run_mode {
                if let Some(slot) = self.slots.first()
                    && matches!(slot.program.state(), State::Exited | State::Fatal)
                {
                    self.exit_code = match (slot.program.state(), slot.program.last_exit()) {
                        (State::Exited, Some(exit)) => exit.shell_code(),
                        _ => EXIT_PROGRAM_FATAL,
                    };
                    self.begin_shutdown("the program ended");
                }
            } else if self.config.supervisor.exit_on_fatal
                && let Some(slot) = self
                    .slots
                    .iter()
                    .find(|s| s.program.state() == State::Fatal)
            {
                tracing::error!(
                    "{} is fatal and exit_on_fatal is set: shutting down",
                    slot.program.config().name
                );
                self.exit_code = EXIT_PROGRAM_FATAL;
                self.begin_shutdown("exit_on_fatal");
            }
        }
        let summary = self.summary();
        if summary != self.last_status {
            notify(&HostNotice::Status(summary.clone()));
            self.last_status = summary;
        }
    }

    fn summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.slots {
            *counts.entry(s.program.state().as_str()).or_default() += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        if self.shutting_down {
            format!("shutting down: {}", parts.join(", "))
        } else {
            parts.join(", ")
        }
    }

    fn begin_shutdown(&mut self, why: &str) {
        if self.shutting_down {
            return;
        }
        let live = self
            .slots
            .iter()
            .filter(|s| s.child.is_some() || !s.program.state().is_at_rest())
            .count();
        tracing::info!("shutting down ({why}): stopping {live} running program(s)");
        notify(&HostNotice::Stopping);
        self.shutting_down = true;
        let now = Instant::now();
        // Every program learns at once that nothing starts again, though most are stopped
        // later, in dependency order: one that dies meanwhile (the service manager's TERM
        // to the whole cgroup) stays down.
        for idx in 0..self.slots.len() {
            self.feed(idx, Event::ShutdownBegun, now);
        }
        self.shut_down_in_order(now);
    }

    /// Sends Shutdown to every program that no live program depends on: dependents stop
    /// first, what they depend on after them (the reverse of the start order).
    fn shut_down_in_order(&mut self, now: Instant) {
        loop {
            let next = (0..self.slots.len()).find(|&i| {
                let s = &self.slots[i];
                !s.shutdown_sent && !self.has_live_dependents(&s.program.config().group)
            });
            let Some(idx) = next else { return };
            self.slots[idx].shutdown_sent = true;
            self.feed(idx, Event::Shutdown, now);
        }
    }

    /// Whether a program not yet at rest (or not yet told to stop) depends on `group`.
    fn has_live_dependents(&self, group: &str) -> bool {
        self.slots.iter().any(|s| {
            s.program.config().depends_on.iter().any(|d| d == group)
                && !(s.shutdown_sent && s.child.is_none() && s.program.state().is_at_rest())
        })
    }

    /// `Ok` when every program this one depends on is running — or, for a one-shot task
    /// (`restart = "never"`), has finished successfully; else what it waits for.
    fn dependencies_met(&self, idx: usize) -> Result<(), String> {
        let config = self.slots[idx].program.config();
        for dep in &config.depends_on {
            for s in self
                .slots
                .iter()
                .filter(|s| &s.program.config().group == dep)
            {
                let p = &s.program;
                let one_shot = p.config().restart == crate::config::RestartPolicy::Never;
                let started_enough = config.depends_started.contains(dep);
                let ready = started_enough || s.checks.as_ref().is_some_and(Checks::is_ready);
                let done = match (p.state(), p.last_exit()) {
                    (State::Running, _) => !one_shot && ready,
                    (State::Exited, Some(ExitStatus::Code(c))) => {
                        p.config().exit_codes.contains(&c)
                    }
                    _ => false,
                };
                if done {
                    continue;
                }
                return Err(match p.state() {
                    State::Fatal => format!("held: {} is fatal ({})", p.config().name, p.reason()),
                    State::Exited => format!("held: {} ended without success", p.config().name),
                    _ if one_shot => format!("waiting for {} to finish", p.config().name),
                    _ if started_enough => {
                        format!("waiting for {} to be running", p.config().name)
                    }
                    _ => format!("waiting for {} to be ready", p.config().name),
                });
            }
        }
        Ok(())
    }

    /// Starts the waiting programs whose dependencies are now there, and updates the reason
    /// of the others; repeated until nothing changes (a chain starts in one pass).
    fn start_waiting(&mut self, now: Instant) {
        loop {
            let mut changed = false;
            for idx in 0..self.slots.len() {
                if self.slots[idx].program.state() != State::Waiting {
                    continue;
                }
                match self.dependencies_met(idx) {
                    Ok(()) => {
                        self.feed(idx, Event::Start, now);
                        changed = true;
                    }
                    Err(reason) if reason != self.slots[idx].program.reason() => {
                        self.feed(idx, Event::Wait { reason }, now);
                    }
                    Err(_) => {}
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Indices of the programs `names` select (all when empty); unknown names are a 404.
    fn select(&self, names: &[String]) -> Result<Vec<usize>, ApiError> {
        if names.is_empty() {
            return Ok((0..self.slots.len()).collect());
        }
        let mut out = Vec::new();
        for name in names {
            let mut found = false;
            for (i, s) in self.slots.iter().enumerate() {
                if s.program.config().answers_to(name) {
                    found = true;
                    if !out.contains(&i) {
                        out.push(i);
                    }
                }
            }
            if !found {
                let known: Vec<&str> = self
                    .slots
                    .iter()
                    .map(|s| s.program.config().group.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                return Err(ApiError::new(
                    404,
                    format!("no program named `{name}`"),
                    Some(format!("the programs are: {}", known.join(", "))),
                ));
            }
        }
        Ok(out)
    }

    fn status_of(&self, idx: usize, now: Instant) -> ProgramStatus {
        let p = &self.slots[idx].program;
        let c = p.config();
        ProgramStatus {
            name: c.name.clone(),
            group: c.group.clone(),
            state: p.state().as_str().to_string(),
            pid: p.pid(),
            uptime_ms: p
                .started_at()
                .filter(|_| p.pid().is_some())
                .map(|t| now.saturating_duration_since(t).as_millis() as u64),
            since_ms: now.saturating_duration_since(p.since()).as_millis() as u64,
            restarts: p.restarts(),
            last_exit: p.last_exit().map(|e| match e {
                ExitStatus::Code(c) => ExitInfo {
                    code: Some(c),
                    signal: None,
                },
                ExitStatus::Signal(s) => ExitInfo {
                    code: None,
                    signal: Some(
                        Signal::from_number(s)
                            .map_or_else(|| s.to_string(), |sig| sig.name().to_string()),
                    ),
                },
            }),
            reason: p.reason().to_string(),
            log: self.slots[idx]
                .log
                .as_ref()
                .filter(|l| l.captures())
                .map(InstanceLog::status),
            ready: self.slots[idx].checks.as_ref().map(Checks::is_ready),
            health: self.slots[idx]
                .checks
                .as_ref()
                .filter(|_| c.health.is_some())
                .map(Checks::health),
            checks: self.slots[idx].checks.as_ref().and_then(|ch| {
                (ch.last_ready.is_some() || ch.last_health.is_some()).then(|| ChecksStatus {
                    ready: ch.last_ready.clone(),
                    health: ch.last_health.clone(),
                })
            }),
            status_text: self.slots[idx]
                .checks
                .as_ref()
                .and_then(|ch| ch.status_text.clone()),
            resources: self
                .monitor
                .of(&self.slots[idx].instance_id, p.pid().is_some()),
            containment: self.slots[idx]
                .child
                .as_ref()
                .map(|ch| ch.containment().to_string()),
        }
    }

    fn on_request(&mut self, req: Request) {
        let now = Instant::now();
        match req {
            Request::Status { names, reply } => {
                self.resources_wanted(now);
                let result = self.select(&names).map(|idxs| StatusReport {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    config: self.config.path.display().to_string(),
                    uptime_ms: now.saturating_duration_since(self.started).as_millis() as u64,
                    shutting_down: self.shutting_down,
                    programs: idxs.into_iter().map(|i| self.status_of(i, now)).collect(),
                });
                let _ = reply.send(result);
            }
            Request::Action {
                verb,
                names,
                wait,
                reply,
            } => {
                if self.shutting_down && verb != Verb::Stop {
                    let _ = reply.send(Err(ApiError::new(
                        409,
                        "the supervisor is shutting down",
                        None,
                    )));
                    return;
                }
                let idxs = match self.select(&names) {
                    Ok(i) => i,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                };
                let event = match verb {
                    Verb::Start => Event::Start,
                    Verb::Stop => Event::Stop,
                    Verb::Restart => Event::Restart,
                };
                for &i in &idxs {
                    self.feed(i, event.clone(), now);
                }
                let names = idxs
                    .iter()
                    .map(|&i| self.slots[i].program.config().name.clone())
                    .collect();
                if wait {
                    self.waiters.push(Waiter {
                        names,
                        until_ready: verb != Verb::Stop,
                        reply,
                    });
                } else {
                    let programs = idxs.iter().map(|&i| self.status_of(i, now)).collect();
                    let _ = reply.send(Ok(ActionReport { programs }));
                }
            }
            Request::Signal {
                names,
                signal,
                reply,
            } => {
                let result = self.select(&names).map(|idxs| {
                    for &i in &idxs {
                        if self.slots[i].program.pid().is_some() {
                            let tree = self.slots[i].program.config().kill_tree;
                            self.signal(i, signal, tree);
                        }
                    }
                    ActionReport {
                        programs: idxs.iter().map(|&i| self.status_of(i, now)).collect(),
                    }
                });
                let _ = reply.send(result);
            }
            Request::Reload { reply } => {
                let _ = reply.send(self.reload());
            }
            Request::Shutdown { reply } => {
                self.shutdown_replies.push(reply);
                self.begin_shutdown("requested over the control API");
            }
            Request::Events { after, wait, reply } => {
                self.event_waiters.push((after, now + wait, reply));
                self.answer_event_waiters(now);
            }
            Request::Metrics { reply } => {
                self.resources_wanted(now);
                let _ = reply.send(Ok(self.metrics(now)));
            }
        }
    }

    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let now = Instant::now();
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            let idxs: Vec<usize> = w
                .names
                .iter()
                .filter_map(|n| {
                    self.slots
                        .iter()
                        .position(|s| s.program.config().name == *n)
                })
                .collect();
            let settled = idxs.iter().all(|&i| {
                let slot = &self.slots[i];
                match slot.program.state() {
                    State::Starting | State::Stopping => false,
                    State::Running if w.until_ready => {
                        slot.checks.as_ref().is_none_or(Checks::is_ready)
                    }
                    _ => true,
                }
            });
            if settled {
                let programs = idxs.iter().map(|&i| self.status_of(i, now)).collect();
                let _ = w.reply.send(Ok(ActionReport { programs }));
            } else {
                self.waiters.push(w);
            }
        }
    }

    /// Re-reads the config file and applies the difference. A file with any error changes
    /// nothing.
    fn reload(&mut self) -> Result<ReloadReport, ApiError> {
        if self.shutting_down {
            return Err(ApiError::new(
                409,
                "the supervisor is shutting down; nothing was reloaded",
                None,
            ));
        }
        if self.run_mode || self.config.path.as_os_str().is_empty() {
            return Err(ApiError::new(
                409,
                "this supervisor has no config file to reload (stead run)",
                None,
            ));
        }
        notify(&HostNotice::Reloading);
        let result = self.apply_reload();
        notify(&HostNotice::Ready);
        result
    }

    fn apply_reload(&mut self) -> Result<ReloadReport, ApiError> {
        let mut fresh = Config::load(&self.config.path).map_err(|e| {
            let mut err = ApiError::new(
                422,
                e.to_string(),
                Some("fix the file and reload again; the running programs were not touched".into()),
            );
            err.body.diagnostics = Some(e.diagnostics.clone());
            err
        })?;
        let now = Instant::now();
        let mut report = ReloadReport::default();
        let (was, now_set) = (&self.config.supervisor, &fresh.supervisor);
        for (changed, what) in [
            (
                was.metrics.listen != now_set.metrics.listen,
                "[metrics] listen",
            ),
            (
                was.metrics.token_file != now_set.metrics.token_file,
                "[metrics] token_file",
            ),
            (
                was.metrics.sample != now_set.metrics.sample,
                "[metrics] sample",
            ),
            (was.log_dir != now_set.log_dir, "[supervisor] log_dir"),
        ] {
            if changed {
                report.needs_restart.push(what.to_string());
            }
        }
        // What runs is what stead started with: keep it, so that `status` of the config and
        // every later reload tell the truth until stead restarts.
        fresh.supervisor.metrics = self.config.supervisor.metrics.clone();
        fresh.supervisor.log_dir = self.config.supervisor.log_dir.clone();
        if !report.needs_restart.is_empty() {
            tracing::warn!(
                "reload: {} changed; this takes effect when stead itself restarts (the programs' changes are applied now)",
                report.needs_restart.join(", ")
            );
        }
        let mut old: Vec<Slot> = std::mem::take(&mut self.slots);
        let mut next: Vec<Slot> = Vec::with_capacity(fresh.programs.len());
        let mut to_start = Vec::new();
        let mut to_restart = Vec::new();
        for cfg in &fresh.programs {
            if let Some(pos) = old.iter().position(|s| s.program.config().name == cfg.name) {
                let mut slot = old.remove(pos);
                // Back in the file while still being stopped by an earlier removal: it is
                // wanted again, so it starts once that stop completes.
                if std::mem::take(&mut slot.remove_when_stopped) && cfg.autostart {
                    to_start.push(next.len());
                }
                if slot.program.config() == cfg
                    && slot.pending_config.as_ref().is_none_or(|p| p == cfg)
                {
                    report.unchanged.push(cfg.name.clone());
                } else {
                    report.changed.push(cfg.name.clone());
                    match slot.program.state() {
                        State::Running | State::Starting | State::Stopping => {
                            slot.pending_config = Some(cfg.clone());
                            to_restart.push(next.len());
                        }
                        state => {
                            slot.pending_config = None;
                            slot.resolved = None;
                            slot.program.set_config(cfg.clone());
                            if cfg.autostart && matches!(state, State::Exited | State::Fatal) {
                                to_start.push(next.len());
                            }
                        }
                    }
                }
                next.push(slot);
            } else {
                report.added.push(cfg.name.clone());
                if cfg.autostart {
                    to_start.push(next.len());
                }
                let slot = self.new_slot(cfg.clone());
                next.push(slot);
            }
        }
        let first_removed = next.len();
        for mut slot in old {
            report.removed.push(slot.program.config().name.clone());
            slot.remove_when_stopped = true;
            next.push(slot);
        }
        self.slots = next;
        self.config = fresh;
        for idx in to_start {
            self.feed(idx, Event::Start, now);
        }
        for idx in to_restart {
            self.feed(idx, Event::Restart, now);
        }
        for idx in first_removed..self.slots.len() {
            self.feed(idx, Event::Stop, now);
        }
        self.monitor.set_always(
            self.config.supervisor.metrics.sample.is_some()
                || self.config.supervisor.metrics.listen.is_some()
                || self
                    .slots
                    .iter()
                    .any(|s| s.program.config().limits.is_some()),
        );
        self.events.push(
            "",
            "reloaded",
            format!(
                "{} added, {} removed, {} changed, {} unchanged",
                report.added.len(),
                report.removed.len(),
                report.changed.len(),
                report.unchanged.len()
            ),
        );
        tracing::info!(
            "reloaded {}: {} added, {} removed, {} changed, {} unchanged",
            self.config.path.display(),
            report.added.len(),
            report.removed.len(),
            report.changed.len(),
            report.unchanged.len()
        );
        Ok(report)
    }
}

fn log_transition(p: &Program) {
    let name = &p.config().name;
    let reason = p.reason();
    match (p.state(), p.pid()) {
        (State::Running, Some(pid)) => tracing::info!(program = %name, pid, "running"),
        // A first start is logged once it runs; a restart says why.
        (State::Starting, _) if !reason.starts_with("restarting") => {}
        (State::Fatal, _) => tracing::error!(program = %name, "fatal: {reason}"),
        // An exit the program's policy calls a success (code 0 under `restart = "never"`, a
        // listed exit code under `on-failure`) is news, not a warning.
        (State::Exited, _) if matches!(p.last_exit(), Some(ExitStatus::Code(c)) if p.config().exit_codes.contains(&c)) =>
        {
            tracing::info!(program = %name, "exited: {reason}")
        }
        (State::Backoff | State::Exited, _) => {
            tracing::warn!(program = %name, "{}: {reason}", p.state())
        }
        (state, _) if reason.is_empty() || reason.starts_with(state.as_str()) => {
            tracing::info!(program = %name, "{}", if reason.is_empty() { state.as_str() } else { reason })
        }
        (state, _) => tracing::info!(program = %name, "{state}: {reason}"),
    }
}

fn spawn_error(e: &std::io::Error, config: &ProgramConfig) -> String {
    format!(
        "{e} (running `{}` in {})",
        config.command[0],
        config.cwd.display()
    )
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
