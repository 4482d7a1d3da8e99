//! Windows: the tree is the main process and its descendants in one process snapshot
//! (`CreateToolhelp32Snapshot`: ids, parents, thread counts), found by `descendants`; each
//! member's CPU time (`GetProcessTimes`), working set (`K32GetProcessMemoryInfo`) and open
//! handles (`GetProcessHandleCount`, reported as fds) are read with the least access that
//! allows them (`PROCESS_QUERY_LIMITED_INFORMATION`). A process stead may not open (another
//! account's) is left out of the walk, like one that has exited since the snapshot.

use std::collections::HashMap;

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::Threading::{
    GetProcessHandleCount, GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};

use super::{Tree, descendants};

/// Whether this OS has a sampler.
pub(crate) const SUPPORTED: bool = true;

/// One process's counters.
#[derive(Default)]
struct Counters {
    created: u64,
    cpu_100ns: u64,
    working_set: u64,
    handles: u64,
}

fn ticks(t: FILETIME) -> u64 {
    (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)
}

fn counters(pid: u32) -> Option<Counters> {
    // SAFETY: the handle is checked and closed; every out-parameter is a live local of the
    // size passed.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            return None;
        }
        let mut c = Counters::default();
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        if GetProcessTimes(
            h,
            &raw mut created,
            &raw mut exited,
            &raw mut kernel,
            &raw mut user,
        ) != 0
        {
            c.created = ticks(created);
            c.cpu_100ns = ticks(kernel) + ticks(user);
        }
        let mut mem: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        mem.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        if K32GetProcessMemoryInfo(h, &raw mut mem, mem.cb) != 0 {
            c.working_set = mem.WorkingSetSize as u64;
        }
        let mut handles = 0u32;
        if GetProcessHandleCount(h, &raw mut handles) != 0 {
            c.handles = u64::from(handles);
        }
        CloseHandle(h);
        Some(c)
    }
}

/// Every process: id, parent, threads.
fn snapshot() -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    // SAFETY: the snapshot handle is checked and closed; the entry has its size set as the
    // API requires.
    unsafe {
        let snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if snap == INVALID_HANDLE_VALUE {
            return out;
        }
        let mut e: PROCESSENTRY32W = std::mem::zeroed();
        e.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
        let mut more = Process32FirstW(snap, &raw mut e) != 0;
        while more {
            out.push((e.th32ProcessID, e.th32ParentProcessID, e.cntThreads));
            more = Process32NextW(snap, &raw mut e) != 0;
        }
        CloseHandle(snap);
    }
    out
}

/// Samples the trees of `targets` (instance id, main pid) from one process snapshot; only
/// the processes of the trees (and their children) are opened.
pub(crate) fn sample(targets: &[(String, u32)]) -> HashMap<String, Tree> {
    let mut out = HashMap::new();
    if targets.is_empty() {
        return out;
    }
    let procs = snapshot();
    let table: Vec<(u32, u32)> = procs.iter().map(|&(p, pp, _)| (p, pp)).collect();
    let threads: HashMap<u32, u32> = procs.iter().map(|&(p, _, t)| (p, t)).collect();
    let mut read: HashMap<u32, Option<Counters>> = HashMap::new();
    for (instance, main) in targets {
        let members = descendants(*main, &table, &mut |pid| {
            read.entry(pid)
                .or_insert_with(|| counters(pid))
                .as_ref()
                .map(|c| c.created)
        });
        if members.is_empty() {
            continue;
        }
        let mut t = Tree::default();
        for pid in members {
            t.processes += 1;
            t.threads += u64::from(threads.get(&pid).copied().unwrap_or(0));
            if let Some(Some(c)) = read.get(&pid) {
                t.cpu_seconds += c.cpu_100ns as f64 / 1e7;
                t.rss_bytes += c.working_set;
                t.fds += c.handles;
            }
        }
        out.insert(instance.clone(), t);
    }
    out
}

/// Nothing is kept per instance here.
pub(crate) fn tidy(_live: &[&str]) {}
