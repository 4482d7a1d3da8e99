//! `ctx.listeners()` under real systemd (PID 1 in a sandbox): the library's http example is
//! socket-activated by a `.socket` unit with `FileDescriptorName=http`. The first connection
//! starts the service, which serves on the socket systemd holds (not on the address it was
//! given, which is another port), and a `systemctl restart` of the service refuses no
//! connection: systemd keeps the socket and the kernel queues what arrives meanwhile.
#![cfg(target_os = "linux")]
mod support;
use std::process::Command;
use std::time::Duration;

use support::*;

const SOCKET: &str = "[Unit]
Description=stead library http example socket
[Socket]
ListenStream=127.0.0.1:18181
FileDescriptorName=http
[Install]
WantedBy=sockets.target
";

// The address it is given is another port: it must serve on the socket systemd hands it.
const SERVICE: &str = "[Unit]
Description=stead library http example
Requires=lib-http.socket
After=lib-http.socket
[Service]
Type=notify
ExecStart=/opt/stead/bin/http 127.0.0.1:18182
TimeoutStopSec=20
";

/// `GET path` to 127.0.0.1:18181 from inside the sandbox, with bash's /dev/tcp.
fn get(sb: &Sandbox, path: &str) -> (bool, String) {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/18181 && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
    );
    let out = sb.exec(&["bash", "-c", &script]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn library_sockets_come_from_systemd_socket_units() {
    let Some(tool) = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")
    else {
        return;
    };
    let ok = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "stead", "--example", "http"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "building the http example failed");
    let examples = stead_bin().parent().unwrap().join("examples");
    let h = Harness::new("lib-socket-systemd");
    std::fs::create_dir_all(h.dir.join("units")).unwrap();
    std::fs::write(h.dir.join("units/lib-http.socket"), SOCKET).unwrap();
    std::fs::write(h.dir.join("units/lib-http.service"), SERVICE).unwrap();
    let sb = Sandbox::up(tool, &examples, &h.dir);
    sb.install_units("units/", &["lib-http.socket", "lib-http.service"]);
    let start = sb.exec(&["systemctl", "start", "lib-http.socket"]);
    assert!(start.status.success(), "{}", text(&start));
    assert_eq!(
        sb.show("lib-http.service", "ActiveState").trim(),
        "ActiveState=inactive"
    );

    // The first connection starts the service, which answers on the socket systemd holds.
    let (ok, answer) = get(&sb, "/");
    assert!(ok && answer.contains("hello from stead"), "{answer}");
    assert_eq!(
        sb.show("lib-http.service", "ActiveState").trim(),
        "ActiveState=active"
    );
    let journal = sb.exec(&["journalctl", "-u", "lib-http.service", "--no-pager"]);
    let journal = String::from_utf8_lossy(&journal.stdout).into_owned();
    assert!(
        journal.contains("listening on http://127.0.0.1:18181 (a socket the host holds)"),
        "{journal}"
    );

    // A restart while a slow request is in flight: it is drained, and a request sent while
    // the service is down waits in the socket's queue instead of being refused.
    let first = sb.show("lib-http.service", "MainPID");
    let slow = std::thread::scope(|s| {
        let slow = s.spawn(|| get(&sb, "/slow/1500"));
        std::thread::sleep(Duration::from_millis(300));
        let restart = sb.exec(&["systemctl", "restart", "lib-http.service"]);
        assert!(restart.status.success(), "{}", text(&restart));
        slow.join().unwrap()
    });
    assert!(slow.0 && slow.1.contains("slept 1500 ms"), "{slow:?}");
    let (ok, answer) = get(&sb, "/");
    assert!(ok && answer.contains("hello from stead"), "{answer}");
    assert_ne!(sb.show("lib-http.service", "MainPID"), first);
}
