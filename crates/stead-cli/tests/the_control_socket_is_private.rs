//! The control socket is mode 0600 in a 0700 directory, and a peer of another uid is refused
//! even when the file mode would let it connect.
#![cfg(target_os = "linux")]
mod support;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use support::*;

fn started(name: &str) -> Harness {
    let mut h = Harness::new(name);
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    h
}

#[test]
fn the_control_socket_is_private() {
    let h = started("socket-private");
    let sock = h.state.join("stead.sock");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&h.state).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
#[cfg_attr(not(has_root), ignore = "needs root (to connect as another uid)")]
fn a_peer_of_another_uid_is_refused_though_the_mode_lets_it_connect() {
    if skip_unless(is_root(), "switching to another uid needs root") {
        return;
    }
    let h = started("socket-other-uid");
    let sock = h.state.join("stead.sock");
    // Open the path up, as a careless admin might: the peer-credential check still refuses.
    std::fs::set_permissions(&h.state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The build directory may not be reachable by another user: run a copy from the
    // scratch directory.
    let copy = h.dir.join("stead-as-nobody");
    std::fs::copy(stead_bin(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(&copy)
        .env("STEAD_STATE_DIR", &h.state)
        .args(["status"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("uid 65534 may not control this supervisor"),
        "{err}"
    );
    // The supervisor is undisturbed.
    h.wait_for("status as root", Duration::from_secs(2), |h| {
        h.try_status().is_some()
    });
    assert!(h.log().contains("refused a connection"));
}
