//! Properties of the program state machine, over random sequences of requests, exits,
//! spawn failures and the passing of time (proptest shrinks any failure to a minimal
//! sequence). A simulated process answers the machine's actions the way the engine does:
//!
//! - never two live instances: no `Spawn` while the previous process (or its tree) lives;
//! - after shutdown, nothing is ever spawned again;
//! - backoff delays are respected: an automatic restart after a quick failure waits at least
//!   the first backoff (less its jitter), after a failed spawn at least one second;
//! - the crash-loop limit holds: no more than `max_restarts` automatic restarts decided
//!   within any `restart_window` (a restart is decided when the process ends; it may start
//!   after a backoff);
//! - a stop always completes, even for a process that ignores its stop signal.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use stead_supervisor::config::{Backoff, ProgramConfig, RestartPolicy};
use stead_supervisor::program::{Action, Event, ExitStatus, Program, State};

#[derive(Debug, Clone)]
enum Op {
    Start,
    Stop,
    Restart,
    Shutdown,
    /// The main process exits with this code (or dies of SIGKILL when `None`).
    Exit(Option<i32>),
    /// The next spawn fails.
    FailNextSpawn,
    /// Time passes (milliseconds).
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Start),
        1 => Just(Op::Stop),
        1 => Just(Op::Restart),
        1 => Just(Op::Shutdown),
        4 => prop_oneof![Just(None), (0..3i32).prop_map(Some)].prop_map(Op::Exit),
        1 => Just(Op::FailNextSpawn),
        5 => (0u64..5_000).prop_map(Op::Advance),
    ]
}

fn config(restart: RestartPolicy, max_restarts: u32, stop_timeout_ms: u64) -> ProgramConfig {
    let mut c = ProgramConfig::new("p", vec!["x".into()]);
    c.restart = restart;
    c.backoff = Backoff {
        initial: Duration::from_millis(200),
        max: Duration::from_secs(5),
        multiplier: 2.0,
        jitter: 0.1,
        reset_after: Duration::from_secs(3),
    };
    c.max_restarts = max_restarts;
    c.restart_window = Duration::from_secs(20);
    c.stop_timeout = Duration::from_millis(stop_timeout_ms);
    c
}

struct Sim {
    p: Program,
    now: Instant,
    /// The main process lives.
    main: bool,
    next_pid: u32,
    fail_next_spawn: bool,
    shut_down: bool,
    /// Automatic spawns since the last request, with their times.
    auto_spawns: Vec<Instant>,
    /// The last process's start, for the quick-failure rule.
    started: Option<Instant>,
    /// The earliest an automatic restart may happen.
    not_before: Option<Instant>,
    /// A start or restart was asked for and its spawn has not happened yet (a restart
    /// spawns when the stop completes).
    requested: bool,
    /// When the last process ended or failed to start.
    last_end: Option<Instant>,
}

impl Sim {
    fn new(c: ProgramConfig, seed: u64) -> Self {
        Sim {
            p: Program::new(c, seed),
            now: Instant::now(),
            main: false,
            next_pid: 100,
            fail_next_spawn: false,
            shut_down: false,
            auto_spawns: Vec::new(),
            started: None,
            not_before: None,
            requested: false,
            last_end: None,
        }
    }

    fn feed(&mut self, event: Event) -> Result<(), TestCaseError> {
        let mut queue = vec![event];
        while let Some(e) = queue.pop() {
            for action in self.p.handle(e, self.now) {
                match action {
                    Action::Spawn => queue.push(self.spawn()?),
                    Action::Signal { .. } => {}
                    Action::Kill { .. } => {
                        if self.main {
                            self.main = false;
                            queue.push(self.exited(ExitStatus::Signal(9)));
                        } else {
                            queue.push(Event::TreeGone);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<Event, TestCaseError> {
        prop_assert!(!self.main, "a second instance was spawned while one lives");
        prop_assert!(!self.shut_down, "spawned after shutdown");
        if std::mem::take(&mut self.requested) {
            self.auto_spawns.clear();
        } else {
            if let Some(t) = self.not_before {
                prop_assert!(
                    self.now >= t,
                    "restarted {:?} too early",
                    t.duration_since(self.now)
                );
            }
            // The restart was decided when the last process ended (or failed to start): the
            // crash-loop window counts decisions, the spawn may follow a backoff later.
            self.auto_spawns.push(self.last_end.unwrap_or(self.now));
        }
        self.not_before = None;
        if std::mem::take(&mut self.fail_next_spawn) {
            self.not_before = Some(self.now + Duration::from_secs(1));
            self.last_end = Some(self.now);
            return Ok(Event::SpawnFailed {
                error: "simulated".into(),
            });
        }
        self.main = true;
        self.started = Some(self.now);
        self.next_pid += 1;
        Ok(Event::Spawned { pid: self.next_pid })
    }

    fn exited(&mut self, status: ExitStatus) -> Event {
        self.last_end = Some(self.now);
        let c = self.p.config();
        let ran = self
            .started
            .map_or(Duration::ZERO, |s| self.now.duration_since(s));
        let quick = ran < c.backoff.reset_after;
        let failure = !matches!(status, ExitStatus::Code(code) if c.exit_codes.contains(&code));
        if quick && (failure || c.restart == RestartPolicy::Always) {
            self.not_before = Some(self.now + c.backoff.initial.mul_f64(1.0 - c.backoff.jitter));
        } else {
            self.not_before = None;
        }
        Event::Exited {
            status,
            tree_left: false,
        }
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Start | Op::Restart => self.requested = true,
            Op::Stop | Op::Shutdown => self.requested = false,
            _ => {}
        }
        match op {
            Op::Start => self.feed(Event::Start)?,
            Op::Stop => self.feed(Event::Stop)?,
            Op::Restart => self.feed(Event::Restart)?,
            Op::Shutdown => {
                self.feed(Event::Shutdown)?;
                self.shut_down = true;
            }
            Op::Exit(code) => {
                if self.main {
                    self.main = false;
                    let status = code.map_or(ExitStatus::Signal(9), ExitStatus::Code);
                    let e = self.exited(status);
                    self.feed(e)?;
                }
            }
            Op::FailNextSpawn => self.fail_next_spawn = true,
            Op::Advance(ms) => {
                let target = self.now + Duration::from_millis(*ms);
                // Each deadline that falls within the time that passes is handled at its
                // time, as the engine does.
                while let Some(d) = self.p.deadline().filter(|d| *d <= target) {
                    self.now = self.now.max(d);
                    self.tick()?;
                }
                self.now = target;
            }
        }
        if matches!(op, Op::Start | Op::Restart)
            && !matches!(self.p.state(), State::Stopping | State::Starting)
        {
            // Nothing was left to start (already running): the request is spent.
            self.requested = false;
        }
        self.check_crash_loop()
    }

    fn tick(&mut self) -> Result<(), TestCaseError> {
        // Deadlines that fell within the time that passed are handled at their time.
        for _ in 0..1000 {
            match self.p.deadline() {
                Some(d) if d <= self.now => self.feed(Event::Tick)?,
                _ => return Ok(()),
            }
        }
        Err(TestCaseError::fail("deadlines never settle"))
    }

    fn check_crash_loop(&self) -> Result<(), TestCaseError> {
        let c = self.p.config();
        if c.max_restarts == 0 {
            return Ok(());
        }
        for (i, t) in self.auto_spawns.iter().enumerate() {
            let within = self.auto_spawns[i..]
                .iter()
                .filter(|s| s.duration_since(*t) < c.restart_window)
                .count();
            prop_assert!(
                within <= c.max_restarts as usize,
                "{within} automatic restarts within {:?} (max_restarts {})",
                c.restart_window,
                c.max_restarts
            );
        }
        Ok(())
    }

    /// Stop, with a process that ignores the stop signal: the machine must get it killed and
    /// end up not running.
    fn stop_completes(&mut self) -> Result<(), TestCaseError> {
        self.feed(Event::Stop)?;
        for _ in 0..10 {
            if !matches!(self.p.state(), State::Stopping) {
                break;
            }
            let deadline = self.p.deadline();
            prop_assert!(
                deadline.is_some(),
                "stopping with no deadline: it would wait forever"
            );
            self.now = self.now.max(deadline.unwrap());
            self.tick()?;
        }
        prop_assert!(
            matches!(
                self.p.state(),
                State::Stopped | State::Exited | State::Fatal
            ),
            "stop did not complete: {:?} ({})",
            self.p.state(),
            self.p.reason()
        );
        prop_assert!(!self.main, "stopped while the process lives");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_state_machine_keeps_its_promises(
        ops in proptest::collection::vec(op(), 1..80),
        restart in prop_oneof![Just(RestartPolicy::Always), Just(RestartPolicy::OnFailure), Just(RestartPolicy::Never)],
        max_restarts in 0u32..6,
        stop_timeout_ms in prop_oneof![Just(0u64), 1u64..3_000],
        seed in any::<u64>(),
    ) {
        let mut sim = Sim::new(config(restart, max_restarts, stop_timeout_ms), seed);
        for op in &ops {
            sim.run(op)?;
        }
        sim.stop_completes()?;
    }
}
