//! What a program's process tree uses: CPU time, resident memory, open fds (handles on
//! Windows), threads. One sampler per OS: `resources_linux.rs` (cgroup v2 or `/proc`),
//! `resources_windows.rs` (the process snapshot and each process's counters),
//! `resources_macos.rs` (`libproc`); elsewhere (the other BSDs) nothing is sampled yet.

#[cfg(target_os = "linux")]
#[path = "resources_linux.rs"]
mod sampler;
#[cfg(target_os = "macos")]
#[path = "resources_macos.rs"]
mod sampler;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
#[path = "resources_none.rs"]
mod sampler;
#[cfg(windows)]
#[path = "resources_windows.rs"]
mod sampler;

pub(crate) use sampler::{SUPPORTED, sample, tidy};

/// Totals of one tree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Tree {
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_bytes: u64,
    pub(crate) fds: u64,
    pub(crate) threads: u64,
    pub(crate) processes: u64,
    /// Counted from the instance's cgroup (exact membership and CPU), not the process table.
    pub(crate) cgroup: bool,
}

/// `main` and its descendants among `table` (pid, parent pid) by parent links.
/// Windows does not re-parent orphans and reuses ids, so a process counts as a child only if
/// `created` (asked only for the processes the walk reaches) says it was created no earlier
/// than its parent; one `created` cannot tell is left out (it has gone). A descendant whose
/// parent has died is not found (the Job Object still ends it).
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn descendants(
    main: u32,
    table: &[(u32, u32)],
    created: &mut dyn FnMut(u32) -> Option<u64>,
) -> Vec<u32> {
    if !table.iter().any(|&(p, _)| p == main) {
        return Vec::new();
    }
    let Some(root) = created(main) else {
        return Vec::new();
    };
    let mut out = vec![main];
    let mut stack = vec![(main, root)];
    while let Some((parent, born)) = stack.pop() {
        for &(pid, pp) in table {
            if pp != parent || pid == parent || out.contains(&pid) {
                continue;
            }
            if let Some(c) = created(pid)
                && c >= born
            {
                out.push(pid);
                stack.push((pid, c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::descendants;

    #[test]
    fn a_tree_is_found_by_parent_links_and_a_reused_id_is_not_a_child() {
        // (pid, parent, created)
        let procs = [
            (10, 1, 100),
            (11, 10, 110),
            (12, 11, 120),
            // Older than 10: its parent was an earlier process with the id 10.
            (13, 10, 50),
            (14, 2, 130),
        ];
        let table: Vec<(u32, u32)> = procs.iter().map(|&(p, pp, _)| (p, pp)).collect();
        let mut asked = Vec::new();
        let mut created = |pid: u32| {
            asked.push(pid);
            procs.iter().find(|p| p.0 == pid).map(|p| p.2)
        };
        let mut got = descendants(10, &table, &mut created);
        got.sort_unstable();
        assert_eq!(got, [10, 11, 12]);
        asked.sort_unstable();
        assert_eq!(
            asked,
            [10, 11, 12, 13],
            "only the walk's processes are read"
        );
        assert!(descendants(99, &table, &mut |_| Some(0)).is_empty());
        // A child that has gone since the snapshot is left out.
        let mut without_11 = |pid: u32| {
            (pid != 11)
                .then(|| procs.iter().find(|p| p.0 == pid).map(|p| p.2))
                .flatten()
        };
        assert_eq!(descendants(10, &table, &mut without_11), [10]);
    }
}
