//! Soak: a program that crashes at once is restarted 10,000 times while clients send about
//! 1,000 control requests a second (keep-alive connections, a new one every 50 requests).
//! Every request is answered 200; the supervisor's open fds are exactly where they were
//! before once the program is stopped; its RSS, regressed over the second half of the run
//! against the restart count, grows by less than 128 KiB over that half (RSS moves in whole
//! pages, so a few steps are noise; a leak of 30 bytes a restart is not); the child inherits
//! only fds 0, 1 and 2.
//!
//! `STEAD_SOAK_RESTARTS=N` runs longer (`bench/soak.sh` documents an hours-long run).
#![cfg(target_os = "linux")]
mod support;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;

fn fds(pid: u32) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            )
        })
        .collect();
    out.sort();
    out
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// Reads one HTTP response (headers, then `content-length` bytes); returns its status.
fn read_response(r: &mut BufReader<UnixStream>) -> u16 {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut length = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).expect("body");
    status
}

/// Sends `GET /v1/status` at `per_sec` until `stop`; counts answers and non-200s.
fn client(sock: &Path, per_sec: u64, stop: &AtomicBool, answered: &AtomicU64, failed: &AtomicU64) {
    let gap = Duration::from_secs_f64(1.0 / per_sec as f64);
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let stream = UnixStream::connect(sock).expect("connect to the control socket");
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        for _ in 0..50 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            w.write_all(b"GET /v1/status?name=crasher HTTP/1.1\r\nHost: stead\r\n\r\n")
                .unwrap();
            if read_response(&mut r) == 200 {
                answered.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            sent += 1;
            let due = start + gap * sent as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}

#[test]
fn soak_restarts_and_requests_stay_flat() {
    let target: u64 = std::env::var("STEAD_SOAK_RESTARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut h = Harness::new("soak");
    let fd_list = h.dir.join("child-fds");
    h.write_config(&format!(
        r#"
[program.crasher]
command = ["{{child}}", "--list-fds", "{}", "--exit", "1"]
backoff = {{ initial = "0s", max = "0s", multiplier = 1.0, jitter = 0.0 }}
max_restarts = 0
"#,
        fd_list.display()
    ));
    h.up();
    let pid = h.supervisor_pid();
    let sock = h.state.join("stead.sock");

    // The first child must have run (and listed its descriptors) before it is
    // stopped: with no backoff, a stop sent at once can win the race with the spawn.
    h.wait_for(
        "the first child to list its fds",
        Duration::from_secs(10),
        |_| std::fs::read_to_string(&fd_list).is_ok_and(|t| t.ends_with('\n')),
    );
    // The baseline: the supervisor with the program stopped and no client connected.
    assert!(h.stead(&["stop", "crasher"]).status.success());
    std::thread::sleep(Duration::from_millis(300));
    let fds_before = fds(pid);

    // The child's descriptors: only stdin, stdout and stderr.
    let listed = std::fs::read_to_string(&fd_list).expect("the child listed its fds");
    let numbers: Vec<&str> = listed.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        numbers,
        ["0", "1", "2"],
        "the child inherited more:\n{listed}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
            let sock = sock.clone();
            std::thread::spawn(move || client(&sock, 250, &stop, &answered, &failed))
        })
        .collect();
    assert!(h.stead(&["start", "crasher"]).status.success());

    let started = Instant::now();
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let mut max_fds = 0;
    let restarts = loop {
        std::thread::sleep(Duration::from_millis(500));
        let restarts = h.program("crasher")["restarts"].as_u64().unwrap();
        samples.push((restarts as f64, status_kib(pid, "VmRSS:") as f64));
        max_fds = max_fds.max(fds(pid).len());
        if restarts >= target {
            break restarts;
        }
        // At least 20 restarts a second, however slow the machine.
        let limit = Duration::from_secs(600.max(target / 20));
        assert!(
            started.elapsed() < limit,
            "only {restarts} restarts in {limit:?}"
        );
    };
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a client thread failed");
    }
    assert!(h.stead(&["stop", "crasher"]).status.success());
    std::thread::sleep(Duration::from_millis(300));
    let fds_after = fds(pid);

    let answered = answered.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let second_half = &samples[samples.len() / 2..];
    let rss_slope = slope(second_half);
    let rss_per_1000 = rss_slope * 1000.0;
    let span = second_half.last().unwrap().0 - second_half[0].0;
    let grown = rss_slope * span;
    let fd_slope = fds_after.len() as f64 - fds_before.len() as f64;
    eprintln!(
        "soak: {restarts} restarts in {secs:.1} s ({:.0}/s); {answered} requests answered \
         ({:.0}/s), {failed} not 200; RSS {:.0} → {:.0} KiB, slope over the second half \
         {rss_per_1000:+.2} KiB per 1000 restarts; fds {} before, {} after (+{fd_slope}), \
         at most {max_fds} during",
        restarts as f64 / secs,
        answered as f64 / secs,
        samples[0].1,
        samples.last().unwrap().1,
        fds_before.len(),
        fds_after.len(),
    );
    assert_eq!(failed, 0, "requests that were not answered 200");
    assert_eq!(
        fds_before, fds_after,
        "the supervisor's descriptors changed over the soak"
    );
    assert!(
        grown < 128.0,
        "RSS grew {grown:.0} KiB over the last {span} restarts ({rss_per_1000:.2} KiB per 1000); \
         samples (restarts, KiB): {second_half:?}"
    );
}
