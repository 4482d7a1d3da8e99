//! Applying plans on Linux: systemd (system and `--user`) through `systemctl`. The unit is
//! written atomically (a temporary file in the same directory, synced, renamed), and an
//! existing service of the same name is never replaced without `--force`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::{Backend, ManagerError, NativeStatus, Plan, PlannedFile, ServiceSpec};

fn systemctl(backend: Backend, args: &[&str]) -> Command {
    let mut c = Command::new("systemctl");
    if backend == Backend::SystemdUser {
        c.arg("--user");
    }
    c.args(args);
    c
}

fn run(argv: &[String]) -> Result<String, ManagerError> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| ManagerError::Command {
            command: argv.join(" "),
            output: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ManagerError::Command {
            command: argv.join(" "),
            output: text.trim().to_string(),
        })
    }
}

fn write_atomically(f: &PlannedFile) -> Result<(), ManagerError> {
    let io = |source| ManagerError::Io {
        path: f.path.clone(),
        source,
    };
    let dir = f.path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = f
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.stead-tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(f.text.as_bytes()).map_err(io)?;
    file.set_permissions(std::fs::Permissions::from_mode(f.mode))
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &f.path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
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
    if !matches!(plan.backend, Backend::Systemd | Backend::SystemdUser) {
        return Err(ManagerError::NotHere(plan.backend.as_str()));
    }
    if plan.backend == Backend::Systemd {
        crate::path_safety::check(spec).map_err(ManagerError::UnsafePath)?;
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
    if let Some(p) = &plan.provision {
        let mut p = p.clone();
        let exists = Command::new("id")
            .arg("-u")
            .arg(&p.user)
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            run(&[
                "useradd".into(),
                "--system".into(),
                "--user-group".into(),
                "--no-create-home".into(),
                "--home-dir".into(),
                "/nonexistent".into(),
                "--shell".into(),
                "/usr/sbin/nologin".into(),
                p.user.clone(),
            ])?;
            p.user_created = true;
        }
        write_atomically(&PlannedFile {
            path: record_path(&spec.name),
            mode: 0o600,
            text: serde_json::to_string_pretty(&p).unwrap_or_default(),
        })?;
    }
    for f in &plan.files {
        write_atomically(f)?;
    }
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

/// What an install provisioned, for `uninstall --purge`.
fn record_path(name: &str) -> std::path::PathBuf {
    Path::new("/var/lib/stead/installs").join(format!("{name}.json"))
}

/// Removes what the install of `name` provisioned: its directories, and its account if the
/// install created it. Nothing else.
fn purge(name: &str) -> Result<(), ManagerError> {
    let path = record_path(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let p: crate::Provision = serde_json::from_str(&text).map_err(|e| ManagerError::Command {
        command: format!("reading {}", path.display()),
        output: e.to_string(),
    })?;
    for d in &p.directories {
        match std::fs::remove_dir_all(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ManagerError::Io {
                    path: d.clone(),
                    source,
                });
            }
        }
    }
    if p.user_created {
        run(&["userdel".into(), p.user.clone()])?;
    }
    std::fs::remove_file(&path).map_err(|source| ManagerError::Io { path, source })
}

pub(crate) fn uninstall(
    name: &str,
    backend: Backend,
    home: &Path,
    purge_too: bool,
) -> Result<(), ManagerError> {
    if !matches!(backend, Backend::Systemd | Backend::SystemdUser) {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
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
    if purge_too {
        purge(name)?;
    }
    Ok(())
}

pub(crate) fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    if !matches!(backend, Backend::Systemd | Backend::SystemdUser) {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
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

pub(crate) fn control(name: &str, backend: Backend, verb: &str) -> Result<(), ManagerError> {
    if !matches!(backend, Backend::Systemd | Backend::SystemdUser) {
        return Err(ManagerError::NotHere(backend.as_str()));
    }
    let unit = format!("{name}.service");
    let argv: Vec<String> = std::iter::once("systemctl".to_string())
        .chain((backend == Backend::SystemdUser).then(|| "--user".to_string()))
        .chain([verb.to_string(), unit])
        .collect();
    run(&argv).map(|_| ())
}
