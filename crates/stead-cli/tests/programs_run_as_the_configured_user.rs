//! With `user`/`group`, a program runs with that uid, gid and the user's supplementary
//! groups, and with HOME/USER set to the user's (stead running as root); the kernel's view of
//! the child (`/proc/PID/status`) shows every id switched and no capability kept.
#![cfg(target_os = "linux")]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::*;

#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn programs_run_as_the_configured_user() {
    if skip_unless(is_root(), "switching users needs root") {
        return;
    }
    let mut h = Harness::new("as-user");
    let out = h.dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    h.write_config(
        r#"
[program.who]
command = ["sh", "-c", "echo \"$(id -u) $(id -g) $USER\" > {dir}/out/id; exec sleep 1000"]
user = "nobody"
group = "nogroup"
"#,
    );
    h.up();
    let id_file = out.join("id");
    h.wait_for(
        "the program to write its ids",
        Duration::from_secs(5),
        |_| std::fs::read_to_string(&id_file).is_ok_and(|s| s.ends_with('\n')),
    );
    let ids = std::fs::read_to_string(&id_file).unwrap();
    assert_eq!(ids.trim(), "65534 65534 nobody", "uid gid USER");
    let pid = h.pid_of("who").unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {status}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // Read back from the kernel: real, effective, saved and filesystem ids all switched
    // (setgroups, then setgid, then setuid: a setuid first would leave no right to change
    // the groups), no supplementary group of root's, no capability left.
    assert_eq!(field("Uid:"), ["65534"; 4], "uids");
    assert_eq!(field("Gid:"), ["65534"; 4], "gids");
    let groups = field("Groups:");
    assert!(
        !groups.contains(&"0"),
        "root's groups were dropped: {groups:?}"
    );
    for cap in ["CapPrm:", "CapEff:", "CapAmb:"] {
        assert_eq!(
            field(cap),
            ["0000000000000000"],
            "{cap} of a program run as nobody"
        );
    }
}

/// An `exec` probe runs as the program's account, not as root (`pg_isready` as root filled
/// the database's log with `role "root" does not exist`), with that account's `USER`.
#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn exec_probes_run_as_the_programs_user() {
    if skip_unless(is_root(), "switching users needs root") {
        return;
    }
    let mut h = Harness::new("probe-as-user");
    let out = h.dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    h.write_config(
        r#"
[program.db]
command = ["sleep", "1000"]
user = "nobody"
group = "nogroup"
ready = { exec = ["sh", "-c", "echo \"$(id -u) $(id -g) $USER\" > {dir}/out/probe; test \"$(id -u)\" = 65534"], interval = "100ms" }
"#,
    );
    h.up();
    h.wait_for("the probe to pass", Duration::from_secs(10), |h| {
        h.program("db")["ready"] == true
    });
    let ids = std::fs::read_to_string(out.join("probe")).unwrap();
    assert_eq!(
        ids.trim(),
        "65534 65534 nobody",
        "uid gid USER of the probe"
    );
}
