use std::time::{Duration, Instant};

use super::*;
use crate::config::{CheckAction, HealthCheck, HealthProbe, Probe, ProgramConfig, ReadyCheck};

const MS: Duration = Duration::from_millis(1);

fn config(ready: Option<Probe>, health: Option<HealthProbe>) -> ProgramConfig {
    let mut c = ProgramConfig::new("p", vec!["x".into()]);
    c.ready = ready.map(|probe| ReadyCheck {
        probe,
        timeout: 1000 * MS,
        interval: 100 * MS,
    });
    c.health = health.map(|probe| HealthCheck {
        probe,
        interval: 100 * MS,
        timeout: 50 * MS,
        failures: 3,
        grace: 200 * MS,
        action: CheckAction::Restart,
    });
    c
}

#[test]
fn without_a_ready_check_a_running_program_is_ready() {
    let c = Checks::new(&config(None, None), Instant::now(), (None, None));
    assert!(c.is_ready());
    assert_eq!(c.deadline(), None);
}

#[test]
fn a_polled_ready_probe_is_retried_until_it_passes() {
    let t0 = Instant::now();
    let mut c = Checks::new(
        &config(Some(Probe::Tcp("h:1".into())), None),
        t0,
        (None, None),
    );
    assert!(!c.is_ready());
    let (due, v) = c.tick(t0);
    assert_eq!(due.len(), 1);
    assert!(v.is_empty());
    // In flight: nothing more is started.
    assert!(c.tick(t0 + 10 * MS).0.is_empty());
    assert!(
        c.result(Which::Ready, Err("refused".into()), t0 + 20 * MS)
            .is_empty()
    );
    assert_eq!(c.deadline(), Some(t0 + 120 * MS));
    let (due, _) = c.tick(t0 + 120 * MS);
    assert_eq!(due.len(), 1);
    assert_eq!(
        c.result(Which::Ready, Ok("connected".into()), t0 + 130 * MS),
        vec![Verdict::Ready]
    );
    assert!(c.is_ready());
}

#[test]
fn an_infinite_ready_timeout_waits_for_ever() {
    let t0 = Instant::now();
    let mut cfg = config(Some(Probe::Notify), None);
    cfg.ready.as_mut().unwrap().timeout = crate::INFINITY;
    let mut c = Checks::new(&cfg, t0, (None, None));
    c.tick(t0);
    let a_year = t0 + Duration::from_secs(365 * 24 * 3600);
    assert!(c.tick(a_year).1.is_empty(), "never late");
    assert!(!c.is_ready());
}

#[test]
fn the_start_timeout_says_what_was_last_seen() {
    let t0 = Instant::now();
    let mut c = Checks::new(
        &config(Some(Probe::Tcp("h:1".into())), None),
        t0,
        (None, None),
    );
    c.tick(t0);
    c.result(Which::Ready, Err("connect to h:1: refused".into()), t0 + MS);
    let (_, v) = c.tick(t0 + 1000 * MS);
    assert_eq!(
        v,
        vec![Verdict::NotReadyInTime(
            "not ready within 1s (tcp h:1) (last try: connect to h:1: refused)".into()
        )]
    );
    // Said once.
    assert!(c.tick(t0 + 2000 * MS).1.is_empty());
}

#[test]
fn extend_timeout_from_a_notify_program_moves_the_deadline() {
    let t0 = Instant::now();
    let mut c = Checks::new(&config(Some(Probe::Notify), None), t0, (None, None));
    let m = NotifyMessage::parse(b"EXTEND_TIMEOUT_USEC=5000000").unwrap();
    c.notify(&m, t0 + 900 * MS);
    assert!(c.tick(t0 + 1500 * MS).1.is_empty(), "extended");
    let m = NotifyMessage::parse(b"STATUS=loading\nREADY=1").unwrap();
    assert_eq!(c.notify(&m, t0 + 2000 * MS), vec![Verdict::Ready]);
    assert_eq!(c.status_text.as_deref(), Some("loading"));
}

#[test]
fn notify_datagrams_that_are_empty_or_not_text_are_ignored() {
    assert_eq!(NotifyMessage::parse(b""), None);
    assert_eq!(NotifyMessage::parse(&[0xff, 0xfe]), None);
    let m = NotifyMessage::parse(b"FOO=bar\nnonsense\nWATCHDOG=1\nMAINPID=abc").unwrap();
    assert!(m.watchdog && !m.ready && m.main_pid.is_none());
    let long = format!("STATUS={}", "x".repeat(10_000));
    assert_eq!(
        NotifyMessage::parse(long.as_bytes())
            .unwrap()
            .status
            .unwrap()
            .len(),
        256
    );
}

#[test]
fn health_fails_after_the_threshold_and_recovers() {
    let t0 = Instant::now();
    let probe = HealthProbe::Probe(Probe::Http {
        url: "http://h/".into(),
        status: None,
    });
    let mut c = Checks::new(&config(None, Some(probe)), t0, (None, None));
    // Grace 200 ms, then every 100 ms.
    assert_eq!(c.deadline(), Some(t0 + 300 * MS));
    let mut t = t0 + 300 * MS;
    for i in 1..=3 {
        let (due, _) = c.tick(t);
        assert_eq!(due.len(), 1, "check {i}");
        let v = c.result(Which::Health, Err("answered 500".into()), t + MS);
        if i < 3 {
            assert!(v.is_empty(), "check {i}: {v:?}");
        } else {
            assert!(
                matches!(&v[..], [Verdict::Unhealthy { reason, action: CheckAction::Restart }] if reason.contains("3 checks in a row failed, the last: answered 500")),
                "{v:?}"
            );
        }
        t += 100 * MS;
    }
    assert_eq!(c.health(), Health::Unhealthy);
    c.tick(t);
    assert_eq!(
        c.result(Which::Health, Ok("answered 200".into()), t),
        vec![Verdict::Healthy]
    );
}

#[test]
fn a_silent_watchdog_is_unhealthy_at_once() {
    let t0 = Instant::now();
    let mut c = Checks::new(
        &config(Some(Probe::Notify), Some(HealthProbe::Watchdog(300 * MS))),
        t0,
        (None, None),
    );
    c.notify(&NotifyMessage::parse(b"READY=1").unwrap(), t0);
    // grace 200 ms + 300 ms
    let ping = NotifyMessage::parse(b"WATCHDOG=1").unwrap();
    c.notify(&ping, t0 + 400 * MS);
    assert!(c.tick(t0 + 600 * MS).1.is_empty());
    let (_, v) = c.tick(t0 + 700 * MS);
    assert!(
        matches!(&v[..], [Verdict::Unhealthy { reason, .. }] if reason == "unhealthy: no WATCHDOG=1 for 300ms"),
        "{v:?}"
    );
}

#[test]
fn a_log_rate_check_counts_matches_within_the_window() {
    let t0 = Instant::now();
    let probe = HealthProbe::LogRate {
        pattern: "ERROR".into(),
        max: 2,
        window: 1000 * MS,
    };
    let cfg = config(None, Some(probe));
    let watches = Checks::watches(&cfg);
    let w = watches.1.clone().unwrap();
    let mut c = Checks::new(&cfg, t0, watches);
    for line in ["ok", "ERROR one", "ERROR two"] {
        w.line(line.as_bytes());
    }
    assert!(c.tick(t0 + 300 * MS).1.is_empty(), "2 matches allowed");
    w.line(b"an ERROR again");
    let (_, v) = c.tick(t0 + 400 * MS);
    assert!(
        matches!(&v[..], [Verdict::Unhealthy { reason, .. }] if reason.contains("3 lines matched /ERROR/ in the last 1s (max 2)")),
        "{v:?}"
    );
}
