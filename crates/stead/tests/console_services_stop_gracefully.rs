//! The examples, run as console programs: SIGTERM and Ctrl-C (SIGINT) stop them gracefully,
//! in-flight work finishes, cleanups run in reverse order, and every way of failing exits
//! with its own code and a clear line.
#![cfg(unix)]
mod support;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;

const T: Duration = Duration::from_secs(20);

fn http_drains_an_in_flight_request_on(sig: Signal) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut svc = start("http", &[&addr], &[]);
    svc.wait_for("ready", T);
    assert!(get(port, "/").unwrap().contains("hello from stead"));
    let slow = std::thread::spawn(move || get(port, "/slow/1500"));
    std::thread::sleep(Duration::from_millis(300));
    svc.signal(sig);
    svc.wait_for("finishing in-flight requests", T);
    let answer = slow
        .join()
        .unwrap()
        .expect("the in-flight request is answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("slept 1500 ms"), "{answer}");
    assert_eq!(svc.exit_code(T), 0, "{}", svc.stderr());
    let log = svc.stderr();
    assert!(log.contains("all requests answered"), "{log}");
}

#[test]
fn sigterm_lets_the_http_example_finish_a_slow_request() {
    http_drains_an_in_flight_request_on(Signal::SIGTERM);
}

#[test]
fn ctrl_c_lets_the_http_example_finish_a_slow_request() {
    http_drains_an_in_flight_request_on(Signal::SIGINT);
}

#[test]
fn a_port_in_use_is_a_start_failure_with_code_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut svc = start("http", &[&addr], &[]);
    assert_eq!(svc.exit_code(T), 2);
    let log = svc.stderr();
    assert!(
        log.contains(&format!(
            "start failed: cannot listen on tcp://{addr} (socket `http`)"
        )),
        "{log}"
    );
}

#[test]
fn cleanups_run_in_reverse_after_the_drain() {
    let marks = TempDir::new("marks");
    let mut svc = start(
        "lifecycle",
        &[],
        &[("MARK_DIR", marks.0.to_str().unwrap()), ("DRAIN_MS", "300")],
    );
    svc.wait_for("ready", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0, "{}", svc.stderr());
    let read = |f: &str| std::fs::read_to_string(marks.0.join(f)).unwrap_or_default();
    assert_eq!(read("stopping").trim(), "SIGTERM");
    assert_eq!(read("cleanup"), "second\nfirst\n");
    assert!(read("drained").len() == 1);
}

#[test]
fn a_drain_past_the_stop_timeout_exits_124_instead_of_hanging() {
    let mut svc = start(
        "lifecycle",
        &[],
        &[("DRAIN_MS", "60000"), ("STOP_TIMEOUT_MS", "500")],
    );
    svc.wait_for("ready", T);
    let began = std::time::Instant::now();
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 124);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    let log = svc.stderr();
    assert!(
        log.contains("did not finish within its stop timeout of 500ms"),
        "{log}"
    );
}

#[test]
fn a_failed_preflight_exits_with_its_code() {
    let mut svc = start("lifecycle", &[], &[("FAIL", "3")]);
    assert_eq!(svc.exit_code(T), 3);
    let log = svc.stderr();
    assert!(
        log.contains("start failed: preflight failed: FAIL is set (exit code 3)"),
        "{log}"
    );
}

#[test]
fn sighup_is_a_reload_event() {
    let marks = TempDir::new("marks");
    let mut svc = start("lifecycle", &[], &[("MARK_DIR", marks.0.to_str().unwrap())]);
    svc.wait_for("ready", T);
    svc.signal(Signal::SIGHUP);
    svc.wait_for("event: Reload", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0);
    assert_eq!(
        std::fs::read_to_string(marks.0.join("events")).unwrap(),
        "Reload\n"
    );
}

#[test]
fn a_second_ctrl_c_during_the_drain_exits_at_once_with_130() {
    let mut svc = start("lifecycle", &[], &[("DRAIN_MS", "60000")]);
    svc.wait_for("ready", T);
    svc.signal(Signal::SIGINT);
    svc.wait_for("draining (interrupted)", T);
    svc.signal(Signal::SIGINT);
    assert_eq!(svc.exit_code(T), 130);
}

#[test]
fn a_blocking_service_stops_on_sigterm() {
    let mut svc = start("blocking", &[], &[]);
    svc.wait_for("ready", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0, "{}", svc.stderr());
    assert!(svc.stderr().contains("worker stopped after"));
}

#[test]
fn the_watcher_logs_changes_and_refuses_a_missing_directory() {
    let mut missing = start("watcher", &["/nonexistent/inbox"], &[]);
    assert_eq!(missing.exit_code(T), 2);
    assert!(
        missing
            .stderr()
            .contains("/nonexistent/inbox is not a directory")
    );

    let dir = TempDir::new("inbox");
    let mut svc = start("watcher", &[dir.0.to_str().unwrap()], &[]);
    svc.wait_for("ready", T);
    std::fs::write(dir.0.join("order-17.json"), "{}").unwrap();
    svc.wait_for("order-17.json", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0);
    assert!(svc.stderr().contains("stopped watching"));
}

#[test]
fn the_worker_pool_keeps_its_config_when_a_reload_is_invalid() {
    let dir = TempDir::new("pool");
    let conf = dir.0.join("pool.conf");
    std::fs::write(&conf, "3").unwrap();
    let mut svc = start("worker_pool", &[conf.to_str().unwrap()], &[]);
    svc.wait_for("3 workers started", T);
    std::fs::write(&conf, "lots").unwrap();
    svc.signal(Signal::SIGHUP);
    svc.wait_for("keeping the previous configuration", T);
    std::fs::write(&conf, "5").unwrap();
    svc.signal(Signal::SIGHUP);
    svc.wait_for("reloaded: 5 workers", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0);
    assert!(svc.stderr().contains("pool closed after"));

    std::fs::write(&conf, "0").unwrap();
    let mut bad = start("worker_pool", &[conf.to_str().unwrap()], &[]);
    assert_eq!(bad.exit_code(T), 1);
    assert!(bad.stderr().contains("cannot load"), "{}", bad.stderr());
}

#[test]
fn log_file_gets_every_line_besides_the_console() {
    let logs = TempDir::new("logs");
    let mut svc = start("lifecycle", &[], &[("LOG_DIR", logs.0.to_str().unwrap())]);
    svc.wait_for("ready", T);
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.exit_code(T), 0);
    let file = std::fs::read_to_string(logs.0.join("stead-example-lifecycle.log")).unwrap();
    for line in [
        "start",
        "ready",
        "draining (SIGTERM)",
        "closed second resource",
        "stopped",
    ] {
        assert!(
            file.contains(line),
            "{line:?} missing from the log file:\n{file}"
        );
    }
    assert!(
        svc.stderr().contains("draining (SIGTERM)"),
        "the console still gets the lines"
    );
    assert!(!file.contains('\x1b'), "no colour codes in the file");
}

#[test]
fn a_second_instance_is_refused_while_the_first_runs() {
    let locks = TempDir::new("locks");
    let dir = locks.0.to_str().unwrap();
    let mut first = start("lifecycle", &[], &[("SINGLE_INSTANCE", dir)]);
    first.wait_for("ready", T);
    let mut second = start("lifecycle", &[], &[("SINGLE_INSTANCE", dir)]);
    assert_eq!(second.exit_code(T), 3);
    let why = second.stderr();
    assert!(
        why.contains("another instance of stead-example-lifecycle is already running"),
        "{why}"
    );
    first.signal(Signal::SIGTERM);
    assert_eq!(first.exit_code(T), 0);
    let mut third = start("lifecycle", &[], &[("SINGLE_INSTANCE", dir)]);
    third.wait_for("ready", T);
    third.signal(Signal::SIGTERM);
    assert_eq!(third.exit_code(T), 0);
}

#[test]
fn daemonize_detaches_and_the_daemon_still_stops_gracefully() {
    let marks = TempDir::new("marks");
    let mut parent = start(
        "lifecycle",
        &[],
        &[("DAEMON", "1"), ("MARK_DIR", marks.0.to_str().unwrap())],
    );
    assert_eq!(
        parent.exit_code(T),
        0,
        "the launching process returns at once"
    );
    let read = |f: &str| std::fs::read_to_string(marks.0.join(f)).unwrap_or_default();
    let began = std::time::Instant::now();
    while read("ready").is_empty() {
        assert!(began.elapsed() < T, "the daemon never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = read("start").trim().parse().unwrap();
    let daemon = nix::unistd::Pid::from_raw(pid);
    assert_ne!(pid as u32, parent.child.id());
    assert_eq!(
        nix::unistd::getsid(Some(daemon)).unwrap(),
        nix::unistd::getpgid(Some(daemon)).unwrap()
    );
    assert_ne!(
        nix::unistd::getsid(Some(daemon)).unwrap(),
        daemon,
        "not a session leader after the second fork"
    );
    nix::sys::signal::kill(daemon, Signal::SIGTERM).unwrap();
    while read("drained").is_empty() {
        assert!(began.elapsed() < T, "the daemon did not drain");
        std::thread::sleep(Duration::from_millis(20));
    }
}
