//! With cgroup v2 accounting (Linux, where stead may create cgroups under its own), a
//! program's resources include a descendant that double-forked and called `setsid` — out of
//! its process group and reparented away from its main process — because the child moved
//! into the instance's cgroup before exec. Where cgroup v2 is not available (no cgroup2
//! mount, or not writable) the test says so and checks the /proc fallback instead.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn a_tree_that_double_forks_is_counted_in_its_cgroup() {
    let mut h = Harness::new("cgroup");
    let pids = h.dir.join("pids");
    h.write_config(&format!(
        r#"
[metrics]
sample = "200ms"
[program.forker]
command = ["{{child}}", "--double-fork", "--write-pids", "{}", "--sleep", "forever"]
"#,
        pids.display()
    ));
    h.up();
    h.wait_for("the pid file", T, |_| read_pids(&pids).len() >= 2);
    let family = read_pids(&pids);
    h.wait_for("a sample", T, |h| {
        h.program("forker")["resources"]["processes"]
            .as_u64()
            .is_some()
    });
    let r = h.program("forker")["resources"].clone();
    if r["cgroup"] == true {
        h.wait_for("every process of the family counted", T, |h| {
            h.program("forker")["resources"]["processes"].as_u64() == Some(family.len() as u64)
        });
        let self_cg = std::fs::read_to_string(format!("/proc/{}/cgroup", family[0])).unwrap();
        for pid in &family {
            let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            let line = |t: &str| {
                t.lines()
                    .find(|l| l.starts_with("0::"))
                    .unwrap_or("")
                    .to_string()
            };
            assert_eq!(
                line(&cg),
                line(&self_cg),
                "pid {pid} in the instance's cgroup"
            );
            assert!(line(&cg).contains("/stead-"), "{cg}");
        }
    } else {
        eprintln!(
            "NOTE: cgroup v2 accounting is not available here; checked the /proc fallback only"
        );
        assert!(r["processes"].as_u64().unwrap() >= 1, "{r}");
    }
    h.stead(&["shutdown"]);
    h.wait_exit(T);
}
