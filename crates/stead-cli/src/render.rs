//! Tables for people. Text a program controls (its `STATUS=`, a probe's stderr, an exit
//! reason) is shown with control characters escaped, whether or not stdout is a terminal: a
//! table is for reading (`--json` keeps the exact text), and a raw newline or carriage return
//! would break its rows even in a file.

use std::fmt::Write;
use std::time::Duration;

use stead_supervisor::control::api::ProgramStatus;
use stead_supervisor::events::EventRecord;
use stead_supervisor::format_duration;

/// The status table: one line per program instance.
pub(crate) fn status_table(programs: &[ProgramStatus]) -> String {
    let rows: Vec<[String; 9]> = programs
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                state_cell(p),
                p.pid.map_or("-".into(), |pid| pid.to_string()),
                p.uptime_ms
                    .map_or("-".into(), |ms| format_duration(Duration::from_millis(ms))),
                p.restarts.to_string(),
                p.last_exit.as_ref().map_or("-".into(), ToString::to_string),
                p.resources
                    .map_or("-".into(), |r| format!("{:.0}%", r.cpu_percent)),
                p.resources.map_or("-".into(), |r| human_bytes(r.rss_bytes)),
                reason_cell(p),
            ]
            .map(shown)
        })
        .collect();
    let header = [
        "NAME",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
        "CPU",
        "MEM",
        "REASON",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// `running`, `running (starting)` before its ready check passed, `running (unhealthy)`.
fn state_cell(p: &ProgramStatus) -> String {
    use stead_supervisor::health::Health;
    match (p.ready, p.health) {
        (Some(false), _) => format!("{} (not ready)", p.state),
        (_, Some(Health::Unhealthy)) => format!("{} (unhealthy)", p.state),
        _ => p.state.to_string(),
    }
}

/// The reason, or for a running program what its checks last said.
fn reason_cell(p: &ProgramStatus) -> String {
    if let Some(old) = p.replacing {
        return format!("replacing pid {old} (rolling restart)");
    }
    if !p.reason.is_empty() {
        return p.reason.clone();
    }
    if let Some(s) = &p.status_text {
        return s.clone();
    }
    p.checks
        .as_ref()
        .and_then(|c| c.health.as_ref().or(c.ready.as_ref()))
        .map(|r| r.message.clone())
        .unwrap_or_default()
}

/// `12.3 MB`.
pub(crate) fn human_bytes(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.1} GB", n as f64 / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else {
        format!("{:.0} kB", n as f64 / 1e3)
    }
}

/// One event for people: `2026-11-23T18:04:38Z  web        ready     connected to …`.
pub(crate) fn event_line(e: &EventRecord) -> String {
    let ts = e.ts.split('.').next().unwrap_or(&e.ts);
    let ts = if ts.ends_with('Z') {
        ts.to_string()
    } else {
        format!("{ts}Z")
    };
    let program = if e.program.is_empty() {
        "-"
    } else {
        &e.program
    };
    let line = format!("{ts}  {program:<12} {:<9} {}", e.kind, e.detail);
    shown(line.trim_end().to_string())
}

/// `text` with its control characters shown escaped.
fn shown(text: String) -> String {
    match stead_supervisor::terminal::escape(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_event_text_never_carry_control_characters() {
        let mut p: ProgramStatus = serde_json::from_value(serde_json::json!({
            "name": "web", "group": "web", "state": "running", "since_ms": 0,
            "restarts": 0, "reason": "",
            "status_text": "\x1b]0;title\x07 ok\rFAKE\u{9b}2J",
        }))
        .unwrap();
        let table = status_table(std::slice::from_ref(&p));
        assert!(
            table.ends_with("\\e]0;title\\x07 ok\\rFAKE\\u{9b}2J\n"),
            "{table}"
        );
        p.reason = "tab\tkept".into();
        assert!(status_table(&[p]).ends_with("tab\tkept\n"));
        let e: EventRecord = serde_json::from_value(serde_json::json!({
            "seq": 1, "ts": "2026-11-23T18:04:38.5Z", "program": "web",
            "kind": "unhealthy", "detail": "check exited 1: \x1b[2J\rgone",
        }))
        .unwrap();
        assert_eq!(
            event_line(&e),
            r"2026-11-23T18:04:38Z  web          unhealthy check exited 1: \e[2J\rgone"
        );
    }
}
