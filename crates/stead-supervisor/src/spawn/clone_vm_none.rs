//! Off Linux, children are forked (`clone_vm_linux.rs` has the shared-memory start). Same
//! items.

use std::ffi::c_void;
use std::io;
use std::os::fd::RawFd;

/// Not available here: the caller forks.
///
/// # Safety
///
/// Nothing to uphold; it starts nothing.
pub(crate) unsafe fn spawn(
    _cgroup: Option<RawFd>,
    _entry: unsafe extern "C" fn(*mut c_void) -> !,
    _arg: *mut c_void,
) -> Result<libc::pid_t, Option<io::Error>> {
    Err(None)
}

/// Never called: no child shares the supervisor's memory here.
///
/// # Safety
///
/// Only in a child before it unblocks signals.
pub(crate) unsafe fn reset_handlers() {}

/// Supplementary groups, group, user, in a forked child. Returns false on the first refusal.
///
/// # Safety
///
/// Only in a child before exec.
pub(crate) unsafe fn set_credentials(uid: u32, gid: u32, groups: &[libc::gid_t]) -> bool {
    // SAFETY: system calls with integer arguments and a live slice.
    unsafe {
        libc::setgroups(groups.len() as _, groups.as_ptr()) == 0
            && libc::setgid(gid) == 0
            && libc::setuid(uid) == 0
    }
}
