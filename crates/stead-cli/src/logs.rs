//! `stead logs`: the newest lines of programs' logs, merged by time, then (with `-f`) the new
//! ones as they are written, across rotations. On a terminal a line's control characters are
//! shown escaped ([`stead_supervisor::terminal`]); into a pipe or a file, or with `--raw`, the
//! bytes go as they are.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use clap::Args;
use jiff::Timestamp;
use stead_supervisor::control::api::StatusReport;
use stead_supervisor::control::client::ClientError;
use stead_supervisor::logs::Stream;
use stead_supervisor::logs::read::{Follower, Query, Record, Source, sources_from_config, tail};
use stead_supervisor::terminal;

use crate::cli::ConfigArg;
use crate::{EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE, Failure};

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Programs (a name selects all its instances; web:1 one); all when none.
    pub names: Vec<String>,
    /// Keep printing lines as they are written (across rotations) until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// How many of the newest lines to show [default: 10, or all with --since].
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Only lines written in the last DURATION (10m, 2h) or since a time
    /// (2026-11-23T15:00:00Z). Needs timestamps in the log (the default).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only standard error.
    #[arg(long, conflicts_with = "stdout")]
    pub stderr: bool,
    /// Only standard output.
    #[arg(long)]
    pub stdout: bool,
    /// One JSON object per line: {"ts","program","stream","line"}.
    #[arg(long)]
    pub json: bool,
    /// Print each line's bytes as they are, even on a terminal (where control characters are
    /// otherwise shown escaped: \e[2J, \r, \x07).
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Where the logs are when no supervisor is running: the config it was started with.
    #[command(flatten)]
    pub config: ConfigArg,
}

/// How often `-f` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

pub(crate) fn logs(state_dir: &Path, args: &LogsArgs) -> Result<u8, Failure> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let mut sources = find_sources(state_dir, args)?;
    sources.retain(|s| match s.stream {
        Stream::Out => !args.stderr,
        Stream::Err => !args.stdout,
    });
    if sources.is_empty() {
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            "stead: no log files for these programs (their output does not go to files: see `file` under [log])",
        ));
    }
    let query = Query {
        lines: match (args.lines, since) {
            (Some(n), _) => Some(n),
            (None, None) => Some(10),
            (None, Some(_)) => None,
        },
        since,
    };
    let (records, positions) = tail(&sources, &query)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("stead: cannot read the logs: {e}")))?;
    if since.is_some() && records.is_empty() && records_lack_timestamps(&sources) {
        eprintln!(
            "stead: note: these logs have no timestamps (log.timestamps = \"none\"), so --since selects nothing"
        );
    }
    for r in positions.refused() {
        eprintln!("stead: not read: {}", terminal::escape(r));
    }
    if records.is_empty() {
        eprintln!("{}", nothing_yet(&sources, since.is_some()));
    }
    let printer = Printer::new(&sources, args);
    let mut out = std::io::stdout().lock();
    if printer.print(&mut out, &records).is_err() {
        return Ok(0);
    }
    if !args.follow {
        return Ok(0);
    }
    let mut follower = Follower::new(sources, positions);
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let records = follower
            .poll()
            .map_err(|e| Failure::new(EXIT_FAILED, format!("stead: cannot read the logs: {e}")))?;
        for r in follower.take_refused() {
            eprintln!("stead: not read: {}", terminal::escape(&r));
        }
        // A closed stdout (`stead logs -f | head`) ends the command quietly.
        if printer.print(&mut out, &records).is_err() {
            return Ok(0);
        }
    }
}

/// Why `stead logs` printed no line: which programs, and the files it read (so an empty
/// answer is never mistaken for a broken command).
fn nothing_yet(sources: &[Source], since: bool) -> String {
    let mut programs: Vec<&str> = sources.iter().map(|s| s.program.as_str()).collect();
    programs.dedup();
    let files: Vec<String> = sources
        .iter()
        .map(|s| s.live.display().to_string())
        .collect();
    let has = if programs.len() == 1 { "has" } else { "have" };
    let who = programs.join(", ");
    let what = if since {
        "no output in that time"
    } else {
        "no output yet"
    };
    format!(
        "stead: {} {has} {what} ({})",
        terminal::escape(&who),
        terminal::escape(&files.join(", "))
    )
}

// `--since 5m` means five minutes before now on the same wall clock the log lines carry.
#[allow(clippy::disallowed_methods)]
fn parse_since(s: &str) -> Result<Timestamp, Failure> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    match stead_supervisor::parse_duration(s) {
        Ok(d) => Ok(Timestamp::now()
            .checked_sub(jiff::SignedDuration::try_from(d).unwrap_or_default())
            .unwrap_or(Timestamp::MIN)),
        Err(e) => Err(Failure::new(
            EXIT_USAGE,
            format!("stead: --since {s}: {e}; or give a time like 2026-11-23T15:00:00Z"),
        )),
    }
}

/// The log files: from the running supervisor (it knows where it writes), else from the
/// config file.
fn find_sources(state_dir: &Path, args: &LogsArgs) -> Result<Vec<Source>, Failure> {
    let client = crate::ctl::client(state_dir);
    match client.get::<StatusReport>(&crate::ctl::status_path(&args.names)) {
        Ok(report) => {
            let mut out: Vec<Source> = Vec::new();
            for p in report.programs {
                let Some(log) = p.log else { continue };
                for (file, stream) in [(log.stdout, Stream::Out), (log.stderr, Stream::Err)] {
                    let Some(f) = file else { continue };
                    let path: std::path::PathBuf = f.into();
                    // A rolling restart's replacement writes the instance's own files:
                    // read each file once.
                    if !out.iter().any(|s| s.live == path) {
                        out.push(Source::new(&p.name, stream, path));
                    }
                }
            }
            Ok(out)
        }
        Err(ClientError::NotRunning { .. }) => {
            let config = stead_supervisor::config::load(&args.config.config).map_err(|e| {
                Failure::new(
                    EXIT_NOT_FOUND,
                    format!("stead: no supervisor is running in {}, and its config cannot be read to find the logs:\n{e}", state_dir.display()),
                )
            })?;
            sources_from_config(&config, state_dir, &args.names)
                .map_err(|e| Failure::new(EXIT_NOT_FOUND, format!("stead: {e}")))
        }
        Err(e) => Err(crate::ctl::failure(&e)),
    }
}

fn records_lack_timestamps(sources: &[Source]) -> bool {
    tail(
        sources,
        &Query {
            lines: Some(1),
            since: None,
        },
    )
    .is_ok_and(|(r, _)| r.iter().all(|r| r.ts.is_none()))
}

struct Printer {
    json: bool,
    /// Show control characters escaped: on a terminal, unless `--raw`.
    escape: bool,
    /// Label lines with their program (several programs) and stream (both streams).
    by_program: bool,
    by_stream: bool,
    width: usize,
    color: bool,
}

impl Printer {
    fn new(sources: &[Source], args: &LogsArgs) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let first = sources.first();
        let by_program = sources
            .iter()
            .any(|s| Some(&s.program) != first.map(|f| &f.program));
        let by_stream = sources
            .iter()
            .any(|s| Some(s.stream) != first.map(|f| f.stream));
        let width = sources
            .iter()
            .map(|s| s.program.len() + if by_stream { 4 } else { 0 })
            .max()
            .unwrap_or(0);
        Printer {
            json: args.json,
            escape: terminal && !args.raw,
            by_program,
            by_stream,
            width,
            color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn print(&self, out: &mut impl Write, records: &[Record]) -> std::io::Result<()> {
        for r in records {
            if self.json {
                let v = serde_json::json!({
                    "ts": r.ts.map(|t| t.to_string()),
                    "program": r.program,
                    "stream": r.stream.name(),
                    "line": String::from_utf8_lossy(&r.line),
                });
                writeln!(out, "{}", terminal::escape_json(&v.to_string()))?;
                continue;
            }
            if self.by_program || self.by_stream {
                let mut label = r.program.clone();
                if self.by_stream && r.stream == Stream::Err {
                    label.push_str(" err");
                }
                if self.color {
                    let c = if r.stream == Stream::Err { 31 } else { 36 };
                    write!(out, "\x1b[{c}m{label:<w$} |\x1b[0m ", w = self.width)?;
                } else {
                    write!(out, "{label:<w$} | ", w = self.width)?;
                }
            }
            if let Some(ts) = r.ts {
                write!(out, "{} ", ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))?;
            }
            if self.escape {
                out.write_all(terminal::escape_bytes(&r.line).as_bytes())?;
            } else {
                out.write_all(&r.line)?;
            }
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}
