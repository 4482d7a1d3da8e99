//! `NOTIFY_SOCKET` for supervised programs: one datagram socket per instance, in a directory
//! only stead can write (0711: the program reaches its own socket by name, lists nothing),
//! owned by the program's user when it runs as another. The directory is made where no other
//! user can put anything in its way ([`make_dir`]) and removed when the supervisor ends. Datagrams are read on the engine's
//! runtime, parsed ([`NotifyMessage::parse`]: empty, oversized, non-UTF-8 and unknown keys
//! are ignored, never fatal), and handed to the engine.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::{CheckEvent, NotifyMessage};

/// A datagram larger than this is cut; systemd allows about the same.
const MAX_DATAGRAM: usize = 4096;

/// The longest path a unix socket can have: `sun_path` holds 108 bytes with the NUL on
/// Linux, 104 on macOS and the BSDs; the smaller is used everywhere.
const SOCKET_PATH_MAX: usize = 103;

/// The longest socket file name: `<pid>.<seq>.sock` (pid up to 7 digits, seq up to 20).
const SOCKET_NAME_MAX: usize = 33;

/// The directory of this supervisor's notify sockets; removed, with anything left in it, when
/// dropped (the engine drops it when it ends, after a SIGTERM as after `stead shutdown`).
#[derive(Debug)]
pub(crate) struct NotifyDir {
    path: PathBuf,
}

impl NotifyDir {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for NotifyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Where a notify directory may be made, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// `<state dir>/notify`: the state directory is private to stead (0700) and locked by
    /// this supervisor, so whatever is there was left by a killed one and is replaced.
    State(PathBuf),
    /// `<base>/stead-notify-<random>`, created with `mkdir` (which fails on anything already
    /// there) under a new random name until one is free: a user who can create entries in
    /// `base` cannot guess the name, and once made the directory is stead's.
    Fresh(PathBuf),
}

/// The places to try: the state directory when this supervisor holds its lock (`state_dir`)
/// and its programs run as stead's own user (a non-root stead cannot switch users; root's
/// programs may run as others, who cannot enter the 0700 state directory); then the runtime
/// directory (`/run` for root, `$XDG_RUNTIME_DIR` for others), then the temp directory.
fn places(
    state_dir: Option<&Path>,
    root: bool,
    runtime: Option<PathBuf>,
    temp: PathBuf,
) -> Vec<Place> {
    let mut out = Vec::new();
    if let (Some(state), false) = (state_dir, root) {
        out.push(Place::State(state.join("notify")));
    }
    out.extend(runtime.map(Place::Fresh));
    out.push(Place::Fresh(temp));
    out
}

/// Why stead cannot trust `base` to hold its notify directory, if it cannot: another owner
/// than root or stead's user, or others may write it without the sticky bit (they could then
/// rename stead's directory away and put theirs in its place).
fn unsafe_base(base: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(base) {
        Ok(m) => m,
        Err(e) => return Some(format!("{}: {e}", base.display())),
    };
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.mode() & 0o7777;
    if !meta.is_dir() {
        return Some(format!("{} is not a directory", base.display()));
    }
    if meta.uid() != 0 && meta.uid() != me {
        return Some(format!("{} is owned by uid {}", base.display(), meta.uid()));
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Some(format!(
            "{} (mode {mode:o}) can be written by others and is not sticky",
            base.display()
        ));
    }
    None
}

/// Makes the directory for this supervisor's notify sockets, in the first place of
/// [`places`] that is safe and short enough for a socket path; says at `info` when it had to
/// pass the state directory over.
pub(crate) fn make_dir(state_dir: Option<&Path>) -> io::Result<NotifyDir> {
    let root = nix::unistd::geteuid().is_root();
    let runtime = if root {
        Some(PathBuf::from("/run"))
    } else {
        std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    };
    let state_dir = state_dir.map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
    make_dir_in(&places(
        state_dir.as_deref(),
        root,
        runtime,
        std::path::absolute(std::env::temp_dir())?,
    ))
}

fn make_dir_in(places: &[Place]) -> io::Result<NotifyDir> {
    let mut passed = Vec::new();
    for place in places {
        let (Place::State(p) | Place::Fresh(p)) = place;
        // `<dir>/<name>`: the directory's own name is at most `stead-notify-` and 12 more.
        let longest = match place {
            Place::State(_) => p.as_os_str().len() + 1 + SOCKET_NAME_MAX,
            Place::Fresh(_) => p.as_os_str().len() + 26 + 1 + SOCKET_NAME_MAX,
        };
        if longest > SOCKET_PATH_MAX {
            passed.push(format!(
                "{} is too long for a socket path ({longest} of {SOCKET_PATH_MAX} bytes)",
                p.display()
            ));
            continue;
        }
        let made = match place {
            Place::State(dir) => make_state_dir(dir),
            Place::Fresh(base) => match unsafe_base(base) {
                Some(why) => Err(io::Error::other(why)),
                None => make_fresh_dir(base),
            },
        };
        match made {
            Ok(dir) => {
                if !passed.is_empty() {
                    tracing::info!(
                        "notify sockets are in {} ({})",
                        dir.path.display(),
                        passed.join("; ")
                    );
                }
                return Ok(dir);
            }
            Err(e) => passed.push(format!("{}: {e}", p.display())),
        }
    }
    Err(io::Error::other(format!(
        "no safe place for it: {}; set a shorter --state-dir or TMPDIR",
        passed.join("; ")
    )))
}

fn make_state_dir(dir: &Path) -> io::Result<NotifyDir> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    Ok(NotifyDir {
        path: dir.to_path_buf(),
    })
}

fn make_fresh_dir(base: &Path) -> io::Result<NotifyDir> {
    for _ in 0..32 {
        let name: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(12)
            .collect();
        let dir = base.join(format!("stead-notify-{name}"));
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {
                let made = NotifyDir { path: dir };
                // The umask may have taken the others' search bit away.
                std::fs::set_permissions(&made.path, std::fs::Permissions::from_mode(0o711))?;
                return Ok(made);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("32 random names were all taken"))
}

/// The socket of one instance; removed (and its reader stopped) on drop.
pub(crate) struct NotifySocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl NotifySocket {
    /// Binds `<dir>/<instance>.sock`, owned by `owner` (uid, gid) if given, mode 0600.
    pub(crate) fn open(
        dir: &Path,
        instance: &str,
        owner: Option<(u32, u32)>,
        tx: mpsc::UnboundedSender<CheckEvent>,
    ) -> io::Result<NotifySocket> {
        let path = dir.join(format!("{instance}.sock"));
        let _ = std::fs::remove_file(&path);
        let sock = tokio::net::UnixDatagram::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        if let Some((uid, gid)) = owner {
            // The directory is stead's own (0711): nobody can swap the path meanwhile.
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        let instance = instance.to_string();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let Ok(n) = sock.recv(&mut buf).await else {
                    break;
                };
                if let Some(message) = NotifyMessage::parse(&buf[..n]) {
                    let event = CheckEvent::Notify {
                        instance: instance.clone(),
                        message,
                    };
                    if tx.send(event).is_err() {
                        break;
                    }
                }
            }
        });
        Ok(NotifySocket { path, task })
    }

    /// The value for the program's `NOTIFY_SOCKET`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stead-notify-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn the_state_directory_comes_first_unless_programs_may_run_as_others() {
        let state = Path::new("/home/me/.stead");
        let run = Some(PathBuf::from("/run/user/1000"));
        let tmp = PathBuf::from("/tmp");
        assert_eq!(
            places(Some(state), false, run.clone(), tmp.clone()),
            [
                Place::State(state.join("notify")),
                Place::Fresh("/run/user/1000".into()),
                Place::Fresh(tmp.clone())
            ]
        );
        assert_eq!(
            places(Some(state), true, Some("/run".into()), tmp.clone()),
            [Place::Fresh("/run".into()), Place::Fresh(tmp.clone())]
        );
        assert_eq!(places(None, false, None, tmp.clone()), [Place::Fresh(tmp)]);
    }

    #[test]
    fn a_long_or_shared_place_is_passed_over_and_the_directory_goes_at_drop() {
        let base = scratch("places");
        let long = base.join("x".repeat(80));
        std::fs::create_dir_all(&long).unwrap();
        let shared = base.join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let good = base.join("good");
        std::fs::create_dir(&good).unwrap();
        let dir = make_dir_in(&[
            Place::State(long.join("notify")),
            Place::Fresh(shared.clone()),
            Place::Fresh(good.clone()),
        ])
        .unwrap();
        assert_eq!(dir.path().parent(), Some(good.as_path()));
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("stead-notify-") && name.len() == 25,
            "{name}"
        );
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o711);
        assert_eq!(std::fs::read_dir(&long).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("left.sock"), "").unwrap();
        drop(dir);
        assert!(!path.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_state_directory_leftover_is_replaced() {
        let base = scratch("state");
        let left = base.join("notify");
        std::fs::create_dir(&left).unwrap();
        std::fs::write(left.join("1.1.sock"), "").unwrap();
        let dir = make_dir_in(&[Place::State(left.clone())]).unwrap();
        assert_eq!(dir.path(), left);
        assert_eq!(std::fs::read_dir(&left).unwrap().count(), 0);
        let err = make_dir_in(&[Place::State(base.join("y".repeat(90)))]).unwrap_err();
        assert!(
            err.to_string().contains("too long for a socket path"),
            "{err}"
        );
        drop(dir);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
