//! The driver against a fake host: real tasks and timers, no OS service manager.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::*;
use crate::StopReason;
use crate::machine::Report;
use crate::runtime::scm_status::Handles;

#[derive(Clone, Default)]
struct FakeHost {
    reports: Arc<Mutex<Vec<Report>>>,
    pings: Arc<Mutex<u32>>,
    watchdog: Option<Duration>,
}

impl Host for FakeHost {
    fn report(&mut self, report: &Report) {
        self.reports.lock().unwrap().push(report.clone());
    }
    fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }
    fn ping(&mut self) {
        *self.pings.lock().unwrap() += 1;
    }
}

fn plan(stop_timeout: Duration) -> Plan {
    Plan {
        sockets: Vec::new(),
        name: "t".into(),
        timing: Timing {
            checkpoint_interval: Duration::from_millis(20),
            start_timeout: Some(Duration::from_secs(10)),
            stop_timeout,
            extend_host_timeouts: true,
        },
        handles: Handles::default(),
        liveness: None,
    }
}

type Inputs = mpsc::UnboundedSender<Input>;

fn run(plan: Plan, host: FakeHost, job: Job) -> (Inputs, tokio::task::JoinHandle<Exit>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(drive(
        plan,
        HostKind::Console,
        Box::new(host),
        (tx.clone(), rx),
        job,
    ));
    (tx, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_tasks_drain_before_cleanups_which_run_in_reverse() {
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let o = order.clone();
    let host = FakeHost::default();
    let job: Job = Box::new(move |ctx: Context| {
        Box::pin(async move {
            for name in ["database", "cache", "listener"] {
                let o = o.clone();
                ctx.on_stop(name, async move {
                    o.lock().unwrap().push(format!("close {name}"))
                });
            }
            let o2 = o.clone();
            let token = ctx.shutdown_token();
            ctx.spawn(async move {
                token.cancelled().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                o2.lock().unwrap().push("in-flight request done".into());
            });
            ctx.ready();
            ctx.shutdown().await;
            o.lock().unwrap().push("start function returned".into());
            Ok(())
        })
    });
    let (tx, handle) = run(plan(Duration::from_secs(5)), host.clone(), job);
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.send(Input::Stop(StopReason::Terminate)).unwrap();
    let exit = handle.await.unwrap();
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(
        *order.lock().unwrap(),
        [
            "start function returned",
            "in-flight request done",
            "close listener",
            "close cache",
            "close database"
        ]
    );
    let reports = host.reports.lock().unwrap().clone();
    assert!(reports.contains(&Report::Running));
    assert!(matches!(reports.last(), Some(Report::Stopped(e)) if e.code == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_ignores_the_token_is_abandoned_after_the_stop_timeout() {
    let host = FakeHost::default();
    let job: Job = Box::new(move |ctx: Context| {
        Box::pin(async move {
            ctx.ready();
            std::future::pending::<()>().await;
            Ok(())
        })
    });
    let started = std::time::Instant::now();
    let (tx, handle) = run(plan(Duration::from_millis(200)), host.clone(), job);
    tx.send(Input::Stop(StopReason::Terminate)).unwrap();
    let exit = handle.await.unwrap();
    assert_eq!(exit.code, crate::exit::STOP_TIMEOUT);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up late: {:?}",
        started.elapsed()
    );
    let reports = host.reports.lock().unwrap().clone();
    let pending = reports
        .iter()
        .filter(|r| matches!(r, Report::Stopping { .. }))
        .count();
    assert!(pending >= 3, "stop checkpoints while draining: {reports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_failure_with_the_message() {
    let job: Job = Box::new(move |_ctx: Context| {
        Box::pin(async move {
            let sections: Vec<&str> = Vec::new();
            assert!(!sections.is_empty(), "config has no [listen] section");
            Ok(())
        })
    });
    let (_tx, handle) = run(plan(Duration::from_secs(5)), FakeHost::default(), job);
    let exit = handle.await.unwrap();
    assert_eq!(exit.code, 1);
    assert!(
        exit.reason
            .contains("panicked: config has no [listen] section"),
        "{}",
        exit.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_pinged_only_while_liveness_passes() {
    let healthy = Arc::new(AtomicBool::new(true));
    let h = healthy.clone();
    let mut p = plan(Duration::from_secs(5));
    p.liveness = Some(Arc::new(move || h.load(Ordering::SeqCst)));
    let host = FakeHost {
        watchdog: Some(Duration::from_millis(40)),
        ..FakeHost::default()
    };
    let job: Job = Box::new(move |ctx: Context| {
        Box::pin(async move {
            ctx.ready();
            ctx.shutdown().await;
            Ok(())
        })
    });
    let (tx, handle) = run(p, host.clone(), job);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let while_healthy = *host.pings.lock().unwrap();
    assert!(
        while_healthy >= 5,
        "pings at half of 40 ms for 300 ms: {while_healthy}"
    );
    healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let at_failure = *host.pings.lock().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        *host.pings.lock().unwrap(),
        at_failure,
        "no ping while unhealthy"
    );
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(*host.pings.lock().unwrap() > at_failure, "pings resume");
    tx.send(Input::Stop(StopReason::Terminate)).unwrap();
    assert_eq!(handle.await.unwrap().code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_service_and_stop_reason_is_known() {
    let mut p = plan(Duration::from_secs(5));
    p.handles.reload = true;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let host = FakeHost::default();
    let job: Job = Box::new(move |ctx: Context| {
        Box::pin(async move {
            let mut events = ctx.events();
            ctx.ready();
            loop {
                tokio::select! {
                    () = ctx.shutdown() => break,
                    Some(e) = events.next() => {
                        s.lock().unwrap().push(e);
                        if e == crate::Event::Reload { ctx.ready(); }
                    }
                }
            }
            assert_eq!(ctx.stop_reason(), Some(StopReason::Quit));
            Ok(())
        })
    });
    let (tx, handle) = run(p, host.clone(), job);
    tokio::time::sleep(Duration::from_millis(30)).await;
    tx.send(Input::Control(crate::Event::Reload)).unwrap();
    tx.send(Input::Control(crate::Event::Custom(129))).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.send(Input::Stop(StopReason::Quit)).unwrap();
    assert_eq!(handle.await.unwrap().code, 0);
    assert_eq!(
        *seen.lock().unwrap(),
        [crate::Event::Reload, crate::Event::Custom(129)]
    );
    let reports = host.reports.lock().unwrap().clone();
    let i = reports
        .iter()
        .position(|r| *r == Report::Reloading)
        .expect("reloading reported");
    assert_eq!(reports[i + 1], Report::Running, "{reports:?}");
}

/// What a service tells the host just before it returns (a last `STATUS=`, a stop) reaches
/// the host before the end: the select between the inputs and the end must not drop them.
#[tokio::test(flavor = "current_thread")]
async fn the_last_words_of_a_service_reach_the_host_before_its_end() {
    for round in 0..200 {
        let host = FakeHost::default();
        let job: Job = Box::new(move |ctx: Context| {
            Box::pin(async move {
                ctx.status("start failed: broken");
                ctx.stop();
                Ok(())
            })
        });
        let (_tx, handle) = run(plan(Duration::from_secs(5)), host.clone(), job);
        handle.await.unwrap();
        let reports = host.reports.lock().unwrap().clone();
        assert!(
            reports.contains(&Report::Status("start failed: broken".into())),
            "round {round}: the last status was lost: {reports:?}"
        );
    }
}
