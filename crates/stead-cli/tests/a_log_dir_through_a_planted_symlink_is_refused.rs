//! A `log_dir` reached through a symlink that another user could point elsewhere (it sits in
//! a world-writable directory without the sticky bit) is refused at start, naming the link,
//! why, and the fix: stead (as root) never writes its logs wherever that user chooses, such
//! as `/etc`. Nothing is created at the link's target. The state directory is judged the
//! same way. The real directory is accepted.
#![cfg(unix)]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;
use support::*;

#[test]
fn a_log_dir_through_a_planted_symlink_is_refused() {
    let mut h = Harness::new("log-dir-link");
    let shared = h.dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    // What another user would do: point the link at a place they want root to write in.
    let target = h.dir.join("victim-dir");
    std::fs::create_dir(&target).unwrap();
    let link = shared.join("logs");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let config = r#"
[supervisor]
log_dir = "{dir}/shared/logs/app"

[program.web]
command = ["{child}", "--stdout", "hello", "--sleep", "forever"]
"#;
    h.write_config(config);
    let out = h
        .command()
        .args(["up", "-c"])
        .arg(&h.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{} -> {}", link.display(), target.display()))
            && err.contains("mode 777")
            && err.contains("Give the real directory instead"),
        "the refusal does not name the link, why and the fix:\n{err}"
    );
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        0,
        "something was created through the link"
    );
    // The state directory is judged the same way.
    let state_link = shared.join("state");
    std::os::unix::fs::symlink(&target, &state_link).unwrap();
    let out = h
        .command()
        .env("STEAD_STATE_DIR", &state_link)
        .args(["up", "-c"])
        .arg(&h.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the state directory {}", state_link.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // The real directory is fine.
    h.write_config(&config.replace("{dir}/shared/logs/app", "{dir}/victim-dir/app"));
    h.up();
    h.wait_for(
        "the program's line in its log",
        Duration::from_secs(10),
        |_| {
            std::fs::read_to_string(target.join("app/web.out.log"))
                .is_ok_and(|s| s.contains("hello"))
        },
    );
}
