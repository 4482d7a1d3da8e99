//! Applying plans for launchd (macOS): the plist written atomically, then `launchctl
//! bootstrap` into the system domain (a `LaunchDaemon`) or the user's `gui/UID` domain (a
//! `LaunchAgent`). Stop is `bootout`, so it sticks (a killed `KeepAlive` job would be started
//! again); start is `bootstrap` + `kickstart`; restart is `kickstart -k`. The state comes
//! from `launchctl print`.
//!
//! Compiled and clippy-checked for macOS; not run by any test here (no macOS host): the plan
//! it applies is checked by the golden files and the plist parser, and `launchctl print`'s
//! reading by unit tests in `backend::launchd`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backend::launchd::PrintedJob;
use crate::provision_unix::purge;
use crate::unix_apply::{remove_file, run, run_words, write_plan};
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

fn uid() -> String {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "0".into())
}

/// Where `name` is installed: a `LaunchAgent` of this user (when not root and one exists),
/// else the `LaunchDaemon`. Returns the plist and the domain.
fn locate(name: &str, home: &Path) -> (PathBuf, String) {
    let file = format!("stead.{name}.plist");
    let agent = home.join("Library/LaunchAgents").join(&file);
    let uid = uid();
    if uid != "0" && agent.exists() {
        (agent, format!("gui/{uid}"))
    } else {
        (
            Path::new("/Library/LaunchDaemons").join(file),
            "system".into(),
        )
    }
}

fn print(domain: &str, name: &str) -> Option<PrintedJob> {
    let out = Command::new("launchctl")
        .arg("print")
        .arg(format!("{domain}/stead.{name}"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PrintedJob::parse(&String::from_utf8_lossy(&out.stdout)))
}

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    if !spec.user_mode {
        crate::path_safety::check(spec, plan.wrapped.as_ref()).map_err(ManagerError::UnsafePath)?;
    }
    let domain = if spec.user_mode {
        format!("gui/{}", uid())
    } else {
        "system".to_string()
    };
    let path = &plan.files[0].path;
    if path.exists() {
        if !force {
            return Err(ManagerError::Exists(
                spec.name.clone(),
                path.display().to_string(),
            ));
        }
        // Replacing: the old job leaves first, or bootstrap would refuse the label.
        let _ = Command::new("launchctl")
            .arg("bootout")
            .arg(format!("{domain}/stead.{}", spec.name))
            .output();
    }
    write_plan(plan, force)?;
    for c in &plan.commands {
        let c: Vec<String> = c.iter().map(|a| a.replace("$UID", &uid())).collect();
        run(&c)?;
    }
    Ok(())
}

/// With `purge`, what the install provisioned goes too (the account it made, the
/// directories it made).
pub(crate) fn uninstall(name: &str, home: &Path, purge_too: bool) -> Result<(), ManagerError> {
    let (path, domain) = locate(name, home);
    if !path.exists() {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            path.display().to_string(),
        ));
    }
    if print(&domain, name).is_some() {
        run_words(&["launchctl", "bootout", &format!("{domain}/stead.{name}")])?;
    }
    remove_file(&path)?;
    crate::wrap_apply::remove_generated(&crate::wrap::config_path(
        name,
        Backend::Launchd,
        domain != "system",
        home,
    ));
    if purge_too {
        purge(&crate::record_path(
            name,
            Backend::Launchd,
            domain != "system",
            home,
        ))?;
    }
    Ok(())
}

pub(crate) fn status(name: &str) -> NativeStatus {
    let (path, domain) = locate(name, &crate::home_dir());
    let mut st = NativeStatus {
        name: name.to_string(),
        backend: Backend::Launchd,
        state: "not-installed".into(),
        pid: None,
        start_mode: None,
        last_exit: None,
        detail: format!("no {}", path.display()),
    };
    if !path.exists() {
        return st;
    }
    if let Some(job) = print(&domain, name) {
        st.state = job.service_state().to_string();
        st.pid = job.pid;
        st.last_exit = job.last_exit;
        st.start_mode = Some("loaded".into());
        st.detail = format!("{domain}: {}", job.state);
    } else {
        st.state = "stopped".into();
        st.start_mode = Some("not loaded".into());
        st.detail = format!("{domain}: not loaded (booted out)");
    }
    st
}

pub(crate) fn control(name: &str, verb: crate::Control) -> Result<(), ManagerError> {
    let (path, domain) = locate(name, &crate::home_dir());
    if !path.exists() {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            path.display().to_string(),
        ));
    }
    let target = format!("{domain}/stead.{name}");
    let loaded = print(&domain, name).is_some();
    match verb {
        crate::Control::Stop if loaded => run_words(&["launchctl", "bootout", &target]).map(|_| ()),
        crate::Control::Stop => Ok(()),
        crate::Control::Start | crate::Control::Restart => {
            if !loaded {
                run_words(&[
                    "launchctl",
                    "bootstrap",
                    &domain,
                    &path.display().to_string(),
                ])?;
            }
            let kick: &[&str] = if verb == crate::Control::Restart && loaded {
                &["launchctl", "kickstart", "-k", &target]
            } else {
                &["launchctl", "kickstart", &target]
            };
            run_words(kick).map(|_| ())
        }
    }
}
