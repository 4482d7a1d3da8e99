//! System accounts on macOS, through the local directory service (`dscl`): a hidden account
//! with its own group, both with the lowest id free in `backend::launchd::SYSTEM_IDS`, no
//! shell, no password. launchd makes no directories, so the installer makes the state and
//! log directories. The commands are built and unit-tested in `backend::launchd`; this file
//! only runs them (compiled and clippy-checked for macOS, not run here: no macOS host).

use crate::ManagerError;
use crate::backend::launchd::{create_account_commands, delete_account_commands, free_system_id};
use crate::unix_apply::{run, run_words};

/// Whether `stead install` makes the state and log directories itself.
pub(crate) const INSTALLER_MAKES_DIRECTORIES: bool = true;

/// Makes a hidden system account with a group of its own.
pub(crate) fn create(user: &str) -> Result<(), ManagerError> {
    let users = run_words(&["dscl", ".", "-list", "/Users", "UniqueID"])?;
    let groups = run_words(&["dscl", ".", "-list", "/Groups", "PrimaryGroupID"])?;
    let Some(id) = free_system_id(&users, &groups) else {
        return Err(ManagerError::Command {
            command: "dscl . -list /Users UniqueID".into(),
            output: format!(
                "no id between {} and {} is free for {user}; create the account yourself and pass --account {user}",
                crate::backend::launchd::SYSTEM_IDS.start,
                crate::backend::launchd::SYSTEM_IDS.end - 1
            ),
        });
    };
    for c in create_account_commands(user, id) {
        if let Err(e) = run(&c) {
            // Half an account is worse than none.
            for d in delete_account_commands(user) {
                let _ = run(&d);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Removes an account [`create`] made, and its group.
pub(crate) fn delete(user: &str) -> Result<(), ManagerError> {
    for c in delete_account_commands(user) {
        run(&c)?;
    }
    Ok(())
}
