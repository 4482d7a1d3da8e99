//! `stead top`: a live terminal view of the programs (state, readiness, CPU, memory,
//! restarts, why) with the selected program's newest output, and keys to start, stop and
//! restart. The view is drawn from one `GET /v1/status` per refresh; the screen model
//! ([`View`]) is plain data so that what is shown is decided apart from the terminal. A
//! program's output and reason are shown with control characters escaped.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};
use stead_supervisor::control::api::{
    ActionReport, ActionRequest, Endpoint, ProgramStatus, State, StatusReport, Verb,
};
use stead_supervisor::control::client::Client;
use stead_supervisor::logs::Stream;
use stead_supervisor::logs::read::{Query, Source, tail};
use stead_supervisor::terminal;

use crate::{EXIT_USAGE, Failure, render};

/// `stead top`.
#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
    /// Time between refreshes.
    #[arg(long, default_value = "1s")]
    pub interval: String,
}

/// What the screen shows.
struct View {
    report: Option<StatusReport>,
    error: Option<String>,
    selected: usize,
    message: String,
    log: Vec<String>,
}

pub(crate) fn top(state_dir: &Path, args: &TopArgs) -> Result<u8, Failure> {
    let interval = stead_supervisor::parse_duration(&args.interval)
        .map_err(|e| Failure::new(EXIT_USAGE, format!("stead: bad --interval: {e}")))?
        .max(Duration::from_millis(100));
    if !std::io::stdout().is_terminal() {
        return Err(Failure::new(
            EXIT_USAGE,
            "stead: top needs a terminal; for scripts use `stead status --json` or `stead events -f`",
        ));
    }
    let client = crate::ctl::client(state_dir);
    let mut view = View {
        report: None,
        error: None,
        selected: 0,
        message: String::new(),
        log: Vec::new(),
    };
    let mut terminal = ratatui::init();
    let result = (|| -> std::io::Result<()> {
        let mut next = Instant::now();
        loop {
            if Instant::now() >= next {
                refresh(&client, &mut view);
                next = Instant::now() + interval;
            }
            terminal.draw(|f| draw(f, &view))?;
            let wait = next.saturating_duration_since(Instant::now());
            if !event::poll(wait)? {
                continue;
            }
            let Event::Key(key) = event::read()? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            let count = view.report.as_ref().map_or(0, |r| r.programs.len());
            match key.code {
                KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(());
                }
                KeyCode::Down | KeyCode::Char('j') if count > 0 => {
                    view.selected = (view.selected + 1).min(count - 1);
                    next = Instant::now();
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    view.selected = view.selected.saturating_sub(1);
                    next = Instant::now();
                }
                KeyCode::Char(c @ ('r' | 's' | 'a')) => {
                    let verb = match c {
                        'r' => Verb::Restart,
                        's' => Verb::Stop,
                        _ => Verb::Start,
                    };
                    act(&client, &mut view, verb);
                    next = Instant::now();
                }
                _ => {}
            }
        }
    })();
    ratatui::restore();
    result.map_err(|e| Failure::new(crate::EXIT_FAILED, format!("stead: top: {e}")))?;
    Ok(0)
}

fn selected_name(view: &View) -> Option<String> {
    view.report
        .as_ref()
        .and_then(|r| r.programs.get(view.selected))
        .map(|p| p.name.clone())
}

fn refresh(client: &Client, view: &mut View) {
    match client.get::<StatusReport>(Endpoint::Status.path()) {
        Ok(r) => {
            view.selected = view.selected.min(r.programs.len().saturating_sub(1));
            view.log = r
                .programs
                .get(view.selected)
                .map(recent_output)
                .unwrap_or_default();
            view.report = Some(r);
            view.error = None;
        }
        Err(e) => view.error = Some(e.to_string()),
    }
}

fn act(client: &Client, view: &mut View, verb: Verb) {
    let Some(name) = selected_name(view) else {
        return;
    };
    let req = ActionRequest {
        names: vec![name.clone()],
        all: false,
        wait: false,
        ..ActionRequest::default()
    };
    view.message = match client.post::<ActionReport>(verb.endpoint().path(), &req) {
        Ok(_) => format!("{verb}: {name}"),
        Err(e) => format!("{verb} {name} failed: {e}"),
    };
}

/// The newest lines of a program's output, both streams merged by time.
fn recent_output(p: &ProgramStatus) -> Vec<String> {
    let Some(log) = &p.log else {
        return vec!["(output is not captured)".into()];
    };
    let mut sources = Vec::new();
    if let Some(f) = &log.stdout {
        sources.push(Source::new(&p.name, Stream::Out, f.into()));
    }
    if let Some(f) = &log.stderr {
        sources.push(Source::new(&p.name, Stream::Err, f.into()));
    }
    let query = Query {
        lines: Some(200),
        since: None,
    };
    match tail(&sources, &query) {
        Ok((records, _)) => records
            .iter()
            .map(|r| terminal::escape_bytes(&r.line).into_owned())
            .collect(),
        Err(e) => vec![format!("(cannot read the output: {e})")],
    }
}

fn draw(f: &mut ratatui::Frame<'_>, view: &View) {
    let [head, table_area, log_area, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let programs: &[ProgramStatus] = view.report.as_ref().map_or(&[], |r| &r.programs);
    let summary = view.report.as_ref().map_or_else(
        || "connecting…".to_string(),
        |r| {
            let running = r.programs.iter().filter(|p| p.pid.is_some()).count();
            format!(
                "stead top — pid {} — {} programs, {running} running{}",
                r.pid,
                r.programs.len(),
                if r.shutting_down {
                    " — shutting down"
                } else {
                    ""
                }
            )
        },
    );
    let head_text = match &view.error {
        Some(e) => format!("{summary} — {e}"),
        None => summary,
    };
    f.render_widget(
        Paragraph::new(head_text).style(Style::default().add_modifier(Modifier::BOLD)),
        head,
    );

    let rows = programs.iter().map(|p| {
        let colour = match p.state {
            State::Running if p.ready == Some(false) => Color::Yellow,
            State::Running => Color::Green,
            State::Fatal | State::Exited => Color::Red,
            State::Backoff | State::Stopping | State::Starting | State::Waiting => Color::Yellow,
            State::Stopped => Color::Gray,
        };
        let health = match (p.ready, p.health) {
            (Some(false), _) => "not ready".to_string(),
            (_, Some(h)) => format!("{h:?}").to_lowercase(),
            (Some(true), None) => "ready".to_string(),
            (None, _) => "-".to_string(),
        };
        Row::new(vec![
            p.name.clone(),
            p.state.to_string(),
            health,
            p.pid.map_or("-".into(), |x| x.to_string()),
            p.resources
                .map_or("-".into(), |r| format!("{:.0}%", r.cpu_percent)),
            p.resources
                .map_or("-".into(), |r| render::human_bytes(r.rss_bytes)),
            p.restarts.to_string(),
            p.uptime_ms.map_or("-".into(), |ms| {
                stead_supervisor::format_duration(Duration::from_millis(ms / 1000 * 1000))
            }),
            match p.replacing {
                Some(old) => format!("replacing pid {old} (rolling restart)"),
                None => terminal::escape(if p.reason.is_empty() {
                    p.status_text.as_deref().unwrap_or_default()
                } else {
                    &p.reason
                })
                .into_owned(),
            },
        ])
        .style(Style::default().fg(colour))
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new([
            "NAME", "STATE", "HEALTH", "PID", "CPU", "MEM", "RESTARTS", "UPTIME", "REASON",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
    .block(Block::default().borders(Borders::ALL).title("programs"));
    let mut state = TableState::default();
    if !programs.is_empty() {
        state.select(Some(view.selected));
    }
    f.render_stateful_widget(table, table_area, &mut state);

    let name = selected_name(view).unwrap_or_default();
    let height = log_area.height.saturating_sub(2) as usize;
    let start = view.log.len().saturating_sub(height);
    let lines: Vec<Line<'_>> = view.log[start..]
        .iter()
        .map(|l| Line::raw(l.as_str()))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("output: {name}")),
        ),
        log_area,
    );
    let keys = "↑/↓ select  r restart  s stop  a start  q quit";
    let foot_text = if view.message.is_empty() {
        keys.to_string()
    } else {
        format!("{keys}  —  {}", view.message)
    };
    f.render_widget(Paragraph::new(foot_text), foot);
}
