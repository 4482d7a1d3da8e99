//! The Unix backend on systems other than Linux (macOS, the BSDs): no `/proc` to scan, so
//! a program's tree is its process group; supplementary groups are the primary one only.

use std::collections::HashMap;

/// The groups of `user`: its primary group only.
pub(super) fn supplementary_groups(_user: &str, gid: u32) -> Vec<libc::gid_t> {
    vec![gid]
}

/// Processes cannot be found by their environment here.
pub(super) fn marked(_var: &str) -> Vec<u32> {
    Vec::new()
}

/// Escaped descendants cannot be found here: the process group is the tree.
pub(super) fn sweep_proc(_pgids: &HashMap<String, u32>) -> HashMap<String, Vec<u32>> {
    HashMap::new()
}

/// Pipe sizes are fixed here.
pub(super) fn grow_pipe(_fd: std::os::fd::RawFd) {}
