//! Applying plans for systemd (system and `--user`) through `systemctl`. The unit is written
//! atomically, and an existing service of the same name is never replaced without `--force`.

use std::path::Path;
use std::process::Command;

use crate::provision_unix::purge;
use crate::unix_apply::{run, write_plan};
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

fn systemctl(backend: Backend, args: &[&str]) -> Command {
    let mut c = Command::new("systemctl");
    if backend == Backend::SystemdUser {
        c.arg("--user");
    }
    c.args(args);
    c
}

fn show(
    name: &str,
    backend: Backend,
) -> Result<std::collections::BTreeMap<String, String>, ManagerError> {
    let unit = format!("{name}.service");
    let out = systemctl(
        backend,
        &[
            "show",
            "-p",
            "LoadState,ActiveState,SubState,MainPID,ExecMainStatus,UnitFileState,Result",
            &unit,
        ],
    )
    .output()
    .map_err(|e| ManagerError::Command {
        command: "systemctl show".into(),
        output: e.to_string(),
    })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    if plan.backend == Backend::Systemd {
        crate::path_safety::check(spec, plan.wrapped.as_ref()).map_err(ManagerError::UnsafePath)?;
    }
    let props = show(&spec.name, plan.backend)?;
    let loaded = props.get("LoadState").is_some_and(|s| s != "not-found");
    if (loaded || plan.files.iter().any(|f| f.path.exists())) && !force {
        let where_ = plan
            .files
            .first()
            .map_or(String::new(), |f| f.path.display().to_string());
        return Err(ManagerError::Exists(spec.name.clone(), where_));
    }
    write_plan(plan, force)?;
    for c in &plan.commands {
        // Replacing a loaded service: `start` would leave the old process running.
        if loaded
            && c.last().is_some_and(|u| u.ends_with(".service"))
            && c.iter().any(|a| a == "start")
        {
            let restart: Vec<String> = c
                .iter()
                .map(|a| {
                    if a == "start" {
                        "restart".to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            run(&restart)?;
        } else {
            run(c)?;
        }
    }
    Ok(())
}

pub(crate) fn uninstall(
    name: &str,
    backend: Backend,
    home: &Path,
    purge_too: bool,
) -> Result<(), ManagerError> {
    let mut spec = ServiceSpec::new(name, "/", &[]);
    spec.user_mode = backend == Backend::SystemdUser;
    spec.validate().map_err(ManagerError::Spec)?;
    let path = crate::backend::systemd::unit_path(&spec, home);
    if !path.exists() {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            path.display().to_string(),
        ));
    }
    let unit = format!("{name}.service");
    // Stop and disable may fail for a unit that never started: what matters is that it is
    // gone afterwards, which the reload and the final check establish.
    let _ = systemctl(backend, &["stop", &unit]).output();
    let _ = systemctl(backend, &["disable", &unit]).output();
    std::fs::remove_file(&path).map_err(|source| ManagerError::Io {
        path: path.clone(),
        source,
    })?;
    let reload: Vec<String> = std::iter::once("systemctl".to_string())
        .chain((backend == Backend::SystemdUser).then(|| "--user".to_string()))
        .chain(["daemon-reload".to_string()])
        .collect();
    run(&reload)?;
    let _ = systemctl(backend, &["reset-failed", &unit]).output();
    crate::wrap_apply::remove_generated(&crate::wrap::config_path(
        name,
        backend,
        backend == Backend::SystemdUser,
        home,
    ));
    if purge_too {
        purge(&crate::record_path(
            name,
            backend,
            backend == Backend::SystemdUser,
            home,
        ))?;
    }
    Ok(())
}

pub(crate) fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    let p = show(name, backend)?;
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let state = if get("LoadState") == "not-found" || get("LoadState").is_empty() {
        "not-installed"
    } else {
        match get("ActiveState").as_str() {
            "active" | "reloading" => "running",
            "activating" => "starting",
            "deactivating" => "stopping",
            "failed" => "failed",
            _ => "stopped",
        }
    };
    let pid = get("MainPID").parse().ok().filter(|p| *p != 0);
    Ok(NativeStatus {
        name: name.to_string(),
        backend,
        state: state.to_string(),
        pid,
        start_mode: Some(get("UnitFileState")).filter(|s| !s.is_empty()),
        last_exit: get("ExecMainStatus").parse().ok(),
        detail: format!(
            "{} ({}), result {}",
            get("ActiveState"),
            get("SubState"),
            get("Result")
        ),
    })
}

pub(crate) fn control(
    name: &str,
    backend: Backend,
    verb: crate::Control,
) -> Result<(), ManagerError> {
    let unit = format!("{name}.service");
    let argv: Vec<String> = std::iter::once("systemctl".to_string())
        .chain((backend == Backend::SystemdUser).then(|| "--user".to_string()))
        .chain([verb.as_str().to_string(), unit])
        .collect();
    run(&argv).map(|_| ())
}
