//! How log files are opened. stead often runs as root and writes into directories a
//! program's user may also write; a symlink planted there (`web.out.log -> /etc/shadow`)
//! must not make stead append to, read back, or compress and expose a file it was never
//! given. So the last path component is never followed (`O_NOFOLLOW`: a symlink fails with
//! `ELOOP`), new files are created exclusively (`O_EXCL`), and everything stead creates is
//! 0640. Anything but a regular file is refused too: a FIFO planted where a log goes would
//! block the open (for reading) or the writes (once its buffer fills), and with them every
//! program whose output the same thread copies. Files are opened `O_NONBLOCK` (which changes
//! nothing for a regular file) and judged with `fstat` on the open descriptor, so nothing can
//! be swapped between the check and the use. Renames and unlinks act on links themselves and
//! need nothing more. On Windows, creating symlinks is a privilege, and these are plain opens
//! of what must then be a file.

use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
fn options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .mode(0o640);
    o
}

#[cfg(not(unix))]
fn options() -> OpenOptions {
    OpenOptions::new()
}

/// The live log file, for appending; created 0640 when missing.
pub(crate) fn append(path: &Path) -> io::Result<File> {
    regular(options().create(true).append(true).read(true).open(path))
}

/// A log file (live or rotated), for reading: to compress it, or for `stead logs`.
pub(crate) fn read(path: &Path) -> io::Result<File> {
    regular(options().read(true).open(path))
}

/// A new file that must not exist yet (a compression's temporary file).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    regular(options().write(true).create_new(true).open(path))
}

/// Why a path was refused: something other than a regular file is there.
#[derive(Debug)]
struct NotRegular(String);

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotRegular {}

/// Whether `e` is a refusal by these functions (a symlink or a non-regular file), rather
/// than an error of the OS.
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<NotRegular>)
}

fn refusal(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular(why))
}

/// The opened file, if it is a regular one; otherwise an error saying what is there instead.
/// Not found stays `NotFound` (callers skip a file removed meanwhile).
fn regular(opened: io::Result<File>) -> io::Result<File> {
    let file = opened.map_err(|e| {
        if is_symlink_refusal(&e) {
            refusal(
                "a symbolic link is there, and stead never follows one where logs go; remove it \
                 (someone who can write the log directory may have planted it)"
                    .into(),
            )
        } else {
            e
        }
    })?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(refusal(format!(
        "{} is there, not a regular file, and stead reads and writes logs only in regular \
         files; remove it (someone who can write the log directory may have put it there)",
        describe(kind)
    )))
}

/// What a file type is, in words.
fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "something other than a file"
    }
}

/// Whether an open failed because `O_NOFOLLOW` met a symlink (`ELOOP`; `EMLINK` on FreeBSD).
#[cfg(unix)]
fn is_symlink_refusal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EMLINK))
}

#[cfg(not(unix))]
fn is_symlink_refusal(_e: &io::Error) -> bool {
    false
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
                e.to_string().contains("a symbolic link is there")
                    || e.kind() == io::ErrorKind::AlreadyExists,
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

    #[test]
    fn fifos_and_directories_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("stead-open-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("web.out.log");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        // Without O_NONBLOCK, opening a FIFO for reading waits for a writer forever.
        for (what, r) in [
            ("append", append(&fifo).map(drop)),
            ("read", read(&fifo).map(drop)),
        ] {
            let e = r.expect_err(what);
            assert!(
                e.to_string().contains("a named pipe (FIFO) is there"),
                "{what}: {e}"
            );
        }
        let sub = dir.join("sub.log");
        std::fs::create_dir(&sub).unwrap();
        let e = read(&sub).expect_err("a directory");
        assert!(e.to_string().contains("a directory is there"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
