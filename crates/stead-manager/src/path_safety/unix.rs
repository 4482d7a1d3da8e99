//! Unix: owners and mode bits.

use std::path::Path;

/// Why `path` is not safe for a system service to run or read, if it is not. On Unix a library is
/// not loaded from the program's directory, so every level is judged alike.
pub fn unsafe_reason(path: &Path, _is_program: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let real = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let mut child_owner_is_root = true;
    let mut at: Option<&Path> = Some(&real);
    let mut first = true;
    while let Some(p) = at {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => return Some(format!("{}: {e}", p.display())),
        };
        let mode = meta.mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        let writable_by_others = mode & 0o022 != 0;
        let what = if first { "" } else { " (a directory above it)" };
        if meta.uid() != 0 {
            return Some(format!(
                "{}{what} is owned by uid {}, who could change what the service runs",
                p.display(),
                meta.uid()
            ));
        }
        if writable_by_others && !(meta.is_dir() && sticky && child_owner_is_root) {
            return Some(format!(
                "{}{what} (mode {mode:o}) can be written by users other than root",
                p.display()
            ));
        }
        child_owner_is_root = meta.uid() == 0;
        first = false;
        at = p.parent();
    }
    None
}
