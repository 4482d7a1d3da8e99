//! Held sockets on Windows, run under Wine: the Windows build of stead binds the socket, duplicates
//! it for each new instance (`WSADuplicateSocketW`) and sends it down the inherited pipe; the
//! library's http example (Windows build) takes it and serves on it. The example is given
//! another address of its own, which it binds only when no socket is handed: an answer on the
//! held port proves the hand-over. A connection made while no instance runs waits in the
//! socket's queue and is answered by the next instance; connections made without pause
//! across restarts are never refused. Wine uses the host's sockets, so the client is this
//! Linux test. Wine cannot deliver Ctrl-Break, so each stop is the Job Object kill: the
//! drain of in-flight requests is shown on Unix only
//! (`held_sockets_refuse_no_connection_across_restarts.rs`).
#![cfg(target_os = "linux")]
mod support;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::*;

/// Sends `GET /` on a new connection to `port` and reads the whole answer; `Err` says what
/// failed (a refused connection is `ConnectionRefused`).
fn get(port: u16, wait: Duration) -> std::io::Result<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(wait))?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = String::new();
    c.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Asks `port` until it answers, for up to `limit` (Wine starts a process slowly).
fn first_answer(port: u16, limit: Duration, log: &std::path::Path) -> String {
    let start = Instant::now();
    loop {
        match get(port, Duration::from_secs(20)) {
            Ok(a) if !a.is_empty() => return a,
            other => assert!(
                start.elapsed() < limit,
                "no answer on {port} within {limit:?}: {other:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn status(wine: &Wine) -> serde_json::Value {
    let (code, out) = wine.run(
        &["./stead.exe", "status", "--json"],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
#[cfg_attr(
    not(has_wine_sandbox),
    ignore = "needs root and ../shared/tools/wine-sandbox beside the repository"
)]
fn windows_programs_keep_held_sockets_across_restarts() {
    let Some(tool) = shared_tool("wine-sandbox", "installing and running Wine needs root") else {
        return;
    };
    let target = windows_build(&["-p", "stead-cli"]);
    windows_build(&["-p", "stead", "--example", "http"]);

    let h = Harness::new("wine-held");
    let wine = Wine::up(tool, &h.dir);
    wine.put(&[&target.join("stead.exe"), &target.join("examples/http.exe")]);
    let background = |args: &[&str], log: &str| wine.spawn(args, &h.dir.join(log));

    // `stead run --socket`: the program serves on the socket it is handed.
    let port = free_port();
    let held = format!("tcp://127.0.0.1:{port}");
    let own = format!("127.0.0.1:{}", free_port());
    let mut run = background(
        &[
            "./stead.exe",
            "run",
            "--restart",
            "never",
            "--socket",
            &held,
            "--",
            "./http.exe",
            &own,
        ],
        "run.out",
    );
    let answer = first_answer(port, Duration::from_secs(120), &h.dir.join("run.out"));
    assert!(answer.ends_with("hello from stead\n"), "{answer}");
    let (code, out) = wine.run(
        &["taskkill", "/F", "/IM", "http.exe"],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{out}");
    let code = wait_within(&mut run, Duration::from_secs(30));
    let out = std::fs::read_to_string(h.dir.join("run.out")).unwrap_or_default();
    assert!(
        out.contains(&format!(
            "listening on http://127.0.0.1:{port} (a socket the host holds)"
        )),
        "{out}"
    );
    assert!(
        code.is_some(),
        "stead run did not end with its program: {out}"
    );

    // `stead up`: the same socket for every instance.
    let port = free_port();
    std::fs::write(
        wine.drive_c.join("stead.toml"),
        format!(
            "[program.web]\ncommand = [\"./http.exe\", \"127.0.0.1:{}\"]\n\
             sockets = [{{ listen = \"tcp://127.0.0.1:{port}\", name = \"http\" }}]\n\
             stop_timeout = \"5s\"\n",
            free_port()
        ),
    )
    .unwrap();
    let mut supervisor = background(&["./stead.exe", "up", "-c", "stead.toml"], "up.out");
    let up_log = h.dir.join("up.out");
    let answer = first_answer(port, Duration::from_secs(120), &up_log);
    assert!(answer.ends_with("hello from stead\n"), "{answer}");
    let first = status(&wine)["programs"][0]["pid"].clone();
    assert!(first.is_u64(), "{first}");

    // A connection made while nothing runs waits in the held socket, and the next instance
    // answers it.
    let (code, out) = wine.run(&["./stead.exe", "stop", "web"], Duration::from_secs(60));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(status(&wine)["programs"][0]["state"], "stopped");
    let mut waiting = TcpStream::connect(("127.0.0.1", port))
        .expect("a held socket takes connections while its program is stopped");
    waiting.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let (code, out) = wine.run(&["./stead.exe", "start", "web"], Duration::from_secs(120));
    assert_eq!(code, Some(0), "{out}");
    let mut answer = String::new();
    waiting
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("the queued connection: {e}\n{answer}"));
    assert!(answer.ends_with("hello from stead\n"), "{answer}");
    let second = status(&wine)["programs"][0]["pid"].clone();
    assert!(second.is_u64() && second != first, "{first} then {second}");

    // Clients that connect without pause across restarts: none is refused. (A connection
    // the killed instance had accepted may be reset: the stop is a kill under Wine.)
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| hammer(port, b"GET / HTTP/1.0\r\n\r\n", Arc::clone(&stop)))
        .collect();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500));
        let (code, out) = wine.run(
            &["./stead.exe", "restart", "web", "--timeout", "60s"],
            Duration::from_secs(120),
        );
        assert_eq!(code, Some(0), "restart: {out}");
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let mut t = Tally::default();
    for c in clients {
        t.merge(c.join().unwrap());
    }
    eprintln!(
        "across 3 restarts: {} answered, {} refused, {} failed otherwise",
        t.ok,
        t.refused,
        t.other.len()
    );
    assert_eq!(t.refused, 0, "refused across restarts: {t:?}");
    assert!(t.ok >= 10, "too few answers: {t:?}");
    assert!(t.answers.iter().all(|a| a == "hello from stead"), "{t:?}");
    let third = status(&wine)["programs"][0]["pid"].clone();
    assert!(third.is_u64() && third != second, "{second} then {third}");

    let (code, out) = wine.run(&["./stead.exe", "shutdown"], Duration::from_secs(30));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        wait_within(&mut supervisor, Duration::from_secs(30)),
        Some(0),
        "{}",
        std::fs::read_to_string(&up_log).unwrap_or_default()
    );
}
