//! `stead-testchild --scm VERB NAME …`: drives a service through the Service Control
//! Manager API, for tests under Wine (whose `sc.exe` lacks pause, continue and control).
//!
//! Verbs: `create NAME EXE [ARG…]`, `start-watch NAME MS` (start, then print each distinct
//! state until RUNNING or STOPPED), `pause NAME`, `continue NAME` (each waits for the new state), `control NAME CODE`,
//! `paramchange NAME`, `stop-watch NAME MS`, `query NAME`, `delete NAME`. A state prints as
//! `STATE checkpoint=N wait_hint_ms=N win32=N specific=N accepts=0xN`.
//! `--sddl PATH` (no `--scm`) prints a file's DACL in SDDL; `--key-sddl KEY` the DACL of
//! `HKEY_LOCAL_MACHINE\KEY`.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceErrorControl, ServiceExitCode, ServiceInfo,
    ServiceStartType, ServiceState, ServiceStatus, ServiceType, UserEventCode,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

fn fail(msg: &str) -> ! {
    eprintln!("stead-testchild --scm: {msg}");
    std::process::exit(2)
}

fn line(s: &ServiceStatus) -> String {
    let (win32, specific) = match s.exit_code {
        ServiceExitCode::Win32(c) => (c, 0),
        ServiceExitCode::ServiceSpecific(c) => (1066, c),
    };
    format!(
        "{:?} checkpoint={} wait_hint_ms={} win32={win32} specific={specific} accepts={:#x}",
        s.current_state,
        s.checkpoint,
        s.wait_hint.as_millis(),
        s.controls_accepted.bits()
    )
}

pub(crate) fn main(args: &[String]) -> ! {
    let verb = args.first().map_or("", String::as_str);
    let name = args.get(1).cloned().unwrap_or_else(|| fail("missing NAME"));
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .unwrap_or_else(|e| fail(&format!("open SCM: {e}")));
    if verb == "create" {
        let exe = args.get(2).unwrap_or_else(|| fail("missing EXE"));
        let info = ServiceInfo {
            name: OsString::from(&name),
            display_name: OsString::from(&name),
            service_type: ServiceType::OWN_PROCESS,
            start_type: ServiceStartType::OnDemand,
            error_control: ServiceErrorControl::Normal,
            executable_path: exe.into(),
            launch_arguments: args[3..].iter().map(OsString::from).collect(),
            dependencies: vec![],
            account_name: None,
            account_password: None,
        };
        manager
            .create_service(&info, ServiceAccess::QUERY_STATUS)
            .unwrap_or_else(|e| fail(&format!("create: {e}")));
        println!("created");
        std::process::exit(0);
    }
    let access = ServiceAccess::QUERY_STATUS
        | ServiceAccess::START
        | ServiceAccess::STOP
        | ServiceAccess::PAUSE_CONTINUE
        | ServiceAccess::USER_DEFINED_CONTROL
        | ServiceAccess::DELETE;
    let svc = manager
        .open_service(&name, access)
        .unwrap_or_else(|e| fail(&format!("open {name}: {e}")));
    let query = || {
        svc.query_status()
            .unwrap_or_else(|e| fail(&format!("query: {e}")))
    };
    let watch = |limit_ms: u64, until: &[ServiceState]| {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < Duration::from_millis(limit_ms) {
            let s = query();
            let l = line(&s);
            if l != last {
                println!("{l}");
                last = l;
            }
            if until.contains(&s.current_state) {
                std::process::exit(0);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        fail(&format!("no {until:?} within {limit_ms} ms"))
    };
    let limit = || args.get(2).and_then(|m| m.parse().ok()).unwrap_or(30_000);
    let control = |c: ServiceControl| {
        let s = match c {
            ServiceControl::Pause => svc.pause(),
            ServiceControl::Continue => svc.resume(),
            ServiceControl::UserEvent(code) => svc.notify(code),
            _ => {
                param_change(&svc);
                std::process::exit(0)
            }
        }
        .unwrap_or_else(|e| fail(&format!("{c:?}: {e}")));
        println!("{}", line(&s));
        // The service reports the new state right after the control returns.
        match c {
            ServiceControl::Pause => watch(30_000, &[ServiceState::Paused]),
            ServiceControl::Continue => watch(30_000, &[ServiceState::Running]),
            _ => std::process::exit(0),
        }
    };
    match verb {
        "start-watch" => {
            svc.start::<&str>(&[])
                .unwrap_or_else(|e| fail(&format!("start: {e}")));
            watch(limit(), &[ServiceState::Running, ServiceState::Stopped])
        }
        "stop-watch" => {
            let s = svc.stop().unwrap_or_else(|e| fail(&format!("stop: {e}")));
            println!("{}", line(&s));
            watch(limit(), &[ServiceState::Stopped])
        }
        "pause" => control(ServiceControl::Pause),
        "continue" => control(ServiceControl::Continue),
        "paramchange" => control(ServiceControl::ParamChange),
        "control" => {
            let code = args
                .get(2)
                .and_then(|c| c.parse().ok())
                .and_then(|c| UserEventCode::from_raw(c).ok())
                .unwrap_or_else(|| fail("control takes a CODE 128-255"));
            control(ServiceControl::UserEvent(code))
        }
        "query" => {
            println!("{}", line(&query()));
            std::process::exit(0)
        }
        "delete" => {
            svc.delete()
                .unwrap_or_else(|e| fail(&format!("delete: {e}")));
            println!("deleted");
            std::process::exit(0)
        }
        other => fail(&format!("unknown verb `{other}`")),
    }
}

/// `SERVICE_CONTROL_PARAMCHANGE`, which windows-service does not send.
fn param_change(svc: &windows_service::service::Service) {
    use windows_sys::Win32::System::Services::{
        ControlService, SERVICE_CONTROL_PARAMCHANGE, SERVICE_STATUS,
    };
    // SAFETY: SERVICE_STATUS is plain data; zero is a valid value.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the life of `svc`; `status` is a valid out pointer.
    let ok = unsafe {
        ControlService(
            svc.raw_handle().cast(),
            SERVICE_CONTROL_PARAMCHANGE,
            &raw mut status,
        )
    };
    if ok == 0 {
        fail(&format!("ParamChange: {}", std::io::Error::last_os_error()));
    }
    println!("paramchange sent");
}

/// `stead-testchild --sddl PATH`: prints the DACL of a file or directory in SDDL, as Windows
/// (or Wine) stored it, for tests of the ACLs stead sets.
pub(crate) fn print_sddl(path: &str) -> ! {
    use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, GetFileSecurityW};
    let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
    let mut buf = vec![0u64; 1024];
    let mut needed = 0u32;
    // SAFETY: live buffers with their sizes.
    let ok = unsafe {
        GetFileSecurityW(
            wide.as_ptr(),
            DACL_SECURITY_INFORMATION,
            buf.as_mut_ptr().cast(),
            (buf.len() * 8) as u32,
            &raw mut needed,
        )
    };
    if ok == 0 {
        fail(&format!(
            "GetFileSecurityW {path}: {}",
            std::io::Error::last_os_error()
        ));
    }
    print_dacl(&mut buf)
}

/// `stead-testchild --key-sddl KEY`: prints the DACL of the registry key
/// `HKEY_LOCAL_MACHINE\KEY` in SDDL.
pub(crate) fn print_key_sddl(key: &str) -> ! {
    use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
    use windows_sys::Win32::System::Registry::{
        HKEY, HKEY_LOCAL_MACHINE, RegCloseKey, RegGetKeySecurity, RegOpenKeyExW,
    };
    /// `READ_CONTROL`.
    const READ_CONTROL: u32 = 0x0002_0000;
    let wide: Vec<u16> = key.encode_utf16().chain(Some(0)).collect();
    let mut buf = vec![0u64; 1024];
    let mut h: HKEY = std::ptr::null_mut();
    // SAFETY: a NUL-terminated key name, live buffers with their sizes; the handle is ours.
    unsafe {
        let rc = RegOpenKeyExW(
            HKEY_LOCAL_MACHINE,
            wide.as_ptr(),
            0,
            READ_CONTROL,
            &raw mut h,
        );
        if rc != 0 {
            fail(&format!(
                "RegOpenKeyExW {key}: {}",
                std::io::Error::from_raw_os_error(rc as i32)
            ));
        }
        let mut len = (buf.len() * 8) as u32;
        let rc = RegGetKeySecurity(
            h,
            DACL_SECURITY_INFORMATION,
            buf.as_mut_ptr().cast(),
            &raw mut len,
        );
        RegCloseKey(h);
        if rc != 0 {
            fail(&format!(
                "RegGetKeySecurity {key}: {}",
                std::io::Error::from_raw_os_error(rc as i32)
            ));
        }
    }
    print_dacl(&mut buf)
}

/// Prints the DACL of the security descriptor in `buf` as SDDL, and exits.
fn print_dacl(buf: &mut [u64]) -> ! {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
    // SAFETY: `buf` holds a self-relative security descriptor; the string the conversion
    // allocates is freed.
    unsafe {
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSecurityDescriptorToStringSecurityDescriptorW(
            buf.as_mut_ptr().cast(),
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &raw mut text,
            std::ptr::null_mut(),
        ) == 0
        {
            fail(&format!("to SDDL: {}", std::io::Error::last_os_error()));
        }
        let mut n = 0;
        while *text.add(n) != 0 {
            n += 1;
        }
        println!(
            "{}",
            String::from_utf16_lossy(std::slice::from_raw_parts(text, n))
        );
        LocalFree(text.cast());
    }
    std::process::exit(0)
}
