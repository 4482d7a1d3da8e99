//! How log files are opened. stead often runs as root and writes into directories a
//! program's user may also write; a symlink planted there (`web.out.log -> /etc/shadow`)
//! must not make stead append to, or compress and expose, a file it was never given. So
//! the last path component is never followed (`O_NOFOLLOW`: a symlink fails with `ELOOP`),
//! new files are created exclusively (`O_EXCL`), and everything stead creates is 0640.
//! Renames and unlinks act on links themselves and need nothing more. On Windows,
//! creating symlinks is a privilege, and these are plain opens.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
fn options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.custom_flags(libc::O_NOFOLLOW).mode(0o640);
    o
}

#[cfg(not(unix))]
fn options() -> OpenOptions {
    OpenOptions::new()
}

/// The live log file, for appending; created 0640 when missing.
pub(crate) fn append(path: &Path) -> io::Result<File> {
    options().create(true).append(true).read(true).open(path)
}

/// A rotated file, for reading (to compress it).
pub(crate) fn read(path: &Path) -> io::Result<File> {
    options().read(true).open(path)
}

/// A new file that must not exist yet (a compression's temporary file).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    options().write(true).create_new(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_refused_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("stead-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "secret\n").unwrap();
        let link = dir.join("web.out.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for (what, r) in [
            ("append", append(&link).map(drop)),
            ("read", read(&link).map(drop)),
            ("create_new", create_new(&link).map(drop)),
        ] {
            let e = r.expect_err(what);
            assert!(
                e.raw_os_error() == Some(libc::ELOOP) || e.kind() == io::ErrorKind::AlreadyExists,
                "{what}: {e}"
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
        let made = dir.join("new.log");
        drop(append(&made).unwrap());
        let mode = std::fs::metadata(&made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "created {mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
