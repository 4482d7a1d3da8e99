//! `depends_on`: a diamond of programs starts dependencies first (spawn order, seen in the
//! pids) and stops them last (each program appends to one file when it gets SIGTERM, and a
//! program gets it only once its dependents are gone); a one-shot task
//! that finishes successfully lets its dependent start; a dependency that goes fatal holds
//! its dependents in `waiting`, with the reason.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

fn prog(name: &str, deps: &str) -> String {
    format!(
        "[program.{name}]\ncommand = [\"sh\", \"-c\", \"trap 'echo stop-{name} >> {{dir}}/order; exit 0' TERM; echo start-{name} >> {{dir}}/order; while :; do sleep 0.05; done\"]\ndepends_on = [{deps}]\n"
    )
}

#[test]
fn depends_on_orders_start_and_stop() {
    let mut h = Harness::new("depends-on");
    let mut config = String::new();
    // Declared in the opposite order of their dependencies, so file order cannot explain it.
    config += &prog("top", "\"left\", \"right\"");
    config += &prog("left", "\"base\"");
    config += &prog("right", "\"base\"");
    config += &prog("base", "");
    config += "[program.app]\ncommand = [\"sh\", \"-c\", \"exec sleep 1000\"]\ndepends_on = [\"migrate\"]\n\
               [program.migrate]\ncommand = [\"sh\", \"-c\", \"sleep 0.3; echo migrated > {dir}/migrated\"]\nrestart = \"never\"\n\
               [program.needs_broken]\ncommand = [\"sh\", \"-c\", \"exec sleep 1000\"]\ndepends_on = [\"broken\"]\nautostart = false\n\
               [program.broken]\ncommand = [\"sh\", \"-c\", \"exit 1\"]\nmax_restarts = 1\nbackoff = { initial = \"50ms\" }\n";
    h.write_config(&config);
    h.up();
    let order = h.dir.join("order");
    h.wait_for("the diamond to start", Duration::from_secs(10), |_| {
        std::fs::read_to_string(&order).is_ok_and(|t| t.lines().count() == 4)
    });
    // "Started" means spawned: the supervisor spawned them in dependency order, which the
    // pids show (each spawn gets a higher pid); what the programs print first is up to the
    // scheduler.
    let pid = |n: &str| h.pid_of(n).unwrap_or_else(|| panic!("{n} has no pid"));
    let (base, left, right, top) = (pid("base"), pid("left"), pid("right"), pid("top"));
    assert!(
        base < left && base < right,
        "base {base}, left {left}, right {right}"
    );
    assert!(
        left < top && right < top,
        "left {left}, right {right}, top {top}"
    );

    h.wait_for("app after migrate", Duration::from_secs(10), |h| {
        h.state_of("app") == "running"
    });
    assert!(
        h.dir.join("migrated").exists(),
        "app started only after migrate finished"
    );
    h.wait_for("broken fatal", Duration::from_secs(10), |h| {
        h.state_of("broken") == "fatal"
    });
    assert!(h.stead(&["start", "needs_broken"]).status.success());
    h.wait_for("needs_broken held", Duration::from_secs(10), |h| {
        h.program("needs_broken")["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("held: broken is fatal"))
    });
    assert_eq!(h.state_of("needs_broken"), "waiting");

    assert!(h.stead(&["shutdown"]).status.success());
    h.wait_exit(Duration::from_secs(20));
    let text = std::fs::read_to_string(&order).unwrap();
    let stops: Vec<&str> = text.lines().filter(|l| l.starts_with("stop-")).collect();
    assert_eq!(stops.len(), 4, "{text}");
    assert_eq!(stops[0], "stop-top", "{stops:?}");
    assert_eq!(stops[3], "stop-base", "{stops:?}");
}
