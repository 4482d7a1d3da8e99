//! Properties of the fleet's decisions ([`stead_supervisor::fleet`]) over random fleets:
//! random `depends_on` graphs (acyclic, as the config parser guarantees), random orders in
//! which programs become ready, fail, or come to rest (proptest shrinks any failure to a
//! minimal fleet):
//!
//! - a program starts only once everything it depends on is running and ready, and a
//!   program whose dependency is fatal is held, never started; when nothing fails, every
//!   program starts (the gating never deadlocks);
//! - in a shutdown, a program is told to stop only once every program that depends on it
//!   has stopped (the reverse of the start order), and every program is told in the end;
//! - a reload from config A to config B adds exactly B's new names, removes exactly A's
//!   missing ones, calls changed exactly those whose settings differ, and keeps each
//!   running instance at most once.

use std::collections::BTreeSet;

use proptest::prelude::*;
use stead_supervisor::config::{ProgramConfig, SupervisorSettings};
use stead_supervisor::fleet::{
    Fate, Member, View, dependencies_met, next_to_shut_down, reload_plan,
};
use stead_supervisor::program::State;

/// One program of a simulated fleet.
#[derive(Debug, Clone)]
struct Sim {
    config: ProgramConfig,
    state: State,
    ready: Option<bool>,
    reason: String,
    shutdown_sent: bool,
    has_tree: bool,
}

struct Fleet(Vec<Sim>);

impl View for Fleet {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn member(&self, i: usize) -> Member<'_> {
        let s = &self.0[i];
        Member {
            config: &s.config,
            state: s.state,
            reason: &s.reason,
            last_exit: None,
            ready: s.ready,
            shutdown_sent: s.shutdown_sent,
            has_tree: s.has_tree,
        }
    }
    fn group(&self, name: &str) -> Vec<usize> {
        (0..self.0.len())
            .filter(|&i| self.0[i].config.group == name)
            .collect()
    }
}

/// A random acyclic fleet: program `i` may depend on any program before it.
fn fleet() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..12).prop_flat_map(|n| {
        (0..n)
            .map(|i| proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(3)))
            .collect::<Vec<_>>()
    })
}

fn build(deps: &[Vec<usize>], state: State) -> Fleet {
    Fleet(
        deps.iter()
            .enumerate()
            .map(|(i, d)| {
                let mut config = ProgramConfig::new(&format!("p{i}"), vec!["x".into()]);
                config.depends_on = d.iter().map(|j| format!("p{j}")).collect();
                Sim {
                    config,
                    state,
                    ready: (state == State::Running).then_some(true),
                    reason: String::new(),
                    shutdown_sent: false,
                    has_tree: state == State::Running,
                }
            })
            .collect(),
    )
}

/// Whether program `i` depends, directly or not, on a fatal one.
fn held(i: usize, deps: &[Vec<usize>], fatal: &BTreeSet<usize>) -> bool {
    deps[i]
        .iter()
        .any(|d| fatal.contains(d) || held(*d, deps, fatal))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Steps pick a program: a waiting one the fleet lets start starts; a starting one
    /// runs, not ready yet; a running one becomes ready; or (when `fail` says) goes fatal.
    #[test]
    fn dependents_never_start_before_their_dependencies_are_ready(
        deps in fleet(),
        steps in proptest::collection::vec((0usize..64, 0u8..10), 0..200),
    ) {
        let mut f = build(&deps, State::Waiting);
        let mut fatal = BTreeSet::new();
        let mut started = BTreeSet::new();
        let mut run = |f: &mut Fleet, pick: usize, fail: bool| {
            let i = pick % f.0.len();
            match f.0[i].state {
                State::Waiting => {
                    match dependencies_met(&*f, i) {
                        Ok(()) => {
                            for d in &deps[i] {
                                let dep = &f.0[*d];
                                prop_assert!(
                                    dep.state == State::Running && dep.ready == Some(true),
                                    "p{i} started while p{d} is {:?} (ready {:?})", dep.state, dep.ready
                                );
                            }
                            f.0[i].state = State::Starting;
                            started.insert(i);
                        }
                        Err(why) => {
                            // Held by a fatal dependency: said so, and never started.
                            if deps[i].iter().any(|d| f.0[*d].state == State::Fatal) {
                                prop_assert!(why.starts_with("held"), "{why}");
                            }
                            f.0[i].reason = why;
                        }
                    }
                }
                State::Starting => {
                    f.0[i].state = State::Running;
                    f.0[i].ready = Some(false);
                }
                State::Running if fail => {
                    f.0[i].state = State::Fatal;
                    f.0[i].ready = None;
                    fatal.insert(i);
                }
                State::Running => f.0[i].ready = Some(true),
                _ => {}
            }
            Ok(())
        };
        for (pick, roll) in steps {
            run(&mut f, pick, roll == 0)?;
        }
        // Then with nothing failing, every program that nothing fatal holds gets going.
        for _ in 0..deps.len() * 4 {
            for i in 0..deps.len() {
                run(&mut f, i, false)?;
            }
        }
        for i in 0..deps.len() {
            if !held(i, &deps, &fatal) && !fatal.contains(&i) {
                prop_assert!(
                    f.0[i].state == State::Running && f.0[i].ready == Some(true),
                    "p{i} never got going: {:?}", f.0[i].state
                );
            }
            if held(i, &deps, &fatal) && !started.contains(&i) {
                prop_assert_eq!(f.0[i].state, State::Waiting);
            }
        }
    }

    /// Programs told to stop come to rest in a random order; the fleet is asked again after
    /// each one, as the engine does.
    #[test]
    fn shutdown_stops_dependents_before_their_dependencies(
        deps in fleet(),
        order in proptest::collection::vec(0usize..64, 0..100),
    ) {
        let mut f = build(&deps, State::Running);
        let mut told: Vec<usize> = Vec::new();
        let mut order = order.into_iter();
        loop {
            for i in next_to_shut_down(&f) {
                for (j, d) in deps.iter().enumerate() {
                    if d.contains(&i) {
                        prop_assert!(
                            f.0[j].shutdown_sent && !f.0[j].has_tree,
                            "p{i} told to stop while p{j}, which depends on it, still runs"
                        );
                    }
                }
                f.0[i].shutdown_sent = true;
                f.0[i].state = State::Stopping;
                told.push(i);
            }
            let stopping: Vec<usize> =
                (0..f.0.len()).filter(|&i| f.0[i].state == State::Stopping).collect();
            if stopping.is_empty() {
                break;
            }
            let pick = stopping[order.next().unwrap_or(0) % stopping.len()];
            f.0[pick].state = State::Stopped;
            f.0[pick].has_tree = false;
        }
        prop_assert_eq!(told.len(), deps.len(), "not every program was told to stop");
    }

    /// Configs drawn from a pool of names, each with one of a few commands.
    #[test]
    fn a_reload_applies_exactly_the_difference(
        a in proptest::collection::btree_map(0u8..12, 0u8..3, 0..10),
        b in proptest::collection::btree_map(0u8..12, 0u8..3, 0..10),
    ) {
        let cfg = |(n, c): (&u8, &u8)| ProgramConfig::new(&format!("p{n}"), vec![format!("cmd{c}")]);
        let old: Vec<ProgramConfig> = a.iter().map(cfg).collect();
        let new: Vec<ProgramConfig> = b.iter().map(cfg).collect();
        let running: Vec<(&ProgramConfig, Option<&ProgramConfig>)> =
            old.iter().map(|c| (c, None)).collect();
        let s = SupervisorSettings::default();
        let plan = reload_plan(&running, &new, &s, &s);
        let names = |m: &std::collections::BTreeMap<u8, u8>, keep: &dyn Fn(&u8, &u8) -> bool| {
            m.iter().filter(|(n, c)| keep(n, c)).map(|(n, _)| format!("p{n}")).collect::<BTreeSet<_>>()
        };
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        prop_assert_eq!(set(&plan.added), names(&b, &|n, _| !a.contains_key(n)));
        prop_assert_eq!(set(&plan.removed), names(&a, &|n, _| !b.contains_key(n)));
        prop_assert_eq!(set(&plan.changed), names(&b, &|n, c| a.get(n).is_some_and(|o| o != c)));
        prop_assert_eq!(set(&plan.unchanged), names(&b, &|n, c| a.get(n) == Some(c)));
        prop_assert_eq!(plan.fates.len(), new.len());
        let mut kept = BTreeSet::new();
        for (cfg, fate) in new.iter().zip(&plan.fates) {
            match fate {
                Fate::Added => prop_assert!(!old.iter().any(|o| o.name == cfg.name)),
                Fate::Unchanged(i) | Fate::Changed(i) => {
                    prop_assert_eq!(&old[*i].name, &cfg.name);
                    prop_assert!(kept.insert(*i), "p{} kept twice", i);
                }
            }
        }
    }
}
