//! Writing and removing the generated config of `--wrap` (any OS): refused over an existing
//! file unless `--force`, written so a reader sees all of it or nothing, removed by
//! `uninstall` only while it is as generated.

use std::path::Path;

use crate::{ManagerError, Plan};

/// Refuses, before anything changes, to replace a file where the wrapped config goes,
/// unless `force`.
pub(crate) fn refuse_existing(plan: &Plan, force: bool) -> Result<(), ManagerError> {
    match &plan.wrapped {
        Some(w) if !force && w.config.path.exists() => {
            Err(ManagerError::ConfigExists(w.config.path.clone()))
        }
        _ => Ok(()),
    }
}

/// Writes the wrapped config (its folder made if missing), atomically.
pub(crate) fn write(plan: &Plan) -> Result<(), ManagerError> {
    match &plan.wrapped {
        Some(w) => crate::atomic::write_atomically(&w.config),
        None => Ok(()),
    }
}

/// Removes the generated config at `path` while it is unchanged; one someone edited (or
/// wrote) is kept, with a warning that says so.
pub(crate) fn remove_generated(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !crate::wrap::is_unchanged(&text) {
        if text.contains("stead install --wrap") {
            eprintln!(
                "stead: warning: {} was edited since `stead install --wrap` wrote it; kept",
                path.display()
            );
        }
        return;
    }
    if let Err(e) = std::fs::remove_file(path) {
        eprintln!("stead: warning: cannot remove {}: {e}", path.display());
    }
}
