//! Whether the files a system service runs and reads can be changed by someone other than
//! an administrator. A service that runs a binary an ordinary user can replace (or from a
//! directory where they can rename it) hands that user the service's account — root, for
//! most — the way NSSM installs in user-writable folders did. So before a system-wide
//! install the binary and every file named by an absolute path in its arguments (a config)
//! are checked, with each directory above them: owned by root and not writable by group or
//! others, except a sticky directory (like `/tmp`) whose entry is owned by root, which
//! others cannot rename or remove. Symlinks are resolved first, so the real file is judged.
//!
//! On Windows the same question is a matter of ACLs; it is not checked yet (docs/security.md).

use std::path::{Path, PathBuf};

/// Why `path` is not safe for a system service to run or read, if it is not.
#[cfg(unix)]
pub fn unsafe_reason(path: &Path) -> Option<String> {
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

/// Windows: not checked here (ACLs; see docs/security.md).
#[cfg(not(unix))]
pub fn unsafe_reason(_path: &Path) -> Option<String> {
    None
}

/// The files a service runs and reads: its program, and every argument that is an absolute
/// path to an existing file.
pub fn files_of(spec: &crate::ServiceSpec) -> Vec<PathBuf> {
    let mut out = vec![spec.program.clone()];
    out.extend(
        spec.args
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_file()),
    );
    out
}

/// The first reason a system service made from `spec` would run or read a file that users
/// other than root can change, with the fix.
pub fn check(spec: &crate::ServiceSpec) -> Result<(), String> {
    for f in files_of(spec) {
        if let Some(why) = unsafe_reason(&f) {
            return Err(format!(
                "{why}; fix it (`chown root:root` and `chmod go-w` the file and the directories above it, or install it under /usr/local) and run the install again"
            ));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writable_files_and_directories_are_named() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: judging ownership needs files owned by root");
            return;
        }
        let base = std::env::temp_dir().join(format!("stead-path-safety-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("app");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Under the sticky, world-writable temp dir, root's own entries are safe.
        assert_eq!(unsafe_reason(&bin), None);

        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = unsafe_reason(&bin).expect("a world-writable binary");
        assert!(why.contains("mode 777"), "{why}");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
        let why = unsafe_reason(&bin).expect("a group-writable directory");
        assert!(why.contains("a directory above it"), "{why}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

        std::os::unix::fs::chown(&bin, Some(65534), None).unwrap();
        let why = unsafe_reason(&bin).expect("a binary owned by nobody");
        assert!(why.contains("owned by uid 65534"), "{why}");

        // A symlink is judged by what it points to.
        let link = base.join("link");
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        assert!(unsafe_reason(&link).is_some());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
