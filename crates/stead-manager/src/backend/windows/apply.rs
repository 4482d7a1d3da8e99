//! The order and the checks of a Windows service registration, apart from the SCM calls
//! themselves: [`Scm`] is the seam, implemented by the real Service Control Manager in
//! `native_windows.rs` and by a recording fake in this module's tests. So the whole sequence
//! — refusal of a duplicate, creation, the read-back, every `ChangeServiceConfig2W` setting
//! with its exact values, what an older SCM may refuse, the roll-back of a half-made
//! service, the Event Log source, the service's folders and parameters key with their
//! DACLs, and the uninstall — is tested on every OS, including what Wine's SCM cannot do
//! (failure actions, delayed auto-start, pre-shutdown, SID type, accounts).

use crate::ManagerError;
use crate::backend::windows::{ACCOUNT_PLACEHOLDER, EventSource, ScmParams, Secured};

/// One `ChangeServiceConfig2W` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setting {
    /// `SERVICE_CONFIG_DESCRIPTION`.
    Description(String),
    /// `SERVICE_CONFIG_FAILURE_ACTIONS`: restart after each delay; the count resets after
    /// `reset_period_secs` without failure.
    FailureActions {
        restart_after_ms: Vec<u64>,
        reset_period_secs: u64,
    },
    /// `SERVICE_CONFIG_FAILURE_ACTIONS_FLAG`.
    FailureActionsOnNonCrashFailures(bool),
    /// `SERVICE_CONFIG_DELAYED_AUTO_START_INFO`.
    DelayedAutoStart(bool),
    /// `SERVICE_CONFIG_PRESHUTDOWN_INFO`.
    PreshutdownTimeoutMs(u64),
    /// `SERVICE_CONFIG_SERVICE_SID_INFO`: `SERVICE_SID_TYPE_RESTRICTED` when true, else
    /// `SERVICE_SID_TYPE_UNRESTRICTED`.
    SidTypeRestricted(bool),
    /// `SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO`: the only privileges the process keeps.
    RequiredPrivileges(Vec<String>),
}

impl Setting {
    /// Its name in messages.
    pub(crate) fn what(&self) -> &'static str {
        match self {
            Setting::Description(_) => "the description",
            Setting::FailureActions { .. } => "failure actions",
            Setting::FailureActionsOnNonCrashFailures(_) => "failure actions on non-crash failures",
            Setting::DelayedAutoStart(_) => "delayed auto-start",
            Setting::PreshutdownTimeoutMs(_) => "the pre-shutdown timeout",
            Setting::SidTypeRestricted(_) => "the service SID type",
            Setting::RequiredPrivileges(_) => "the required privileges",
        }
    }

    /// Whether an SCM that does not know it (`ERROR_INVALID_LEVEL`) may skip it: everything
    /// but the description, which every SCM has (a skipped one is named in the install's
    /// warnings).
    fn optional(&self) -> bool {
        !matches!(self, Setting::Description(_))
    }
}

/// Why an SCM call failed.
#[derive(Debug)]
pub(crate) enum ScmError {
    /// `ERROR_INVALID_LEVEL`: this SCM does not know that configuration.
    NotSupported,
    /// Anything else, said as the OS said it.
    Failed(String),
}

/// The Service Control Manager, as much as registration needs.
pub(crate) trait Scm {
    /// Whether a service of that name is registered.
    fn exists(&mut self, name: &str) -> Result<bool, ManagerError>;
    /// `CreateServiceW` with exactly these parameters.
    fn create(&mut self, p: &ScmParams, password: Option<&str>) -> Result<(), ManagerError>;
    /// The image path and account the SCM stored (`QueryServiceConfigW`).
    fn stored(&mut self, name: &str) -> Result<(String, String), ManagerError>;
    /// One `ChangeServiceConfig2W`.
    fn set(&mut self, name: &str, setting: &Setting) -> Result<(), ScmError>;
    /// Stops the service unless it is stopped, and waits until it is.
    fn stop(&mut self, name: &str) -> Result<(), ManagerError>;
    /// `DeleteService`.
    fn delete(&mut self, name: &str) -> Result<(), ManagerError>;
    /// Writes the Event Log source's key.
    fn register_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError>;
    /// Removes the Event Log source's key if stead made it.
    fn remove_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError>;
    /// The SID of a named account (`LookupAccountNameW`).
    fn sid_of(&mut self, account: &str) -> Result<String, ManagerError>;
    /// Makes the folder or registry key of `s` with `sddl` as its protected DACL, unless it
    /// exists: then it is left as it is. Returns whether it was made now.
    fn secure(&mut self, s: &Secured, sddl: &str) -> Result<bool, ManagerError>;
    /// Keeps, with the service, the folders its install made (for `uninstall --purge`).
    fn record(&mut self, name: &str, made: &[String]) -> Result<(), ManagerError>;
    /// The folders the install of `name` recorded as its own.
    fn recorded(&mut self, name: &str) -> Result<Vec<String>, ManagerError>;
    /// Removes a folder the install made, with everything in it.
    fn remove_folder(&mut self, path: &str) -> Result<(), ManagerError>;
}

/// What an install did besides the registration.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Installed {
    /// Settings this SCM does not know, skipped.
    pub skipped: Vec<&'static str>,
    /// Folders that existed already and were left with their own ACL.
    pub kept: Vec<String>,
}

fn failed(what: &str, output: impl Into<String>) -> ManagerError {
    ManagerError::Command {
        command: what.to_string(),
        output: output.into(),
    }
}

/// The settings for `p`, in the order they are applied.
pub(crate) fn settings(p: &ScmParams) -> Vec<Setting> {
    let mut s = vec![Setting::Description(p.description.clone())];
    if let Some(fa) = &p.failure_actions {
        s.push(Setting::FailureActions {
            restart_after_ms: fa.restart_after_ms.clone(),
            reset_period_secs: fa.reset_period_secs,
        });
        s.push(Setting::FailureActionsOnNonCrashFailures(
            fa.on_non_crash_failures,
        ));
    }
    if p.delayed_auto_start {
        s.push(Setting::DelayedAutoStart(true));
    }
    s.push(Setting::PreshutdownTimeoutMs(p.preshutdown_timeout_ms));
    s.push(Setting::SidTypeRestricted(
        p.sid_type == "SERVICE_SID_TYPE_RESTRICTED",
    ));
    if !p.required_privileges.is_empty() {
        s.push(Setting::RequiredPrivileges(p.required_privileges.clone()));
    }
    s
}

/// Registers `p`: refuses an existing service unless `force` (then removes it first),
/// creates, reads back and compares the image path and account, applies every setting,
/// registers the Event Log source, makes the service's folders and parameters key with
/// their DACLs and records the folders it made. Anything failing after the creation removes
/// the service again, and the folders made so far.
pub(crate) fn install(
    scm: &mut impl Scm,
    p: &ScmParams,
    force: bool,
    password: Option<&str>,
) -> Result<Installed, ManagerError> {
    let exists = scm.exists(&p.name)?;
    if exists && !force {
        return Err(ManagerError::Exists(
            p.name.clone(),
            "the Service Control Manager".into(),
        ));
    }
    // A replaced service's folders stay (with their data) and stay its install's own.
    let previous = if exists {
        let previous = scm.recorded(&p.name)?;
        uninstall(scm, &p.name, &p.event_source, false)?;
        previous
    } else {
        Vec::new()
    };
    scm.create(p, password)?;
    let mut made = Vec::new();
    let result = finish(scm, p, &previous, &mut made);
    if result.is_err() {
        let _ = uninstall(scm, &p.name, &p.event_source, false);
        for f in made.iter().rev() {
            let _ = scm.remove_folder(f);
        }
    }
    result
}

fn finish(
    scm: &mut impl Scm,
    p: &ScmParams,
    previous: &[String],
    made: &mut Vec<String>,
) -> Result<Installed, ManagerError> {
    let (image, account) = scm.stored(&p.name)?;
    if image != p.image_path {
        return Err(failed(
            "checking the registration",
            format!("the stored image path is {image:?}, not {:?}", p.image_path),
        ));
    }
    if !account.eq_ignore_ascii_case(&p.account) {
        return Err(failed(
            "checking the registration",
            format!(
                "the service would run as {account:?}, not {:?} as asked",
                p.account
            ),
        ));
    }
    let mut skipped = Vec::new();
    for s in settings(p) {
        match scm.set(&p.name, &s) {
            Ok(()) => {}
            Err(ScmError::NotSupported) if s.optional() => skipped.push(s.what()),
            Err(ScmError::NotSupported) => {
                return Err(failed(s.what(), "not supported by this service manager"));
            }
            Err(ScmError::Failed(e)) => return Err(failed(s.what(), e)),
        }
    }
    scm.register_event_source(&p.event_source)?;
    let sid = match &p.account_sid {
        Some(sid) => sid.clone(),
        None => scm.sid_of(&p.account)?,
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for s in &p.secured {
        let sddl = s.sddl.replace(ACCOUNT_PLACEHOLDER, &sid);
        let now = scm.secure(s, &sddl)?;
        if s.kind != "folder" {
            continue;
        }
        if now {
            made.push(s.path.clone());
        } else if !previous.contains(&s.path) {
            kept.push(s.path.clone());
            continue;
        }
        ours.push(s.path.clone());
    }
    scm.record(&p.name, &ours)?;
    Ok(Installed { skipped, kept })
}

/// Stops `name` (waiting until it has stopped), deletes it, and removes its Event Log
/// source if stead made it; with `purge`, also the folders its install made (state, logs,
/// config), and nothing else.
pub(crate) fn uninstall(
    scm: &mut impl Scm,
    name: &str,
    source: &EventSource,
    purge: bool,
) -> Result<(), ManagerError> {
    if !scm.exists(name)? {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            "the Service Control Manager".into(),
        ));
    }
    // The record lives in the service's own key, which the deletion removes.
    let made = if purge {
        scm.recorded(name)?
    } else {
        Vec::new()
    };
    scm.stop(name)?;
    scm.delete(name)?;
    scm.remove_event_source(source)?;
    // Innermost first: config and logs sit inside the state folder.
    for f in made.iter().rev() {
        scm.remove_folder(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::backend::windows::scm_params;
    use crate::{Account, Restart, ServiceSpec, StartMode};

    /// A service as the fake SCM holds it.
    #[derive(Debug, Clone)]
    struct Registered {
        params: ScmParams,
        password: Option<String>,
        settings: Vec<Setting>,
        running: bool,
        /// What the install recorded as made by it (the real one keeps it in the
        /// service's key, deleted with the service).
        made: Vec<String>,
    }

    /// Records every call; can be told which settings it does not know (like Wine's), to
    /// store a different image path, or to fail one setting.
    #[derive(Default)]
    struct FakeScm {
        services: BTreeMap<String, Registered>,
        sources: Vec<String>,
        unsupported: Vec<&'static str>,
        tamper_image: Option<String>,
        fail: Option<&'static str>,
        /// A purpose whose folder or key cannot be secured.
        fail_secure: Option<&'static str>,
        /// Folders that exist, and the DACL stead gave those it made.
        folders: BTreeMap<String, Option<String>>,
        /// Registry keys stead made, with their DACL.
        keys: BTreeMap<String, String>,
        calls: Vec<String>,
    }

    impl Scm for FakeScm {
        fn exists(&mut self, name: &str) -> Result<bool, ManagerError> {
            Ok(self.services.contains_key(name))
        }
        fn create(&mut self, p: &ScmParams, password: Option<&str>) -> Result<(), ManagerError> {
            self.calls.push(format!("create {}", p.name));
            let mut params = p.clone();
            if let Some(t) = &self.tamper_image {
                params.image_path.clone_from(t);
            }
            self.services.insert(
                p.name.clone(),
                Registered {
                    params,
                    password: password.map(str::to_string),
                    settings: Vec::new(),
                    running: false,
                    made: Vec::new(),
                },
            );
            Ok(())
        }
        fn stored(&mut self, name: &str) -> Result<(String, String), ManagerError> {
            let r = &self.services[name];
            Ok((r.params.image_path.clone(), r.params.account.clone()))
        }
        fn set(&mut self, name: &str, setting: &Setting) -> Result<(), ScmError> {
            self.calls.push(format!("set {}", setting.what()));
            if self.unsupported.contains(&setting.what()) {
                return Err(ScmError::NotSupported);
            }
            if self.fail == Some(setting.what()) {
                return Err(ScmError::Failed("Access is denied. (os error 5)".into()));
            }
            self.services
                .get_mut(name)
                .unwrap()
                .settings
                .push(setting.clone());
            Ok(())
        }
        fn stop(&mut self, name: &str) -> Result<(), ManagerError> {
            let r = self.services.get_mut(name).unwrap();
            if r.running {
                self.calls.push(format!("stop {name}"));
                r.running = false;
            }
            Ok(())
        }
        fn delete(&mut self, name: &str) -> Result<(), ManagerError> {
            self.calls.push(format!("delete {name}"));
            self.services.remove(name);
            Ok(())
        }
        fn register_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError> {
            self.calls.push("register event source".into());
            self.sources.push(s.key.clone());
            Ok(())
        }
        fn remove_event_source(&mut self, s: &EventSource) -> Result<(), ManagerError> {
            self.calls.push("remove event source".into());
            self.sources.retain(|k| *k != s.key);
            Ok(())
        }
        fn sid_of(&mut self, account: &str) -> Result<String, ManagerError> {
            self.calls.push(format!("look up {account}"));
            Ok(USER_SID.into())
        }
        fn secure(&mut self, s: &Secured, sddl: &str) -> Result<bool, ManagerError> {
            if self.fail_secure == Some(s.purpose) {
                return Err(failed("SetSecurityInfo", "Access is denied. (os error 5)"));
            }
            self.calls.push(format!("secure {}", s.purpose));
            if s.kind == "registry" {
                self.keys.insert(s.path.clone(), sddl.to_string());
                return Ok(true);
            }
            if self.folders.contains_key(&s.path) {
                return Ok(false);
            }
            self.folders.insert(s.path.clone(), Some(sddl.to_string()));
            Ok(true)
        }
        fn record(&mut self, name: &str, made: &[String]) -> Result<(), ManagerError> {
            self.services.get_mut(name).unwrap().made = made.to_vec();
            Ok(())
        }
        fn recorded(&mut self, name: &str) -> Result<Vec<String>, ManagerError> {
            Ok(self.services[name].made.clone())
        }
        fn remove_folder(&mut self, path: &str) -> Result<(), ManagerError> {
            self.calls.push(format!("remove {path}"));
            self.folders.remove(path);
            Ok(())
        }
    }

    const USER_SID: &str = "S-1-5-21-1-2-3-1001";
    const STATE: &str = r"C:\ProgramData\web";
    const LOGS: &str = r"C:\ProgramData\web\logs";
    const CONFIG: &str = r"C:\ProgramData\web\config";
    const PARAMETERS: &str = r"SYSTEM\CurrentControlSet\Services\web\Parameters";

    fn spec() -> ServiceSpec {
        let mut s = ServiceSpec::new("web", r"C:\Program Files\Web\web.exe", &["--port", "80"]);
        s.start = StartMode::DelayedAuto;
        s.stop_timeout = Duration::from_secs(45);
        s
    }

    #[test]
    fn every_setting_reaches_the_scm_with_its_exact_values() {
        let mut scm = FakeScm::default();
        let p = scm_params(&spec());
        let done = install(&mut scm, &p, false, None).unwrap();
        assert_eq!(done, Installed::default());
        let r = &scm.services["web"];
        assert_eq!(
            r.params.image_path,
            r#""C:\Program Files\Web\web.exe" --port 80"#
        );
        assert_eq!(r.params.account, r"NT SERVICE\web");
        assert_eq!(r.params.start_type, "SERVICE_AUTO_START");
        assert_eq!(r.password, None);
        assert_eq!(
            r.settings,
            [
                Setting::Description(p.description.clone()),
                Setting::FailureActions {
                    restart_after_ms: vec![5_000, 10_000, 60_000],
                    reset_period_secs: 86_400,
                },
                Setting::FailureActionsOnNonCrashFailures(true),
                Setting::DelayedAutoStart(true),
                Setting::PreshutdownTimeoutMs(45_000),
                Setting::SidTypeRestricted(false),
                Setting::RequiredPrivileges(vec![
                    "SeChangeNotifyPrivilege".into(),
                    "SeCreateGlobalPrivilege".into()
                ]),
            ]
        );
        assert_eq!(scm.sources, std::slice::from_ref(&p.event_source.key));
    }

    #[test]
    fn strict_restricts_the_virtual_accounts_sid_and_keeps_only_the_privileges_asked_for() {
        let mut s = spec();
        s.hardening = crate::Harden::Strict;
        s.capabilities = vec!["SeBackupPrivilege".into()];
        let mut scm = FakeScm::default();
        install(&mut scm, &scm_params(&s), false, None).unwrap();
        let r = &scm.services["web"];
        assert_eq!(r.params.sid_type, "SERVICE_SID_TYPE_RESTRICTED");
        assert_eq!(
            r.settings[r.settings.len() - 2..],
            [
                Setting::SidTypeRestricted(true),
                Setting::RequiredPrivileges(vec![
                    "SeChangeNotifyPrivilege".into(),
                    "SeBackupPrivilege".into()
                ]),
            ]
        );
        // An account whose folders grant its own SID, not the service SID: a restricted
        // token could not write there, so the SID stays unrestricted.
        for account in [Account::LocalService, Account::User(r".\svc-web".into())] {
            s.account = account;
            let p = scm_params(&s);
            assert_eq!(p.sid_type, "SERVICE_SID_TYPE_UNRESTRICTED");
            assert!(settings(&p).contains(&Setting::SidTypeRestricted(false)));
        }
        // --harden none: no list, the account keeps its privileges; LocalSystem too by default.
        s.hardening = crate::Harden::None;
        assert!(
            !settings(&scm_params(&s))
                .iter()
                .any(|x| matches!(x, Setting::RequiredPrivileges(_)))
        );
        s.hardening = crate::Harden::Default;
        s.account = Account::LocalSystem;
        assert!(scm_params(&s).required_privileges.is_empty());
    }

    #[test]
    fn no_restart_and_manual_start_leave_their_settings_out() {
        let mut s = spec();
        s.restart = Restart::Never;
        s.start = StartMode::Manual;
        let mut scm = FakeScm::default();
        let p = scm_params(&s);
        install(&mut scm, &p, false, None).unwrap();
        let r = &scm.services["web"];
        assert_eq!(r.params.start_type, "SERVICE_DEMAND_START");
        assert!(
            !r.settings.iter().any(|s| matches!(
                s,
                Setting::FailureActions { .. }
                    | Setting::FailureActionsOnNonCrashFailures(_)
                    | Setting::DelayedAutoStart(_)
            )),
            "{:?}",
            r.settings
        );
    }

    #[test]
    fn accounts_are_passed_as_the_scm_spells_them_and_only_users_get_a_password() {
        for (account, want) in [
            (Account::Default, r"NT SERVICE\web"),
            (Account::LocalService, r"NT AUTHORITY\LocalService"),
            (Account::NetworkService, r"NT AUTHORITY\NetworkService"),
            (Account::LocalSystem, "LocalSystem"),
            (Account::User(r".\svc-web".into()), r".\svc-web"),
        ] {
            let mut s = spec();
            let user = matches!(account, Account::User(_));
            s.account = account;
            let p = scm_params(&s);
            assert_eq!(p.needs_password, user);
            let mut scm = FakeScm::default();
            install(&mut scm, &p, false, user.then_some("s3cret")).unwrap();
            let r = &scm.services["web"];
            assert_eq!(r.params.account, want);
            assert_eq!(r.password.as_deref(), user.then_some("s3cret"));
            assert!(
                !r.params.image_path.contains("s3cret"),
                "a password never reaches the command line"
            );
        }
    }

    #[test]
    fn settings_an_older_scm_does_not_know_are_skipped_and_named() {
        // What Wine's SCM answers with ERROR_INVALID_LEVEL.
        let mut scm = FakeScm {
            unsupported: vec![
                "failure actions",
                "failure actions on non-crash failures",
                "delayed auto-start",
                "the pre-shutdown timeout",
                "the service SID type",
            ],
            ..FakeScm::default()
        };
        let p = scm_params(&spec());
        let done = install(&mut scm, &p, false, None).unwrap();
        assert_eq!(done.skipped, scm.unsupported);
        assert!(scm.services.contains_key("web"));
        // The description is not optional.
        let mut scm = FakeScm {
            unsupported: vec!["the description"],
            ..FakeScm::default()
        };
        let e = install(&mut scm, &p, false, None).unwrap_err();
        assert!(e.to_string().contains("the description"), "{e}");
        assert!(scm.services.is_empty(), "the half-made service is removed");
    }

    #[test]
    fn a_different_stored_image_path_removes_the_service_again() {
        let mut scm = FakeScm {
            tamper_image: Some(r"C:\Program Files\Web\web.exe --port 80".into()),
            ..FakeScm::default()
        };
        let p = scm_params(&spec());
        let e = install(&mut scm, &p, false, None).unwrap_err();
        assert!(e.to_string().contains("stored image path"), "{e}");
        assert!(scm.services.is_empty());
        assert!(scm.sources.is_empty());
        assert_eq!(scm.calls.last().unwrap(), "remove event source");
    }

    #[test]
    fn a_failing_setting_rolls_back() {
        let mut scm = FakeScm {
            fail: Some("the pre-shutdown timeout"),
            ..FakeScm::default()
        };
        let p = scm_params(&spec());
        let e = install(&mut scm, &p, false, None).unwrap_err();
        assert!(
            e.to_string().contains("pre-shutdown") && e.to_string().contains("denied"),
            "{e}"
        );
        assert!(scm.services.is_empty());
    }

    #[test]
    fn an_existing_service_is_refused_unless_forced_then_replaced_after_a_stop() {
        let mut scm = FakeScm::default();
        let p = scm_params(&spec());
        install(&mut scm, &p, false, None).unwrap();
        scm.services.get_mut("web").unwrap().running = true;
        scm.calls.clear();
        let e = install(&mut scm, &p, false, None).unwrap_err();
        assert!(matches!(e, ManagerError::Exists(..)), "{e}");
        assert!(scm.calls.is_empty(), "nothing touched: {:?}", scm.calls);
        assert!(scm.services["web"].running);

        install(&mut scm, &p, true, None).unwrap();
        assert_eq!(
            &scm.calls[..4],
            [
                "stop web",
                "delete web",
                "remove event source",
                "create web"
            ]
        );
        assert!(!scm.services["web"].running);
    }

    #[test]
    fn uninstall_stops_deletes_and_removes_the_source() {
        let mut scm = FakeScm::default();
        let p = scm_params(&spec());
        let e = uninstall(&mut scm, "web", &p.event_source, false).unwrap_err();
        assert!(matches!(e, ManagerError::NotInstalled(..)), "{e}");
        install(&mut scm, &p, false, None).unwrap();
        scm.services.get_mut("web").unwrap().running = true;
        scm.calls.clear();
        uninstall(&mut scm, "web", &p.event_source, false).unwrap();
        assert_eq!(scm.calls, ["stop web", "delete web", "remove event source"]);
        assert!(scm.services.is_empty() && scm.sources.is_empty());
        assert_eq!(
            scm.folders.keys().collect::<Vec<_>>(),
            [STATE, CONFIG, LOGS],
            "without --purge the service's data stays"
        );
    }

    #[test]
    fn the_account_gets_exactly_its_access_to_its_folders_and_parameters_key() {
        let mut scm = FakeScm::default();
        let p = scm_params(&spec());
        install(&mut scm, &p, false, None).unwrap();
        let sid = crate::backend::windows::virtual_account_sid("web");
        let base = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
        let modify = format!("{base}(A;OICI;0x1301bf;;;{sid})");
        let read = format!("{base}(A;OICI;0x1200a9;;;{sid})");
        assert_eq!(scm.folders[STATE].as_deref(), Some(modify.as_str()));
        assert_eq!(scm.folders[LOGS].as_deref(), Some(modify.as_str()));
        assert_eq!(scm.folders[CONFIG].as_deref(), Some(read.as_str()));
        assert_eq!(
            scm.keys[PARAMETERS],
            format!("D:P(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;{sid})")
        );
        assert_eq!(scm.services["web"].made, [STATE, LOGS, CONFIG]);
        assert!(
            !scm.calls.iter().any(|c| c.starts_with("look up")),
            "a virtual account's SID is derived, not looked up"
        );
    }

    #[test]
    fn a_named_user_is_looked_up_and_local_system_needs_no_entry() {
        let mut s = spec();
        s.account = Account::User(r".\svc-web".into());
        let p = scm_params(&s);
        assert_eq!(p.account_sid, None);
        let mut scm = FakeScm::default();
        install(&mut scm, &p, false, Some("pw")).unwrap();
        assert!(scm.calls.contains(&r"look up .\svc-web".to_string()));
        assert!(scm.keys[PARAMETERS].ends_with(&format!("(A;CI;KR;;;{USER_SID})")));
        assert!(scm.folders[STATE].as_ref().unwrap().contains(USER_SID));

        s.account = Account::LocalSystem;
        let mut scm = FakeScm::default();
        install(&mut scm, &scm_params(&s), false, None).unwrap();
        assert_eq!(
            scm.folders[STATE].as_deref(),
            Some("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
        );
        for (account, sid) in [
            (Account::LocalService, "S-1-5-19"),
            (Account::NetworkService, "S-1-5-20"),
        ] {
            s.account = account;
            let p = scm_params(&s);
            assert_eq!(p.account_sid.as_deref(), Some(sid));
            assert!(
                p.secured
                    .iter()
                    .all(|x| x.sddl.ends_with(&format!(";;;{sid})")))
            );
        }
    }

    #[test]
    fn purge_removes_only_the_folders_the_install_made() {
        let mut scm = FakeScm::default();
        // The logs folder was there before: it is the user's, kept and never removed.
        scm.folders.insert(LOGS.into(), None);
        let p = scm_params(&spec());
        let done = install(&mut scm, &p, false, None).unwrap();
        assert_eq!(done.kept, [LOGS]);
        assert_eq!(scm.folders[LOGS], None, "its ACL is left alone");
        scm.calls.clear();
        uninstall(&mut scm, "web", &p.event_source, true).unwrap();
        assert_eq!(
            scm.calls,
            [
                "delete web",
                "remove event source",
                &format!("remove {CONFIG}"),
                &format!("remove {STATE}")
            ]
        );
        assert!(scm.folders.contains_key(LOGS));
    }

    #[test]
    fn a_replaced_service_keeps_its_folders_and_their_record() {
        let mut scm = FakeScm::default();
        let p = scm_params(&spec());
        install(&mut scm, &p, false, None).unwrap();
        let done = install(&mut scm, &p, true, None).unwrap();
        assert!(done.kept.is_empty(), "{done:?}");
        assert_eq!(scm.services["web"].made, [STATE, LOGS, CONFIG]);
        uninstall(&mut scm, "web", &p.event_source, true).unwrap();
        assert!(scm.folders.is_empty());
    }

    #[test]
    fn a_failure_to_secure_removes_what_was_made() {
        let mut scm = FakeScm {
            fail_secure: Some("parameters"),
            ..FakeScm::default()
        };
        let p = scm_params(&spec());
        let e = install(&mut scm, &p, false, None).unwrap_err();
        assert!(e.to_string().contains("denied"), "{e}");
        assert!(scm.services.is_empty());
        assert!(scm.folders.is_empty(), "{:?}", scm.folders);
        assert!(scm.sources.is_empty());
    }
}
