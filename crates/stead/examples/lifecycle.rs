//! A tour of the lifecycle: every step is logged, and the timings are yours to set, to see
//! how each host reports a slow start, a slow drain, a failed preflight or a hang.
//!
//! ```text
//! cargo run -p stead --example lifecycle
//! START_MS=5000 cargo run -p stead --example lifecycle   # a slow start: START_PENDING / EXTEND_TIMEOUT_USEC
//! DRAIN_MS=3000 cargo run -p stead --example lifecycle   # a slow drain: STOP_PENDING / STOPPING=1
//! FAIL=3 cargo run -p stead --example lifecycle          # a failed preflight: exit code 3
//! ```
//!
//! Settings (environment): `START_MS` (time before ready), `DRAIN_MS` (time the drain
//! takes), `STOP_TIMEOUT_MS` (default 10 000), `FAIL` (fail the preflight with this code),
//! `LOG_DIR` (also log to a rotating file there), `SINGLE_INSTANCE=DIR` (refuse to run twice:
//! a lock in DIR), `DAEMON=1` (Unix: detach first, the old way), `HANG_FILE` (while this file exists the liveness check fails, so systemd's watchdog
//! restarts the service), `MARK_DIR` (a file per step is written there, for tests). Each
//! can also be given as an argument, `NAME=VALUE`, which wins over the environment: a Windows
//! service gets its settings on its command line (`lifecycle.exe START_MS=3000`).

use std::time::Duration;

/// A setting from the arguments (`NAME=VALUE`), else the environment.
fn setting(name: &str) -> Option<String> {
    std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
        .or_else(|| std::env::var(name).ok())
}

fn ms(var: &str, default: u64) -> Duration {
    Duration::from_millis(setting(var).and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Writes `MARK_DIR/<step>` (appending `line`), so an outside observer can check the order.
fn mark(step: &str, line: &str) {
    if let Some(dir) = setting("MARK_DIR") {
        use std::io::Write;
        let path = std::path::Path::new(&dir).join(step);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn main() -> stead::Exit {
    #[cfg(unix)]
    if setting("DAEMON").as_deref() == Some("1") {
        stead::daemonize().expect("daemonize");
    }
    let _guard = match setting("SINGLE_INSTANCE") {
        Some(dir) => {
            match stead::SingleInstance::acquire_in("stead-example-lifecycle", dir.as_ref()) {
                Ok(guard) => Some(guard),
                Err(e) => {
                    eprintln!("{e}");
                    return stead::Exit {
                        code: 3,
                        reason: e.to_string(),
                    };
                }
            }
        }
        None => None,
    };
    let hang_file = setting("HANG_FILE");
    let logging = match setting("LOG_DIR") {
        Some(dir) => stead::Logging::File(stead::logging::LogFile::new(dir).max_size(1 << 20)),
        None => stead::Logging::Auto,
    };
    stead::Service::new("stead-example-lifecycle")
        .description("stead's lifecycle example")
        .install_commands() // `lifecycle install -- START_MS=500` registers it
        .logging(logging)
        .stop_timeout(ms("STOP_TIMEOUT_MS", 10_000))
        .handles_pause()
        .handles_reload()
        .liveness(move || {
            hang_file
                .as_ref()
                .is_none_or(|f| !std::path::Path::new(f).exists())
        })
        .run(|ctx| async move {
            tracing::info!(
                host = ctx.host().as_str(),
                pid = std::process::id(),
                "start"
            );
            mark("start", &std::process::id().to_string());
            if let Some(code) = setting("FAIL").and_then(|c| c.parse().ok()) {
                return Err(stead::Failure::new("preflight failed: FAIL is set").with_code(code));
            }
            tokio::time::sleep(ms("START_MS", 0)).await;
            ctx.on_stop("first resource", async {
                tracing::info!("closed first resource");
                mark("cleanup", "first")
            });
            ctx.on_stop("second resource", async {
                tracing::info!("closed second resource");
                mark("cleanup", "second")
            });
            ctx.ready();
            mark("ready", "");
            tracing::info!("ready");
            tracing::warn!("a warning, for the journal's priorities");
            let mut events = ctx.events();
            while let Some(event) = events.next().await {
                tracing::info!("event: {event:?}");
                mark("events", &format!("{event:?}"));
                if event == stead::Event::Reload {
                    ctx.ready();
                }
            }
            let reason = ctx
                .stop_reason()
                .map_or("none", stead::StopReason::describe);
            tracing::info!("draining ({reason})");
            mark("stopping", reason);
            tokio::time::sleep(ms("DRAIN_MS", 0)).await;
            tracing::info!("drained");
            mark("drained", "");
            Ok(())
        })
}
