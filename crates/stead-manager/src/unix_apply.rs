//! What applying a plan needs on every Unix: running a manager's command and writing a file
//! atomically (a temporary file in the same directory, synced, renamed over the old one).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::{ManagerError, PlannedFile};

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

/// Writes `f` so that a reader sees the old file or the new one, never a part.
pub(crate) fn write_atomically(f: &PlannedFile) -> Result<(), ManagerError> {
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
