//! Commands that talk to a running supervisor over its control endpoint.

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use stead_supervisor::control::api::{
    ActionReport, ActionRequest, Endpoint, EventsReport, ReloadReport, SignalRequest, State,
    StatusReport, Verb,
};
use stead_supervisor::control::client::{Answer, Client, ClientError};

use crate::cli::ActionArgs;
use crate::render;
use crate::{EXIT_FAILED, EXIT_NOT_FOUND, EXIT_PERMISSION, EXIT_TEMPORARY, EXIT_USAGE, Failure};
use stead_supervisor::config::Amount;

/// `--timeout`, set once from the command line.
static TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

pub(crate) fn set_timeout(timeout: Duration) {
    let _ = TIMEOUT.set(timeout);
}

/// A client of the supervisor in `state_dir`, with `--timeout`.
pub(crate) fn client(state_dir: &Path) -> Client {
    Client::new(stead_supervisor::control_endpoint(state_dir))
        .with_timeout(TIMEOUT.get().copied().unwrap_or(Duration::from_secs(10)))
}

/// Maps a client error to an exit code and a message for people.
pub(crate) fn failure(e: &ClientError) -> Failure {
    let code = match e {
        ClientError::NotRunning { .. } => EXIT_NOT_FOUND,
        ClientError::PermissionDenied { .. } => EXIT_PERMISSION,
        ClientError::TimedOut { .. } => EXIT_TEMPORARY,
        ClientError::Api { status, .. } => match status {
            403 => EXIT_PERMISSION,
            404 => EXIT_NOT_FOUND,
            400 | 405 | 413 | 422 => EXIT_USAGE,
            409 | 503 => EXIT_TEMPORARY,
            _ => EXIT_FAILED,
        },
        _ => EXIT_FAILED,
    };
    Failure::new(code, format!("stead: {e}"))
}

/// Pretty JSON, with nothing in it a terminal would act on (see `terminal::escape_json`).
fn print_json<T: serde::Serialize>(value: &T) {
    let json = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{}", stead_supervisor::terminal::escape_json(&json));
}

/// `/v1/status?name=a&name=b`.
pub(crate) fn status_path(names: &[String]) -> String {
    let mut path = String::from(Endpoint::Status.path());
    for (i, n) in names.iter().enumerate() {
        path.push(if i == 0 { '?' } else { '&' });
        path.push_str("name=");
        path.push_str(&percent_encode(n));
    }
    path
}

pub(crate) fn status(state_dir: &Path, names: &[String], json: bool) -> Result<u8, Failure> {
    let report: StatusReport = client(state_dir)
        .get(&status_path(names))
        .map_err(|e| failure(&e))?;
    if json {
        print_json(&report);
    } else {
        print!("{}", render::status_table(&report.programs));
    }
    Ok(0)
}

pub(crate) fn action(
    state_dir: &Path,
    verb: Verb,
    args: &ActionArgs,
    rolling: Option<(Option<Amount>, Option<Amount>)>,
) -> Result<u8, Failure> {
    let (max_surge, max_unavailable) = rolling.unwrap_or_default();
    let req = ActionRequest {
        names: args.names.clone(),
        all: args.all,
        wait: !args.no_wait,
        rolling: rolling.is_some(),
        max_surge,
        max_unavailable,
    };
    let answer = if args.no_wait {
        Answer::Prompt
    } else {
        Answer::WhenDone
    };
    let report: ActionReport = client(state_dir)
        .post_with(verb.endpoint().path(), &req, answer)
        .map_err(|e| failure(&e))?;
    if args.json.json {
        print_json(&report);
    } else {
        print!("{}", render::status_table(&report.programs));
    }
    // A start that ended in a failure state is a failure of the command.
    let failed = verb != Verb::Stop
        && !args.no_wait
        && report
            .programs
            .iter()
            .any(|p| matches!(p.state, State::Fatal | State::Backoff));
    Ok(if failed { EXIT_FAILED } else { 0 })
}

pub(crate) fn signal(state_dir: &Path, args: &crate::cli::SignalArgs) -> Result<u8, Failure> {
    let req = SignalRequest {
        names: args.names.clone(),
        all: false,
        signal: args.signal.clone(),
    };
    let report: ActionReport = client(state_dir)
        .post(Endpoint::Signal.path(), &req)
        .map_err(|e| failure(&e))?;
    if args.json.json {
        print_json(&report);
    } else {
        for p in &report.programs {
            match p.pid {
                Some(pid) => println!(
                    "{}: sent {} (pid {pid})",
                    p.name,
                    args.signal.to_ascii_uppercase()
                ),
                None => println!("{}: not running, nothing sent", p.name),
            }
        }
    }
    Ok(0)
}

pub(crate) fn reload(state_dir: &Path, json: &crate::cli::JsonArg) -> Result<u8, Failure> {
    match client(state_dir).post_with::<ReloadReport>(
        Endpoint::Reload.path(),
        &serde_json::json!({}),
        Answer::WhenDone,
    ) {
        Ok(report) => {
            if json.json {
                print_json(&report);
            } else {
                for (what, list) in [
                    ("added", &report.added),
                    ("removed", &report.removed),
                    ("changed", &report.changed),
                    ("unchanged", &report.unchanged),
                ] {
                    if !list.is_empty() {
                        println!("{what:>9}: {}", list.join(", "));
                    }
                }
                if !report.needs_restart.is_empty() {
                    eprintln!(
                        "stead: note: {} changed; it takes effect when stead itself restarts (stead shutdown, then stead up; or restart its service)",
                        report.needs_restart.join(", ")
                    );
                }
            }
            Ok(0)
        }
        Err(ClientError::Api { status: 422, body }) => {
            if json.json {
                print_json(&body);
                return Err(Failure::new(EXIT_USAGE, ""));
            }
            let hint = body
                .hint
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default();
            Err(Failure::new(
                EXIT_USAGE,
                format!(
                    "stead: reload refused, nothing changed:\n{}{hint}",
                    body.error
                ),
            ))
        }
        Err(e) => Err(failure(&e)),
    }
}

pub(crate) fn shutdown(state_dir: &Path, json: &crate::cli::JsonArg) -> Result<u8, Failure> {
    let c = client(state_dir);
    let started = Instant::now();
    let e = Endpoint::Shutdown;
    match c.exchange(e.method(), e.path(), Some(b"{}"), Answer::WhenDone) {
        Ok((200, _)) => {}
        Ok((status, body)) => {
            return Err(Failure::new(
                EXIT_FAILED,
                format!(
                    "stead: shutdown refused (HTTP {status}): {}",
                    String::from_utf8_lossy(&body)
                ),
            ));
        }
        Err(e) => return Err(failure(&e)),
    }
    // The answer comes once every program is gone; the supervisor releases its lock as the
    // last thing before it exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && stead_supervisor::InstanceLock::is_held(state_dir) {
        std::thread::sleep(Duration::from_millis(2));
    }
    if json.json {
        println!(
            "{}",
            serde_json::json!({ "ok": true, "elapsed_ms": started.elapsed().as_millis() as u64 })
        );
    } else {
        println!("stead: all programs stopped; supervisor exited");
    }
    Ok(0)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `stead events [-f] [NAME…] [--json]`: the history, then (with -f) long polls for more.
pub(crate) fn events(state_dir: &Path, args: &crate::cli::EventsArgs) -> Result<u8, Failure> {
    use std::io::Write as _;
    let client = client(state_dir);
    let mut after = 0u64;
    let mut first = true;
    loop {
        let wait = if first || !args.follow { 0 } else { 30_000 };
        let report: EventsReport = match client.get_held(
            &format!("{}?after={after}&wait={wait}", Endpoint::Events.path()),
            Duration::from_millis(wait),
        ) {
            Ok(r) => r,
            Err(stead_supervisor::control::client::ClientError::NotRunning { .. })
                if args.follow && !first =>
            {
                return Ok(0); // the supervisor ended: so does the follow
            }
            Err(e) => return Err(failure(&e)),
        };
        first = false;
        let mut out = std::io::stdout().lock();
        for e in &report.events {
            let selected = args.names.is_empty()
                || args
                    .names
                    .iter()
                    .any(|n| e.program == *n || e.program.split(':').next() == Some(n.as_str()));
            if !selected {
                continue;
            }
            let line = if args.json {
                let json = serde_json::to_string(e).unwrap_or_default();
                stead_supervisor::terminal::escape_json(&json).into_owned()
            } else {
                render::event_line(e)
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(0); // stdout closed (a pipe into head)
            }
        }
        let _ = out.flush();
        after = report.last.max(after);
        if !args.follow {
            return Ok(0);
        }
    }
}
