//! The Windows Service Control Manager: the exact `CreateServiceW` and `ChangeServiceConfig2W`
//! parameters, computed on every OS (so they are tested here and shown by `--dry-run`), then
//! applied through the SCM API on Windows — never through `sc.exe` and its `binPath= "…"`
//! quoting.

/// The order of SCM calls and the checks after each, over any `apply::Scm` (the real one on
/// Windows, a fake in tests).
#[cfg(any(windows, test))]
pub(crate) mod apply;

use crate::spec::{Account, Harden, Restart, ServiceSpec, StartMode};

/// One argument quoted for `CommandLineToArgvW` (the rules every C runtime parses with):
/// wrapped in quotes when it has a space, tab or quote or is empty; backslashes doubled
/// only before a quote or the closing quote.
///
/// ```
/// use stead_manager::backend::windows::quote_arg;
/// assert_eq!(quote_arg(r"C:\Program Files\app\app.exe"), r#""C:\Program Files\app\app.exe""#);
/// assert_eq!(quote_arg(r#"say "hi""#), r#""say \"hi\"""#);
/// assert_eq!(quote_arg(r"C:\dir\ "), r#""C:\dir\ ""#);
/// assert_eq!(quote_arg(r"trailing\"), r"trailing\");
/// assert_eq!(quote_arg(r"two words\"), r#""two words\\""#);
/// ```
pub fn quote_arg(a: &str) -> String {
    if !a.is_empty() && !a.contains([' ', '\t', '"', '\n', '\u{b}']) {
        return a.to_string();
    }
    let mut o = String::from('"');
    let mut backslashes = 0usize;
    for c in a.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                o.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                o.push('"');
                backslashes = 0;
            }
            c => {
                o.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                o.push(c);
            }
        }
    }
    o.extend(std::iter::repeat_n('\\', backslashes * 2));
    o.push('"');
    o
}

/// The image path: the program **always** quoted (an unquoted path with spaces lets a local
/// user plant `C:\Program.exe`, CWE-428), then the arguments.
pub fn image_path(spec: &ServiceSpec) -> String {
    let program = spec.program.display().to_string();
    let mut s = format!("\"{program}\"");
    for a in &spec.args {
        s.push(' ');
        s.push_str(&quote_arg(a));
    }
    s
}

/// What `SERVICE_CONFIG_FAILURE_ACTIONS` gets: restart after each delay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailureActions {
    /// Milliseconds before each restart (1st, 2nd, then every later failure).
    pub restart_after_ms: Vec<u64>,
    /// Seconds without failure after which the count resets.
    pub reset_period_secs: u64,
    /// Also act when the service stops itself with a non-zero exit code, not only on a
    /// crash (`SERVICE_CONFIG_FAILURE_ACTIONS_FLAG`).
    pub on_non_crash_failures: bool,
}

/// Every parameter of the service's registration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScmParams {
    /// Service name (the registry key).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description (`SERVICE_CONFIG_DESCRIPTION`).
    pub description: String,
    /// `SERVICE_WIN32_OWN_PROCESS`.
    pub service_type: &'static str,
    /// `SERVICE_AUTO_START` or `SERVICE_DEMAND_START`.
    pub start_type: &'static str,
    /// `SERVICE_CONFIG_DELAYED_AUTO_START_INFO`.
    pub delayed_auto_start: bool,
    /// `SERVICE_ERROR_NORMAL`.
    pub error_control: &'static str,
    /// `lpBinaryPathName`, quoted.
    pub image_path: String,
    /// `lpServiceStartName`: `NT SERVICE\NAME` by default.
    pub account: String,
    /// Whether a password must be supplied (a named user account; read from the
    /// environment or a prompt, never from the command line).
    pub needs_password: bool,
    /// `lpDependencies`.
    pub dependencies: Vec<String>,
    /// Failure actions, when the service is restarted on failure.
    pub failure_actions: Option<FailureActions>,
    /// `SERVICE_CONFIG_PRESHUTDOWN_INFO`: the stop timeout, so a graceful stop at shutdown
    /// gets its time.
    pub preshutdown_timeout_ms: u64,
    /// `SERVICE_CONFIG_SERVICE_SID_INFO`: `SERVICE_SID_TYPE_UNRESTRICTED`, so the service's
    /// SID exists for ACLs; with `--harden strict` and the virtual account (whose SID is the
    /// service SID its folders grant) `SERVICE_SID_TYPE_RESTRICTED`: a write-restricted
    /// token, so the service writes only where its SID (or Everyone) is granted.
    pub sid_type: &'static str,
    /// `SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO`: the only privileges the service's process
    /// keeps of its account's ([`required_privileges`]); empty: not set, it keeps them all.
    pub required_privileges: Vec<String>,
    /// The Event Log source registered for the service, so that its records (the `stead`
    /// library's Event Log sink, stead's own log as a service) show their text.
    pub event_source: EventSource,
    /// The SID of `account` (`S-1-5-80-…` for the virtual account, derived from the name;
    /// well-known for the built-in ones); `None` for a named user, whose SID is looked up
    /// when the plan is applied.
    pub account_sid: Option<String>,
    /// The folders made for the service and its parameters key, each with the protected
    /// DACL that gives the account exactly what it needs.
    pub secured: Vec<Secured>,
}

/// A folder or registry key stead makes for a service, with the DACL it sets on it: full
/// control for `SYSTEM` and Administrators, the service's account only the access it
/// needs, nothing inherited from above (`C:\ProgramData` lets every user read and create).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Secured {
    /// What it is for: `state`, `logs`, `config`, `parameters`.
    pub purpose: &'static str,
    /// `registry` (under `HKEY_LOCAL_MACHINE`) or `folder`.
    pub kind: &'static str,
    /// The folder, or the key under `HKEY_LOCAL_MACHINE`.
    pub path: String,
    /// The DACL in SDDL; for a named user account `{account}` stands for its SID until the
    /// plan is applied.
    pub sddl: String,
}

/// Where a named user's SID goes in [`Secured::sddl`] until it is looked up.
pub const ACCOUNT_PLACEHOLDER: &str = "{account}";

/// The SID of the virtual account `NT SERVICE\NAME`: `S-1-5-80-` followed by the SHA-1 of
/// the service name in upper case (UTF-16LE) read as five little-endian 32-bit numbers —
/// how Windows derives it, so a plan can name it before the service exists (and on any OS).
///
/// ```
/// use stead_manager::backend::windows::virtual_account_sid;
/// assert_eq!(
///     virtual_account_sid("TrustedInstaller"),
///     "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
/// );
/// ```
pub fn virtual_account_sid(name: &str) -> String {
    use sha1::Digest;
    let upper: Vec<u8> = name
        .to_uppercase()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let digest = sha1::Sha1::digest(&upper);
    let mut sid = String::from("S-1-5-80");
    for chunk in digest.chunks_exact(4) {
        let n = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        sid.push_str(&format!("-{n}"));
    }
    sid
}

/// `FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE` ("Modify"):
/// everything but changing the DACL or the owner.
const MODIFY: &str = "0x1301bf";
/// `FILE_GENERIC_READ | FILE_GENERIC_EXECUTE` ("Read & execute").
const READ_EXECUTE: &str = "0x1200a9";

/// The folders and the parameters key made for a system service running as the account
/// with `sid` (`None`: a named user, looked up later): `C:\ProgramData\NAME` for its
/// state and `…\logs` (the account may change them), `…\config` (it may only read), and
/// `SYSTEM\CurrentControlSet\Services\NAME\Parameters` (read). `LocalSystem` needs no
/// entry of its own: `SYSTEM` has full control of all of them.
pub fn secured(name: &str, sid: Option<&str>) -> Vec<Secured> {
    let account = sid.unwrap_or(ACCOUNT_PLACEHOLDER);
    let grant = |access: &str, inherit: &str| {
        if account == "S-1-5-18" {
            String::new()
        } else {
            format!("(A;{inherit};{access};;;{account})")
        }
    };
    let folder = |access: &str| {
        format!(
            "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA){}",
            grant(access, "OICI")
        )
    };
    let state = format!(r"C:\ProgramData\{name}");
    vec![
        Secured {
            purpose: "state",
            kind: "folder",
            sddl: folder(MODIFY),
            path: state.clone(),
        },
        Secured {
            purpose: "logs",
            kind: "folder",
            sddl: folder(MODIFY),
            path: format!(r"{state}\logs"),
        },
        Secured {
            purpose: "config",
            kind: "folder",
            sddl: folder(READ_EXECUTE),
            path: format!(r"{state}\config"),
        },
        Secured {
            purpose: "parameters",
            kind: "registry",
            sddl: format!("D:P(A;CI;KA;;;SY)(A;CI;KA;;;BA){}", grant("KR", "CI")),
            path: format!(r"SYSTEM\CurrentControlSet\Services\{name}\Parameters"),
        },
    ]
}

/// An Event Log source: `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\NAME`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventSource {
    /// The key under `HKEY_LOCAL_MACHINE`.
    pub key: String,
    /// `EventMessageFile` (`REG_EXPAND_SZ`): .NET's `EventLogMessages.dll`, whose every
    /// message id formats as `%1` — the text the service wrote. It ships with Windows
    /// (.NET Framework 4), so stead needs no message DLL of its own.
    pub message_file: String,
    /// `TypesSupported` (`REG_DWORD`): error, warning and information.
    pub types_supported: u32,
}

/// The `EventMessageFile` of every source stead registers.
pub const EVENT_MESSAGE_FILE: &str =
    r"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll";

/// The Event Log source of the service `name`.
///
/// ```
/// let s = stead_manager::backend::windows::event_source("web");
/// assert_eq!(s.key, r"SYSTEM\CurrentControlSet\Services\EventLog\Application\web");
/// ```
pub fn event_source(name: &str) -> EventSource {
    EventSource {
        key: format!(r"SYSTEM\CurrentControlSet\Services\EventLog\Application\{name}"),
        message_file: EVENT_MESSAGE_FILE.to_string(),
        types_supported: 7,
    }
}

/// The privileges the service keeps (`SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO`), the rest
/// of its account's removed from its process token: at `--harden default`
/// `SeChangeNotifyPrivilege` (traversing folders, which nearly every program needs) and
/// `SeCreateGlobalPrivilege` (named objects in the `Global\` namespace); at `strict` the
/// first alone; and every privilege named with `--capability` (`SeBackupPrivilege`). None
/// listed (every privilege of the account kept) at `--harden none`, and for `LocalSystem`
/// below `strict`: that account is chosen for its rights.
///
/// ```
/// use stead_manager::{Account, Harden, ServiceSpec};
/// use stead_manager::backend::windows::required_privileges;
/// let mut s = ServiceSpec::new("web", r"C:\web.exe", &[]);
/// assert_eq!(required_privileges(&s), ["SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege"]);
/// s.hardening = Harden::Strict;
/// s.capabilities = vec!["SeBackupPrivilege".into()];
/// assert_eq!(required_privileges(&s), ["SeChangeNotifyPrivilege", "SeBackupPrivilege"]);
/// s.hardening = Harden::None;
/// assert!(required_privileges(&s).is_empty());
/// ```
pub fn required_privileges(spec: &ServiceSpec) -> Vec<String> {
    let base: &[&str] = match spec.hardening {
        Harden::None => return Vec::new(),
        Harden::Default if spec.account == Account::LocalSystem => return Vec::new(),
        Harden::Default => &["SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege"],
        Harden::Strict => &["SeChangeNotifyPrivilege"],
    };
    let mut v: Vec<String> = base.iter().map(|p| (*p).to_string()).collect();
    for c in &spec.capabilities {
        if is_privilege(c) && !v.contains(c) {
            v.push(c.clone());
        }
    }
    v
}

/// Whether `name` is spelled as a Windows privilege: `Se…Privilege`.
pub(crate) fn is_privilege(name: &str) -> bool {
    name.len() > "SePrivilege".len()
        && name.starts_with("Se")
        && name.ends_with("Privilege")
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The registration of `spec`.
///
/// ```
/// let spec = stead_manager::ServiceSpec::new("web", r"C:\Program Files\web\web.exe", &[]);
/// # let mut spec = spec; spec.program = std::path::PathBuf::from(r"C:\Program Files\web\web.exe");
/// let p = stead_manager::backend::windows::scm_params(&spec);
/// assert_eq!(p.account, r"NT SERVICE\web");
/// assert_eq!(p.image_path, r#""C:\Program Files\web\web.exe""#);
/// ```
pub fn scm_params(spec: &ServiceSpec) -> ScmParams {
    let (account, needs_password) = match &spec.account {
        Account::Default | Account::Dynamic => (format!("NT SERVICE\\{}", spec.name), false),
        Account::LocalSystem => ("LocalSystem".to_string(), false),
        Account::LocalService => ("NT AUTHORITY\\LocalService".to_string(), false),
        Account::NetworkService => ("NT AUTHORITY\\NetworkService".to_string(), false),
        Account::User(u) => (u.clone(), true),
    };
    let account_sid = match &spec.account {
        Account::Default | Account::Dynamic => Some(virtual_account_sid(&spec.name)),
        Account::LocalSystem => Some("S-1-5-18".to_string()),
        Account::LocalService => Some("S-1-5-19".to_string()),
        Account::NetworkService => Some("S-1-5-20".to_string()),
        Account::User(_) => None,
    };
    let failure_actions = (spec.restart != Restart::Never).then(|| FailureActions {
        restart_after_ms: spec
            .restart_delays
            .iter()
            .map(|d| d.as_millis() as u64)
            .collect(),
        reset_period_secs: spec.restart_reset.as_secs(),
        on_non_crash_failures: true,
    });
    ScmParams {
        name: spec.name.clone(),
        display_name: spec.display_name.clone(),
        description: spec.description.clone(),
        service_type: "SERVICE_WIN32_OWN_PROCESS",
        start_type: if spec.start == StartMode::Manual {
            "SERVICE_DEMAND_START"
        } else {
            "SERVICE_AUTO_START"
        },
        delayed_auto_start: spec.start == StartMode::DelayedAuto,
        error_control: "SERVICE_ERROR_NORMAL",
        image_path: image_path(spec),
        account,
        needs_password,
        dependencies: spec.dependencies.clone(),
        failure_actions,
        preshutdown_timeout_ms: u64::try_from(spec.stop_timeout.as_millis()).unwrap_or(u64::MAX),
        sid_type: if spec.hardening == Harden::Strict
            && matches!(spec.account, Account::Default | Account::Dynamic)
        {
            "SERVICE_SID_TYPE_RESTRICTED"
        } else {
            "SERVICE_SID_TYPE_UNRESTRICTED"
        },
        required_privileges: required_privileges(spec),
        event_source: event_source(&spec.name),
        secured: secured(&spec.name, account_sid.as_deref()),
        account_sid,
    }
}

/// Splits a command line by `CommandLineToArgvW`'s rules (as documented for the C runtime):
/// what the program started from an image path receives as its arguments. Reads back what
/// [`quote_arg`] and [`image_path`] wrote.
///
/// ```
/// use stead_manager::backend::windows::split_command_line;
/// assert_eq!(split_command_line(r#""C:\a b\x.exe" "say \"hi\"" plain"#), [r"C:\a b\x.exe", "say \"hi\"", "plain"]);
/// ```
pub fn split_command_line(cmdline: &str) -> Vec<String> {
    let mut args = Vec::new();
    let chars: Vec<char> = cmdline.chars().collect();
    let mut i = 0;
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let mut n = 0;
                while i < chars.len() && chars[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && i + 1 < chars.len() && chars[i + 1] == '"' {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            arg.push(c);
            i += 1;
        }
        args.push(arg);
    }
    args
}

/// The plan for a service in the Windows SCM: its parameters, applied through the API.
pub(crate) fn plan(
    spec: &crate::ServiceSpec,
    backend: crate::Backend,
    mut warnings: Vec<String>,
) -> crate::Plan {
    use crate::{Account, Plan};

    if matches!(spec.account, Account::LocalSystem) {
        warnings.push(format!(
                "{} will run as LocalSystem (full control of the machine): the default virtual account NT SERVICE\\{} is enough for most services",
                spec.name, spec.name
            ));
    }
    Plan {
        backend,
        files: Vec::new(),
        commands: Vec::new(),
        scm: Some(scm_params(spec)),
        provision: None,
        warnings,
        wrapped: None,
    }
}
