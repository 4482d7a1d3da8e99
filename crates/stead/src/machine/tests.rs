use std::time::{Duration, Instant};

use super::*;
use crate::runtime::scm_status::{
    ACCEPT_PARAMCHANGE, ACCEPT_PAUSE_CONTINUE, ACCEPT_PRESHUTDOWN, ACCEPT_SHUTDOWN, ACCEPT_STOP,
    ERROR_SERVICE_SPECIFIC_ERROR, Handles, ScmState, ScmStatus, scm_status,
};
use crate::{Exit, Failure};

const S: Duration = Duration::from_secs(1);

/// A fake host: a clock and the list of everything reported and done.
struct Fake {
    m: Machine,
    now: Instant,
    actions: Vec<Action>,
}

impl Fake {
    fn new(accepts: Accepts) -> Fake {
        let now = Instant::now();
        let timing = Timing {
            checkpoint_interval: S,
            start_timeout: Some(10 * S),
            stop_timeout: 5 * S,
            extend_host_timeouts: true,
        };
        let (m, actions) = Machine::start(timing, accepts, now);
        Fake { m, now, actions }
    }

    fn feed(&mut self, input: Input) -> Vec<Action> {
        let out = self.m.feed(input, self.now);
        self.actions.extend(out.clone());
        out
    }

    fn tick(&mut self, n: u32) {
        for _ in 0..n {
            self.now += S;
            self.feed(Input::Tick);
        }
    }

    fn reports(&self) -> Vec<Report> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Report(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn exit(&self) -> Option<Exit> {
        self.actions.iter().find_map(|a| match a {
            Action::Exit(e) => Some(e.clone()),
            _ => None,
        })
    }

    fn scm(&self, handles: Handles) -> Vec<ScmStatus> {
        self.reports()
            .iter()
            .filter_map(|r| scm_status(r, handles))
            .collect()
    }
}

fn starting(checkpoint: u32) -> Report {
    Report::Starting {
        checkpoint,
        wait_hint: 2 * S,
    }
}

fn stopping(checkpoint: u32) -> Report {
    Report::Stopping {
        checkpoint,
        wait_hint: 2 * S,
    }
}

#[test]
fn a_slow_start_reports_rising_checkpoints_then_running_then_a_clean_stop() {
    let mut f = Fake::new(Accepts::default());
    f.tick(3);
    f.feed(Input::Ready);
    f.tick(5); // running: nothing to report
    let out = f.feed(Input::Stop(StopReason::ScmStop));
    assert!(
        out.contains(&Action::Cancel),
        "stop cancels the token: {out:?}"
    );
    f.tick(2);
    f.feed(Input::Finished(Ok(())));
    assert_eq!(
        f.reports(),
        vec![
            starting(1),
            starting(2),
            starting(3),
            starting(4),
            Report::Running,
            stopping(1),
            stopping(2),
            stopping(3),
            Report::Stopped(Exit::clean("stopped")),
        ]
    );
    assert_eq!(f.exit().unwrap().code, 0);
    assert_eq!(f.m.stop_reason(), Some(StopReason::ScmStop));
}

#[test]
fn the_scm_sees_the_windows_sequence_with_the_accepted_controls() {
    let handles = Handles {
        pause: true,
        reload: true,
        ..Handles::default()
    };
    let mut f = Fake::new(Accepts {
        pause: true,
        reload: true,
        ..Accepts::default()
    });
    f.tick(1);
    f.feed(Input::Ready);
    f.feed(Input::Control(Event::Pause));
    f.feed(Input::Control(Event::Continue));
    f.feed(Input::Stop(StopReason::ScmStop));
    f.tick(1);
    f.feed(Input::Finished(Err(Failure::new("disk gone").with_code(7))));
    let seq: Vec<(ScmState, u32, u32, u32)> = f
        .scm(handles)
        .iter()
        .map(|s| {
            (
                s.state,
                s.checkpoint,
                s.controls_accepted,
                s.service_exit_code,
            )
        })
        .collect();
    let mask = ACCEPT_STOP
        | ACCEPT_SHUTDOWN
        | ACCEPT_PRESHUTDOWN
        | ACCEPT_PAUSE_CONTINUE
        | ACCEPT_PARAMCHANGE;
    assert_eq!(
        seq,
        vec![
            (ScmState::StartPending, 1, 0, 0),
            (ScmState::StartPending, 2, 0, 0),
            (ScmState::Running, 0, mask, 0),
            (ScmState::Paused, 0, mask, 0),
            (ScmState::Running, 0, mask, 0),
            (ScmState::StopPending, 1, 0, 0),
            (ScmState::StopPending, 2, 0, 0),
            (ScmState::Stopped, 0, 0, 7),
        ]
    );
    let last = *f.scm(handles).last().unwrap();
    assert_eq!(last.win32_exit_code, ERROR_SERVICE_SPECIFIC_ERROR);
    assert!(
        f.scm(handles)
            .iter()
            .all(|s| s.state != ScmState::StartPending || s.wait_hint_ms == 2000)
    );
}

#[test]
fn only_declared_controls_are_accepted() {
    assert_eq!(
        Handles::default().mask(),
        ACCEPT_STOP | ACCEPT_SHUTDOWN | ACCEPT_PRESHUTDOWN
    );
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    let out = f.feed(Input::Control(Event::Pause));
    assert!(
        matches!(&out[..], [Action::Log { warn: true, .. }]),
        "{out:?}"
    );
    assert_eq!(f.m.phase(), Phase::Running);
    let out = f.feed(Input::Control(Event::Reload));
    assert!(
        matches!(&out[..], [Action::Log { warn: true, .. }]),
        "{out:?}"
    );
    // custom controls always reach the service
    let out = f.feed(Input::Control(Event::Custom(200)));
    assert_eq!(out, vec![Action::Deliver(Event::Custom(200))]);
}

#[test]
fn a_failed_preflight_exits_with_its_code_and_says_why() {
    let mut f = Fake::new(Accepts::default());
    f.tick(1);
    f.feed(Input::Finished(Err(Failure::new(
        "database at 10.0.0.5:5432 refused the connection",
    )
    .with_code(3))));
    let exit = f.exit().unwrap();
    assert_eq!(exit.code, 3);
    assert!(
        exit.reason.starts_with("start failed: database"),
        "{}",
        exit.reason
    );
    assert_eq!(f.m.phase(), Phase::Stopped);
    // nothing after the end
    assert!(f.feed(Input::Tick).is_empty());
}

#[test]
fn a_drain_past_the_stop_timeout_exits_with_a_distinct_code() {
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::Stop(StopReason::Terminate));
    f.tick(4);
    assert!(f.exit().is_none());
    f.tick(1);
    let exit = f.exit().expect("gave up");
    assert_eq!(exit.code, crate::exit::STOP_TIMEOUT);
    assert!(
        exit.reason.contains("stop timeout of 5s"),
        "{}",
        exit.reason
    );
}

#[test]
fn the_service_can_extend_its_stop_timeout() {
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::SetStopTimeout(60 * S));
    f.feed(Input::Stop(StopReason::Terminate));
    f.tick(30);
    assert!(f.exit().is_none());
    f.feed(Input::Finished(Ok(())));
    assert_eq!(f.exit().unwrap().code, 0);
}

#[test]
fn a_start_that_never_reports_ready_is_stopped_and_fails() {
    let mut f = Fake::new(Accepts::default());
    f.tick(9);
    assert!(!f.actions.contains(&Action::Cancel));
    f.tick(1);
    assert!(f.actions.contains(&Action::Cancel));
    assert_eq!(f.m.stop_reason(), Some(StopReason::StartTimeout));
    f.feed(Input::Finished(Ok(())));
    assert_eq!(f.exit().unwrap().code, crate::exit::START_TIMEOUT);
}

#[test]
fn a_second_interrupt_exits_at_once_but_a_second_sigterm_does_not() {
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::Stop(StopReason::Terminate));
    f.feed(Input::Stop(StopReason::Terminate));
    assert!(f.exit().is_none());

    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::Stop(StopReason::Interrupt));
    f.feed(Input::Stop(StopReason::Interrupt));
    assert_eq!(f.exit().unwrap().code, crate::exit::FORCED);
}

#[test]
fn a_reload_is_reported_and_ends_when_ready_is_called_again() {
    let mut f = Fake::new(Accepts {
        reload: true,
        ..Accepts::default()
    });
    // not while starting
    let out = f.feed(Input::Control(Event::Reload));
    assert!(
        matches!(&out[..], [Action::Log { warn: true, .. }]),
        "{out:?}"
    );
    f.feed(Input::Ready);
    let out = f.feed(Input::Control(Event::Reload));
    assert_eq!(
        out,
        vec![
            Action::Report(Report::Reloading),
            Action::Deliver(Event::Reload)
        ]
    );
    assert_eq!(f.feed(Input::Ready), vec![Action::Report(Report::Running)]);
    // a ready without a reload says nothing new
    assert!(f.feed(Input::Ready).is_empty());
}

#[test]
fn a_service_that_must_finish_its_drain_ignores_a_second_interrupt() {
    let mut f = Fake::new(Accepts {
        second_interrupt_waits: true,
        ..Accepts::default()
    });
    f.feed(Input::Ready);
    f.feed(Input::Stop(StopReason::Interrupt));
    assert!(f.feed(Input::Stop(StopReason::Interrupt)).is_empty());
    assert_eq!(f.m.phase(), Phase::Stopping);
    f.feed(Input::Finished(Ok(())));
    assert_eq!(f.exit().unwrap().code, 0);
}

#[test]
fn a_reload_the_service_began_itself_is_reported_once_and_not_delivered_back() {
    let mut f = Fake::new(Accepts {
        reload: true,
        ..Accepts::default()
    });
    // not while starting: the host would take it for a reload of a ready service
    assert!(f.feed(Input::Reloading).is_empty());
    f.feed(Input::Ready);
    assert_eq!(
        f.feed(Input::Reloading),
        vec![Action::Report(Report::Reloading)]
    );
    assert!(f.feed(Input::Reloading).is_empty());
    // a host's reload meanwhile is delivered without a second report
    assert_eq!(
        f.feed(Input::Control(Event::Reload)),
        vec![Action::Deliver(Event::Reload)]
    );
    assert_eq!(f.feed(Input::Ready), vec![Action::Report(Report::Running)]);
}

#[test]
fn a_service_that_ends_on_its_own_reports_stopped() {
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::Finished(Ok(())));
    assert_eq!(
        f.exit().unwrap(),
        Exit::clean("the service finished on its own")
    );
    let mut f = Fake::new(Accepts::default());
    f.feed(Input::Ready);
    f.feed(Input::Finished(Err(Failure::new("lost the lease"))));
    let e = f.exit().unwrap();
    assert_eq!(e.code, 1);
    assert!(
        e.reason.contains("the service failed: lost the lease"),
        "{}",
        e.reason
    );
}

#[test]
fn scm_controls_map_to_inputs() {
    use crate::runtime::scm_status::{ScmControl, control_input};
    let all = Handles {
        pause: true,
        reload: true,
        power: true,
        session: true,
        ..Handles::default()
    };
    assert_eq!(
        control_input(ScmControl::Preshutdown, Handles::default()),
        (Some(Input::Stop(StopReason::ScmPreShutdown)), true)
    );
    assert_eq!(
        control_input(ScmControl::Interrogate, Handles::default()),
        (None, true)
    );
    assert_eq!(
        control_input(ScmControl::ParamChange, Handles::default()),
        (None, false)
    );
    assert_eq!(
        control_input(ScmControl::ParamChange, all),
        (Some(Input::Control(Event::Reload)), true)
    );
    assert_eq!(
        control_input(ScmControl::Session(5, 2), all),
        (
            Some(Input::Control(Event::Session {
                kind: 5,
                session: 2
            })),
            true
        )
    );
    assert_eq!(
        control_input(ScmControl::User(200), Handles::default()),
        (Some(Input::Control(Event::Custom(200))), true)
    );
}
