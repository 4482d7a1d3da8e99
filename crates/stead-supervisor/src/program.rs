//! One program's life as a pure state machine: events in, actions out, time passed in.
//!
//! Nothing here touches a process, a clock or a timer. The engine feeds [`Event`]s (a user's
//! `stop`, a child's exit, a deadline reached) together with the current [`Instant`], carries
//! out the [`Action`]s that come back (spawn, signal, kill), and sleeps until
//! [`Program::deadline`]. That makes restart policy, backoff and crash-loop detection testable
//! with a fake clock.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use stead_supervisor::config::ProgramConfig;
//! use stead_supervisor::program::{Action, Event, ExitStatus, Program, State};
//!
//! let t0 = Instant::now();
//! let mut p = Program::new(ProgramConfig::new("web", vec!["./web".into()]), 7);
//! assert_eq!(p.handle(Event::Start, t0), vec![Action::Spawn]);
//! p.handle(Event::Spawned { pid: 42 }, t0);
//! assert_eq!(p.state(), State::Running);
//!
//! // It crashes after a long healthy run: restarted at once.
//! let later = t0 + Duration::from_secs(3600);
//! let actions = p.handle(Event::Exited { status: ExitStatus::Code(1), tree_left: false }, later);
//! assert_eq!(actions, vec![Action::Spawn]);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::Signal;
use crate::config::{ProgramConfig, RestartPolicy};
use crate::format_duration;

/// The shortest wait after a failed spawn (missing binary, permission denied).
pub const SPAWN_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Where a program is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not running, and not meant to be (never started, or stopped by request).
    Stopped,
    /// Being spawned.
    Starting,
    /// Running.
    Running,
    /// Exited and waiting out a backoff delay before the next start.
    Backoff,
    /// Asked to stop; waiting for the whole tree to go, or for the stop timeout.
    Stopping,
    /// Ended and, by its restart policy, not restarted.
    Exited,
    /// Restarted too often in too little time; left stopped until someone starts it.
    Fatal,
    /// Asked to start, and waiting for the programs it depends on (`depends_on`).
    Waiting,
}

impl std::str::FromStr for State {
    type Err = String;

    /// The state named as the API names it.
    ///
    /// ```
    /// use stead_supervisor::program::State;
    /// assert_eq!("backoff".parse::<State>(), Ok(State::Backoff));
    /// assert!("sleeping".parse::<State>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("no program state `{s}`"))
    }
}

impl State {
    /// Every state.
    pub const ALL: [State; 8] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Backoff,
        State::Stopping,
        State::Exited,
        State::Fatal,
        State::Waiting,
    ];

    /// The lowercase name used in status output and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Stopped => "stopped",
            State::Starting => "starting",
            State::Running => "running",
            State::Backoff => "backoff",
            State::Stopping => "stopping",
            State::Exited => "exited",
            State::Fatal => "fatal",
            State::Waiting => "waiting",
        }
    }

    /// True where no process of the program is alive and none will be started by itself
    /// (a `waiting` program starts only when the supervisor sees its dependencies ready).
    pub fn is_at_rest(self) -> bool {
        matches!(
            self,
            State::Stopped | State::Exited | State::Fatal | State::Waiting
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number (Unix only).
    Signal(i32),
}

impl ExitStatus {
    /// The exit code a shell would report: the code, or 128 + the signal number.
    ///
    /// ```
    /// use stead_supervisor::program::ExitStatus;
    /// assert_eq!(ExitStatus::Signal(9).shell_code(), 137);
    /// ```
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exited with code {c}"),
            ExitStatus::Signal(s) => match Signal::from_number(*s) {
                Some(sig) => write!(f, "killed by signal {sig}"),
                None => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// Something that happened to a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Someone asked for it to run (or autostart).
    Start,
    /// Someone asked for it to stop.
    Stop,
    /// Someone asked for a stop followed by a start.
    Restart,
    /// The supervisor is shutting down: stop, and never start again.
    Shutdown,
    /// The supervisor has begun to shut down and will send `Shutdown` in this program's
    /// turn (after the programs that depend on it have stopped); until then it keeps
    /// running, but whatever ends it — the service manager's TERM to the whole cgroup, a
    /// crash — it is never started or restarted again.
    ShutdownBegun,
    /// The process was created.
    Spawned {
        /// Its process id.
        pid: u32,
    },
    /// The process could not be created.
    SpawnFailed {
        /// Why, for status.
        error: String,
    },
    /// The main process ended.
    Exited {
        /// How.
        status: ExitStatus,
        /// Whether other processes of its tree are still alive.
        tree_left: bool,
    },
    /// The last process of a stopping program's tree is gone.
    TreeGone,
    /// Time passed; due when `now >= deadline()`.
    Tick,
    /// A start was asked for, but what the program depends on is not there yet: wait (the
    /// supervisor sends `Start` when it is). The reason says what it waits for.
    Wait {
        /// What it waits for, for status.
        reason: String,
    },
    /// The supervisor judged the running program failed although it did not exit: not
    /// ready within its start timeout, unhealthy, or over a resource limit. Its tree is
    /// stopped, then it is handled like a failed exit (restart per policy, backoff,
    /// crash-loop limit).
    Failed {
        /// Why, for status.
        reason: String,
    },
}

/// What the engine must do for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the process, then report `Spawned` or `SpawnFailed`.
    Spawn,
    /// Send a signal, to the whole tree or to the main process only.
    Signal {
        /// Which.
        signal: Signal,
        /// To the whole tree (`kill_tree = true`) or the main process only.
        tree: bool,
    },
    /// Kill without appeal, the whole tree or the main process only.
    Kill {
        /// To the whole tree or the main process only.
        tree: bool,
    },
}

/// One supervised program instance.
#[derive(Debug)]
pub struct Program {
    config: ProgramConfig,
    state: State,
    pid: Option<u32>,
    since: Instant,
    started_at: Option<Instant>,
    restarts: u64,
    last_exit: Option<ExitStatus>,
    reason: String,
    deadline: Option<Instant>,
    recent_restarts: VecDeque<Instant>,
    quick_failures: u32,
    restart_after_stop: bool,
    /// The current stop was begun by [`Event::Failed`]: when it completes, the failure is
    /// handled with this reason.
    fail_after_stop: Option<String>,
    shutting_down: bool,
    main_exited: bool,
    rng: fastrand::Rng,
}

impl Program {
    /// A stopped program; `seed` drives the backoff jitter (fixed in tests, random in use).
    pub fn new(config: ProgramConfig, seed: u64) -> Self {
        Program {
            config,
            state: State::Stopped,
            pid: None,
            since: Instant::now(),
            started_at: None,
            restarts: 0,
            last_exit: None,
            reason: "not started".into(),
            deadline: None,
            recent_restarts: VecDeque::new(),
            quick_failures: 0,
            restart_after_stop: false,
            fail_after_stop: None,
            shutting_down: false,
            main_exited: false,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The program's settings.
    pub fn config(&self) -> &ProgramConfig {
        &self.config
    }

    /// Replaces the settings; takes effect at the next start.
    pub fn set_config(&mut self, config: ProgramConfig) {
        self.config = config;
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Pid of the main process while one exists.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// When the current state began.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// When the running process was started.
    pub fn started_at(&self) -> Option<Instant> {
        self.started_at
    }

    /// Automatic restarts so far.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// How the last process ended.
    pub fn last_exit(&self) -> Option<ExitStatus> {
        self.last_exit
    }

    /// Why the program is in its state, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// When the program next needs a [`Event::Tick`]: the end of a backoff or a stop timeout.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Feeds one event; returns what to do.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::Start => self.on_start(now),
            Event::Stop => {
                self.restart_after_stop = false;
                self.fail_after_stop = None;
                self.on_stop(now, "stopped by request")
            }
            Event::Shutdown => {
                self.shutting_down = true;
                self.restart_after_stop = false;
                self.fail_after_stop = None;
                self.on_stop(now, "stopped: supervisor shut down")
            }
            Event::ShutdownBegun => {
                self.shutting_down = true;
                self.restart_after_stop = false;
                if self.state == State::Backoff {
                    self.deadline = None;
                    self.set(
                        State::Stopped,
                        now,
                        "not restarted: the supervisor is shutting down".into(),
                    );
                }
                Vec::new()
            }
            Event::Restart => match self.state {
                State::Running | State::Starting => {
                    self.restart_after_stop = true;
                    self.begin_stop(now)
                }
                State::Stopping => {
                    self.restart_after_stop = true;
                    Vec::new()
                }
                _ => self.on_start(now),
            },
            Event::Spawned { pid } => {
                if self.state == State::Starting {
                    self.pid = Some(pid);
                    self.started_at = Some(now);
                    self.set(State::Running, now, String::new());
                }
                Vec::new()
            }
            Event::SpawnFailed { error } => {
                // Reported at once, or (Unix) when the child that failed to exec exits.
                if self.state == State::Stopping {
                    self.main_exited = true;
                    self.pid = None;
                    return self.finish_stop(now);
                }
                if !matches!(self.state, State::Starting | State::Running) {
                    return Vec::new();
                }
                self.pid = None;
                self.started_at = Some(now);
                if self.shutting_down {
                    self.set(State::Stopped, now, format!("could not start: {error}"));
                    return Vec::new();
                }
                self.after_failure(now, &format!("could not start: {error}"), false)
            }
            Event::Exited { status, tree_left } => self.on_exit(status, tree_left, now),
            Event::TreeGone => {
                if self.state == State::Stopping && self.main_exited {
                    self.finish_stop(now)
                } else {
                    Vec::new()
                }
            }
            Event::Tick => self.on_tick(now),
            Event::Failed { reason } => match self.state {
                State::Running | State::Starting if !self.shutting_down => {
                    self.fail_after_stop = Some(reason.clone());
                    let actions = self.begin_stop(now);
                    self.reason = format!("{reason}; stopping it");
                    actions
                }
                _ => Vec::new(),
            },
            Event::Wait { reason } => {
                if self.shutting_down {
                    return Vec::new();
                }
                match self.state {
                    State::Stopped | State::Exited | State::Fatal | State::Waiting => {
                        self.recent_restarts.clear();
                        self.quick_failures = 0;
                        self.deadline = None;
                        self.set(State::Waiting, now, reason);
                    }
                    State::Backoff => {
                        self.deadline = None;
                        self.set(State::Waiting, now, reason);
                    }
                    State::Starting | State::Running | State::Stopping => {}
                }
                Vec::new()
            }
        }
    }

    fn set(&mut self, state: State, now: Instant, reason: String) {
        if state != self.state {
            self.since = now;
        }
        self.state = state;
        self.reason = reason;
    }

    fn spawn(&mut self, now: Instant) -> Vec<Action> {
        self.deadline = None;
        self.main_exited = false;
        self.set(State::Starting, now, "starting".into());
        vec![Action::Spawn]
    }

    fn on_start(&mut self, now: Instant) -> Vec<Action> {
        if self.shutting_down {
            return Vec::new();
        }
        match self.state {
            State::Stopped | State::Exited | State::Fatal | State::Waiting => {
                // A person asked: forget the failures that led here.
                self.recent_restarts.clear();
                self.quick_failures = 0;
                self.spawn(now)
            }
            State::Backoff => self.spawn(now),
            State::Stopping => {
                self.restart_after_stop = true;
                Vec::new()
            }
            State::Starting | State::Running => Vec::new(),
        }
    }

    fn on_stop(&mut self, now: Instant, why: &str) -> Vec<Action> {
        match self.state {
            State::Running | State::Starting => self.begin_stop(now),
            State::Backoff | State::Waiting => {
                self.deadline = None;
                self.set(State::Stopped, now, why.into());
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn begin_stop(&mut self, now: Instant) -> Vec<Action> {
        let tree = self.config.kill_tree;
        self.main_exited = self.pid.is_none();
        self.set(
            State::Stopping,
            now,
            format!(
                "sent {}, waiting up to {}",
                self.config.stop_signal,
                format_duration(self.config.stop_timeout)
            ),
        );
        if self.config.stop_timeout.is_zero() {
            self.deadline = None;
            return vec![Action::Kill { tree }];
        }
        // `stop_timeout = "infinity"`: no deadline, so no kill; the program takes its time
        // (a database's final save).
        self.deadline = now.checked_add(self.config.stop_timeout);
        vec![Action::Signal {
            signal: self.config.stop_signal,
            tree,
        }]
    }

    fn finish_stop(&mut self, now: Instant) -> Vec<Action> {
        self.deadline = None;
        self.pid = None;
        if self.restart_after_stop && !self.shutting_down {
            self.restart_after_stop = false;
            self.fail_after_stop = None;
            return self.spawn(now);
        }
        if let Some(reason) = self.fail_after_stop.take()
            && !self.shutting_down
        {
            if self.config.restart == RestartPolicy::Never {
                self.set(
                    State::Exited,
                    now,
                    format!("{reason}; not restarted (restart = \"never\")"),
                );
                return Vec::new();
            }
            return self.after_failure(now, &reason, true);
        }
        let why = if self.shutting_down {
            "stopped: supervisor shut down"
        } else {
            "stopped by request"
        };
        let why = match self.last_exit {
            Some(exit) => format!("{why} ({exit})"),
            None => why.to_string(),
        };
        self.set(State::Stopped, now, why);
        Vec::new()
    }

    fn on_exit(&mut self, status: ExitStatus, tree_left: bool, now: Instant) -> Vec<Action> {
        self.last_exit = Some(status);
        match self.state {
            State::Stopping => {
                self.main_exited = true;
                self.pid = None;
                if tree_left {
                    Vec::new()
                } else {
                    self.finish_stop(now)
                }
            }
            State::Running | State::Starting => {
                self.pid = None;
                // Orphans of an instance that died on its own are killed before anything else:
                // never two generations of one program alive at once.
                let mut actions = Vec::new();
                if tree_left && self.config.kill_tree {
                    actions.push(Action::Kill { tree: true });
                }
                let success =
                    matches!(status, ExitStatus::Code(c) if self.config.exit_codes.contains(&c));
                let restart = !self.shutting_down
                    && match self.config.restart {
                        RestartPolicy::Always => true,
                        RestartPolicy::OnFailure => !success,
                        RestartPolicy::Never => false,
                    };
                if restart {
                    actions.extend(self.after_failure(now, &status.to_string(), true));
                } else if self.shutting_down {
                    self.set(
                        State::Stopped,
                        now,
                        format!("{status} while the supervisor was shutting down; not restarted"),
                    );
                } else {
                    let policy = match self.config.restart {
                        RestartPolicy::Never => "restart = \"never\"",
                        _ => "success under restart = \"on-failure\"",
                    };
                    self.set(
                        State::Exited,
                        now,
                        format!("{status}; not restarted ({policy})"),
                    );
                }
                actions
            }
            _ => Vec::new(),
        }
    }

    /// After an exit (or failed spawn) that the policy says to restart: crash-loop check,
    /// then an immediate restart or a backoff.
    fn after_failure(&mut self, now: Instant, what: &str, ran: bool) -> Vec<Action> {
        let lived = self
            .started_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        if ran && lived >= self.config.backoff.reset_after {
            self.quick_failures = 0;
        } else {
            self.quick_failures = self.quick_failures.saturating_add(1);
        }
        let window = self.config.restart_window;
        while self
            .recent_restarts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.recent_restarts.pop_front();
        }
        let max = self.config.max_restarts;
        if max > 0 && self.recent_restarts.len() >= max as usize {
            self.deadline = None;
            self.set(
                State::Fatal,
                now,
                format!(
                    "{what}; restarted {} times within {} (max_restarts = {max}); fix it, then `stead start {}`",
                    self.recent_restarts.len(),
                    format_duration(window),
                    self.config.name
                ),
            );
            return Vec::new();
        }
        // A program that never stays up for `reset_after` is not fixed by waiting: once the
        // backoff has spread its restarts beyond the window, count them in a row instead (as
        // supervisord's `startretries` does).
        if max > 0 && self.quick_failures > max {
            self.deadline = None;
            self.set(
                State::Fatal,
                now,
                format!(
                    "{what}; restarted {max} times in a row without running {} (max_restarts = {max}); fix it, then `stead start {}`",
                    format_duration(self.config.backoff.reset_after),
                    self.config.name
                ),
            );
            return Vec::new();
        }
        if max > 0 {
            // Kept only for the limit, so it never holds more than `max_restarts` entries;
            // with no limit, a program restarting a thousand times a second costs nothing.
            self.recent_restarts.push_back(now);
        }
        self.restarts += 1;
        let mut delay = self.backoff_delay();
        if !ran {
            // A program that cannot even be started will not be fixed within milliseconds.
            delay = delay.max(SPAWN_FAILURE_DELAY);
        }
        if delay.is_zero() {
            let actions = self.spawn(now);
            self.reason = format!("restarting: {what}");
            return actions;
        }
        // A delay past what the clock holds (only a hand-built config can ask for one) is
        // never: the program waits for a person.
        self.deadline = now.checked_add(delay);
        self.set(
            State::Backoff,
            now,
            format!("{what}; restarting in {}", format_duration(delay)),
        );
        Vec::new()
    }

    /// The delay before the next restart: none after a healthy run, then the exponential
    /// series with jitter.
    fn backoff_delay(&mut self) -> Duration {
        if self.quick_failures == 0 {
            return Duration::ZERO;
        }
        let b = &self.config.backoff;
        let exp = b.multiplier.powi((self.quick_failures - 1).min(64) as i32);
        let base = (b.initial.as_secs_f64() * exp).min(b.max.as_secs_f64());
        let spread = b.jitter * (self.rng.f64() * 2.0 - 1.0);
        // The cap holds with the jitter too; a value beyond what a Duration holds (a huge
        // `max`) is the cap itself, never a panic.
        Duration::try_from_secs_f64((base * (1.0 + spread)).max(0.0))
            .unwrap_or(b.max)
            .min(b.max)
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        let Some(deadline) = self.deadline else {
            return Vec::new();
        };
        if now < deadline {
            return Vec::new();
        }
        self.deadline = None;
        match self.state {
            State::Backoff if !self.shutting_down => self.spawn(now),
            State::Stopping => {
                self.reason = format!(
                    "did not stop within {} after {}; killed",
                    format_duration(self.config.stop_timeout),
                    self.config.stop_signal
                );
                vec![Action::Kill {
                    tree: self.config.kill_tree,
                }]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backoff;

    fn program(restart: RestartPolicy) -> Program {
        let mut c = ProgramConfig::new("p", vec!["x".into()]);
        c.restart = restart;
        c.backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            multiplier: 2.0,
            jitter: 0.0,
            reset_after: Duration::from_secs(10),
        };
        c.max_restarts = 5;
        c.restart_window = Duration::from_secs(60);
        Program::new(c, 1)
    }

    fn running(p: &mut Program, now: Instant) {
        assert_eq!(p.handle(Event::Start, now), vec![Action::Spawn]);
        p.handle(Event::Spawned { pid: 10 }, now);
        assert_eq!(p.state(), State::Running);
    }

    fn exit(p: &mut Program, code: i32, now: Instant) -> Vec<Action> {
        p.handle(
            Event::Exited {
                status: ExitStatus::Code(code),
                tree_left: false,
            },
            now,
        )
    }

    #[test]
    fn never_leaves_an_exited_program_alone() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Never);
        running(&mut p, t);
        assert!(exit(&mut p, 3, t).is_empty());
        assert_eq!(p.state(), State::Exited);
        assert_eq!(p.last_exit(), Some(ExitStatus::Code(3)));
        assert!(p.reason().contains("exited with code 3"), "{}", p.reason());
    }

    #[test]
    fn on_failure_restarts_failures_only() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::OnFailure);
        running(&mut p, t);
        let later = t + Duration::from_secs(20);
        assert_eq!(exit(&mut p, 1, later), vec![Action::Spawn]);
        p.handle(Event::Spawned { pid: 11 }, later);
        assert!(exit(&mut p, 0, later + Duration::from_secs(20)).is_empty());
        assert_eq!(p.state(), State::Exited);
        // A signal death is a failure.
        let mut p = program(RestartPolicy::OnFailure);
        running(&mut p, t);
        let a = p.handle(
            Event::Exited {
                status: ExitStatus::Signal(9),
                tree_left: false,
            },
            later,
        );
        assert_eq!(a, vec![Action::Spawn]);
    }

    #[test]
    fn quick_failures_back_off_exponentially_and_a_healthy_run_resets() {
        let mut t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.max_restarts = 0;
        running(&mut p, t);
        let mut delays = Vec::new();
        for _ in 0..7 {
            t += Duration::from_millis(10);
            assert!(exit(&mut p, 1, t).is_empty());
            assert_eq!(p.state(), State::Backoff);
            let d = p.deadline().unwrap() - t;
            delays.push(d.as_millis());
            let just_before = t + d.saturating_sub(Duration::from_millis(1));
            assert!(
                p.handle(Event::Tick, just_before).is_empty(),
                "no start before the deadline"
            );
            t += d;
            assert_eq!(p.handle(Event::Tick, t), vec![Action::Spawn]);
            p.handle(Event::Spawned { pid: 12 }, t);
        }
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        t += Duration::from_secs(11);
        assert_eq!(
            exit(&mut p, 1, t),
            vec![Action::Spawn],
            "a run past reset_after restarts at once"
        );
    }

    #[test]
    fn jitter_spreads_delays_within_bounds() {
        let t = Instant::now();
        for seed in 0..50 {
            let mut p = program(RestartPolicy::Always);
            p.config.backoff.jitter = 0.5;
            p.rng = fastrand::Rng::with_seed(seed);
            running(&mut p, t);
            exit(&mut p, 1, t);
            let d = (p.deadline().unwrap() - t).as_millis();
            assert!((50..=150).contains(&d), "{d}");
        }
    }

    #[test]
    fn crash_loop_goes_fatal_after_the_limit_within_the_window() {
        let mut t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.backoff.initial = Duration::ZERO;
        running(&mut p, t);
        for i in 0..5 {
            t += Duration::from_millis(100);
            assert_eq!(exit(&mut p, 2, t), vec![Action::Spawn], "restart {i}");
            p.handle(Event::Spawned { pid: 20 + i }, t);
        }
        t += Duration::from_millis(100);
        assert!(exit(&mut p, 2, t).is_empty());
        assert_eq!(p.state(), State::Fatal);
        assert!(
            p.reason().contains("restarted 5 times within 1m"),
            "{}",
            p.reason()
        );
        assert_eq!(p.restarts(), 5);
        // A person starting it again clears the history.
        assert_eq!(p.handle(Event::Start, t), vec![Action::Spawn]);
    }

    #[test]
    fn restarts_outside_the_window_do_not_count() {
        let mut t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        for i in 0..20 {
            t += Duration::from_secs(30);
            assert_eq!(exit(&mut p, 2, t), vec![Action::Spawn], "restart {i}");
            p.handle(Event::Spawned { pid: 20 }, t);
        }
    }

    #[test]
    fn stop_signals_then_kills_after_the_timeout() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        assert_eq!(
            p.handle(Event::Stop, t),
            vec![Action::Signal {
                signal: Signal::Term,
                tree: true
            }]
        );
        assert_eq!(p.state(), State::Stopping);
        let deadline = p.deadline().unwrap();
        assert_eq!(deadline - t, Duration::from_secs(10));
        assert_eq!(
            p.handle(Event::Tick, deadline),
            vec![Action::Kill { tree: true }]
        );
        assert!(
            p.handle(
                Event::Exited {
                    status: ExitStatus::Signal(9),
                    tree_left: true
                },
                deadline
            )
            .is_empty()
        );
        assert_eq!(p.state(), State::Stopping, "waits for the rest of the tree");
        p.handle(Event::TreeGone, deadline);
        assert_eq!(p.state(), State::Stopped);
        assert!(p.deadline().is_none());
    }

    #[test]
    fn an_infinite_stop_timeout_never_kills() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.stop_timeout = crate::INFINITY;
        running(&mut p, t);
        assert_eq!(
            p.handle(Event::Stop, t),
            vec![Action::Signal {
                signal: Signal::Term,
                tree: true
            }]
        );
        assert_eq!(p.state(), State::Stopping);
        assert!(
            p.reason().contains("waiting up to infinity"),
            "{}",
            p.reason()
        );
        assert!(
            p.deadline().is_none(),
            "no deadline: nothing to wake up for"
        );
        let a_year = t + Duration::from_secs(365 * 24 * 3600);
        assert!(p.handle(Event::Tick, a_year).is_empty(), "never killed");
        assert_eq!(p.state(), State::Stopping);
        exit(&mut p, 0, a_year);
        assert_eq!(p.state(), State::Stopped);
    }

    #[test]
    fn a_zero_stop_timeout_kills_at_once() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.stop_timeout = Duration::ZERO;
        running(&mut p, t);
        assert_eq!(p.handle(Event::Stop, t), vec![Action::Kill { tree: true }]);
    }

    #[test]
    fn nothing_restarts_while_stopping_or_after_shutdown() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        p.handle(Event::Shutdown, t);
        assert!(exit(&mut p, 1, t).is_empty());
        assert_eq!(p.state(), State::Stopped);
        assert!(
            p.handle(Event::Start, t).is_empty(),
            "no start during shutdown"
        );
    }

    #[test]
    fn once_shutdown_has_begun_an_exit_before_its_turn_is_not_restarted() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        assert!(
            p.handle(Event::ShutdownBegun, t).is_empty(),
            "it keeps running"
        );
        assert_eq!(p.state(), State::Running);
        assert!(exit(&mut p, 143, t).is_empty(), "no restart, no backoff");
        assert_eq!(p.state(), State::Stopped);
        assert!(p.reason().contains("shutting down"), "{}", p.reason());
        assert!(p.deadline().is_none());
        assert!(p.handle(Event::Start, t).is_empty());
        assert!(p.handle(Event::Shutdown, t).is_empty());
        assert_eq!(p.state(), State::Stopped);
    }

    #[test]
    fn shutdown_begun_during_backoff_cancels_the_restart() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        exit(&mut p, 1, t);
        assert_eq!(p.state(), State::Backoff);
        p.handle(Event::ShutdownBegun, t);
        assert_eq!(p.state(), State::Stopped);
        assert!(
            p.handle(Event::Tick, t + Duration::from_secs(60))
                .is_empty()
        );
    }

    #[test]
    fn the_backoff_cap_holds_with_jitter_and_huge_values() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.backoff.jitter = 1.0;
        p.config.backoff.max = Duration::from_millis(300);
        p.config.max_restarts = 0;
        for _ in 0..50 {
            running(&mut p, t);
            exit(&mut p, 1, t);
            if let Some(d) = p.deadline() {
                assert!(d - t <= Duration::from_millis(300), "{:?}", d - t);
            }
        }
        p.config.backoff.max = Duration::MAX;
        p.config.backoff.initial = Duration::MAX;
        running(&mut p, t);
        exit(&mut p, 1, t);
        assert_eq!(p.state(), State::Backoff);
    }

    #[test]
    fn a_program_that_never_stays_up_goes_fatal_even_when_backoff_spreads_it_out() {
        let mut t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.config.max_restarts = 3;
        p.config.restart_window = Duration::from_secs(1);
        p.config.backoff.initial = Duration::from_secs(5);
        for _ in 0..3 {
            running(&mut p, t);
            exit(&mut p, 3, t);
            assert_eq!(p.state(), State::Backoff);
            t = p.deadline().unwrap();
        }
        running(&mut p, t);
        exit(&mut p, 3, t);
        assert_eq!(p.state(), State::Fatal, "{}", p.reason());
        assert!(p.reason().contains("3 times in a row"), "{}", p.reason());
    }

    #[test]
    fn stop_during_backoff_cancels_the_restart() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        exit(&mut p, 1, t);
        assert_eq!(p.state(), State::Backoff);
        p.handle(Event::Stop, t);
        assert_eq!(p.state(), State::Stopped);
        assert!(p.handle(Event::Tick, t + Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn restart_stops_then_starts_and_is_not_counted_as_a_crash() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Never);
        running(&mut p, t);
        assert_eq!(
            p.handle(Event::Restart, t),
            vec![Action::Signal {
                signal: Signal::Term,
                tree: true
            }]
        );
        assert_eq!(
            p.handle(
                Event::Exited {
                    status: ExitStatus::Signal(15),
                    tree_left: false
                },
                t
            ),
            vec![Action::Spawn]
        );
        assert_eq!(p.restarts(), 0);
    }

    #[test]
    fn orphans_of_a_crashed_instance_are_killed() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        let a = p.handle(
            Event::Exited {
                status: ExitStatus::Code(1),
                tree_left: true,
            },
            t + Duration::from_secs(60),
        );
        assert_eq!(a, vec![Action::Kill { tree: true }, Action::Spawn]);
    }

    #[test]
    fn failed_spawns_count_towards_the_crash_loop() {
        let mut t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        p.handle(Event::Start, t);
        for _ in 0..5 {
            p.handle(
                Event::SpawnFailed {
                    error: "No such file".into(),
                },
                t,
            );
            assert_eq!(p.state(), State::Backoff);
            t = p.deadline().unwrap();
            assert_eq!(p.handle(Event::Tick, t), vec![Action::Spawn]);
        }
        p.handle(
            Event::SpawnFailed {
                error: "No such file".into(),
            },
            t,
        );
        assert_eq!(p.state(), State::Fatal);
        assert!(
            p.reason().starts_with("could not start: No such file"),
            "{}",
            p.reason()
        );
    }

    #[test]
    fn a_failed_check_stops_the_tree_then_restarts_per_policy() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        let actions = p.handle(
            Event::Failed {
                reason: "not ready within 5s".into(),
            },
            t,
        );
        assert!(
            matches!(actions[..], [Action::Signal { .. }]),
            "{actions:?}"
        );
        assert_eq!(p.state(), State::Stopping);
        assert!(
            p.reason().starts_with("not ready within 5s"),
            "{}",
            p.reason()
        );
        exit(&mut p, 143, t);
        // A quick failure: backoff, counted toward the crash loop.
        assert_eq!(p.state(), State::Backoff, "{}", p.reason());
        assert!(
            p.reason().starts_with("not ready within 5s; restarting in"),
            "{}",
            p.reason()
        );
        assert_eq!(p.restarts(), 1);
    }

    #[test]
    fn a_failed_check_under_restart_never_ends_in_exited() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Never);
        running(&mut p, t);
        p.handle(
            Event::Failed {
                reason: "unhealthy".into(),
            },
            t,
        );
        exit(&mut p, 143, t);
        assert_eq!(p.state(), State::Exited);
        assert!(
            p.reason().contains("unhealthy; not restarted"),
            "{}",
            p.reason()
        );
    }

    #[test]
    fn a_stop_request_during_a_failure_stop_wins() {
        let t = Instant::now();
        let mut p = program(RestartPolicy::Always);
        running(&mut p, t);
        p.handle(
            Event::Failed {
                reason: "unhealthy".into(),
            },
            t,
        );
        p.handle(Event::Stop, t);
        exit(&mut p, 143, t);
        assert_eq!(p.state(), State::Stopped);
    }
}
