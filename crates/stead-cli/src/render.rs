//! Tables for people.

use std::fmt::Write;
use std::time::Duration;

use stead_supervisor::control::api::ProgramStatus;
use stead_supervisor::format_duration;

/// The status table: one line per program instance.
pub(crate) fn status_table(programs: &[ProgramStatus]) -> String {
    let rows: Vec<[String; 7]> = programs
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.state.clone(),
                p.pid.map_or("-".into(), |pid| pid.to_string()),
                p.uptime_ms
                    .map_or("-".into(), |ms| format_duration(Duration::from_millis(ms))),
                p.restarts.to_string(),
                p.last_exit.as_ref().map_or("-".into(), ToString::to_string),
                p.reason.clone(),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
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
