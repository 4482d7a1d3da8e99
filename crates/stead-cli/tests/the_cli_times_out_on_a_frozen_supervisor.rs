//! A supervisor that does not answer (stopped with SIGSTOP) makes `stead status` give up
//! after `--timeout` with exit code 75 (temporary) and a message naming the socket and
//! what to do, instead of waiting forever.
#![cfg(unix)]
mod support;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn the_cli_times_out_on_a_frozen_supervisor() {
    let mut h = Harness::new("frozen-supervisor");
    h.write_config("[program.a]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\n");
    h.up();
    let pid = h.supervisor_pid() as i32;
    // SAFETY: plain kill(2) on the supervisor this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let started = Instant::now();
    let out = h.stead(&["status", "--timeout", "1s"]);
    let took = started.elapsed();
    let by_env = h
        .command()
        .env("STEAD_TIMEOUT", "500ms")
        .arg("status")
        .output()
        .unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not answer within 1s"), "{err}");
    assert!(err.contains("stead.sock"), "the socket is named: {err}");
    assert!(err.contains("--timeout"), "what to do: {err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "gave up after {took:?}"
    );
    assert_eq!(by_env.status.code(), Some(75), "{}", text(&by_env));
    assert!(text(&by_env).contains("within 500ms"), "{}", text(&by_env));
    // Running again, it answers.
    assert_eq!(h.state_of("a"), "running");
    // A timeout of nothing is a usage error.
    let zero = h.stead(&["status", "--timeout", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero));
}

/// A supervisor that stopped accepting, with its connection queue full: connecting itself
/// would wait. The command still gives up after `--timeout`, with the same exit code.
/// (Linux: the queue is filled with non-blocking connects, which report `EAGAIN` when full.)
#[cfg(target_os = "linux")]
#[test]
fn a_full_connection_queue_is_a_timeout_not_a_hang() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let dir = std::env::temp_dir().join(format!("stead-test-full-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stead.sock");
    let socket = |flags: i32| {
        // SAFETY: socket(2) with constant arguments; the fd is owned at once.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | flags, 0) };
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh fd that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd) }
    };
    // SAFETY: an all-zero sockaddr_un is valid; the path is copied in below.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr
        .sun_path
        .iter_mut()
        .zip(path.as_os_str().as_encoded_bytes())
    {
        *d = *s as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let addr_ptr = (&raw const addr).cast::<libc::sockaddr>();
    let listener = socket(0);
    // SAFETY: bind(2) and listen(2) on our own socket with a valid address.
    unsafe {
        assert_eq!(libc::bind(listener.as_raw_fd(), addr_ptr, len), 0);
        assert_eq!(libc::listen(listener.as_raw_fd(), 0), 0);
    }
    // Fill the queue: connect without waiting until the kernel says it is full.
    let mut queued = Vec::new();
    loop {
        let c = socket(libc::SOCK_NONBLOCK);
        // SAFETY: connect(2) on our own socket with a valid address.
        let r = unsafe { libc::connect(c.as_raw_fd(), addr_ptr, len) };
        if r != 0 {
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EAGAIN),
                "the queue fills up"
            );
            break;
        }
        queued.push(c);
        assert!(queued.len() < 100, "the queue never filled");
    }
    let started = Instant::now();
    let out = std::process::Command::new(stead_bin())
        .args(["--state-dir"])
        .arg(&dir)
        .args(["status", "--timeout", "1s"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(
        text(&out).contains("did not answer within 1s"),
        "{}",
        text(&out)
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "gave up after {took:?}"
    );
    drop(queued);
}
