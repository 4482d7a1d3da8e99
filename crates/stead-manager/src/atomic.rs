//! Writing a file atomically, on any OS: a temporary file in the same directory, synced,
//! renamed over the old one (its mode set first on Unix).

use std::io::Write;
use std::path::Path;

use crate::{ManagerError, PlannedFile};

/// Writes `f` so that a reader sees the old file or the new one, never a part.
pub(crate) fn write_atomically(f: &PlannedFile) -> Result<(), ManagerError> {
    let io = |source| ManagerError::Io {
        path: f.path.clone(),
        source,
    };
    let dir = f.path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = f
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.stead-tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(f.text.as_bytes()).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(f.mode))
            .map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    // Closed first: Windows does not rename a file that is still open.
    drop(file);
    std::fs::rename(&tmp, &f.path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
