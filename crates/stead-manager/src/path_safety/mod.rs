//! Whether the files a system service runs and reads can be changed by someone other than
//! an administrator. A service that runs a binary an ordinary user can replace (or from a
//! directory where they can rename it) hands that user the service's account — root, for
//! most — the way NSSM installs in user-writable folders did. So before a system-wide
//! install the binary and every file named by an absolute path in its arguments (a config)
//! are checked, with each directory above them: owned by root and not writable by group or
//! others, except a sticky directory (like `/tmp`) whose entry is owned by root, which
//! others cannot rename or remove. Symlinks are resolved first, so the real file is judged.
//!
//! On Windows the same question is asked of owners and DACLs (`acl.rs`, `windows.rs`):
//! only SYSTEM, Administrators, `TrustedInstaller` and the administrator installing may own
//! or change the file, the program's directory (where a planted DLL would load) and each
//! directory above.

#[cfg(not(any(unix, windows)))]
use std::path::Path;
use std::path::PathBuf;

pub mod acl;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
pub(crate) mod windows;

#[cfg(unix)]
pub use unix::unsafe_reason;
#[cfg(windows)]
pub use windows::unsafe_reason;

/// Elsewhere: nothing to judge by.
#[cfg(not(any(unix, windows)))]
pub fn unsafe_reason(_path: &Path, _is_program: bool) -> Option<String> {
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

/// The first reason a system service made from `spec` (and, with `--wrap`, the program
/// stead runs for it) would run or read a file that users other than root can change, with
/// the fix.
pub fn check(spec: &crate::ServiceSpec, wrapped: Option<&crate::Wrapped>) -> Result<(), String> {
    let fix = if cfg!(windows) {
        r"remove other users' write access to the file and the folders above it, or install it under C:\Program Files"
    } else {
        "`chown root:root` and `chmod go-w` the file and the directories above it, or install it under /usr/local"
    };
    // (file, is a program): the service's binary first, then its absolute-path arguments.
    let mut files: Vec<(PathBuf, bool)> = files_of(spec)
        .into_iter()
        .enumerate()
        .map(|(i, f)| (f, i == 0))
        .collect();
    if let Some(w) = wrapped {
        files.push((w.program.clone(), true));
    }
    for (f, is_program) in &files {
        if let Some(why) = unsafe_reason(f, *is_program) {
            return Err(format!("{why}; fix it ({fix}) and run the install again"));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    #[cfg_attr(not(has_root), ignore = "needs root (files owned by root)")]
    fn writable_files_and_directories_are_named() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "required in CI but cannot run: judging ownership needs files owned by root"
            );
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
        assert_eq!(unsafe_reason(&bin, true), None);

        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = unsafe_reason(&bin, true).expect("a world-writable binary");
        assert!(why.contains("mode 777"), "{why}");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
        let why = unsafe_reason(&bin, true).expect("a group-writable directory");
        assert!(why.contains("a directory above it"), "{why}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

        std::os::unix::fs::chown(&bin, Some(65534), None).unwrap();
        let why = unsafe_reason(&bin, true).expect("a binary owned by nobody");
        assert!(why.contains("owned by uid 65534"), "{why}");

        // A symlink is judged by what it points to.
        let link = base.join("link");
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        assert!(unsafe_reason(&link, true).is_some());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
