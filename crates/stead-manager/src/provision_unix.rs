//! The account and directories of a service on Linux and macOS, and their removal by
//! `uninstall --purge`. What an install made is recorded in the plan's record file (0600:
//! `/var/lib/stead/installs/NAME.json` on Linux, `/var/db/stead/installs/NAME.json` on
//! macOS, `~/.local/state/stead/installs/NAME.json` for a per-user service), so a purge
//! removes that and only that: never a directory that existed before the install. How an
//! account is made and removed is the OS's seam (`accounts_linux.rs`: `useradd`/`userdel`;
//! `accounts_macos.rs`: `dscl`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[cfg(target_os = "linux")]
#[path = "accounts_linux.rs"]
mod accounts;
#[cfg(target_os = "macos")]
#[path = "accounts_macos.rs"]
mod accounts;

use crate::atomic::write_atomically;
use crate::unix_apply::remove_file;
use crate::{ManagerError, PlannedFile, Provision, ProvisionKind};

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

/// Makes what `p` asks for (the account when allowed and missing, the directories nobody
/// else makes) and records what was made. A named account that does not exist is an error
/// that says how to make it. A directory that exists already is someone's, unless an earlier
/// install of this name made it: left as it is, and not recorded, so never purged.
pub(crate) fn provision(p: &Provision) -> Result<(), ManagerError> {
    let mut p = p.clone();
    let previous = read_record(&p.record).ok().flatten();
    // The owner of what the install makes, and whether it makes the state and log
    // directories (launchd and a per-user service: no manager makes them at start).
    let (owner, makes_directories) = match p.kind {
        ProvisionKind::System => {
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
            (
                Some(ids(&p.user).unwrap_or((0, 0))),
                accounts::INSTALLER_MAKES_DIRECTORIES,
            )
        }
        // systemd makes the account and every directory at start.
        ProvisionKind::Dynamic => (None, false),
        ProvisionKind::PerUser => (None, true),
    };
    let (dir_mode, config_mode) = match p.kind {
        ProvisionKind::PerUser => (0o700, 0o700),
        _ => (0o750, 0o750),
    };
    let exists = |d: &Path| d.symlink_metadata().is_ok();
    let mut ours = Vec::new();
    for dir in &p.directories {
        if exists(dir) {
            if previous
                .as_ref()
                .is_some_and(|r| r.directories.contains(dir))
            {
                ours.push(dir.clone());
            }
            continue;
        }
        if makes_directories {
            make_dir(dir, owner, dir_mode)?;
        }
        ours.push(dir.clone());
    }
    p.directories = ours;
    if let Some(dir) = p.config_dir.clone() {
        if exists(&dir) {
            p.config_dir_created = previous.as_ref().is_some_and(|r| r.config_dir_created);
        } else {
            match p.kind {
                // The account reads its configuration; only root changes it.
                ProvisionKind::System => {
                    make_dir(&dir, owner.map(|(_, gid)| (0, gid)), config_mode)?;
                }
                ProvisionKind::PerUser => make_dir(&dir, None, config_mode)?,
                // systemd's `ConfigurationDirectory=` makes it at start.
                ProvisionKind::Dynamic => {}
            }
            p.config_dir_created = true;
        }
    }
    if let Some(r) = previous {
        p.user_created |= r.user_created && r.user == p.user;
    }
    write_atomically(&PlannedFile {
        path: p.record.clone(),
        mode: 0o600,
        text: serde_json::to_string_pretty(&p).unwrap_or_default(),
    })
}

/// Makes `dir` (and its parents) with `mode`, owned by `owner` (`uid`, `gid`) when given.
fn make_dir(dir: &Path, owner: Option<(u32, u32)>, mode: u32) -> Result<(), ManagerError> {
    let io = |source| ManagerError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(io)
}

fn read_record(path: &Path) -> Result<Option<Provision>, ManagerError> {
    let Ok(text) = std::fs::read_to_string(path) else {
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
/// directory if it made it, and its account if it created it, as recorded in `record`.
/// Nothing else. A symbolic link (a dynamic account's `/var/lib/NAME`) goes, not what it
/// points to; that is recorded on its own.
pub(crate) fn purge(record: &Path) -> Result<(), ManagerError> {
    let Some(p) = read_record(record)? else {
        return Ok(());
    };
    let made_config = p.config_dir.iter().filter(|_| p.config_dir_created);
    for d in p.directories.iter().chain(made_config) {
        let gone = if d.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
            std::fs::remove_file(d)
        } else {
            std::fs::remove_dir_all(d)
        };
        match gone {
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
    if p.user_created && p.kind == ProvisionKind::System {
        accounts::delete(&p.user)?;
    }
    remove_file(record)
}
