//! No cgroups off Linux: the process group and the instance marker contain a tree, and
//! resources come from the OS's process table. Same items as `cgroup_linux.rs`.

use std::fs::File;
use std::path::Path;

pub(crate) fn init() {}

pub(crate) fn dir_for(_instance: &str) -> Option<File> {
    None
}

/// Never called: [`dir_for`] gives no cgroup to be born in.
///
/// # Safety
///
/// As for `fork`.
pub(crate) unsafe fn fork_into(
    _dir: std::os::fd::RawFd,
) -> Result<libc::pid_t, Option<std::io::Error>> {
    Err(None)
}

pub(crate) fn procs_of(_dir: std::os::fd::RawFd) -> Option<std::os::fd::OwnedFd> {
    None
}

pub(crate) fn base_dir() -> Option<&'static Path> {
    None
}

pub(crate) fn contains(_instance: &str, _pid: u32) -> bool {
    false
}

pub(crate) fn populated(_instance: &str) -> bool {
    false
}

pub(crate) fn signal(_instance: &str, _sig: libc::c_int, _had_it: impl Fn(u32) -> bool) {}

pub(crate) fn kill(_instance: &str) {}

pub(crate) fn end_leftovers(_recorded: &Path, _grace: std::time::Duration) -> Vec<u32> {
    Vec::new()
}

pub(crate) fn finish() {}
