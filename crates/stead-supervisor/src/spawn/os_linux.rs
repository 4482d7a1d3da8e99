//! The Linux part of the Unix backend: scans of `/proc` (escaped descendants by their
//! marker, leftovers of a killed supervisor), supplementary groups, pipe sizes.

use std::collections::HashMap;

use nix::unistd::Pid;

use super::INSTANCE_VAR;

/// What a busy pipe is enlarged to. Pipes start small (64 KiB) and only those of programs
/// that write fast grow, so a hundred quiet programs do not use up the per-user pipe
/// allowance (`/proc/sys/fs/pipe-user-pages-soft`) that their own pipes draw from too.
const BUSY_PIPE: libc::c_int = 1024 * 1024;

/// The groups of `user` (`getgrouplist`), with `gid` among them.
pub(super) fn supplementary_groups(user: &str, gid: u32) -> Vec<libc::gid_t> {
    let Ok(name) = std::ffi::CString::new(user) else {
        return vec![gid];
    };
    nix::unistd::getgrouplist(&name, nix::unistd::Gid::from_raw(gid)).map_or_else(
        |_| vec![gid],
        |g| g.into_iter().map(nix::unistd::Gid::as_raw).collect(),
    )
}

/// Every pid in `/proc`.
fn proc_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
}

/// The processes (other than stead) whose environment holds `var` (`NAME=value`).
pub(super) fn marked(var: &str) -> Vec<u32> {
    let me = std::process::id();
    proc_pids()
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == var.as_bytes()))
        })
        .collect()
}

/// The processes carrying each instance id that are not in that instance's process group
/// (`pgids` maps instance id to its group), in one pass over `/proc`.
pub(super) fn sweep_proc(pgids: &HashMap<String, u32>) -> HashMap<String, Vec<u32>> {
    let mut found: HashMap<String, Vec<u32>> = HashMap::new();
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    let key = format!("{INSTANCE_VAR}=");
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let Some(id) = environ
            .split(|b| *b == 0)
            .find_map(|var| var.strip_prefix(key.as_bytes()))
            .and_then(|v| std::str::from_utf8(v).ok())
        else {
            continue;
        };
        let Some(&pgid) = pgids.get(id) else { continue };
        if nix::unistd::getpgid(Some(Pid::from_raw(pid as i32)))
            .is_ok_and(|g| g.as_raw() as u32 == pgid)
        {
            continue;
        }
        found.entry(id.to_string()).or_default().push(pid);
    }
    found
}

/// Enlarges a busy pipe (one whose reads came back full).
pub(super) fn grow_pipe(fd: std::os::fd::RawFd) {
    // SAFETY: F_SETPIPE_SZ on a pipe we own; failure (the per-user allowance) is harmless.
    unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, BUSY_PIPE) };
}
