//! What applying a plan needs on every Unix: running a manager's command, writing a plan's
//! files (each atomically, `atomic.rs`, shared with Windows), removing one.

use std::path::Path;
use std::process::Command;

use crate::atomic::write_atomically;
use crate::provision_unix::provision;
use crate::{ManagerError, Plan};

/// Writes what `plan` installs, before its commands run: refuses a wrapped config that would
/// be overwritten (without `force`), provisions the account and directories, writes the
/// wrapped config and then every file of the plan, each atomically.
pub(crate) fn write_plan(plan: &Plan, force: bool) -> Result<(), ManagerError> {
    crate::wrap_apply::refuse_existing(plan, force)?;
    if let Some(p) = &plan.provision {
        provision(p)?;
    }
    crate::wrap_apply::write(plan)?;
    for f in &plan.files {
        write_atomically(f)?;
    }
    Ok(())
}

/// Runs `argv`, returning what it printed; a failure carries the command line and its words.
pub(crate) fn run(argv: &[String]) -> Result<String, ManagerError> {
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

/// `run` for a command given as words.
pub(crate) fn run_words(argv: &[&str]) -> Result<String, ManagerError> {
    run(&argv.iter().map(|a| (*a).to_string()).collect::<Vec<_>>())
}

/// Removes `path`, a file, treating "already gone" as done.
pub(crate) fn remove_file(path: &Path) -> Result<(), ManagerError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ManagerError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
