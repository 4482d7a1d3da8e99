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

mod answers;
mod checks;
mod hooks;
mod resources;
mod rollout;
pub(crate) use rollout::Pace;

use crate::config::{Config, ProgramConfig};
use crate::control::api::{
    ActionReport, ChecksStatus, ExitInfo, ProgramStatus, ReloadReport, StatusReport,
};
use crate::control::{ApiError, Reply, Request, Verb};
use crate::events::Events;
use crate::fleet::{self, Member, View};
use crate::health::notify::NotifySocket;
use crate::health::{CheckEvent, Checks};
use crate::host::{HostNotice, HostRequest};
use crate::logs::{Attach as _, InstanceLog};
use crate::program::{Action, Event, ExitStatus, Program, State};
use crate::spawn::{self, ExitSource, Output, ProcessTree, SpawnRequest};
use crate::{EXIT_PROGRAM_FATAL, Signal};

/// How long to wait before looking again for a tree that outlived its main process, when no
/// exit event will tell us (a grandchild reaped by its own parent).
const TREE_RECHECK: Duration = Duration::from_millis(100);

/// How long one slice of the autostart may spawn before the engine turns to requests, exits
/// and timers again: a fleet of thousands starts in slices, and the control socket answers
/// throughout.
const AUTOSTART_SLICE: Duration = Duration::from_millis(10);

/// How many tasks a host's request passes through on the supervisor's thread before it
/// reaches the engine: see [`Engine::hear_the_host_first`].
const HOST_HOPS: usize = 3;

struct Slot {
    /// Unique for the supervisor's life: what a rollout follows as slots move.
    id: u64,
    /// A rollout's replacement for the slot with this id, until it takes its place.
    surge_of: Option<u64>,
    program: Program,
    child: Option<ProcessTree>,
    instance_id: String,
    /// Settings to apply at the next spawn (a changed program on reload). Boxed: it is
    /// rarely there, and inline it would cost every slot the size of a whole config.
    pending_config: Option<Box<ProgramConfig>>,
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
    /// Still to be started by the autostart (which runs in slices).
    autostart: bool,
    /// The pid this slot is filed under in `Engine::pids` (its last spawn's).
    indexed_pid: Option<u32>,
}

/// A tree to look over for escaped descendants once the batch of events is done (one scan
/// for every tree signalled in the batch).
struct Sweep {
    instance_id: String,
    signal: Signal,
}

struct Waiter {
    names: Vec<String>,
    /// A start or restart: answered once each program is ready (or has given up: backoff,
    /// fatal, exited), not merely spawned. Its `ready` timeout bounds the wait.
    until_ready: bool,
    reply: Reply<ActionReport>,
}

/// The slots as the fleet's decisions see them ([`fleet::View`]).
struct Fleet<'a> {
    slots: &'a [Slot],
    groups: &'a HashMap<String, Vec<usize>>,
}

impl View for Fleet<'_> {
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn member(&self, i: usize) -> Member<'_> {
        let s = &self.slots[i];
        Member {
            config: s.program.config(),
            state: s.program.state(),
            reason: s.program.reason(),
            last_exit: s.program.last_exit(),
            ready: s.checks.as_ref().map(Checks::is_ready),
            shutdown_sent: s.shutdown_sent,
            has_tree: s.child.is_some(),
        }
    }
    fn group(&self, name: &str) -> Vec<usize> {
        self.groups.get(name).cloned().unwrap_or_default()
    }
}

/// What the engine was asked to be.
pub(crate) struct EngineSetup {
    pub config: Config,
    /// The programs' held sockets, bound.
    pub sockets: crate::sockets::Table,
    pub output: Output,
    pub log_dir: PathBuf,
    /// Echo programs' lines to stderr unless their `log.console` says otherwise.
    pub foreground: bool,
    /// `STEAD_SUPERVISED_BY` for the programs, when this supervisor owns a state directory.
    pub state_marker: Option<String>,
    /// `stead run`: exit when the single program ends for good, with its exit code.
    pub run_mode: bool,
    /// Where notices for the host go ([`crate::HostLink::notices`]).
    pub host_notices: Option<Box<dyn FnMut(HostNotice) + Send>>,
    /// [`crate::HostLink::awaits_readiness`].
    pub awaits_readiness: bool,
}

pub(crate) struct Engine {
    config: Config,
    /// Rolling restarts in progress.
    rollouts: Vec<rollout::Rollout>,
    sockets: crate::sockets::Table,
    slots: Vec<Slot>,
    orphans: Vec<ProcessTree>,
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
    monitor: resources::Monitor,
    /// Requests that show resources, held while a sample that was stale is being taken.
    deferred: Vec<Request>,
    /// Slot of each main pid, so that an exit is found without a scan of every slot.
    /// Entries are checked against the slot on use (a slot keeps only its latest pid here).
    pids: HashMap<u32, usize>,
    /// Slots of each program group (`depends_on` names groups).
    groups: HashMap<String, Vec<usize>>,
    /// Where the autostart goes on at its next slice; `None` once it is done.
    autostart_from: Option<usize>,
    /// READY=1 (or the failed start) has been told to the host manager.
    startup_reported: bool,
    /// The programs before this index have come through the start.
    startup_checked: usize,
    /// Where notices for the host go.
    host_notices: Option<Box<dyn FnMut(HostNotice) + Send>>,
    /// The host reads a failed start as failed ([`crate::HostLink::awaits_readiness`]).
    awaits_readiness: bool,
}

impl Engine {
    pub(crate) fn new(setup: EngineSetup) -> Self {
        let (checks_tx, checks_rx) = mpsc::unbounded_channel();
        let mut engine = Engine {
            config: setup.config.clone(),
            rollouts: Vec::new(),
            sockets: setup.sockets,
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
            deferred: Vec::new(),
            pids: HashMap::new(),
            groups: HashMap::new(),
            autostart_from: Some(0),
            startup_reported: false,
            startup_checked: 0,
            host_notices: setup.host_notices,
            awaits_readiness: setup.awaits_readiness,
            monitor: resources::Monitor::new(
                setup.config.supervisor.metrics.sample,
                setup.config.supervisor.metrics.listen.is_some()
                    || setup.config.programs.iter().any(|p| p.limits.is_some()),
            ),
        };
        // The programs live in their slots; the engine's copy of the config keeps the rest.
        engine.config.programs = Vec::new();
        // Exactly as many slots as programs: a vector grown by doubling keeps up to one
        // spare slot (1.7 KiB) per program, and leaves each outgrown copy to the allocator.
        engine.slots.reserve_exact(setup.config.programs.len());
        for p in setup.config.programs {
            let autostart = p.autostart;
            let mut slot = engine.new_slot(p);
            slot.autostart = autostart;
            engine.slots.push(slot);
        }
        engine.reindex();
        engine
    }

    /// Rebuilds the pid and group indexes after slots were added, removed or moved.
    fn reindex(&mut self) {
        self.pids.clear();
        self.groups.clear();
        for (idx, slot) in self.slots.iter().enumerate() {
            if let Some(pid) = slot.indexed_pid {
                self.pids.insert(pid, idx);
            }
            self.groups
                .entry(slot.program.config().group.clone())
                .or_default()
                .push(idx);
        }
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
            id: self.seq,
            surge_of: None,
            program: Program::new(config, seed),
            child: None,
            instance_id: String::new(),
            pending_config: None,
            resolved: None,
            remove_when_stopped: false,
            log,
            shutdown_sent: false,
            checks: None,
            notify: None,
            autostart: false,
            indexed_pid: None,
        }
    }

    /// Runs until shutdown completes; returns the supervisor's exit code.
    pub(crate) async fn run(
        mut self,
        mut exits: ExitSource,
        mut host: Option<mpsc::UnboundedReceiver<HostRequest>>,
        mut requests: mpsc::Receiver<Request>,
    ) -> i32 {
        self.autostart_slice();
        self.settle(Instant::now());
        let mut requests_open = true;
        let mut checks_rx = self.checks_rx.take().expect("checks channel");
        let mut samples_rx = self.monitor.samples();
        while !self.finished() {
            let deadline = self.next_deadline();
            tokio::select! {
                () = exits.arrived() => {
                    // Before reaping: until then the exited pids are zombies that no new
                    // process can take, so a stop heard now signals no stranger.
                    if !self.shutting_down {
                        self.hear_the_host_first(&mut host).await;
                    }
                    let batch = exits.collect();
                    if !batch.is_empty() {
                        self.on_exits(batch);
                    }
                }
                request = next_host_request(&mut host), if host.is_some() => match request {
                    Some(request) => self.on_host_request(request),
                    None => host = None,
                },
                req = requests.recv(), if requests_open => match req {
                    Some(req) => self.on_request(req),
                    None => requests_open = false,
                },
                () = sleep_until(deadline), if deadline.is_some() => self.on_tick(),
                Some(ev) = checks_rx.recv() => self.on_check(ev),
                Some(sample) = samples_rx.recv() => self.on_sample(sample),
                // Yields first: the control server and the pipes run on this thread too.
                () = tokio::task::yield_now(), if self.autostart_from.is_some() => {
                    self.autostart_slice();
                }
            }
            self.settle(Instant::now());
        }
        for reply in self.shutdown_replies.drain(..) {
            let _ = reply.send(Ok(()));
        }
        self.exit_code
    }

    /// Lets a stop that arrived with these exits reach the engine before them. A manager
    /// that signals the whole cgroup at once (systemd's `KillMode=control-group`) sends the
    /// supervisor its stop a moment before the programs die of theirs; the stop then passes
    /// through [`HOST_HOPS`] tasks on this thread (the signal listener, the host's driver,
    /// the link) while the exit comes straight from `SIGCHLD`. Heard first, the stop turns
    /// each exit into "stopped" instead of a restart scheduled mid-shutdown. A few yields
    /// cost microseconds, and only when programs exit.
    async fn hear_the_host_first(
        &mut self,
        host: &mut Option<mpsc::UnboundedReceiver<HostRequest>>,
    ) {
        for _ in 0..HOST_HOPS {
            let Some(rx) = host.as_mut() else { return };
            tokio::task::yield_now().await;
            while let Ok(request) = rx.try_recv() {
                self.on_host_request(request);
            }
        }
    }

    fn on_host_request(&mut self, request: HostRequest) {
        match request {
            HostRequest::Shutdown(why) => self.begin_shutdown(why),
            HostRequest::Reload => {
                if let Err(e) = self.reload() {
                    tracing::error!("reload refused, nothing changed:\n{}", e.body.error);
                }
                // The host began this reload (it told its manager so): end it even when
                // it was refused before it began.
                if self.startup_reported {
                    self.tell(HostNotice::Ready);
                }
            }
            HostRequest::ReopenLogs => {
                tracing::info!("reopening log files (SIGUSR1)");
                crate::logs::reopen_all();
            }
        }
    }

    /// Hands a notice to the host, if there is one.
    fn tell(&mut self, notice: HostNotice) {
        if let Some(notices) = self.host_notices.as_mut() {
            notices(notice);
        }
    }

    /// Starts the next programs of the autostart, in config order, for about
    /// [`AUTOSTART_SLICE`]; tells the host manager it is ready once the last one is started.
    fn autostart_slice(&mut self) {
        let Some(mut idx) = self.autostart_from else {
            return;
        };
        let began = Instant::now();
        while idx < self.slots.len() {
            let slot = &mut self.slots[idx];
            idx += 1;
            if std::mem::take(&mut slot.autostart) && !self.shutting_down {
                self.feed(idx - 1, Event::Start, Instant::now());
                if began.elapsed() >= AUTOSTART_SLICE {
                    self.autostart_from = Some(idx);
                    return;
                }
            }
        }
        self.autostart_from = None;
        // READY=1 follows once every autostart program is ready (`settle`).
    }

    /// Whether the start is over for the host manager: every program that autostarted is
    /// ready (running with its `ready` check passed), finished successfully, or was stopped
    /// by a person; `Err` with the reason when one gave up (fatal, held, ended with a
    /// failure) before that.
    ///
    /// Programs are judged in order from `startup_checked`, which moves past each one that
    /// has come through (a program that was ready once has started, whatever it does
    /// later), so ten thousand programs cost one look each, not one per event.
    fn startup_verdict(&mut self) -> Option<Result<(), String>> {
        let view = Fleet {
            slots: &self.slots,
            groups: &self.groups,
        };
        fleet::startup_verdict(&view, &mut self.startup_checked)
    }

    /// Tells the host manager the start is over once [`Engine::startup_verdict`] says so:
    /// READY=1, or — under a manager waiting for readiness — a failed start: stead shuts
    /// down with [`EXIT_PROGRAM_FATAL`] and the reason in `STATUS=`, so that `systemctl
    /// start` fails with it instead of timing out.
    fn report_startup(&mut self) {
        if self.startup_reported || self.autostart_from.is_some() || self.shutting_down {
            return;
        }
        match self.startup_verdict() {
            None => {}
            Some(Ok(())) => {
                self.startup_reported = true;
                self.tell(HostNotice::Ready);
            }
            Some(Err(why)) => {
                self.startup_reported = true;
                if self.awaits_readiness {
                    tracing::error!("the start failed: {why}");
                    self.tell(HostNotice::Status(format!("start failed: {why}")));
                    self.exit_code = EXIT_PROGRAM_FATAL;
                    self.begin_shutdown("a program could not start");
                } else {
                    self.tell(HostNotice::Ready);
                }
            }
        }
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
        self.pids
            .get(&pid)
            .copied()
            .filter(|&idx| self.slots.get(idx).and_then(|s| s.program.pid()) == Some(pid))
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
                    child.resume(tree);
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
            slot.program.set_config(*cfg);
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
        if !self.slots[idx].program.config().sockets.is_empty() {
            // No other process of the program holds its sockets: give them back blocking,
            // as fresh ones are, whatever an earlier process set (O_NONBLOCK is shared).
            let group = &self.slots[idx].program.config().group;
            let alone = self
                .groups
                .get(group)
                .is_none_or(|g| g.iter().all(|&j| j == idx || self.slots[j].child.is_none()));
            if alone {
                self.sockets.reset_for(self.slots[idx].program.config());
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
            sockets: self.sockets.for_program(config),
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
                Event::Spawned { pid }
            }
            Err(e) => {
                let error = spawn_error(&e, config);
                slot.resolved = None;
                Event::SpawnFailed { error }
            }
        };
        if let Event::Spawned { pid } = event {
            self.file_pid(idx, pid);
        }
        self.feed(idx, event, now);
    }

    /// Files slot `idx` under its new main pid, in place of its previous one: the index
    /// holds one pid per slot, however often programs restart.
    fn file_pid(&mut self, idx: usize, pid: u32) {
        if let Some(old) = self.slots[idx].indexed_pid.replace(pid) {
            self.pids.remove(&old);
        }
        self.pids.insert(pid, idx);
    }

    /// Sends `signal`; false when it could not be delivered to the main process or group.
    fn signal(&mut self, idx: usize, signal: Signal, tree: bool) -> bool {
        let slot = &self.slots[idx];
        let Some(child) = &slot.child else {
            return true;
        };
        let delivered = match child.signal(signal, tree) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(program = %slot.program.config().name, "cannot send {signal}: {e}");
                false
            }
        };
        if tree {
            self.sweeps.push(Sweep {
                instance_id: slot.instance_id.clone(),
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
            if let Some(err) = slot.child.as_mut().and_then(ProcessTree::take_exec_error) {
                slot.child = None;
                slot.resolved = None;
                let error = spawn_error(&err, slot.program.config());
                self.feed(idx, Event::SpawnFailed { error }, now);
                continue;
            }
            // A tree signalled in this batch is kept until its sweep has run at the settle:
            // a descendant that left the group (found only by its marker, without a
            // cgroup) must still get the signal, and be waited for.
            let swept = self
                .sweeps
                .iter()
                .any(|sw| sw.instance_id == slot.instance_id);
            let tree_left = slot.program.config().kill_tree
                && (swept || slot.child.as_mut().is_some_and(ProcessTree::tree_alive));
            if !tree_left {
                slot.child = None;
            }
            let ran = slot
                .program
                .started_at()
                .map(|t| crate::format_duration(now.saturating_duration_since(t)));
            self.feed(idx, Event::Exited { status, tree_left }, now);
            // Every exit is an event, with how it ended and what follows (a restart at once
            // shows no state of its own in between).
            let p = &self.slots[idx].program;
            let said = status.to_string();
            let after = match p.state() {
                State::Running | State::Starting => "restarting at once".to_string(),
                // The reason often starts with the status itself: say it once.
                _ => p
                    .reason()
                    .strip_prefix(said.as_str())
                    .map_or(p.reason(), |r| r.trim_start_matches("; "))
                    .to_string(),
            };
            let detail = match ran {
                Some(ran) => format!("{status} after {ran}; {after}"),
                None => format!("{status}; {after}"),
            };
            let name = p.config().name.clone();
            self.events.push(&name, "exited", detail);
        }
        if !unknown.is_empty() {
            for child in self.slots.iter_mut().filter_map(|s| s.child.as_mut()) {
                child.reaped(&unknown);
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
        // One scan per signal sent to trees in this batch (nearly always one).
        let mut sweeps = std::mem::take(&mut self.sweeps);
        while let Some(first) = sweeps.first().map(|sw| sw.signal) {
            let (now_due, later): (Vec<Sweep>, Vec<Sweep>) =
                sweeps.into_iter().partition(|sw| sw.signal == first);
            sweeps = later;
            // The trees by their marker: a slot's current one, or an earlier generation
            // still being killed.
            let mut trees: Vec<(&mut ProcessTree, Signal)> = self
                .slots
                .iter_mut()
                .filter_map(|slot| slot.child.as_mut())
                .chain(self.orphans.iter_mut())
                .filter(|tree| now_due.iter().any(|sw| sw.instance_id == tree.marker()))
                .map(|tree| (tree, first))
                .collect();
            spawn::sweep(&mut trees);
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
            let Some(child) = &mut slot.child else {
                continue;
            };
            if child.tree_alive() {
                lingering = true;
                continue;
            }
            slot.child = None;
            if slot.program.state() == State::Stopping {
                self.feed(idx, Event::TreeGone, now);
            }
        }
        self.orphans.retain_mut(ProcessTree::tree_alive);
        lingering |= !self.orphans.is_empty();
        if lingering {
            self.recheck_at.get_or_insert(now + TREE_RECHECK);
        }
        let before = self.slots.len();
        self.slots.retain(|s| {
            !(s.remove_when_stopped && s.child.is_none() && s.program.state().is_at_rest())
        });
        if self.slots.len() != before {
            self.reindex();
        }
        if self.shutting_down {
            self.shut_down_in_order(now);
        } else {
            self.start_waiting(now);
            if !self.rollouts.is_empty() {
                self.advance_rollouts(now);
            }
        }
        self.report_startup();
        self.answer_waiters();
        self.answer_event_waiters(now);
        if !self.shutting_down
            && let Some(exit) = fleet::exit_verdict(
                &self.fleet(),
                self.run_mode,
                self.config.supervisor.exit_on_fatal,
            )
        {
            if !self.run_mode {
                tracing::error!(
                    "{} is fatal and exit_on_fatal is set: shutting down",
                    exit.program
                );
            }
            self.exit_code = exit.code;
            self.begin_shutdown(exit.why);
        }
        let summary = self.summary();
        if summary != self.last_status {
            self.tell(HostNotice::Status(summary.clone()));
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
        self.tell(HostNotice::Stopping);
        self.shutting_down = true;
        self.abandon_rollouts("the supervisor is shutting down");
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
    /// In passes: each sends Shutdown to the programs no live program depends on, and the
    /// next sees which of what they depend on that freed (one pass per level of the graph).
    fn shut_down_in_order(&mut self, now: Instant) {
        loop {
            let next = fleet::next_to_shut_down(&self.fleet());
            if next.is_empty() {
                return;
            }
            for idx in next {
                self.slots[idx].shutdown_sent = true;
                self.feed(idx, Event::Shutdown, now);
            }
        }
    }

    /// The slots as the fleet's decisions see them.
    fn fleet(&self) -> Fleet<'_> {
        Fleet {
            slots: &self.slots,
            groups: &self.groups,
        }
    }

    /// `Ok` when every program this one depends on is there ([`fleet::dependencies_met`]).
    fn dependencies_met(&self, idx: usize) -> Result<(), String> {
        fleet::dependencies_met(&self.fleet(), idx)
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
        fleet::select(&self.fleet(), names)
            .map_err(|(message, hint)| ApiError::new(404, message, Some(hint)))
    }

    fn status_of(&self, idx: usize, now: Instant) -> ProgramStatus {
        let p = &self.slots[idx].program;
        let c = p.config();
        ProgramStatus {
            name: c.name.clone(),
            group: c.group.clone(),
            state: p.state(),
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
            replacing: self.slots[idx]
                .surge_of
                .and_then(|id| self.slots.iter().find(|s| s.id == id))
                .and_then(|s| s.program.pid()),
        }
    }

    fn on_request(&mut self, req: Request) {
        let now = Instant::now();
        if matches!(req, Request::Status { .. } | Request::Metrics { .. })
            && self.resources_wanted(now)
        {
            self.deferred.push(req);
            return;
        }
        match req {
            Request::Status { names, reply } => {
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
                rolling,
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
                if let Some(pace) = rolling {
                    let (waiting, prompt) = if wait {
                        (Some(reply), None)
                    } else {
                        (None, Some(reply))
                    };
                    match self.begin_rollout(&idxs, pace, waiting) {
                        Ok(()) => {
                            if let Some(reply) = prompt {
                                let programs =
                                    idxs.iter().map(|&i| self.status_of(i, now)).collect();
                                let _ = reply.send(Ok(ActionReport { programs }));
                            }
                        }
                        Err((e, waiting)) => {
                            if let Some(reply) = waiting.or(prompt) {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    return;
                }
                if verb != Verb::Stop
                    && let Some(&busy) = idxs.iter().find(|&&i| self.in_rollout(i))
                {
                    let _ = reply.send(Err(self.busy_rolling(busy, &format!("a {verb}"))));
                    return;
                }
                if verb == Verb::Stop {
                    self.unqueue(&idxs);
                }
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
                        if let Some(pid) = self.slots[i].program.pid() {
                            let tree = self.slots[i].program.config().kill_tree;
                            let delivered = self.signal(i, signal, tree);
                            let name = self.slots[i].program.config().name.clone();
                            let whom = if tree { "its tree" } else { "its main process" };
                            let detail = if delivered {
                                format!("{signal} sent to {whom} (pid {pid}) on request")
                            } else {
                                format!("{signal} could not be sent to pid {pid}")
                            };
                            self.events.push(&name, "signal", detail);
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
        // Every slot of a name: during a rolling restart an instance has two.
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in self.slots.iter().enumerate() {
            by_name
                .entry(s.program.config().name.as_str())
                .or_default()
                .push(i);
        }
        let mut keep = Vec::new();
        for mut w in waiters {
            let mut seen = std::collections::HashSet::new();
            w.names.retain(|n| seen.insert(n.clone()));
            let idxs: Vec<usize> = w
                .names
                .iter()
                .filter_map(|n| by_name.get(n.as_str()))
                .flatten()
                .copied()
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
                keep.push(w);
            }
        }
        self.waiters = keep;
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
        if self.rolling() {
            return Err(ApiError::new(
                409,
                "a rolling restart is in progress (or its failed replacement is still stopping); nothing was reloaded",
                Some("reload again once it is over (stead events -f shows it)".into()),
            ));
        }
        // Before the start is over the host still waits for the first READY: a reload
        // then is not one it should hear of.
        if self.startup_reported {
            self.tell(HostNotice::Reloading);
        }
        let result = self.apply_reload();
        if self.startup_reported {
            self.tell(HostNotice::Ready);
        }
        result
    }

    fn apply_reload(&mut self) -> Result<ReloadReport, ApiError> {
        let mut fresh = crate::config::load(&self.config.path).map_err(|e| {
            let mut err = ApiError::new(
                422,
                e.to_string(),
                Some("fix the file and reload again; the running programs were not touched".into()),
            );
            err.body.diagnostics = Some(e.diagnostics.clone());
            err
        })?;
        // Every socket the new file holds, before anything changes: one that cannot be had
        // refuses the whole reload.
        let sockets = self.sockets.prepare(&fresh.programs).map_err(|e| {
            ApiError::new(
                422,
                e.message,
                Some(format!(
                    "{}; then reload again. The running programs were not touched",
                    e.hint
                )),
            )
        })?;
        let now = Instant::now();
        let plan = {
            let running: Vec<(&ProgramConfig, Option<&ProgramConfig>)> = self
                .slots
                .iter()
                .map(|s| (s.program.config(), s.pending_config.as_deref()))
                .collect();
            fleet::reload_plan(
                &running,
                &fresh.programs,
                &self.config.supervisor,
                &fresh.supervisor,
            )
        };
        let report = ReloadReport {
            added: plan.added,
            removed: plan.removed,
            changed: plan.changed,
            unchanged: plan.unchanged,
            needs_restart: plan.needs_restart,
        };
        // What runs is what stead started with: keep it, so that `status` of the config and
        // every later reload tell the truth until stead restarts.
        fresh.supervisor.metrics = self.config.supervisor.metrics.clone();
        fresh
            .supervisor
            .log_dir
            .clone_from(&self.config.supervisor.log_dir);
        if !report.needs_restart.is_empty() {
            tracing::warn!(
                "reload: {} changed; this takes effect when stead itself restarts (the programs' changes are applied now)",
                report.needs_restart.join(", ")
            );
        }
        self.sockets = sockets;
        let mut old: Vec<Option<Slot>> = std::mem::take(&mut self.slots)
            .into_iter()
            .map(Some)
            .collect();
        let mut next: Vec<Slot> = Vec::with_capacity(fresh.programs.len());
        let mut to_start = Vec::new();
        let mut to_restart = Vec::new();
        let mut to_roll = Vec::new();
        for (cfg, fate) in fresh.programs.iter().zip(&plan.fates) {
            let (fleet::Fate::Unchanged(i) | fleet::Fate::Changed(i)) = *fate else {
                if cfg.autostart {
                    to_start.push(next.len());
                }
                let slot = self.new_slot(cfg.clone());
                next.push(slot);
                continue;
            };
            let mut slot = old[i].take().expect("each running instance is kept once");
            // Not yet reached by the autostart: started by it, if still wanted.
            slot.autostart &= cfg.autostart;
            // Back in the file while still being stopped by an earlier removal: it is
            // wanted again, so it starts once that stop completes.
            if std::mem::take(&mut slot.remove_when_stopped) && cfg.autostart {
                to_start.push(next.len());
            }
            if matches!(fate, fleet::Fate::Unchanged(_)) {
                // At most its pacing changed: taken in place, nothing restarts.
                let pace = |c: &mut ProgramConfig| {
                    c.update = cfg.update;
                    c.rolling = cfg.rolling;
                };
                let mut now = slot.program.config().clone();
                pace(&mut now);
                slot.program.set_config(now);
                if let Some(p) = slot.pending_config.as_mut() {
                    pace(p);
                }
            }
            if matches!(fate, fleet::Fate::Changed(_)) {
                match slot.program.state() {
                    State::Running if cfg.update == crate::config::UpdateStrategy::Rolling => {
                        slot.pending_config = None;
                        to_roll.push((slot.id, cfg.clone()));
                    }
                    State::Running | State::Starting | State::Stopping => {
                        slot.pending_config = Some(Box::new(cfg.clone()));
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
        }
        let first_removed = next.len();
        for mut slot in old.into_iter().flatten() {
            slot.remove_when_stopped = true;
            slot.autostart = false;
            next.push(slot);
        }
        self.slots = next;
        self.reindex();
        if self.autostart_from.is_some() {
            self.autostart_from = Some(0);
        }
        self.config = fresh;
        self.config.programs = Vec::new();
        for idx in to_start {
            self.feed(idx, Event::Start, now);
        }
        for idx in to_restart {
            self.feed(idx, Event::Restart, now);
        }
        if !to_roll.is_empty() {
            let names = to_roll.iter().map(|(_, c)| c.name.clone()).collect();
            self.rollouts.push(rollout::Rollout::new(
                to_roll,
                names,
                rollout::Pace::default(),
                None,
            ));
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
        for (kind, names, what) in [
            ("added", &report.added, "added by a reload"),
            (
                "removed",
                &report.removed,
                "removed by a reload: stopped and forgotten",
            ),
            (
                "changed",
                &report.changed,
                "changed by a reload: restarted if it was running",
            ),
        ] {
            for name in names {
                self.events.push(name, kind, what);
            }
        }
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
    let what = crate::host::fd_shortage(e).unwrap_or_else(|| e.to_string());
    format!(
        "{what} (running `{}` in {})",
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

/// The next request of the host, or `None` once the host has gone (its link dropped).
async fn next_host_request(
    host: &mut Option<mpsc::UnboundedReceiver<HostRequest>>,
) -> Option<HostRequest> {
    match host.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(names: &[&str]) -> Engine {
        let mut config = Config {
            path: PathBuf::new(),
            supervisor: crate::config::SupervisorSettings::default(),
            programs: Vec::new(),
        };
        for n in names {
            let mut p = ProgramConfig::new(n, vec!["sleep".into(), "1".into()]);
            if *n == "web" {
                p.depends_on = vec!["db".into()];
            }
            config.programs.push(p);
        }
        Engine::new(EngineSetup {
            config,
            sockets: crate::sockets::Table::default(),
            output: Output::Inherit,
            log_dir: PathBuf::new(),
            foreground: false,
            state_marker: None,
            run_mode: false,
            host_notices: None,
            awaits_readiness: false,
        })
    }

    /// What the engine does at a successful spawn, without a process.
    fn spawned(e: &mut Engine, idx: usize, pid: u32) {
        let now = Instant::now();
        e.slots[idx].program.handle(Event::Start, now);
        e.file_pid(idx, pid);
        e.slots[idx].program.handle(Event::Spawned { pid }, now);
    }

    #[test]
    fn exits_are_found_by_pid_through_restarts_and_removals() {
        let mut e = engine(&["db", "web", "worker"]);
        for (idx, pid) in [(0, 100), (1, 101), (2, 102)] {
            spawned(&mut e, idx, pid);
        }
        assert_eq!(
            [100, 101, 102, 7].map(|p| e.find_pid(p)),
            [Some(0), Some(1), Some(2), None]
        );
        // web exits: its old pid no longer finds it, not even if the OS reuses the number
        // for a process that is not a program.
        let now = Instant::now();
        e.slots[1].program.handle(
            Event::Exited {
                status: ExitStatus::Code(1),
                tree_left: false,
            },
            now,
        );
        e.slots[1]
            .program
            .handle(Event::Tick, now + Duration::from_secs(60));
        assert_eq!(e.find_pid(101), None);
        // Restarted many times: one entry per slot, the latest pid.
        for pid in 200..300 {
            e.slots[1].program.handle(Event::Stop, now);
            e.slots[1].program.handle(
                Event::Exited {
                    status: ExitStatus::Signal(15),
                    tree_left: false,
                },
                now,
            );
            spawned(&mut e, 1, pid);
        }
        assert_eq!(e.pids.len(), 3);
        assert_eq!(e.find_pid(299), Some(1));
        assert_eq!(e.find_pid(250), None);
        // A slot goes away (a reload removed it): the others are found at their new places.
        e.slots.remove(0);
        e.reindex();
        assert_eq!(e.find_pid(100), None);
        assert_eq!(e.find_pid(299), Some(0));
        assert_eq!(e.find_pid(102), Some(1));
        assert_eq!(e.groups["worker"], [1]);
    }

    #[test]
    fn dependencies_are_looked_up_by_group() {
        let mut e = engine(&["web", "worker", "db"]);
        assert_eq!(e.groups["db"], [2]);
        assert_eq!(
            e.dependencies_met(0).unwrap_err(),
            "waiting for db to be ready"
        );
        spawned(&mut e, 2, 300);
        e.slots[2].checks = Some(Checks::new(
            e.slots[2].program.config(),
            Instant::now(),
            Checks::watches(e.slots[2].program.config()),
        ));
        assert_eq!(e.dependencies_met(0), Ok(()));
        assert_eq!(e.dependencies_met(1), Ok(()));
    }
}
