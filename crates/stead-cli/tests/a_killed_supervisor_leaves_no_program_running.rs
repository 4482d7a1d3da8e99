//! SIGKILL of the supervisor (it cannot stop anything): its programs get SIGTERM from the
//! kernel (parent-death signal) instead of running on unmanaged, and whatever they left (a
//! grandchild in their group) is ended by the next supervisor on the same state directory
//! before it starts its programs — one live instance, never two.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

#[test]
fn a_killed_supervisor_leaves_no_program_running() {
    let mut h = Harness::new("killed-supervisor");
    h.write_config(
        r#"
[program.app]
command = ["{child}", "--spawn-grandchild", "1", "--write-pids", "{dir}/pids", "--sleep", "forever"]
"#,
    );
    h.up();
    let pids_file = h.dir.join("pids");
    h.wait_for(
        "the program and its grandchild",
        Duration::from_secs(10),
        |_| read_pids(&pids_file).len() == 2,
    );
    let old = read_pids(&pids_file);
    std::fs::remove_file(&pids_file).unwrap();
    sigkill(h.supervisor_pid());
    h.wait_for(
        "the program to get its parent-death signal",
        Duration::from_secs(10),
        |_| !alive(old[0]),
    );
    assert!(
        alive(old[1]),
        "the grandchild outlives a killed supervisor (nothing signals it)"
    );

    h.up();
    h.wait_for("the new instance", Duration::from_secs(10), |_| {
        read_pids(&pids_file).len() == 2
    });
    let new = read_pids(&pids_file);
    assert!(
        !alive(old[1]),
        "the new supervisor ended the old generation's grandchild"
    );
    assert!(new.iter().all(|p| alive(*p)) && !new.contains(&old[0]));
    assert!(
        h.log().contains("left running by an earlier stead"),
        "{}",
        h.log()
    );
}
