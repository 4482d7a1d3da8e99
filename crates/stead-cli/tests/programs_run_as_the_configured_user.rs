//! With `user`/`group`, a program runs with that uid, gid and the user's supplementary
//! groups, and with HOME/USER set to the user's (stead running as root).
#![cfg(target_os = "linux")]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::*;

#[test]
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
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert!(
        !groups.split_whitespace().any(|g| g == "0"),
        "root's groups were dropped: {groups}"
    );
}
