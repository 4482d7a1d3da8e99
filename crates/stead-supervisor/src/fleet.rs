//! The fleet's decisions, as pure functions of what each program is: which waiting program
//! may start (what it depends on is there), which may be told to shut down (nothing still
//! alive depends on it), whether the start is over for the host manager, whether the
//! supervisor itself must end, which programs a name selects, and what a reload changes.
//!
//! One program's life is [`crate::program`]'s machine; this is the machine of the whole: the
//! engine shows it the programs through [`View`] (no copy of ten thousand slots per event)
//! and carries out its verdicts. Time is not an input: every timer belongs to a program's
//! own machine, and these decisions follow from the states those timers lead to. Tested
//! with fake fleets here and with random ones in `tests/fleet_properties.rs`.
//!
//! ```
//! use stead_supervisor::config::ProgramConfig;
//! use stead_supervisor::fleet::{Member, View, dependencies_met};
//! use stead_supervisor::program::State;
//!
//! let db = ProgramConfig::new("db", vec!["db".into()]);
//! let mut app = ProgramConfig::new("app", vec!["app".into()]);
//! app.depends_on = vec!["db".into()];
//! let fleet = [(db, State::Starting), (app, State::Waiting)];
//!
//! struct Fleet<'a>(&'a [(ProgramConfig, State)]);
//! impl View for Fleet<'_> {
//!     fn len(&self) -> usize { self.0.len() }
//!     fn member(&self, i: usize) -> Member<'_> {
//!         Member::at_rest(&self.0[i].0, self.0[i].1)
//!     }
//!     fn group(&self, name: &str) -> Vec<usize> {
//!         (0..self.0.len()).filter(|&i| self.0[i].0.group == name).collect()
//!     }
//! }
//! // The app waits while the db is only starting.
//! assert_eq!(
//!     dependencies_met(&Fleet(&fleet), 1).unwrap_err(),
//!     "waiting for db to be ready"
//! );
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::config::{ProgramConfig, RestartPolicy, SupervisorSettings};
use crate::program::{ExitStatus, State};

/// What the fleet's decisions need to know of one program instance.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Its settings.
    pub config: &'a ProgramConfig,
    /// Its state machine's state.
    pub state: State,
    /// Why it is in that state (`held: …`, `waiting for …`).
    pub reason: &'a str,
    /// How its last process ended.
    pub last_exit: Option<ExitStatus>,
    /// While it runs: whether its `ready` check has passed (`None` when it is not running).
    pub ready: Option<bool>,
    /// The shutdown has been sent to it.
    pub shutdown_sent: bool,
    /// A process of its tree is still alive.
    pub has_tree: bool,
}

impl<'a> Member<'a> {
    /// A member with no process, no exit and no checks: a fresh program in `state`.
    pub fn at_rest(config: &'a ProgramConfig, state: State) -> Self {
        Member {
            config,
            state,
            reason: "",
            last_exit: None,
            ready: None,
            shutdown_sent: false,
            has_tree: false,
        }
    }

    /// Ended for good during a shutdown: told to stop, at rest, and no process left.
    fn gone(&self) -> bool {
        self.shutdown_sent && !self.has_tree && self.state.is_at_rest()
    }

    /// Its last exit is one its `exit_codes` call a success.
    fn ended_well(&self) -> bool {
        matches!(self.last_exit, Some(ExitStatus::Code(c)) if self.config.exit_codes.contains(&c))
    }
}

/// The fleet as the decisions see it.
pub trait View {
    /// How many program instances there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Instance `i` (`0..len()`).
    fn member(&self, i: usize) -> Member<'_>;
    /// The instances of the group `name` (`depends_on` names groups).
    fn group(&self, name: &str) -> Vec<usize>;
}

/// `Ok` when every program instance `idx` depends on is there: running and ready (running
/// is enough for a dependency named in `depends_started`), or — for a one-shot task
/// (`restart = "never"`) — finished with success; else why it is held (a dependency is
/// fatal or ended without success: it will not start), or else what it waits for first.
pub fn dependencies_met(fleet: &impl View, idx: usize) -> Result<(), String> {
    let config = fleet.member(idx).config;
    // What it waits for, unless a dependency holds it: a held program never starts, and
    // that is what its reason must say, whichever of its dependencies comes first.
    let mut waiting = None;
    for dep in &config.depends_on {
        for i in fleet.group(dep) {
            let m = fleet.member(i);
            let name = &m.config.name;
            let one_shot = m.config.restart == RestartPolicy::Never;
            let started_enough = config.depends_started.contains(dep);
            let ready = started_enough || m.ready == Some(true);
            let there = match m.state {
                State::Running => !one_shot && ready,
                State::Exited => m.ended_well(),
                _ => false,
            };
            if there {
                continue;
            }
            match m.state {
                State::Fatal => return Err(format!("held: {name} is fatal ({})", m.reason)),
                State::Exited => return Err(format!("held: {name} ended without success")),
                _ if waiting.is_some() => {}
                _ if one_shot => waiting = Some(format!("waiting for {name} to finish")),
                _ if started_enough => {
                    waiting = Some(format!("waiting for {name} to be running"));
                }
                _ => waiting = Some(format!("waiting for {name} to be ready")),
            }
        }
    }
    waiting.map_or(Ok(()), Err)
}

/// The groups that a program still alive (or not yet told to stop) depends on: they must
/// not be told to shut down yet.
pub fn held_groups(fleet: &impl View) -> HashSet<String> {
    (0..fleet.len())
        .map(|i| fleet.member(i))
        .filter(|m| !m.gone())
        .flat_map(|m| m.config.depends_on.iter().cloned())
        .collect()
}

/// The instances to tell to shut down now: not told yet, and no program still alive depends
/// on their group. Dependents stop first, what they depend on after them (the reverse of
/// the start order); the engine asks again as programs come to rest.
pub fn next_to_shut_down(fleet: &impl View) -> Vec<usize> {
    let held = held_groups(fleet);
    (0..fleet.len())
        .filter(|&i| {
            let m = fleet.member(i);
            !m.shutdown_sent && !held.contains(m.config.group.as_str())
        })
        .collect()
}

/// Whether the start is over for the host manager, judging the programs in order from
/// `*checked` (moved past each one that has come through, so a large fleet costs one look
/// per program, not one per event): `Some(Ok)` once every autostart program is ready
/// (running with its `ready` check passed), finished with success, or was stopped by a
/// person; `Some(Err(why))` when one gave up first (fatal, held, ended with a failure);
/// `None` while one is still on its way.
pub fn startup_verdict(fleet: &impl View, checked: &mut usize) -> Option<Result<(), String>> {
    while *checked < fleet.len() {
        let m = fleet.member(*checked);
        *checked += 1;
        if !m.config.autostart {
            continue;
        }
        match m.state {
            State::Running if m.ready.is_none_or(|r| r) => {}
            State::Stopped => {}
            State::Exited if m.ended_well() => {}
            State::Fatal | State::Exited => {
                return Some(Err(format!("{}: {}", m.config.name, m.reason)));
            }
            State::Waiting if m.reason.starts_with("held") => {
                return Some(Err(format!("{}: {}", m.config.name, m.reason)));
            }
            // Waiting for a program nobody starts automatically: a person will.
            State::Waiting
                if m.config.depends_on.iter().any(|d| {
                    !fleet
                        .group(d)
                        .into_iter()
                        .any(|i| fleet.member(i).config.autostart)
                }) => {}
            _ => {
                *checked -= 1;
                return None;
            }
        }
    }
    Some(Ok(()))
}

/// Why the supervisor must end by itself (not by a request or a signal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// stead's exit code.
    pub code: i32,
    /// Why, for the log.
    pub why: &'static str,
    /// The program that caused it.
    pub program: String,
}

/// Whether the fleet asks the supervisor to end: in `run_mode` (`stead run`), the single
/// program ended for good (stead exits with its code, or [`crate::EXIT_PROGRAM_FATAL`] when
/// it went fatal); with `exit_on_fatal`, any program went fatal.
pub fn exit_verdict(fleet: &impl View, run_mode: bool, exit_on_fatal: bool) -> Option<Exit> {
    if run_mode {
        if fleet.is_empty() {
            return None;
        }
        let m = fleet.member(0);
        return match (m.state, m.last_exit) {
            (State::Exited, Some(exit)) => Some(Exit {
                code: exit.shell_code(),
                why: "the program ended",
                program: m.config.name.clone(),
            }),
            (State::Exited | State::Fatal, _) => Some(Exit {
                code: crate::EXIT_PROGRAM_FATAL,
                why: "the program ended",
                program: m.config.name.clone(),
            }),
            _ => None,
        };
    }
    if exit_on_fatal {
        return (0..fleet.len())
            .map(|i| fleet.member(i))
            .find(|m| m.state == State::Fatal)
            .map(|m| Exit {
                code: crate::EXIT_PROGRAM_FATAL,
                why: "exit_on_fatal",
                program: m.config.name.clone(),
            });
    }
    None
}

/// The instances that `names` select, in fleet order (all when `names` is empty): a group
/// name selects its instances, an instance name itself. An unknown name is an error with
/// the message and the list of programs as the hint.
pub fn select(fleet: &impl View, names: &[String]) -> Result<Vec<usize>, (String, String)> {
    if names.is_empty() {
        return Ok((0..fleet.len()).collect());
    }
    let mut out = Vec::new();
    for name in names {
        let mut found = false;
        for i in 0..fleet.len() {
            if fleet.member(i).config.answers_to(name) {
                found = true;
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        if !found {
            let known: BTreeSet<&str> = (0..fleet.len())
                .map(|i| fleet.member(i).config.group.as_str())
                .collect();
            let known: Vec<&str> = known.into_iter().collect();
            return Err((
                format!("no program named `{name}`"),
                format!("the programs are: {}", known.join(", ")),
            ));
        }
    }
    Ok(out)
}

/// What becomes of a program of the new config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// New: a fresh instance.
    Added,
    /// The running instance of that index, as it is.
    Unchanged(usize),
    /// The running instance of that index, with the new settings (restarted if it runs).
    Changed(usize),
}

/// What a reload changes, instance by instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// For each program of the new config, in its order, what becomes of it.
    pub fates: Vec<Fate>,
    /// New in the file.
    pub added: Vec<String>,
    /// Gone from the file: stopped and forgotten.
    pub removed: Vec<String>,
    /// Still in the file with other settings (than the ones it runs with, or the ones it
    /// is to be restarted with).
    pub changed: Vec<String>,
    /// Still in the file as they are.
    pub unchanged: Vec<String>,
    /// Settings that take effect only when stead itself restarts.
    pub needs_restart: Vec<String>,
}

/// The reload from the running instances (each with the settings it runs with and, when a
/// restart is pending, the ones it will run with) to `fresh`, and from the running
/// `[supervisor]` settings to `fresh_settings`.
pub fn reload_plan(
    running: &[(&ProgramConfig, Option<&ProgramConfig>)],
    fresh: &[ProgramConfig],
    settings: &SupervisorSettings,
    fresh_settings: &SupervisorSettings,
) -> ReloadPlan {
    let mut plan = ReloadPlan::default();
    for (changed, what) in [
        (
            settings.metrics.listen != fresh_settings.metrics.listen,
            "[metrics] listen",
        ),
        (
            settings.metrics.token_file != fresh_settings.metrics.token_file,
            "[metrics] token_file",
        ),
        (
            settings.metrics.sample != fresh_settings.metrics.sample,
            "[metrics] sample",
        ),
        (
            settings.log_dir != fresh_settings.log_dir,
            "[supervisor] log_dir",
        ),
    ] {
        if changed {
            plan.needs_restart.push(what.to_string());
        }
    }
    let by_name: HashMap<&str, usize> = running
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (c.name.as_str(), i))
        .collect();
    let mut kept = vec![false; running.len()];
    for cfg in fresh {
        match by_name.get(cfg.name.as_str()) {
            Some(&i) if !kept[i] => {
                kept[i] = true;
                let (now, pending) = running[i];
                if same_but_pacing(now, cfg) && pending.is_none_or(|p| same_but_pacing(p, cfg)) {
                    plan.unchanged.push(cfg.name.clone());
                    plan.fates.push(Fate::Unchanged(i));
                } else {
                    plan.changed.push(cfg.name.clone());
                    plan.fates.push(Fate::Changed(i));
                }
            }
            _ => {
                plan.added.push(cfg.name.clone());
                plan.fates.push(Fate::Added);
            }
        }
    }
    for (i, (c, _)) in running.iter().enumerate() {
        if !kept[i] {
            plan.removed.push(c.name.clone());
        }
    }
    plan
}

/// Whether `a` and `b` differ at most in how a change would be rolled out (`update`, its
/// limits): a program whose only change is that runs on, and takes the new pacing in place.
pub(crate) fn same_but_pacing(a: &ProgramConfig, b: &ProgramConfig) -> bool {
    if a == b {
        return true;
    }
    let mut b = b.clone();
    b.update = a.update;
    b.rolling = a.rolling;
    *a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One member of a test fleet: settings, state, readiness, last exit, reason.
    type Facts = (
        ProgramConfig,
        State,
        Option<bool>,
        Option<ExitStatus>,
        String,
    );

    /// A fleet for the tests: each member's settings and facts, groups by config.
    struct Fake(Vec<Facts>);

    impl View for Fake {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn member(&self, i: usize) -> Member<'_> {
            let (c, state, ready, exit, reason) = &self.0[i];
            Member {
                config: c,
                state: *state,
                reason,
                last_exit: *exit,
                ready: *ready,
                shutdown_sent: false,
                has_tree: false,
            }
        }
        fn group(&self, name: &str) -> Vec<usize> {
            (0..self.0.len())
                .filter(|&i| self.0[i].0.group == name)
                .collect()
        }
    }

    fn prog(name: &str, deps: &[&str]) -> ProgramConfig {
        let mut c = ProgramConfig::new(name, vec![name.into()]);
        c.depends_on = deps.iter().map(ToString::to_string).collect();
        c
    }

    #[test]
    fn a_dependent_waits_for_readiness_and_is_held_by_a_fatal_dependency() {
        let mut f = Fake(vec![
            (
                prog("db", &[]),
                State::Running,
                Some(false),
                None,
                String::new(),
            ),
            (
                prog("app", &["db"]),
                State::Waiting,
                None,
                None,
                String::new(),
            ),
        ]);
        assert_eq!(
            dependencies_met(&f, 1).unwrap_err(),
            "waiting for db to be ready"
        );
        f.0[0].2 = Some(true);
        assert_eq!(dependencies_met(&f, 1), Ok(()));
        f.0[0].1 = State::Fatal;
        f.0[0].4 = "crashed 5 times".into();
        assert_eq!(
            dependencies_met(&f, 1).unwrap_err(),
            "held: db is fatal (crashed 5 times)"
        );
    }

    #[test]
    fn a_one_shot_dependency_must_finish_with_success() {
        let mut migrate = prog("migrate", &[]);
        migrate.restart = RestartPolicy::Never;
        let mut f = Fake(vec![
            (migrate, State::Running, Some(true), None, String::new()),
            (
                prog("app", &["migrate"]),
                State::Waiting,
                None,
                None,
                String::new(),
            ),
        ]);
        assert_eq!(
            dependencies_met(&f, 1).unwrap_err(),
            "waiting for migrate to finish"
        );
        f.0[0].1 = State::Exited;
        f.0[0].3 = Some(ExitStatus::Code(1));
        assert_eq!(
            dependencies_met(&f, 1).unwrap_err(),
            "held: migrate ended without success"
        );
        f.0[0].3 = Some(ExitStatus::Code(0));
        assert_eq!(dependencies_met(&f, 1), Ok(()));
    }

    #[test]
    fn the_start_is_over_once_every_autostart_program_came_through() {
        let mut f = Fake(vec![
            (
                prog("a", &[]),
                State::Running,
                Some(true),
                None,
                String::new(),
            ),
            (prog("b", &[]), State::Starting, None, None, String::new()),
        ]);
        let mut checked = 0;
        assert_eq!(startup_verdict(&f, &mut checked), None);
        assert_eq!(checked, 1, "a came through and is not looked at again");
        f.0[1].1 = State::Running;
        f.0[1].2 = Some(true);
        assert_eq!(startup_verdict(&f, &mut checked), Some(Ok(())));

        let f = Fake(vec![(
            prog("c", &[]),
            State::Fatal,
            None,
            None,
            "crash loop".into(),
        )]);
        assert_eq!(
            startup_verdict(&f, &mut 0),
            Some(Err("c: crash loop".into()))
        );
    }

    #[test]
    fn run_mode_ends_with_the_programs_code_and_exit_on_fatal_with_100() {
        let f = Fake(vec![(
            prog("job", &[]),
            State::Exited,
            None,
            Some(ExitStatus::Code(3)),
            String::new(),
        )]);
        assert_eq!(exit_verdict(&f, true, false).unwrap().code, 3);
        assert_eq!(exit_verdict(&f, false, true), None);
        let f = Fake(vec![(
            prog("web", &[]),
            State::Fatal,
            None,
            None,
            String::new(),
        )]);
        let e = exit_verdict(&f, false, true).unwrap();
        assert_eq!(
            (e.code, e.why, e.program.as_str()),
            (100, "exit_on_fatal", "web")
        );
        assert_eq!(exit_verdict(&f, false, false), None);
    }

    #[test]
    fn names_select_groups_and_instances_and_unknown_names_list_the_programs() {
        let mut w0 = prog("web:0", &[]);
        w0.group = "web".into();
        let mut w1 = prog("web:1", &[]);
        w1.group = "web".into();
        let f = Fake(vec![
            (w0, State::Running, None, None, String::new()),
            (w1, State::Running, None, None, String::new()),
            (prog("db", &[]), State::Running, None, None, String::new()),
        ]);
        assert_eq!(select(&f, &["web".into()]), Ok(vec![0, 1]));
        assert_eq!(select(&f, &["web:1".into(), "db".into()]), Ok(vec![1, 2]));
        assert_eq!(select(&f, &[]), Ok(vec![0, 1, 2]));
        let (msg, hint) = select(&f, &["nope".into()]).unwrap_err();
        assert_eq!(msg, "no program named `nope`");
        assert_eq!(hint, "the programs are: db, web");
    }

    #[test]
    fn a_reload_keeps_what_is_unchanged_and_names_the_rest() {
        let (a, b, c) = (prog("a", &[]), prog("b", &[]), prog("c", &[]));
        let mut b2 = b.clone();
        b2.command = vec!["other".into()];
        let running = [(&a, None), (&b, None), (&c, None)];
        let fresh = [a.clone(), b2.clone(), prog("d", &[])];
        let s = SupervisorSettings::default();
        let plan = reload_plan(&running, &fresh, &s, &s);
        assert_eq!(
            plan.fates,
            [Fate::Unchanged(0), Fate::Changed(1), Fate::Added]
        );
        assert_eq!(
            (plan.added, plan.removed, plan.changed, plan.unchanged),
            (
                vec!["d".to_string()],
                vec!["c".to_string()],
                vec!["b".to_string()],
                vec!["a".to_string()]
            )
        );
        // Back to the settings it runs with, while a restart to others is pending: changed.
        let running = [(&b, Some(&b2))];
        let plan = reload_plan(&running, std::slice::from_ref(&b), &s, &s);
        assert_eq!(plan.changed, ["b"]);
        let mut s2 = s.clone();
        s2.log_dir = Some("/var/log/x".into());
        assert_eq!(
            reload_plan(&[], &[], &s, &s2).needs_restart,
            ["[supervisor] log_dir"]
        );
    }
}
