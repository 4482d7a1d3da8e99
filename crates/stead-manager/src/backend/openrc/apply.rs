//! Applying plans for `OpenRC`: the init script written atomically to `/etc/init.d`, added to
//! the `default` runlevel with `rc-update` and started with `rc-service`; `supervise-daemon`
//! restarts the program. The state comes from `rc-service NAME status` and the child pid
//! `supervise-daemon` records in `/run/openrc/options/NAME/child_pid`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::provision_unix::purge;
use crate::unix_apply::{remove_file, run, run_words, write_plan};
use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

fn script_path(name: &str) -> PathBuf {
    Path::new("/etc/init.d").join(name)
}

/// The word after `status: ` in `rc-service NAME status` (`started`, `stopped`, `crashed`,
/// `starting`, `stopping`, `inactive`), or `None` when it said nothing of the kind.
///
/// `rc-service` prints ` * status: started`, coloured on a terminal.
pub(crate) fn status_word(text: &str) -> Option<String> {
    let rest = &text[text.find("status: ")? + "status: ".len()..];
    let word: String = rest
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_alphabetic)
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The state `stead service status` reports for an `OpenRC` status word.
pub(crate) fn state_of(word: &str) -> &'static str {
    match word {
        "started" => "running",
        "starting" => "starting",
        "stopping" => "stopping",
        "crashed" | "failed" => "failed",
        _ => "stopped",
    }
}

fn rc_status(name: &str) -> Result<Option<String>, ManagerError> {
    let out = Command::new("rc-service")
        .args([name, "status"])
        .env("EINFO_COLOR", "NO")
        .output()
        .map_err(|e| ManagerError::Command {
            command: format!("rc-service {name} status"),
            output: format!("{e}; is OpenRC installed?"),
        })?;
    Ok(status_word(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

fn runlevels_of(name: &str) -> Vec<String> {
    let Ok(levels) = std::fs::read_dir("/etc/runlevels") else {
        return Vec::new();
    };
    let mut found: Vec<String> = levels
        .flatten()
        .filter(|l| l.path().join(name).symlink_metadata().is_ok())
        .map(|l| l.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

pub(crate) fn install(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    crate::path_safety::check(spec, plan.wrapped.as_ref()).map_err(ManagerError::UnsafePath)?;
    let path = script_path(&spec.name);
    let running = path.exists() && rc_status(&spec.name)?.as_deref() == Some("started");
    if path.exists() && !force {
        return Err(ManagerError::Exists(
            spec.name.clone(),
            path.display().to_string(),
        ));
    }
    write_plan(plan, force)?;
    for c in &plan.commands {
        if running
            && c.first().is_some_and(|p| p == "rc-service")
            && c.last().is_some_and(|v| v == "start")
        {
            // Replacing a running service: `start` would leave the old program running.
            run_words(&["rc-service", &spec.name, "restart"])?;
        } else if c.first().is_some_and(|p| p == "rc-update")
            && !runlevels_of(&spec.name).is_empty()
        {
            // Already in a runlevel (a forced reinstall): `rc-update add` would fail.
        } else {
            run(c)?;
        }
    }
    Ok(())
}

pub(crate) fn uninstall(name: &str, purge_too: bool) -> Result<(), ManagerError> {
    let path = script_path(name);
    if !path.exists() {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            path.display().to_string(),
        ));
    }
    if rc_status(name)?.is_some_and(|w| w != "stopped") {
        run_words(&["rc-service", name, "stop"])?;
    }
    for level in runlevels_of(name) {
        run_words(&["rc-update", "del", name, &level])?;
    }
    remove_file(&path)?;
    // What OpenRC kept of a crashed run, so a later install of the name starts clean.
    let _ = Command::new("rc-service").args([name, "zap"]).output();
    crate::wrap_apply::remove_generated(&crate::wrap::config_path(
        name,
        Backend::Openrc,
        false,
        Path::new("/"),
    ));
    if purge_too {
        purge(&crate::record_path(
            name,
            Backend::Openrc,
            false,
            Path::new("/"),
        ))?;
    }
    Ok(())
}

pub(crate) fn status(name: &str) -> Result<NativeStatus, ManagerError> {
    let not = |detail: &str| NativeStatus {
        name: name.to_string(),
        backend: Backend::Openrc,
        state: "not-installed".into(),
        pid: None,
        start_mode: None,
        last_exit: None,
        detail: detail.to_string(),
    };
    if !script_path(name).exists() {
        return Ok(not("no init script"));
    }
    let word = rc_status(name)?.unwrap_or_else(|| "unknown".into());
    let state = state_of(&word);
    let pid = (state == "running")
        .then(|| std::fs::read_to_string(format!("/run/openrc/options/{name}/child_pid")).ok())
        .flatten()
        .and_then(|t| t.trim().parse().ok())
        .filter(|p| *p != 0);
    let levels = runlevels_of(name);
    Ok(NativeStatus {
        name: name.to_string(),
        backend: Backend::Openrc,
        state: state.to_string(),
        pid,
        start_mode: Some(if levels.is_empty() {
            "manual".to_string()
        } else {
            format!("runlevel {}", levels.join(","))
        }),
        last_exit: None,
        detail: word,
    })
}

pub(crate) fn control(name: &str, verb: crate::Control) -> Result<(), ManagerError> {
    if !script_path(name).exists() {
        return Err(ManagerError::NotInstalled(
            name.to_string(),
            script_path(name).display().to_string(),
        ));
    }
    run_words(&["rc-service", name, verb.as_str()]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_read_through_colour_and_prefixes() {
        assert_eq!(
            status_word(" * status: started\n").as_deref(),
            Some("started")
        );
        assert_eq!(
            status_word("\u{1b}[32;01m*\u{1b}[0m status: crashed\n").as_deref(),
            Some("crashed")
        );
        assert_eq!(
            status_word(" * rc-service: service `x' does not exist"),
            None
        );
        assert_eq!(state_of("crashed"), "failed");
        assert_eq!(state_of("inactive"), "stopped");
        assert_eq!(state_of("started"), "running");
    }
}
