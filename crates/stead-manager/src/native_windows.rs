//! Applying plans on Windows: the Service Control Manager through its API. The service is
//! created with `CreateServiceW` and the exact, always-quoted image path of the plan (not
//! through `sc.exe`, and not re-escaped by a helper); the optional settings follow with
//! `ChangeServiceConfig2W` (through `windows-service`). Afterwards the registration is read
//! back: an image path or account that differs from the plan is an error, and the service is
//! removed again. The order and the checks are in `backend/windows/apply.rs`, tested against a fake SCM;
//! this file is the real SCM behind its `Scm` trait.

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceFailureActions,
    ServiceFailureResetPeriod, ServiceSidType, ServiceState,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, CreateServiceW, OpenSCManagerW, SC_MANAGER_ALL_ACCESS, SERVICE_ALL_ACCESS,
    SERVICE_AUTO_START, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, SERVICE_WIN32_OWN_PROCESS,
};

use crate::backend::windows::apply::{self as scm_apply, ScmError, Setting};
use crate::backend::windows::{EventSource, ScmParams, Secured};

#[path = "secure_windows.rs"]
mod secure;
use crate::backend::task_scheduler::apply as task;
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

/// `ERROR_INVALID_LEVEL`: this SCM does not know that configuration (older Windows, Wine).
const NOT_SUPPORTED_HERE: i32 = 124;
/// `ERROR_SERVICE_DOES_NOT_EXIST`.
const NO_SUCH_SERVICE: i32 = 1060;

fn wide(s: &str) -> Vec<u16> {
    OsStr::new(s).encode_wide().chain(Some(0)).collect()
}

fn api(what: &str, e: impl std::fmt::Display) -> ManagerError {
    ManagerError::Command {
        command: what.to_string(),
        output: e.to_string(),
    }
}

/// The password of the named account the service runs as: `STEAD_SERVICE_PASSWORD`, or else
/// asked for on the console without echo (`rpassword`) when stdin is a terminal. Never an
/// argument, and never logged.
fn account_password(account: &str) -> Result<String, ManagerError> {
    use std::io::IsTerminal;
    if let Ok(p) = std::env::var("STEAD_SERVICE_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(api(
            "reading the account password",
            format!(
                "{account} needs its password: set STEAD_SERVICE_PASSWORD, or run from a console to be asked (never on the command line)"
            ),
        ));
    }
    rpassword::prompt_password(format!("Password for {account}: "))
        .map_err(|e| api("reading the account password from the console", e))
}

fn os_code(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

fn manager() -> Result<ServiceManager, ManagerError> {
    ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(|e| api("OpenSCManagerW (run as Administrator)", e))
}

fn create(p: &ScmParams, password: Option<&str>) -> Result<(), ManagerError> {
    let name = wide(&p.name);
    let display = wide(&p.display_name);
    let image = wide(&p.image_path);
    let account = wide(&p.account);
    let mut deps: Vec<u16> = Vec::new();
    for d in &p.dependencies {
        deps.extend(OsStr::new(d).encode_wide());
        deps.push(0);
    }
    deps.push(0);
    let password = password.map(wide);
    // SAFETY: a null machine and database name: the local SCM's active database.
    let scm = ScHandle(unsafe {
        OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ALL_ACCESS)
    });
    if scm.0.is_null() {
        return Err(api(
            "OpenSCManagerW (run as Administrator)",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: every pointer is a NUL-terminated UTF-16 buffer alive for the call, and `scm`
    // is open; the service's handle is owned (and closed) by `ScHandle`.
    let svc = ScHandle(unsafe {
        CreateServiceW(
            scm.0,
            name.as_ptr(),
            display.as_ptr(),
            SERVICE_ALL_ACCESS,
            SERVICE_WIN32_OWN_PROCESS,
            if p.start_type == "SERVICE_DEMAND_START" {
                SERVICE_DEMAND_START
            } else {
                SERVICE_AUTO_START
            },
            SERVICE_ERROR_NORMAL,
            image.as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
            deps.as_ptr(),
            account.as_ptr(),
            password.as_ref().map_or(std::ptr::null(), Vec::as_ptr),
        )
    });
    if svc.0.is_null() {
        return Err(api("CreateServiceW", std::io::Error::last_os_error()));
    }
    Ok(())
}

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    crate::wrap_apply::refuse_existing(plan, force)?;
    if plan.backend == Backend::TaskScheduler {
        // Registered first, so a refused duplicate writes nothing; the task runs at the next
        // logon, by when its config is there.
        task::install(plan, &spec.name, force)?;
        if let Err(e) = crate::wrap_apply::write(plan) {
            let _ = task::uninstall(&spec.name, &crate::home_dir());
            return Err(e);
        }
        return Ok(());
    }
    let Some(p) = &plan.scm else {
        return Err(ManagerError::NotHere(plan.backend.as_str()));
    };
    crate::path_safety::check(spec, plan.wrapped.as_ref()).map_err(ManagerError::UnsafePath)?;
    let password = if p.needs_password {
        Some(account_password(&p.account)?)
    } else {
        None
    };
    let mut scm = WindowsScm { m: manager()? };
    let done = scm_apply::install(&mut scm, p, force, password.as_deref())?;
    // The config folder exists now, with its ACL: the generated config goes in it. A
    // failure leaves nothing behind.
    if let Err(e) = crate::wrap_apply::write(plan) {
        let _ = scm_apply::uninstall(&mut scm, &p.name, &p.event_source, true);
        return Err(e);
    }
    for what in done.skipped {
        eprintln!("stead: warning: this service manager does not support {what}; skipped");
    }
    for folder in done.kept {
        eprintln!(
            "stead: warning: {folder} existed already and keeps its own ACL; make sure {} may use it",
            p.account
        );
    }
    Ok(())
}

/// An SCM or service handle from the raw API, closed when dropped (a null one is not).
struct ScHandle(windows_sys::Win32::System::Services::SC_HANDLE);

impl Drop for ScHandle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a handle this wrapper got from the SCM and closes once.
            unsafe { CloseServiceHandle(self.0) };
        }
    }
}

/// The real Service Control Manager behind [`scm_apply::Scm`].
struct WindowsScm {
    m: ServiceManager,
}

impl WindowsScm {
    fn open(
        &self,
        name: &str,
        access: ServiceAccess,
    ) -> Result<windows_service::service::Service, ManagerError> {
        self.m
            .open_service(name, access)
            .map_err(|e| api("OpenServiceW", e))
    }
}

/// `ChangeServiceConfig2W(SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO)`, which the
/// `windows-service` crate does not wrap: the names as one double-NUL-terminated list.
fn set_required_privileges(
    svc: &windows_service::service::Service,
    names: &[String],
) -> windows_service::Result<()> {
    use windows_sys::Win32::System::Services::{
        ChangeServiceConfig2W, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO,
        SERVICE_REQUIRED_PRIVILEGES_INFOW,
    };
    let mut list: Vec<u16> = names
        .iter()
        .flat_map(|n| n.encode_utf16().chain(Some(0)))
        .chain(Some(0))
        .collect();
    let info = SERVICE_REQUIRED_PRIVILEGES_INFOW {
        pmszRequiredPrivileges: list.as_mut_ptr(),
    };
    // SAFETY: the handle is the open service's; `info` and the list it points to outlive
    // the call.
    let ok = unsafe {
        ChangeServiceConfig2W(
            svc.raw_handle(),
            SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO,
            std::ptr::from_ref(&info).cast(),
        )
    };
    if ok == 0 {
        Err(windows_service::Error::Winapi(
            std::io::Error::last_os_error(),
        ))
    } else {
        Ok(())
    }
}

impl scm_apply::Scm for WindowsScm {
    fn exists(&mut self, name: &str) -> Result<bool, ManagerError> {
        match self.m.open_service(name, ServiceAccess::QUERY_STATUS) {
            Ok(_) => Ok(true),
            Err(e) if os_code(&e) == Some(NO_SUCH_SERVICE) => Ok(false),
            Err(e) => Err(api("OpenServiceW", e)),
        }
    }

    fn create(&mut self, p: &ScmParams, password: Option<&str>) -> Result<(), ManagerError> {
        create(p, password)
    }

    fn stored(&mut self, name: &str) -> Result<(String, String), ManagerError> {
        let cfg = self
            .open(name, ServiceAccess::QUERY_CONFIG)?
            .query_config()
            .map_err(|e| api("QueryServiceConfigW", e))?;
        Ok((
            cfg.executable_path.to_string_lossy().into_owned(),
            cfg.account_name
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ))
    }

    fn set(&mut self, name: &str, setting: &Setting) -> Result<(), ScmError> {
        let svc = self
            .open(name, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)
            .map_err(|e| ScmError::Failed(e.to_string()))?;
        let r = match setting {
            Setting::Description(d) => svc.set_description(d),
            Setting::FailureActions {
                restart_after_ms,
                reset_period_secs,
            } => svc.update_failure_actions(ServiceFailureActions {
                reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(
                    *reset_period_secs,
                )),
                reboot_msg: None,
                command: None,
                actions: Some(
                    restart_after_ms
                        .iter()
                        .map(|ms| ServiceAction {
                            action_type: ServiceActionType::Restart,
                            delay: Duration::from_millis(*ms),
                        })
                        .collect(),
                ),
            }),
            Setting::FailureActionsOnNonCrashFailures(on) => {
                svc.set_failure_actions_on_non_crash_failures(*on)
            }
            Setting::DelayedAutoStart(on) => svc.set_delayed_auto_start(*on),
            Setting::PreshutdownTimeoutMs(ms) => {
                svc.set_preshutdown_timeout(Duration::from_millis(*ms))
            }
            Setting::SidTypeRestricted(restricted) => {
                svc.set_config_service_sid_info(if *restricted {
                    ServiceSidType::Restricted
                } else {
                    ServiceSidType::Unrestricted
                })
            }
            Setting::RequiredPrivileges(names) => set_required_privileges(&svc, names),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if os_code(&e) == Some(NOT_SUPPORTED_HERE) => Err(ScmError::NotSupported),
            Err(e) => Err(ScmError::Failed(e.to_string())),
        }
    }

    fn stop(&mut self, name: &str) -> Result<(), ManagerError> {
        let svc = self.open(name, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP)?;
        if let Ok(st) = svc.query_status()
            && st.current_state != ServiceState::Stopped
        {
            let _ = svc.stop();
            wait_for(&svc, &[ServiceState::Stopped], Duration::from_secs(120))?;
        }
        Ok(())
    }

    fn delete(&mut self, name: &str) -> Result<(), ManagerError> {
        self.open(name, ServiceAccess::DELETE)?
            .delete()
            .map_err(|e| api("DeleteService", e))
    }

    fn register_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError> {
        register_event_source(s)
    }

    fn remove_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError> {
        remove_event_source(s)
    }

    fn sid_of(&mut self, account: &str) -> Result<String, ManagerError> {
        secure::sid_of(account)
    }

    fn secure(&mut self, s: &Secured, sddl: &str) -> Result<bool, ManagerError> {
        secure::secure(s, sddl)
    }

    fn record(&mut self, name: &str, made: &[String]) -> Result<(), ManagerError> {
        secure::record(name, made)
    }

    fn recorded(&mut self, name: &str) -> Result<Vec<String>, ManagerError> {
        Ok(secure::recorded(name))
    }

    fn remove_folder(&mut self, path: &str) -> Result<(), ManagerError> {
        secure::remove_folder(path)
    }
}

fn wait_for(
    svc: &windows_service::service::Service,
    until: &[ServiceState],
    limit: Duration,
) -> Result<ServiceState, ManagerError> {
    let start = Instant::now();
    loop {
        let st = svc
            .query_status()
            .map_err(|e| api("QueryServiceStatus", e))?;
        if until.contains(&st.current_state) {
            return Ok(st.current_state);
        }
        if start.elapsed() > limit {
            return Err(api(
                "waiting for the service",
                format!("still {:?} after {limit:?}", st.current_state),
            ));
        }
        // A pending state with a rising checkpoint is progress; its wait hint says how long.
        std::thread::sleep(
            st.wait_hint
                .clamp(Duration::from_millis(50), Duration::from_millis(500)),
        );
    }
}

/// With `purge`, the folders the install made go too (a logon task has none).
pub(crate) fn uninstall(
    name: &str,
    backend: Backend,
    home: &Path,
    purge: bool,
) -> Result<(), ManagerError> {
    if backend == Backend::TaskScheduler {
        task::uninstall(name, home)?;
        crate::wrap_apply::remove_generated(&crate::wrap::config_path(name, backend, true, home));
        return Ok(());
    }
    if backend != Backend::Windows {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
    let mut scm = WindowsScm { m: manager()? };
    scm_apply::uninstall(
        &mut scm,
        name,
        &crate::backend::windows::event_source(name),
        purge,
    )?;
    // Without --purge the config folder stays; a generated config in it goes while unchanged.
    crate::wrap_apply::remove_generated(&crate::wrap::config_path(name, backend, false, home));
    Ok(())
}

/// Writes the Event Log source's key (`EventMessageFile`, `TypesSupported`).
fn register_event_source(s: &EventSource) -> Result<(), ManagerError> {
    use windows_sys::Win32::System::Registry::{
        KEY_SET_VALUE, REG_DWORD, REG_EXPAND_SZ, RegSetValueExW,
    };
    // No security attributes: the key inherits the EventLog key's ACL (administrators write).
    let key = secure::create_key(&s.key, KEY_SET_VALUE, None).map_err(|rc| {
        api(
            "registering the Event Log source",
            std::io::Error::from_raw_os_error(rc as i32),
        )
    })?;
    let h = key.0;
    let file = wide(&s.message_file);
    let name = wide("EventMessageFile");
    let types = wide("TypesSupported");
    // SAFETY: values from live buffers with their byte lengths; the handle is ours.
    let rc = unsafe {
        let a = RegSetValueExW(
            h,
            name.as_ptr(),
            0,
            REG_EXPAND_SZ,
            file.as_ptr().cast(),
            (file.len() * 2) as u32,
        );
        let b = RegSetValueExW(
            h,
            types.as_ptr(),
            0,
            REG_DWORD,
            (&raw const s.types_supported).cast(),
            4,
        );
        if a != 0 { a } else { b }
    };
    if rc != 0 {
        return Err(api(
            "registering the Event Log source",
            std::io::Error::from_raw_os_error(rc as i32),
        ));
    }
    Ok(())
}

/// Removes the Event Log source's key if it is the one stead registered (its
/// `EventMessageFile` is ours); a source someone else made is left alone.
fn remove_event_source(s: &EventSource) -> Result<(), ManagerError> {
    use windows_sys::Win32::System::Registry::{
        HKEY_LOCAL_MACHINE, RRF_NOEXPAND, RRF_RT_REG_EXPAND_SZ, RegDeleteKeyW,
    };
    // No such source (or not ours to judge): nothing to remove.
    let Some(stored) = secure::read_value(
        &s.key,
        "EventMessageFile",
        RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND,
    ) else {
        return Ok(());
    };
    if stored.trim_end_matches('\0') != s.message_file {
        return Ok(());
    }
    let key = wide(&s.key);
    // SAFETY: a null-terminated key name.
    let rc = unsafe { RegDeleteKeyW(HKEY_LOCAL_MACHINE, key.as_ptr()) };
    if rc != 0 {
        return Err(api(
            "removing the Event Log source",
            std::io::Error::from_raw_os_error(rc as i32),
        ));
    }
    Ok(())
}

pub(crate) fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    if backend == Backend::TaskScheduler {
        return Ok(task::status(name));
    }
    if backend != Backend::Windows {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
    let m = manager()?;
    let svc = match m.open_service(
        name,
        ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG,
    ) {
        Ok(s) => s,
        Err(e) if os_code(&e) == Some(NO_SUCH_SERVICE) => {
            return Ok(NativeStatus {
                name: name.to_string(),
                backend,
                state: "not-installed".into(),
                pid: None,
                start_mode: None,
                last_exit: None,
                detail: "not registered with the Service Control Manager".into(),
            });
        }
        Err(e) => return Err(api("OpenServiceW", e)),
    };
    let st = svc
        .query_status()
        .map_err(|e| api("QueryServiceStatus", e))?;
    let cfg = svc.query_config().ok();
    let state = match st.current_state {
        ServiceState::Running
        | ServiceState::Paused
        | ServiceState::PausePending
        | ServiceState::ContinuePending => "running",
        ServiceState::StartPending => "starting",
        ServiceState::StopPending => "stopping",
        ServiceState::Stopped => match st.exit_code {
            windows_service::service::ServiceExitCode::Win32(0) => "stopped",
            _ => "failed",
        },
    };
    let last_exit = match st.exit_code {
        windows_service::service::ServiceExitCode::Win32(c)
        | windows_service::service::ServiceExitCode::ServiceSpecific(c) => c as i32,
    };
    Ok(NativeStatus {
        name: name.to_string(),
        backend,
        state: state.into(),
        pid: st.process_id,
        start_mode: cfg.map(|c| format!("{:?}", c.start_type)),
        last_exit: Some(last_exit),
        detail: format!("{:?}, checkpoint {}", st.current_state, st.checkpoint),
    })
}

pub(crate) fn control(
    name: &str,
    backend: Backend,
    verb: crate::Control,
) -> Result<(), ManagerError> {
    if backend == Backend::TaskScheduler {
        return task::control(name, verb);
    }
    if backend != Backend::Windows {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
    let m = manager()?;
    let svc = m
        .open_service(
            name,
            ServiceAccess::QUERY_STATUS | ServiceAccess::START | ServiceAccess::STOP,
        )
        .map_err(|e| api("OpenServiceW", e))?;
    let stop = |svc: &windows_service::service::Service| -> Result<(), ManagerError> {
        let st = svc
            .query_status()
            .map_err(|e| api("QueryServiceStatus", e))?;
        if st.current_state != ServiceState::Stopped {
            svc.stop().map_err(|e| api("ControlService(STOP)", e))?;
            wait_for(svc, &[ServiceState::Stopped], Duration::from_secs(120))?;
        }
        Ok(())
    };
    let start = |svc: &windows_service::service::Service| -> Result<(), ManagerError> {
        svc.start::<&str>(&[])
            .map_err(|e| api("StartServiceW", e))?;
        match wait_for(
            svc,
            &[ServiceState::Running, ServiceState::Stopped],
            Duration::from_secs(120),
        )? {
            ServiceState::Running => Ok(()),
            _ => Err(api(
                "starting the service",
                "it stopped during its start; see its log",
            )),
        }
    };
    match verb {
        crate::Control::Start => start(&svc),
        crate::Control::Stop => stop(&svc),
        crate::Control::Restart => {
            stop(&svc)?;
            start(&svc)
        }
    }
}
