//! Applying a Task Scheduler plan (`--user` on Windows: autostart at logon without the SCM
//! or administrator rights). The plan's command registers the task from its XML,
//! `schtasks /Create /TN stead\NAME /XML FILE` — the file written in UTF-16 with a byte order
//! mark, as its declaration says — without `/F` unless `--force`, so an existing task is
//! refused by `schtasks` itself. `/Delete`, `/Run`, `/End` and `/Query /V /FO LIST` do the
//! rest. `schtasks` is the documented command-line face of the Task Scheduler API; going
//! through the COM interfaces instead would add much code for nothing the XML cannot say.
//! Its output is collected through a file, not pipes: a helper it wakes (the scheduler
//! service) may inherit a pipe and keep it open long after `schtasks` exits.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Backend, ManagerError, NativeStatus, Plan};

/// The task's path: every task stead registers lives in the `stead` folder.
fn task_name(name: &str) -> String {
    format!("stead\\{name}")
}

fn schtasks(args: &[&str]) -> Result<String, ManagerError> {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let failed = |e: std::io::Error| ManagerError::Command {
        command: format!("schtasks {}", args.join(" ")),
        output: e.to_string(),
    };
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let capture =
        std::env::temp_dir().join(format!("stead-schtasks-{}-{n}.txt", std::process::id()));
    let file = std::fs::File::create(&capture).map_err(failed)?;
    let status = Command::new("schtasks")
        .args(args)
        .stdin(Stdio::null()) // an "overwrite? (Y/N)" prompt reads end-of-file: no
        .stdout(file.try_clone().map_err(failed)?)
        .stderr(file)
        .status();
    let text = String::from_utf8_lossy(&std::fs::read(&capture).unwrap_or_default()).into_owned();
    let _ = std::fs::remove_file(&capture);
    if status.map_err(failed)?.success() {
        Ok(text)
    } else {
        Err(ManagerError::Command {
            command: format!("schtasks {}", args.join(" ")),
            output: text.trim().to_string(),
        })
    }
}

pub(crate) fn install(plan: &Plan, name: &str, force: bool) -> Result<(), ManagerError> {
    let Some(file) = plan.files.first() else {
        return Err(ManagerError::NotHere(plan.backend.as_str()));
    };
    if let Some(dir) = file.path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ManagerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(
        &file.path,
        crate::backend::task_scheduler::utf16_with_bom(&file.text),
    )
    .map_err(|source| ManagerError::Io {
        path: file.path.clone(),
        source,
    })?;
    // The plan's own command (what --dry-run printed), with /F to replace.
    let mut args: Vec<&str> = plan
        .commands
        .first()
        .map(|c| c.iter().skip(1).map(String::as_str).collect())
        .unwrap_or_default();
    if force {
        args.push("/F");
    }
    match schtasks(&args) {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&file.path);
            if force {
                Err(e)
            } else {
                Err(ManagerError::Exists(
                    name.to_string(),
                    format!("the Task Scheduler, or it refused the task: {e}"),
                ))
            }
        }
    }
}

pub(crate) fn uninstall(name: &str, home: &Path) -> Result<(), ManagerError> {
    schtasks(&["/Delete", "/TN", &task_name(name), "/F"]).map_err(|e| match e {
        ManagerError::Command { output, .. } => {
            ManagerError::NotInstalled(name.to_string(), format!("the Task Scheduler: {output}"))
        }
        other => other,
    })?;
    let _ = std::fs::remove_file(home.join(format!("{name}.task.xml")));
    Ok(())
}

pub(crate) fn status(name: &str) -> NativeStatus {
    let (state, detail) = match schtasks(&["/Query", "/TN", &task_name(name), "/V", "/FO", "LIST"])
    {
        Ok(listing) => crate::backend::task_scheduler::state_of(&listing),
        Err(_) => ("not-installed", String::new()),
    };
    NativeStatus {
        name: name.to_string(),
        backend: Backend::TaskScheduler,
        state: state.to_string(),
        pid: None,
        start_mode: Some("at logon".into()),
        last_exit: None,
        detail,
    }
}

pub(crate) fn control(name: &str, verb: crate::Control) -> Result<(), ManagerError> {
    let task = task_name(name);
    match verb {
        crate::Control::Start => schtasks(&["/Run", "/TN", &task]).map(drop),
        crate::Control::Stop => schtasks(&["/End", "/TN", &task]).map(drop),
        crate::Control::Restart => {
            let _ = schtasks(&["/End", "/TN", &task]);
            schtasks(&["/Run", "/TN", &task]).map(drop)
        }
    }
}
