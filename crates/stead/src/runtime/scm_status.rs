//! What the Windows SCM is told for each lifecycle report: the `SERVICE_STATUS` fields,
//! computed on every OS so the sequence is tested without Windows. The Windows adapter only
//! copies these numbers into `SetServiceStatus`.

use crate::machine::Report;

/// `SERVICE_STOPPED` … `SERVICE_PAUSED`, with the SCM's own numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ScmState {
    /// `SERVICE_STOPPED`
    Stopped = 1,
    /// `SERVICE_START_PENDING`
    StartPending = 2,
    /// `SERVICE_STOP_PENDING`
    StopPending = 3,
    /// `SERVICE_RUNNING`
    Running = 4,
    /// `SERVICE_PAUSED`
    Paused = 7,
}

/// `SERVICE_ACCEPT_STOP`
pub const ACCEPT_STOP: u32 = 0x1;
/// `SERVICE_ACCEPT_PAUSE_CONTINUE`
pub const ACCEPT_PAUSE_CONTINUE: u32 = 0x2;
/// `SERVICE_ACCEPT_SHUTDOWN`
pub const ACCEPT_SHUTDOWN: u32 = 0x4;
/// `SERVICE_ACCEPT_PARAMCHANGE`
pub const ACCEPT_PARAMCHANGE: u32 = 0x8;
/// `SERVICE_ACCEPT_POWEREVENT`
pub const ACCEPT_POWEREVENT: u32 = 0x40;
/// `SERVICE_ACCEPT_SESSIONCHANGE`
pub const ACCEPT_SESSIONCHANGE: u32 = 0x80;
/// `SERVICE_ACCEPT_PRESHUTDOWN`
pub const ACCEPT_PRESHUTDOWN: u32 = 0x100;
/// `ERROR_SERVICE_SPECIFIC_ERROR`: the real code is in the service-specific field.
pub const ERROR_SERVICE_SPECIFIC_ERROR: u32 = 1066;

/// Which controls the service declared it handles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handles {
    /// Pause/Continue.
    pub pause: bool,
    /// `ParamChange` (reload).
    pub reload: bool,
    /// Power events.
    pub power: bool,
    /// Session changes.
    pub session: bool,
    /// SIGUSR1 as [`Event::ReopenLogs`](crate::Event::ReopenLogs) (Unix; no SCM control).
    pub reopen_logs: bool,
    /// A second Ctrl-C while draining waits for the drain instead of exiting at once.
    pub second_interrupt_waits: bool,
}

impl Handles {
    /// The `dwControlsAccepted` mask while running or paused: stop, shutdown and
    /// pre-shutdown always (they cancel the shutdown token), the rest only when handled.
    pub fn mask(self) -> u32 {
        let mut m = ACCEPT_STOP | ACCEPT_SHUTDOWN | ACCEPT_PRESHUTDOWN;
        if self.pause {
            m |= ACCEPT_PAUSE_CONTINUE;
        }
        if self.reload {
            m |= ACCEPT_PARAMCHANGE;
        }
        if self.power {
            m |= ACCEPT_POWEREVENT;
        }
        if self.session {
            m |= ACCEPT_SESSIONCHANGE;
        }
        m
    }
}

/// The fields of one `SetServiceStatus` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScmStatus {
    /// `dwCurrentState`
    pub state: ScmState,
    /// `dwControlsAccepted`: none while pending (the SCM refuses controls then anyway).
    pub controls_accepted: u32,
    /// `dwWin32ExitCode`: 0, or [`ERROR_SERVICE_SPECIFIC_ERROR`] when the code is ours.
    pub win32_exit_code: u32,
    /// `dwServiceSpecificExitCode`
    pub service_exit_code: u32,
    /// `dwCheckPoint`: rises during pending states, 0 otherwise.
    pub checkpoint: u32,
    /// `dwWaitHint` in milliseconds.
    pub wait_hint_ms: u32,
}

/// The status for `report`; `None` for reports the SCM has no field for (status text,
/// reload begun).
///
/// ```
/// use stead::runtime::scm_status::{scm_status, Handles, ScmState, ERROR_SERVICE_SPECIFIC_ERROR};
/// # use stead::machine::Report;
/// let s = scm_status(&Report::Stopped(stead::Exit { code: 3, reason: "no db".into() }), Handles::default()).unwrap();
/// assert_eq!((s.state, s.win32_exit_code, s.service_exit_code), (ScmState::Stopped, ERROR_SERVICE_SPECIFIC_ERROR, 3));
/// ```
pub fn scm_status(report: &Report, handles: Handles) -> Option<ScmStatus> {
    let base = |state, controls_accepted| ScmStatus {
        state,
        controls_accepted,
        win32_exit_code: 0,
        service_exit_code: 0,
        checkpoint: 0,
        wait_hint_ms: 0,
    };
    let ms = |d: &std::time::Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    Some(match report {
        Report::Starting {
            checkpoint,
            wait_hint,
        } => ScmStatus {
            checkpoint: *checkpoint,
            wait_hint_ms: ms(wait_hint),
            ..base(ScmState::StartPending, 0)
        },
        Report::Stopping {
            checkpoint,
            wait_hint,
        } => ScmStatus {
            checkpoint: *checkpoint,
            wait_hint_ms: ms(wait_hint),
            ..base(ScmState::StopPending, 0)
        },
        Report::Running => base(ScmState::Running, handles.mask()),
        Report::Paused => base(ScmState::Paused, handles.mask()),
        Report::Stopped(exit) if exit.success() => base(ScmState::Stopped, 0),
        Report::Stopped(exit) => ScmStatus {
            win32_exit_code: ERROR_SERVICE_SPECIFIC_ERROR,
            service_exit_code: exit.code,
            ..base(ScmState::Stopped, 0)
        },
        Report::Status(_) | Report::Reloading => return None,
    })
}

/// A control the SCM sent, in the SCM's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScmControl {
    /// `SERVICE_CONTROL_STOP`
    Stop,
    /// `SERVICE_CONTROL_SHUTDOWN`
    Shutdown,
    /// `SERVICE_CONTROL_PRESHUTDOWN`
    Preshutdown,
    /// `SERVICE_CONTROL_PAUSE`
    Pause,
    /// `SERVICE_CONTROL_CONTINUE`
    Continue,
    /// `SERVICE_CONTROL_INTERROGATE`
    Interrogate,
    /// `SERVICE_CONTROL_PARAMCHANGE`
    ParamChange,
    /// `SERVICE_CONTROL_POWEREVENT` with its `PBT_*` code.
    Power(u32),
    /// `SERVICE_CONTROL_SESSIONCHANGE` with its `WTS_*` code and session id.
    Session(u32, u32),
    /// A user control, 128–255.
    User(u8),
    /// Anything else (net bind, hardware profile, time change, trigger).
    Other,
}

/// What a control becomes: the lifecycle input (if any), and whether the handler answers
/// `NO_ERROR` (true) or `ERROR_CALL_NOT_IMPLEMENTED` (false).
///
/// ```
/// use stead::runtime::scm_status::{control_input, Handles, ScmControl};
/// let (input, ok) = control_input(ScmControl::Pause, Handles::default());
/// assert!(input.is_none() && !ok); // not declared: refused
/// ```
pub fn control_input(
    control: ScmControl,
    handles: Handles,
) -> (Option<crate::machine::Input>, bool) {
    use crate::lifecycle::{Event, StopReason};
    use crate::machine::Input;
    let stop = |r| (Some(Input::Stop(r)), true);
    let event = |e| (Some(Input::Control(e)), true);
    match control {
        ScmControl::Stop => stop(StopReason::ScmStop),
        ScmControl::Shutdown => stop(StopReason::ScmShutdown),
        ScmControl::Preshutdown => stop(StopReason::ScmPreShutdown),
        ScmControl::Interrogate => (None, true),
        ScmControl::Pause if handles.pause => event(Event::Pause),
        ScmControl::Continue if handles.pause => event(Event::Continue),
        ScmControl::ParamChange if handles.reload => event(Event::Reload),
        ScmControl::Power(code) if handles.power => event(Event::Power(code)),
        ScmControl::Session(kind, session) if handles.session => {
            event(Event::Session { kind, session })
        }
        ScmControl::User(code) => event(Event::Custom(code)),
        _ => (None, false),
    }
}
