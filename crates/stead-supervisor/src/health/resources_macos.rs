//! macOS: the tree is the processes in the program's process group plus every descendant of
//! its main process, found with `proc_listpids` (by group, then by parent); each member's CPU
//! time, resident memory and threads come from `proc_pidinfo(PROC_PIDTASKINFO)` and its open
//! descriptors from `proc_pidinfo(PROC_PIDLISTFDS)`. A process stead may not inspect (another
//! account's, when stead is not root) is left out, like one that has exited meanwhile.
//!
//! Hand-written on `libc`'s bindings to `libproc` because the crates that wrap it either pull
//! in a whole system-information layer (sysinfo) or need bindgen at build time (libproc),
//! which a cross-check from Linux cannot run.

use std::collections::HashMap;
use std::ffi::c_void;

use super::Tree;

/// Whether this OS has a sampler.
pub(crate) const SUPPORTED: bool = true;

/// `proc_listpids` selectors, from `<sys/proc_info.h>` (not in `libc`).
const PROC_PGRP_ONLY: u32 = 2;
const PROC_PPID_ONLY: u32 = 6;

/// The pids `proc_listpids(kind, arg)` lists, growing the buffer until they fit.
fn list(kind: u32, arg: u32) -> Vec<u32> {
    let mut cap = 64usize;
    loop {
        let mut buf = vec![0i32; cap];
        let bytes = (cap * size_of::<i32>()) as i32;
        // SAFETY: `buf` is a live buffer of `bytes` bytes; the call writes at most that much.
        let got =
            unsafe { libc::proc_listpids(kind, arg, buf.as_mut_ptr().cast::<c_void>(), bytes) };
        if got <= 0 {
            return Vec::new();
        }
        if got < bytes || cap >= 1 << 20 {
            let n = got as usize / size_of::<i32>();
            return buf[..n]
                .iter()
                .filter(|&&p| p > 0)
                .map(|&p| p as u32)
                .collect();
        }
        cap *= 4;
    }
}

/// One process's counters.
struct Counters {
    cpu_seconds: f64,
    rss: u64,
    threads: u64,
    fds: u64,
}

/// Nanoseconds per unit of `pti_total_user`/`pti_total_system` (Mach absolute time: 1 on
/// Intel, 125/3 on Apple silicon).
fn timebase() -> f64 {
    #[repr(C)]
    struct Timebase {
        numer: u32,
        denom: u32,
    }
    unsafe extern "C" {
        // In libSystem; `libc` has it only as deprecated.
        fn mach_timebase_info(info: *mut Timebase) -> i32;
    }
    let mut t = Timebase { numer: 1, denom: 1 };
    // SAFETY: `t` is a live struct of the layout `mach_timebase_info` fills.
    if unsafe { mach_timebase_info(&raw mut t) } != 0 || t.denom == 0 {
        return 1.0;
    }
    f64::from(t.numer) / f64::from(t.denom)
}

fn counters(pid: u32, ns_per_tick: f64) -> Option<Counters> {
    // SAFETY: a plain C struct of integers, for which all-zero is valid.
    let mut task: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = size_of::<libc::proc_taskinfo>() as i32;
    // SAFETY: `task` is a live struct of `size` bytes.
    let got = unsafe {
        libc::proc_pidinfo(
            pid as i32,
            libc::PROC_PIDTASKINFO,
            0,
            (&raw mut task).cast::<c_void>(),
            size,
        )
    };
    if got != size {
        return None;
    }
    // With no buffer, the size a descriptor list would need now (an upper bound); then the
    // list itself, whose returned size counts the descriptors open.
    // SAFETY: a null buffer of size 0 asks only for the size.
    let need = unsafe {
        libc::proc_pidinfo(
            pid as i32,
            libc::PROC_PIDLISTFDS,
            0,
            std::ptr::null_mut(),
            0,
        )
    };
    let fds = if need > 0 {
        let entry = size_of::<libc::proc_fdinfo>();
        let mut buf: Vec<libc::proc_fdinfo> = Vec::with_capacity(need as usize / entry + 1);
        let bytes = (buf.capacity() * entry) as i32;
        // SAFETY: `buf` has room for `bytes` bytes; the call writes at most that much.
        let got = unsafe {
            libc::proc_pidinfo(
                pid as i32,
                libc::PROC_PIDLISTFDS,
                0,
                buf.as_mut_ptr().cast::<c_void>(),
                bytes,
            )
        };
        (got.max(0) as usize / entry) as u64
    } else {
        0
    };
    Some(Counters {
        cpu_seconds: (task.pti_total_user + task.pti_total_system) as f64 * ns_per_tick / 1e9,
        rss: task.pti_resident_size,
        threads: task.pti_threadnum.max(0) as u64,
        fds,
    })
}

/// Samples the trees of `targets` (instance id, main pid): each main process's group and
/// descendants.
pub(crate) fn sample(targets: &[(String, u32)]) -> HashMap<String, Tree> {
    let mut out = HashMap::new();
    if targets.is_empty() {
        return out;
    }
    let ns_per_tick = timebase();
    for (instance, main) in targets {
        let mut members = list(PROC_PGRP_ONLY, *main);
        let mut stack = vec![*main];
        while let Some(pid) = stack.pop() {
            if !members.contains(&pid) {
                members.push(pid);
            }
            stack.extend(
                list(PROC_PPID_ONLY, pid)
                    .into_iter()
                    .filter(|k| !members.contains(k)),
            );
        }
        let mut t = Tree::default();
        for pid in members {
            let Some(c) = counters(pid, ns_per_tick) else {
                continue;
            };
            t.cpu_seconds += c.cpu_seconds;
            t.rss_bytes += c.rss;
            t.threads += c.threads;
            t.fds += c.fds;
            t.processes += 1;
        }
        if t.processes > 0 {
            out.insert(instance.clone(), t);
        }
    }
    out
}

/// Nothing is kept per instance here.
pub(crate) fn tidy(_live: &[&str]) {}
