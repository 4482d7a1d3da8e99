//! Linux: with cgroup v2 accounting (`spawn::cgroup`) the tree is the instance's cgroup, and
//! its CPU time and memory come from there; else it is the processes in the program's process
//! group plus every descendant of its main process. Per-process figures come from `/proc`
//! through the `procfs` crate.

use std::collections::{HashMap, HashSet};

use super::Tree;

/// Whether this OS has a sampler.
pub(crate) const SUPPORTED: bool = true;

/// Samples the trees of `targets` (instance id, main pid) in one pass over `/proc`.
pub(crate) fn sample(targets: &[(String, u32)]) -> HashMap<String, Tree> {
    struct P {
        ppid: i32,
        pgrp: i32,
        cpu: u64,
        rss: u64,
        threads: i64,
        fds: u64,
    }
    let mut out = HashMap::new();
    if targets.is_empty() {
        return out;
    }
    let Ok(all) = procfs::process::all_processes() else {
        return out;
    };
    let mut procs: HashMap<i32, P> = HashMap::new();
    for p in all.flatten() {
        let Ok(stat) = p.stat() else { continue };
        let fds = p.fd_count().map_or(0, |n| n as u64);
        procs.insert(
            stat.pid,
            P {
                ppid: stat.ppid,
                pgrp: stat.pgrp,
                cpu: stat.utime + stat.stime,
                rss: stat.rss,
                threads: stat.num_threads,
                fds,
            },
        );
    }
    // One pass makes both indexes, so a sample of n trees among P processes costs O(n + P),
    // not O(n × P).
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let mut groups: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, p) in &procs {
        children.entry(p.ppid).or_default().push(*pid);
        groups.entry(p.pgrp).or_default().push(*pid);
    }
    let ticks = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    for (instance, main) in targets {
        let main = *main as i32;
        if let Some(pids) = crate::spawn::cgroup::members(instance).filter(|m| !m.is_empty()) {
            let mut t = Tree {
                cgroup: true,
                ..Tree::default()
            };
            for pid in pids {
                let Some(p) = procs.get(&(pid as i32)) else {
                    continue;
                };
                t.rss_bytes += p.rss * page;
                t.threads += p.threads.max(0) as u64;
                t.fds += p.fds;
                t.processes += 1;
                t.cpu_seconds += p.cpu as f64 / ticks;
            }
            if let Some(cpu) = crate::spawn::cgroup::cpu_seconds(instance) {
                t.cpu_seconds = cpu;
            }
            if let Some(mem) = crate::spawn::cgroup::memory(instance) {
                t.rss_bytes = mem;
            }
            out.insert(instance.clone(), t);
            continue;
        }
        let mut members: HashSet<i32> = groups.get(&main).into_iter().flatten().copied().collect();
        let mut stack = vec![main];
        while let Some(pid) = stack.pop() {
            if procs.contains_key(&pid) {
                members.insert(pid);
            }
            if let Some(kids) = children.get(&pid) {
                stack.extend(kids.iter().copied().filter(|k| !members.contains(k)));
            }
        }
        let mut t = Tree::default();
        for pid in members {
            let p = &procs[&pid];
            t.cpu_seconds += p.cpu as f64 / ticks;
            t.rss_bytes += p.rss * page;
            t.threads += p.threads.max(0) as u64;
            t.fds += p.fds;
            t.processes += 1;
        }
        if t.processes > 0 {
            out.insert(instance.clone(), t);
        }
    }
    out
}

/// Removes the empty cgroups of instances not in `live` (those that stopped). Called on the
/// engine's thread, which makes the cgroups, so that none is removed between its creation
/// and its child moving in.
pub(crate) fn tidy(live: &[&str]) {
    crate::spawn::cgroup::tidy(live);
}
