//! `sockets = [...]`: stead binds once and hands the same sockets to every instance with the
//! systemd protocol. Real clients connect without pause while the program is restarted: none
//! is refused (the kernel queues them in the held socket), a real server from `PyPI`
//! (gunicorn, which reads `LISTEN_FDS` itself) loses no request at all, a unix socket keeps its path, mode and
//! inode, and a socket that cannot be had is an error that names it and changes nothing.
#![cfg(unix)]
mod support;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::*;

/// A server in Python's standard library that checks the protocol, then answers each
/// connection with its pid and the names it was handed.
const SERVER: &str = r#"
import os, socket, sys
assert os.environ["LISTEN_PID"] == str(os.getpid()), "LISTEN_PID is not this process"
n = int(os.environ["LISTEN_FDS"])
names = os.environ["LISTEN_FDNAMES"]
for fd in range(3, 3 + n):
    assert socket.socket(fileno=os.dup(fd)).getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
s = socket.socket(fileno=3)
print("serving", n, names, flush=True)
while True:
    c, _ = s.accept()
    c.recv(100)
    c.sendall(f"{os.getpid()} {names}\n".encode())
    c.close()
"#;

fn restart_while_hammered(h: &Harness, port: u16, request: &'static [u8], times: u32) -> Tally {
    restart_while_hammered_by(h, port, request, times, 1)
}

/// [`restart_while_hammered`] with `clients` connecting at once.
fn restart_while_hammered_by(
    h: &Harness,
    port: u16,
    request: &'static [u8],
    times: u32,
    clients: usize,
) -> Tally {
    let stop = Arc::new(AtomicBool::new(false));
    let all: Vec<_> = (0..clients)
        .map(|_| hammer(port, request, Arc::clone(&stop)))
        .collect();
    for _ in 0..times {
        std::thread::sleep(Duration::from_millis(300));
        let out = h.stead(&["restart", "web", "--timeout", "30s"]);
        assert!(out.status.success(), "restart: {}", text(&out));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut t = Tally::default();
    for c in all {
        t.merge(c.join().unwrap());
    }
    t
}

#[test]
fn a_held_socket_refuses_no_connection_across_restarts() {
    let mut h = Harness::new("held-tcp");
    let port = free_port();
    std::fs::write(h.dir.join("server.py"), SERVER).unwrap();
    h.write_config(&format!(
        r#"
[program.web]
command = ["python3", "server.py"]
sockets = ["tcp://127.0.0.1:{port}", {{ listen = "unix:web.sock", name = "admin" }}]
ready = {{ log = "serving", timeout = "60s" }}
"#
    ));
    h.up();
    h.wait_for("web ready", Duration::from_secs(60), |h| {
        h.program("web")["ready"] == true
    });
    let t = restart_while_hammered(&h, port, b"x", 5);
    // A restart kills the old process with SIGTERM: a connection it had already accepted
    // may be reset (this server does not drain), but none may be refused.
    assert_eq!(t.refused, 0, "refused connections across restarts: {t:?}");
    assert!(t.ok > 50, "too few answers: {t:?}");
    assert!(
        t.other.len() <= 5,
        "at most one dropped in-flight connection per restart: {t:?}"
    );
    let pids: std::collections::BTreeSet<_> = t
        .answers
        .iter()
        .map(|a| a.split(' ').next().unwrap().to_string())
        .collect();
    assert!(
        pids.len() >= 4,
        "answers came from {pids:?}: the restarts did not happen"
    );
    assert!(
        t.answers.iter().all(|a| a.ends_with(" web:admin")),
        "LISTEN_FDNAMES: {:?}",
        t.answers
    );
}

#[test]
#[cfg_attr(
    not(has_gunicorn),
    ignore = "needs gunicorn (python3 -m pip install gunicorn)"
)]
fn gunicorn_serves_through_restarts_without_losing_a_request() {
    let mut h = Harness::new("held-gunicorn");
    let port = free_port();
    if !up_gunicorn(&mut h, port, "") {
        return;
    }
    let t = restart_while_hammered(&h, port, b"GET / HTTP/1.0\r\n\r\n", 4);
    assert_eq!(t.refused, 0, "{t:?}");
    assert!(
        t.other.is_empty(),
        "gunicorn drains on SIGTERM: nothing may fail: {t:?}"
    );
    assert!(t.ok > 50, "{t:?}");
    // Each body is the gunicorn master's pid: one per restart, and the first.
    assert!(t.answers.iter().all(|a| a.parse::<u32>().is_ok()), "{t:?}");
    assert!(t.answers.len() >= 4, "the restarts did not happen: {t:?}");
}

#[test]
fn the_library_example_takes_its_socket_and_drains_across_restarts() {
    let ok = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "stead", "--example", "http"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "building the http example failed");
    let example = stead_bin().parent().unwrap().join("examples/http");
    let mut h = Harness::new("held-library");
    let port = free_port();
    // The example's own address is another port: it must serve on the one it is handed.
    h.write_config(&format!(
        r#"
[program.web]
command = ["{}", "127.0.0.1:{}"]
sockets = [{{ listen = "tcp://127.0.0.1:{port}", name = "http" }}]
ready = {{ log = "listening on" }}
"#,
        example.display(),
        free_port()
    ));
    h.up();
    h.wait_for("web ready", Duration::from_secs(60), |h| {
        h.program("web")["ready"] == true
    });
    // Four clients keep connecting: a restart always finds connections just accepted whose
    // request has not arrived yet (a graceful shutdown that closed those dropped a few per
    // restart).
    let t = restart_while_hammered_by(&h, port, b"GET / HTTP/1.0\r\n\r\n", 10, 4);
    assert_eq!(t.refused, 0, "{t:?}");
    assert!(t.other.is_empty(), "in-flight requests are drained: {t:?}");
    assert!(t.ok > 20, "{t:?}");
    let log = std::fs::read_to_string(h.state.join("logs/web.err.log")).unwrap_or_default();
    assert!(
        log.contains(&format!(
            "listening on http://127.0.0.1:{port} (a socket the host holds)"
        )),
        "{log}"
    );
}

#[test]
fn a_held_unix_socket_keeps_its_path_mode_and_inode() {
    let mut h = Harness::new("held-unix");
    let sock = h.dir.join("run/app.sock");
    // A regular file where a socket is asked for: refused, and left as it was.
    std::fs::create_dir_all(h.dir.join("run")).unwrap();
    std::fs::write(&sock, "precious").unwrap();
    std::fs::write(
        h.dir.join("server.py"),
        "import socket,os\ns=socket.socket(fileno=3)\nwhile True:\n    c,_=s.accept(); c.sendall(str(os.getpid()).encode()); c.close()\n",
    )
    .unwrap();
    h.write_config(
        r#"
[program.web]
command = ["python3", "server.py"]
sockets = [{ listen = "unix:run/app.sock", mode = 0o600 }]
"#,
    );
    let out = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("cannot listen on unix:") && err.contains("is not a socket"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&sock).unwrap(), "precious");

    std::fs::remove_file(&sock).unwrap();
    h.up();
    h.wait_for("web running", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let ask = || {
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        let mut a = String::new();
        s.read_to_string(&mut a).unwrap();
        a
    };
    let first = ask();
    let out = h.stead(&["restart", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    let second = ask();
    assert_ne!(first, second, "a new process answers after the restart");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().ino(),
        meta.ino(),
        "the same socket"
    );

    let out = h.stead(&["shutdown"]);
    assert!(out.status.success(), "{}", text(&out));
    h.wait_exit(Duration::from_secs(10));
    assert!(
        !sock.exists(),
        "the socket file stead made is removed when it ends"
    );
}

#[test]
fn a_socket_that_cannot_be_had_is_named_and_changes_nothing() {
    let mut h = Harness::new("held-busy");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let port = free_port();
    std::fs::write(h.dir.join("server.py"), SERVER).unwrap();
    // At start: stead does not start at all.
    h.write_config(&format!(
        "[program.web]\ncommand = [\"python3\", \"server.py\"]\nsockets = [\"tcp://127.0.0.1:{busy_port}\"]\n"
    ));
    let out = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains(&format!(
            "program web: cannot listen on tcp://127.0.0.1:{busy_port}"
        )) && err.contains("another process listens there"),
        "{err}"
    );

    // At reload: the running program and its socket stay as they were.
    let good = format!(
        "[program.web]\ncommand = [\"python3\", \"server.py\"]\nsockets = [\"tcp://127.0.0.1:{port}\"]\n"
    );
    h.write_config(&good);
    h.up();
    h.wait_for("web running", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    let pid = h.pid_of("web");
    h.write_config(&format!(
        "{good}[program.other]\ncommand = [\"python3\", \"server.py\"]\nsockets = [\"tcp://127.0.0.1:{busy_port}\"]\n"
    ));
    let out = h.stead(&["reload"]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains(&format!("cannot listen on tcp://127.0.0.1:{busy_port}"))
            && err.contains("not touched"),
        "{err}"
    );
    assert_eq!(h.pid_of("web"), pid);
    assert_eq!(h.status()["programs"].as_array().unwrap().len(), 1);
    let mut answer = String::new();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"x").unwrap();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with(&pid.unwrap().to_string()), "{answer}");
    drop(busy);
}

#[test]
fn stead_run_holds_a_socket_too() {
    let h = Harness::new("held-run");
    let port = free_port();
    let check = "import os, socket\n\
assert os.environ['LISTEN_PID'] == str(os.getpid())\n\
assert os.environ['LISTEN_FDS'] == '1' and os.environ['LISTEN_FDNAMES'] == 'run'\n\
s = socket.socket(fileno=3)\n\
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1\n\
assert s.getsockname()[1] == int(os.environ['PORT'])\n\
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n\
assert fds[:4] == [0, 1, 2, 3] and len(fds) == 5, fds  # the fifth: listdir's own\n";
    let out = h
        .command()
        .env("PORT", port.to_string())
        .args(["run", "--restart", "never", "--socket"])
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["--", "python3", "-c", check])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_reload_never_changes_a_file_through_a_swapped_socket_path() {
    let mut h = Harness::new("held-swap");
    let run = h.dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let victim = h.dir.join("victim");
    std::fs::write(&victim, "secret").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sock = run.join("app.sock");
    std::fs::write(h.dir.join("server.py"), SERVER).unwrap();
    let config = |mode: &str| {
        format!(
            "[program.web]\ncommand = [\"python3\", \"server.py\"]\nsockets = [{{ listen = \"unix:run/app.sock\", mode = {mode} }}]\n"
        )
    };
    h.write_config(&config("0o660"));
    h.up();
    h.wait_for("web running", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    // Whoever owns the directory swaps the socket for a link to another file.
    std::fs::remove_file(&sock).unwrap();
    std::os::unix::fs::symlink(&victim, &sock).unwrap();
    h.write_config(&config("0o666"));
    let out = h.stead(&["reload"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no longer the socket stead made"),
        "{}",
        text(&out)
    );
    let meta = std::fs::metadata(&victim).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the file behind the link is untouched"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
    // At shutdown the link is not removed either (it is not what stead made).
    let out = h.stead(&["shutdown"]);
    assert!(out.status.success(), "{}", text(&out));
    h.wait_exit(Duration::from_secs(10));
    assert!(std::fs::symlink_metadata(&sock).is_ok());
}

#[test]
fn a_refused_reload_leaves_kept_sockets_as_they_were() {
    let mut h = Harness::new("held-keep");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    std::fs::write(h.dir.join("server.py"), SERVER).unwrap();
    let config = |mode: &str, extra: &str| {
        format!(
            "[program.web]\ncommand = [\"python3\", \"server.py\"]\nsockets = [{{ listen = \"unix:a.sock\", mode = {mode} }}{extra}]\n"
        )
    };
    h.write_config(&config("0o600", ""));
    h.up();
    h.wait_for("web running", Duration::from_secs(10), |h| {
        h.state_of("web") == "running"
    });
    h.write_config(&config(
        "0o666",
        &format!(", \"tcp://127.0.0.1:{busy_port}\""),
    ));
    let out = h.stead(&["reload"]);
    assert!(!out.status.success());
    let mode = std::fs::metadata(h.dir.join("a.sock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "a refused reload changed a kept socket");
    drop(busy);
}

#[test]
fn a_stale_socket_with_a_full_queue_is_refused_without_waiting() {
    let h = Harness::new("held-full");
    let sock = h.dir.join("hog.sock");
    // A listener that never accepts, its queue full.
    let hog = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import socket, time\ns = socket.socket(socket.AF_UNIX)\ns.bind({:?})\ns.listen(0)\n\
             cs = []\nfor _ in range(8):\n    c = socket.socket(socket.AF_UNIX); c.setblocking(False)\n    \
             try: c.connect({:?})\n    except OSError: pass\n    cs.append(c)\nprint('full', flush=True)\ntime.sleep(60)\n",
            sock.display().to_string(),
            sock.display().to_string()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut hog = Guard(hog);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(hog.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "full");
    h.write_config("[program.web]\ncommand = [\"sleep\", \"60\"]\nsockets = [\"unix:hog.sock\"]\n");
    let began = std::time::Instant::now();
    let out = h.stead(&["up", "-c", h.config.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("a process listens on"),
        "{}",
        text(&out)
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "it waited: {:?}",
        began.elapsed()
    );
    drop(hog);
}

/// Kills the child when dropped.
struct Guard(std::process::Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
