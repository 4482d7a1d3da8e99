//! cgroup v2 accounting on Linux, where the unified hierarchy is mounted and stead may create
//! cgroups under its own: each program instance gets `<stead's cgroup>/stead-<pid>/<instance>`
//! and the child moves itself there before `exec` (so nothing it forks escapes the count,
//! not even a double fork with `setsid`). No controller is enabled: membership
//! (`cgroup.procs`) and CPU time (`cpu.stat`) need none; memory is `memory.current` when the
//! memory controller is there, else the members' resident sizes. Where none of this works
//! (no cgroup2 mount, read-only, no permission) everything falls back to `/proc`.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Finds the cgroup2 mount and stead's own cgroup; creates stead's directory under it.
pub(crate) fn init() {
    BASE.get_or_init(|| match detect() {
        Ok(p) => {
            tracing::debug!("cgroup v2 accounting in {}", p.display());
            Some(p)
        }
        Err(e) => {
            tracing::debug!("no cgroup v2 accounting ({e}); resources come from /proc");
            None
        }
    });
}

fn detect() -> io::Result<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mount = mountinfo
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))
                .flatten()
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cgroup2 mount"))?;
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in a cgroup v2 hierarchy"))?;
    let own_dir = mount.join(rel.trim_start_matches('/'));
    remove_stale(&own_dir);
    let base = own_dir.join(format!("stead-{}", std::process::id()));
    match std::fs::create_dir(&base) {
        Ok(()) => Ok(base),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(base),
        Err(e) => Err(e),
    }
}

/// Directories left by supervisors that were killed (their pid is gone), once empty.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("stead-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(children) = std::fs::read_dir(e.path()) {
            for c in children.flatten() {
                if c.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir(c.path());
                }
            }
        }
        let _ = std::fs::remove_dir(e.path());
    }
}

fn base() -> Option<&'static Path> {
    BASE.get().and_then(Option::as_deref)
}

/// Makes the instance's cgroup and opens its `cgroup.procs` for the child to write itself
/// into (`None`: no accounting for it).
pub(crate) fn procs_for(instance: &str) -> Option<File> {
    let dir = base()?.join(instance);
    if let Err(e) = std::fs::create_dir(&dir)
        && e.kind() != io::ErrorKind::AlreadyExists
    {
        return None;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .ok()
}

/// The processes in the instance's cgroup, when it has one.
pub(crate) fn members(instance: &str) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(base()?.join(instance).join("cgroup.procs")).ok()?;
    Some(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// CPU time of everything that ran in the instance's cgroup, seconds.
pub(crate) fn cpu_seconds(instance: &str) -> Option<f64> {
    let text = std::fs::read_to_string(base()?.join(instance).join("cpu.stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us as f64 / 1e6)
}

/// `memory.current`, when the memory controller is enabled there.
pub(crate) fn memory(instance: &str) -> Option<u64> {
    std::fs::read_to_string(base()?.join(instance).join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Removes the cgroups of instances not in `live` that are empty now (the rest next time).
pub(crate) fn tidy(live: &[&str]) {
    let Some(base) = base() else { return };
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let live: std::collections::HashSet<&str> = live.iter().copied().collect();
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = e.file_name();
        if name.to_str().is_some_and(|n| live.contains(n)) {
            continue;
        }
        let _ = std::fs::remove_dir(e.path());
    }
}

/// At exit: removes what is empty, stead's own directory last.
pub(crate) fn finish() {
    tidy(&[]);
    if let Some(base) = base() {
        let _ = std::fs::remove_dir(base);
    }
}
