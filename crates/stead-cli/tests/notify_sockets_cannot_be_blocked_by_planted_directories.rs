//! Another user cannot stop `ready = "notify"` programs from starting by creating the
//! directory stead would put their sockets in (`/tmp/stead-notify-<pid>-<n>`, n = 0‥99, used
//! to be the whole choice): stead makes its own under a random name where only root can
//! create (`/run`), a program running as another user still reaches its socket, and the
//! directory is gone after a clean shutdown.
#![cfg(unix)]
mod support;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

#[test]
#[cfg_attr(not(has_root), ignore = "needs root")]
fn notify_sockets_cannot_be_blocked_by_planted_directories() {
    if skip_unless(is_root(), "planting directories as nobody needs root") {
        return;
    }
    let mut h = Harness::new("notify-planted");
    std::fs::set_permissions(&h.dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = "import os,socket,sys; print('socket=' + os.environ['NOTIFY_SOCKET'], flush=True); s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ['NOTIFY_SOCKET']); s.send(b'READY=1'); import time; time.sleep(100)";
    h.write_config(&format!(
        r#"
[supervisor]
log_dir = "{{dir}}/logs"

[program.n]
command = ["/usr/bin/python3", "-c", "{script}"]
ready = {{ notify = true, timeout = "10s" }}
user = "nobody"
autostart = false
"#
    ));
    h.up();
    // The supervisor's pid is known now, and no notify directory exists yet: plant them all.
    let pid = h.supervisor_pid();
    let planted = Planted(
        (0..100)
            .map(|n| std::env::temp_dir().join(format!("stead-notify-{pid}-{n}")))
            .collect(),
    );
    for d in &planted.0 {
        std::fs::create_dir(d).unwrap();
        std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    }
    let out = h.stead(&["start", "n"]);
    assert!(out.status.success(), "{}\n{}", text(&out), h.log());
    h.wait_for("n to be ready", Duration::from_secs(15), |h| {
        h.program("n")["ready"] == true
    });
    let log = std::fs::read_to_string(h.dir.join("logs/n.out.log")).unwrap();
    let socket = PathBuf::from(
        log.lines()
            .find_map(|l| l.split_once("socket=").map(|(_, p)| p.trim().to_string()))
            .unwrap_or_else(|| panic!("no socket path in the log:\n{log}")),
    );
    let dir = socket.parent().unwrap().to_path_buf();
    assert!(!planted.0.contains(&dir), "{}", dir.display());
    assert!(socket.exists());
    // SAFETY: plain kill(2) on the supervisor this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(h.wait_exit(Duration::from_secs(15)), 0, "{}", h.log());
    assert!(!dir.exists(), "{} is left after shutdown", dir.display());
}

/// The planted directories, removed however the test ends.
struct Planted(Vec<PathBuf>);

impl Drop for Planted {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir(d);
        }
    }
}
