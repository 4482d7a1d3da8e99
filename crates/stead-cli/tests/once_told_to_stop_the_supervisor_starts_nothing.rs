//! Once the supervisor has its stop signal it never starts anything again, whatever order the
//! exits arrive in. A service manager that signals the whole cgroup at once (systemd's
//! `KillMode=control-group`) kills a dependency while stead is still stopping what depends
//! on it, in order: the dependency stays down instead of being restarted mid-shutdown.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn once_told_to_stop_the_supervisor_starts_nothing() {
    let mut h = Harness::new("no-start-in-shutdown");
    h.write_config(
        r#"
[program.db]
command = ["{child}", "--write-pids", "{dir}/db", "--sleep", "forever"]
restart = "always"
backoff = { initial = "50ms", max = "100ms" }

[program.app]
command = ["{child}", "--ignore-term", "--sleep", "forever"]
depends_on = ["db"]
stop_timeout = "2s"
"#,
    );
    h.up();
    h.wait_for("db and app running", Duration::from_secs(10), |h| {
        h.state_of("db") == "running" && h.state_of("app") == "running"
    });
    let app = h.pid_of("app").unwrap();
    wait("app to ignore SIGTERM", Duration::from_secs(5), || {
        ignores_term(app)
    });
    let db_file = h.dir.join("db");
    wait("db's pid", Duration::from_secs(5), || {
        read_pids(&db_file).len() == 1
    });
    let db = read_pids(&db_file)[0];
    // What the manager does: TERM to every process of the unit at once.
    for pid in [h.supervisor_pid(), db, app] {
        // SAFETY: kill(2) on processes this test started.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    }
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 0, "{}", h.log());
    assert_eq!(
        read_pids(&db_file),
        vec![db],
        "db was started again during the shutdown:\n{}",
        h.log()
    );
    assert!(
        !h.log().contains("restarting"),
        "a restart was scheduled during the shutdown:\n{}",
        h.log()
    );
    assert!(!alive(app) && !alive(db));
}
