//! System accounts on Linux: `useradd --system` and `userdel`. systemd (`StateDirectory=`,
//! `LogsDirectory=`) and the `OpenRC` script (`checkpath`) make the service's directories at
//! start, so the installer does not.

use crate::ManagerError;
use crate::unix_apply::run;

/// Whether `stead install` makes the state and log directories itself.
pub(crate) const INSTALLER_MAKES_DIRECTORIES: bool = false;

/// Makes a system account with a group of its own, no home and no login shell.
pub(crate) fn create(user: &str) -> Result<(), ManagerError> {
    run(&[
        "useradd".into(),
        "--system".into(),
        "--user-group".into(),
        "--no-create-home".into(),
        "--home-dir".into(),
        "/nonexistent".into(),
        "--shell".into(),
        "/usr/sbin/nologin".into(),
        user.to_string(),
    ])
    .map(|_| ())
}

/// Removes an account [`create`] made (its group goes with it).
pub(crate) fn delete(user: &str) -> Result<(), ManagerError> {
    run(&["userdel".into(), user.to_string()]).map(|_| ())
}
