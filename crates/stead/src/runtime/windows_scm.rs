//! The Windows SCM adapter: the service dispatcher, the control handler and
//! `SetServiceStatus`. What to report is decided in [`scm_status`](super::scm_status) (pure,
//! tested on every OS); this file only moves those numbers through `windows-service`.

use std::ffi::OsString;
use std::sync::Mutex;

use tokio::sync::mpsc;
use windows_service::service::{
    PowerEventParam, ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState,
    ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::{define_windows_service, service_dispatcher};

use super::scm_status::{Handles, ScmControl, ScmState, control_input, scm_status};
use super::{Host, HostKind};
use crate::Exit;
use crate::driver::{Job, Plan, drive};
use crate::logging::Logging;
use crate::machine::{Input, Report};
use crate::service::run_on_new_runtime;

/// `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`: not started by the SCM.
const NOT_A_SERVICE: i32 = 1063;

/// The run the dispatcher's service main will carry out, set before dispatching.
pub(crate) struct ServiceRun {
    pub(crate) plan: Plan,
    pub(crate) logging: Logging,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) job: Job,
}

impl ServiceRun {
    fn run(
        self,
        status: ServiceStatusHandle,
        rx: mpsc::UnboundedReceiver<Input>,
        tx: mpsc::UnboundedSender<Input>,
    ) -> Exit {
        let ServiceRun {
            plan,
            logging,
            worker_threads,
            job,
        } = self;
        crate::logging::init(HostKind::WindowsService, &plan.name, &logging);
        let host = Box::new(Scm {
            status,
            handles: plan.handles,
        });
        let name = plan.name.clone();
        run_on_new_runtime(worker_threads, &name, move || {
            Box::pin(drive(plan, HostKind::WindowsService, host, (tx, rx), job))
        })
    }
}

struct Pending {
    name: String,
    handles: Handles,
    run: ServiceRun,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);
static RESULT: Mutex<Option<Exit>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

fn service_main(_args: Vec<OsString>) {
    let Some(p) = PENDING.lock().expect("pending lock").take() else {
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let handler_tx = tx.clone();
    let handles = p.handles;
    let handler = move |control: ServiceControl| -> ServiceControlHandlerResult {
        let (input, ok) = control_input(scm_control(&control), handles);
        if let Some(i) = input {
            let _ = handler_tx.send(i);
        }
        if ok {
            ServiceControlHandlerResult::NoError
        } else {
            ServiceControlHandlerResult::NotImplemented
        }
    };
    let status = match service_control_handler::register(&p.name, handler) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot register the service control handler: {e}");
            return;
        }
    };
    let exit = p.run.run(status, rx, tx);
    *RESULT.lock().expect("result lock") = Some(exit);
}

fn scm_control(c: &ServiceControl) -> ScmControl {
    match c {
        ServiceControl::Stop => ScmControl::Stop,
        ServiceControl::Shutdown => ScmControl::Shutdown,
        ServiceControl::Preshutdown => ScmControl::Preshutdown,
        ServiceControl::Pause => ScmControl::Pause,
        ServiceControl::Continue => ScmControl::Continue,
        ServiceControl::Interrogate => ScmControl::Interrogate,
        ServiceControl::ParamChange => ScmControl::ParamChange,
        ServiceControl::PowerEvent(p) => ScmControl::Power(pbt(*p)),
        ServiceControl::SessionChange(s) => {
            ScmControl::Session(s.reason as u32, s.notification.session_id)
        }
        ServiceControl::UserEvent(code) => ScmControl::User(code.to_raw() as u8),
        _ => ScmControl::Other,
    }
}

/// The `PBT_*` number of a power event (windows-service parses it away).
fn pbt(p: PowerEventParam) -> u32 {
    match p {
        PowerEventParam::QuerySuspend => 0x0,
        PowerEventParam::QuerySuspendFailed => 0x2,
        PowerEventParam::Suspend => 0x4,
        PowerEventParam::ResumeCritical => 0x6,
        PowerEventParam::ResumeSuspend => 0x7,
        PowerEventParam::BatteryLow => 0x9,
        PowerEventParam::PowerStatusChange => 0xA,
        PowerEventParam::OemEvent => 0xB,
        PowerEventParam::ResumeAutomatic => 0x12,
        _ => 0x8013,
    }
}

/// Connects to the SCM's dispatcher and carries out `run` as the service. `Err` gives the
/// run back when the process was not started by the SCM (run it in the console then).
pub(crate) fn dispatch(run: ServiceRun) -> Result<Exit, Box<ServiceRun>> {
    let name = run.plan.name.clone();
    *PENDING.lock().expect("pending lock") = Some(Pending {
        name: name.clone(),
        handles: run.plan.handles,
        run,
    });
    match service_dispatcher::start(&name, ffi_service_main) {
        Ok(()) => Ok(RESULT
            .lock()
            .expect("result lock")
            .take()
            .unwrap_or_else(|| Exit {
                code: crate::exit::FAILURE,
                reason: "the service control handler could not be registered".into(),
            })),
        Err(windows_service::Error::Winapi(e)) if e.raw_os_error() == Some(NOT_A_SERVICE) => {
            Err(PENDING
                .lock()
                .expect("pending lock")
                .take()
                .expect("pending run")
                .run
                .into())
        }
        Err(e) => {
            let exit = Exit {
                code: crate::exit::FAILURE,
                reason: format!("cannot connect to the service control manager: {e}"),
            };
            Ok(exit)
        }
    }
}

/// Reports to the SCM through the status handle.
pub(crate) struct Scm {
    pub(crate) status: ServiceStatusHandle,
    pub(crate) handles: Handles,
}

impl Host for Scm {
    fn report(&mut self, report: &Report) {
        if let Report::Stopped(exit) = report
            && !exit.success()
        {
            tracing::error!("{}", exit.reason);
        }
        if let Report::Status(s) = report {
            tracing::info!("{s}");
        }
        let Some(s) = scm_status(report, self.handles) else {
            return;
        };
        let current_state = match s.state {
            ScmState::Stopped => ServiceState::Stopped,
            ScmState::StartPending => ServiceState::StartPending,
            ScmState::StopPending => ServiceState::StopPending,
            ScmState::Running => ServiceState::Running,
            ScmState::Paused => ServiceState::Paused,
        };
        let exit_code = if s.win32_exit_code == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(s.service_exit_code)
        };
        let status = ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state,
            controls_accepted: ServiceControlAccept::from_bits_truncate(s.controls_accepted),
            exit_code,
            checkpoint: s.checkpoint,
            wait_hint: std::time::Duration::from_millis(u64::from(s.wait_hint_ms)),
            process_id: None,
        };
        if let Err(e) = self.status.set_service_status(status) {
            tracing::warn!(
                "cannot report {:?} to the service control manager: {e}",
                s.state
            );
        }
    }
}
