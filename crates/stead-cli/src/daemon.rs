//! `stead up --daemon`: detach properly, and return only once the control socket answers.
//!
//! The classic double fork: fork, `setsid` (a new session, no controlling terminal), fork
//! again (so the daemon is not a session leader and can never reacquire a terminal), stdio to
//! /dev/null and a log file, a pid file. The original process waits on a pipe: the daemon
//! writes `R` once its control socket listens, or `E` and the reason if it could not start.
//! All of this happens before any thread or runtime exists, which is what makes `fork` safe.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use nix::unistd::{ForkResult, dup2_stderr, dup2_stdin, dup2_stdout, fork, pipe, setsid};
use stead_supervisor::control::client::Client;
use stead_supervisor::{Config, Options};

use crate::{EXIT_FAILED, Failure};

pub(crate) fn up(
    config: Config,
    state_dir: PathBuf,
    pid_file: Option<PathBuf>,
    log_file: Option<PathBuf>,
) -> Result<u8, Failure> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Failure::new(EXIT_FAILED, format!("stead: --daemon: {what}: {e}"))
    };
    stead_supervisor::InstanceLock::acquire(&state_dir)
        .map(drop)
        .map_err(|e| Failure::new(crate::EXIT_TEMPORARY, format!("stead: {e}")))?;
    let log_path = log_file.unwrap_or_else(|| state_dir.join("stead.log"));
    let pid_path = pid_file.unwrap_or_else(|| state_dir.join("stead.pid"));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| fail(&format!("cannot open {}", log_path.display()), &e))?;
    let (read_end, write_end) = pipe().map_err(|e| fail("pipe", &e))?;
    // SAFETY: no other thread exists yet (the runtime is built after the fork).
    match unsafe { fork() }.map_err(|e| fail("fork", &e))? {
        ForkResult::Parent { .. } => {
            drop(write_end);
            wait_for_daemon(read_end, &state_dir, &pid_path, &log_path)
        }
        ForkResult::Child => {
            drop(read_end);
            let _ = setsid();
            // SAFETY: still single-threaded.
            match unsafe { fork() } {
                Ok(ForkResult::Parent { .. }) => std::process::exit(0),
                Ok(ForkResult::Child) => {}
                Err(_) => std::process::exit(EXIT_FAILED.into()),
            }
            std::process::exit(daemon_main(config, state_dir, &pid_path, &log, write_end).into())
        }
    }
}

fn daemon_main(
    config: Config,
    state_dir: PathBuf,
    pid_path: &std::path::Path,
    log: &std::fs::File,
    ready: OwnedFd,
) -> u8 {
    let mut ready = std::fs::File::from(ready);
    let redirect = || -> std::io::Result<()> {
        let null = std::fs::File::open("/dev/null")?;
        dup2_stdin(&null)?;
        dup2_stdout(log)?;
        dup2_stderr(log)?;
        Ok(())
    };
    if let Err(e) = redirect() {
        let _ = write!(ready, "Ecannot redirect stdio: {e}");
        return EXIT_FAILED;
    }
    crate::run::init_tracing_for_daemon();
    let mut options = Options::new(config, state_dir);
    options.pid_file = Some(pid_path.to_path_buf());
    let notify = ready.try_clone();
    let start_line = crate::run::start_line(&options);
    options.on_listening = Some(Box::new(move || {
        start_line();
        if let Ok(mut f) = notify {
            let _ = f.write_all(b"R");
        }
    }));
    let result = crate::run::supervise(options);
    match result {
        Ok(code) => code,
        Err(f) => {
            let _ = write!(ready, "E{}", f.message);
            eprintln!("{}", f.message);
            f.code
        }
    }
}

fn wait_for_daemon(
    read_end: OwnedFd,
    state_dir: &std::path::Path,
    pid_path: &std::path::Path,
    log_path: &std::path::Path,
) -> Result<u8, Failure> {
    let mut pipe = std::fs::File::from(read_end);
    let fd = pipe.as_raw_fd();
    let mut pfd = [nix::poll::PollFd::new(
        // SAFETY: `pipe` owns the fd and outlives this borrow.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::poll::PollFlags::POLLIN,
    )];
    let ready = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(30_000u16)).unwrap_or(0);
    if ready == 0 {
        return Err(Failure::new(
            EXIT_FAILED,
            format!(
                "stead: the daemon did not report ready within 30s; see {}",
                log_path.display()
            ),
        ));
    }
    let mut msg = Vec::new();
    let mut first = [0u8; 1];
    let n = pipe.read(&mut first).unwrap_or(0);
    if n == 0 || first[0] != b'R' {
        let _ = pipe.read_to_end(&mut msg);
        let why = if msg.is_empty() {
            format!("it exited; see {}", log_path.display())
        } else {
            String::from_utf8_lossy(&msg).into_owned()
        };
        return Err(Failure::new(
            EXIT_FAILED,
            format!("stead: the daemon failed to start: {why}"),
        ));
    }
    let endpoint = stead_supervisor::control_endpoint(state_dir);
    let client = Client::new(endpoint.clone());
    for _ in 0..200 {
        let health = stead_supervisor::control::api::Endpoint::Health;
        if client.call(health.method(), health.path(), None).is_ok() {
            let pid = std::fs::read_to_string(pid_path).unwrap_or_default();
            println!(
                "stead is up (pid {}); control socket {}; log {}",
                pid.trim(),
                endpoint.display(),
                log_path.display()
            );
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(Failure::new(
        EXIT_FAILED,
        format!(
            "stead: the daemon started but {} does not answer; see {}",
            endpoint.display(),
            log_path.display()
        ),
    ))
}
