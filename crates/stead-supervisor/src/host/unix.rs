//! Unix host: the default state directory, private directories, path judging and the
//! descriptor limit.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `/run/stead` for root; `$XDG_RUNTIME_DIR/stead` for others, or `/tmp/stead-UID` where
/// there is no runtime directory.
pub fn default_state_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/stead");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("stead"),
        _ => PathBuf::from(format!("/tmp/stead-{uid}")),
    }
}

pub(crate) fn control_endpoint(state_dir: &Path) -> PathBuf {
    state_dir.join("stead.sock")
}

/// Creates `dir` with mode 0700, or tightens an existing one that is ours.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Why `dir` (where stead writes logs) is not safe from other users, if it is not: another
/// owner, or group/world write permission. stead refuses to follow symlinks there anyway
/// (`logs/open.rs`), but such a user could still delete or swap log files.
pub(crate) fn shared_dir_warning(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).ok()?;
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.mode() & 0o7777;
    (meta.uid() != me || mode & 0o022 != 0).then(|| {
        format!(
            "the log directory {} (owner uid {}, mode {mode:o}) can be written by users other \
             than stead's (uid {me}); they could remove or replace log files. Use a directory \
             only stead's user can write (for example `chmod go-w` it)",
            dir.display(),
            meta.uid()
        )
    })
}

/// Judges every component of the path to `dir` (a log or state directory), as stead will
/// reach it: who could replace each entry on the way? A symlink that someone other than root
/// and stead's user could replace — it sits in a directory they own or may write without the
/// sticky bit, or in a sticky one while they own the link — could point stead's files (as
/// root) anywhere, into `/etc`: that is refused. A directory on the way that others could
/// replace the same way is a warning (it is not replaced yet, and group-writable system
/// directories like Ubuntu's `/var/log` are common). Symlinks are followed, their targets
/// judged in turn; the walk stops at the first component that does not exist yet (stead
/// creates it). `what` names the directory in messages ("log directory").
pub(crate) fn judge_path(dir: &Path, what: &str) -> super::PathVerdict {
    use std::collections::VecDeque;
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let trusted = |uid: u32| uid == 0 || uid == me;
    let mut verdict = super::PathVerdict::default();
    let Ok(abs) = std::path::absolute(dir) else {
        return verdict;
    };
    let mut todo: VecDeque<std::ffi::OsString> = VecDeque::new();
    let mut at = PathBuf::from("/");
    for c in abs.components() {
        if let std::path::Component::Normal(n) = c {
            todo.push_back(n.to_os_string());
        } else if c == std::path::Component::ParentDir {
            todo.push_back("..".into());
        }
    }
    let mut hops = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&name);
        let (Ok(meta), Ok(parent)) = (std::fs::symlink_metadata(&next), std::fs::metadata(&at))
        else {
            break;
        };
        let pmode = parent.mode() & 0o7777;
        let others_write = pmode & 0o022 != 0;
        let sticky = pmode & 0o1000 != 0;
        let who = if !trusted(parent.uid()) {
            Some(format!("{} is owned by uid {}", at.display(), parent.uid()))
        } else if others_write && !sticky {
            Some(format!(
                "{} (mode {pmode:o}) can be written by users other than stead's (uid {me})",
                at.display()
            ))
        } else if others_write && !trusted(meta.uid()) {
            Some(format!(
                "it is owned by uid {} in the shared directory {}",
                meta.uid(),
                at.display()
            ))
        } else {
            None
        };
        if meta.file_type().is_symlink() {
            let Ok(target) = std::fs::read_link(&next) else {
                break;
            };
            if let Some(who) = who {
                verdict.refusal = Some(format!(
                    "the {what} {} is reached through the symbolic link {} -> {}, and {who}: \
                     another user could point it (and the files stead writes there as uid \
                     {me}) anywhere, such as /etc. Give the real directory instead (`realpath` \
                     it), or `chmod go-w` and `chown` {} so that only root or stead's user can \
                     change it",
                    dir.display(),
                    next.display(),
                    target.display(),
                    at.display()
                ));
                return verdict;
            }
            hops += 1;
            if hops > 40 {
                break;
            }
            if target.is_absolute() {
                at = PathBuf::from("/");
            }
            for c in target.components().rev() {
                match c {
                    std::path::Component::Normal(n) => todo.push_front(n.to_os_string()),
                    std::path::Component::ParentDir => todo.push_front("..".into()),
                    _ => {}
                }
            }
            continue;
        }
        if let Some(who) = who {
            verdict.warnings.push(format!(
                "the {what} {} is reached through {}, and {who}: another user could replace \
                 it with a symbolic link to another place; `chmod go-w` (or `chmod +t`) and \
                 `chown` {} so that only root or stead's user can change it",
                dir.display(),
                next.display(),
                at.display()
            ));
        }
        at = next;
    }
    verdict
}

/// The soft `RLIMIT_NOFILE` stead was started with, when [`raise_fd_limit`] raised it.
static INHERITED_NOFILE: OnceLock<libc::rlim_t> = OnceLock::new();

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as a supervisor must: it holds a pipe
/// or two per program, and a soft limit of 1024 (the usual default) would refuse the
/// 500th program. Programs still start with the soft limit stead was given
/// ([`inherited_fd_limit`]), so nothing changes for them.
pub(crate) fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a live local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        tracing::debug!("cannot read RLIMIT_NOFILE: {}", io::Error::last_os_error());
        return;
    }
    let old = lim.rlim_cur;
    if old >= lim.rlim_max {
        tracing::debug!("RLIMIT_NOFILE: the soft limit is the hard limit ({old})");
        return;
    }
    // macOS refuses a soft limit above OPEN_MAX (10240) even when the hard one is unlimited.
    for want in [lim.rlim_max, lim.rlim_max.min(10_240)] {
        let new = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads a live local struct.
        if want > old && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const new) } == 0 {
            let _ = INHERITED_NOFILE.set(old);
            tracing::debug!(
                "raised the soft RLIMIT_NOFILE from {old} to {want} (hard {}); programs start with {old}",
                lim.rlim_max
            );
            return;
        }
    }
    tracing::debug!(
        "cannot raise the soft RLIMIT_NOFILE from {old}: {}",
        io::Error::last_os_error()
    );
}

/// The soft `RLIMIT_NOFILE` to give programs: the one stead was started with, when it
/// raised its own.
pub(crate) fn inherited_fd_limit() -> Option<libc::rlim_t> {
    INHERITED_NOFILE.get().copied()
}

/// What to say when a spawn failed for want of file descriptors (`EMFILE`: stead's own
/// limit; `ENFILE`: the system's), with the fix; `None` for any other error.
pub(crate) fn fd_shortage(e: &io::Error) -> Option<String> {
    match e.raw_os_error()? {
        libc::EMFILE => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into a live local struct.
            let limit = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0 {
                format!("stead may hold {}, ", lim.rlim_cur)
            } else {
                String::new()
            };
            Some(format!(
                "out of file descriptors (EMFILE: {e}; {limit}a program takes one or two): raise \
                 LimitNOFILE= in stead's service unit or `ulimit -Hn` before `stead up`, or run \
                 fewer programs"
            ))
        }
        libc::ENFILE => Some(format!(
            "the system is out of file descriptors (ENFILE: {e}): raise fs.file-max (sysctl) \
             or end what holds them"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    #[cfg_attr(not(has_root), ignore = "needs root (links owned by another user)")]
    fn a_replaceable_symlink_on_the_way_is_refused_and_a_safe_one_followed() {
        if !nix::unistd::geteuid().is_root() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "required in CI but cannot run: links owned by another user need root"
            );
            eprintln!("SKIPPED: links owned by another user need root");
            return;
        }
        let base = std::env::temp_dir().join(format!("stead-judge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let real = base.join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Safe: a link in a directory only root writes, to a directory only root writes.
        std::os::unix::fs::symlink(&real, base.join("safe")).unwrap();
        let v = judge_path(&base.join("safe/logs"), "log directory");
        assert_eq!(v, super::super::PathVerdict::default());
        // A world-writable, non-sticky directory: anyone can swap the link.
        let open = base.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink("../real", open.join("logs")).unwrap();
        let why = judge_path(&open.join("logs"), "log directory")
            .refusal
            .expect("a link in a world-writable directory");
        assert!(
            why.contains(&format!("{} -> ../real", open.join("logs").display()))
                && why.contains("mode 777"),
            "{why}"
        );
        // Reached through a safe link first, then the unsafe one: still refused.
        std::os::unix::fs::symlink(&open, base.join("via")).unwrap();
        assert!(
            judge_path(&base.join("via/logs/x"), "log directory")
                .refusal
                .is_some()
        );
        // Sticky: a link owned by another user is refused, root's own is not.
        let sticky = base.join("sticky");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::os::unix::fs::symlink(&real, sticky.join("mine")).unwrap();
        assert_eq!(
            judge_path(&sticky.join("mine"), "log directory").refusal,
            None
        );
        let theirs = sticky.join("theirs");
        std::os::unix::fs::symlink(&real, &theirs).unwrap();
        std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
        let why = judge_path(&theirs, "log directory")
            .refusal
            .expect("nobody's link");
        assert!(why.contains("owned by uid 65534"), "{why}");
        // A plain directory others could replace is a warning, not a refusal.
        std::fs::create_dir(open.join("dir")).unwrap();
        let v = judge_path(&open.join("dir"), "log directory");
        assert_eq!(v.refusal, None);
        assert_eq!(v.warnings.len(), 1, "{v:?}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
