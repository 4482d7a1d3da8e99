//! The account and directories of a system service on Linux and macOS, and their removal by
//! `uninstall --purge`. What an install made is recorded in `RECORD_DIR/NAME.json` (0600:
//! `/var/lib/stead/installs` on Linux, `/var/db/stead/installs` on macOS), so a purge
//! removes that and only that. How an account is made and removed is the OS's seam
//! (`accounts_linux.rs`: `useradd`/`userdel`; `accounts_macos.rs`: `dscl`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[cfg(target_os = "linux")]
#[path = "accounts_linux.rs"]
mod accounts;
#[cfg(target_os = "macos")]
#[path = "accounts_macos.rs"]
mod accounts;

use crate::atomic::write_atomically;
use crate::unix_apply::remove_file;
use crate::{ManagerError, PlannedFile, Provision};

fn record_path(name: &str) -> PathBuf {
    Path::new(accounts::RECORD_DIR).join(format!("{name}.json"))
}

/// The numeric ids of `user` and its primary group, or `None` when there is no such account.
fn ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .arg(user)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
    };
    Some((id("-u")?, id("-g")?))
}

/// Makes what `p` asks for (the account when allowed and missing, the configuration
/// directory) and records what was made. A named account that does not exist is an error
/// that says how to make it.
pub(crate) fn provision(name: &str, p: &Provision) -> Result<(), ManagerError> {
    let mut p = p.clone();
    if ids(&p.user).is_none() {
        if !p.create_user {
            return Err(ManagerError::Command {
                command: format!("id {}", p.user),
                output: format!(
                    "there is no account named {}; create it, or pass --create-user {} to have stead make a system account",
                    p.user, p.user
                ),
            });
        }
        accounts::create(&p.user)?;
        p.user_created = true;
    }
    let previous = read_record(name).ok().flatten();
    let (uid, gid) = ids(&p.user).unwrap_or((0, 0));
    if accounts::INSTALLER_MAKES_DIRECTORIES {
        // No manager makes them at start (launchd): made here, owned by the account, 0750.
        // One that exists is someone's, unless an earlier install of this name made it: left
        // as it is, and not recorded, so never purged.
        let mut ours = Vec::new();
        for dir in &p.directories {
            if dir.exists() {
                if previous
                    .as_ref()
                    .is_some_and(|r| r.directories.contains(dir))
                {
                    ours.push(dir.clone());
                }
                continue;
            }
            make_dir(dir, uid, gid)?;
            ours.push(dir.clone());
        }
        p.directories = ours;
    }
    if let Some(dir) = p.config_dir.clone() {
        if dir.exists() {
            // Someone's configuration: left as it is, and never purged, unless an earlier
            // install of this name made it.
            p.config_dir_created = previous.as_ref().is_some_and(|r| r.config_dir_created);
        } else {
            // The account reads its configuration; only root changes it.
            make_dir(&dir, 0, gid)?;
            p.config_dir_created = true;
        }
    }
    if let Some(r) = previous {
        p.user_created |= r.user_created && r.user == p.user;
    }
    write_atomically(&PlannedFile {
        path: record_path(name),
        mode: 0o600,
        text: serde_json::to_string_pretty(&p).unwrap_or_default(),
    })
}

/// Makes `dir` (and its parents), owned by `uid:gid`, mode 0750.
fn make_dir(dir: &Path, uid: u32, gid: u32) -> Result<(), ManagerError> {
    let io = |source| ManagerError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).map_err(io)
}

fn read_record(name: &str) -> Result<Option<Provision>, ManagerError> {
    let path = record_path(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ManagerError::Command {
            command: format!("reading {}", path.display()),
            output: format!(
                "{e}; the record is damaged: remove what it names by hand, then the file"
            ),
        })
}

/// Removes what the install of `name` provisioned: its directories, its configuration
/// directory if it made it, and its account if it created it. Nothing else.
pub(crate) fn purge(name: &str) -> Result<(), ManagerError> {
    let Some(p) = read_record(name)? else {
        return Ok(());
    };
    let made_config = p.config_dir.iter().filter(|_| p.config_dir_created);
    for d in p.directories.iter().chain(made_config) {
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
        accounts::delete(&p.user)?;
    }
    remove_file(&record_path(name))
}
