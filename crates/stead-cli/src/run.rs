//! `stead up` and `stead run`: build the runtime and hand over to the supervisor.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use stead_supervisor::config::{Backoff, ProgramConfig, RestartPolicy, check_program};
use stead_supervisor::{Config, Options, OutputMode, Signal, parse_duration};

use crate::cli::UpArgs;
use crate::{EXIT_USAGE, Failure};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Name shown in messages.
    #[arg(long, default_value = "run")]
    pub name: String,
    /// When to restart: always, on-failure (exit code not in --exit-code, or a signal), never.
    #[arg(long, default_value = "always", value_parser = ["always", "on-failure", "never"])]
    pub restart: String,
    /// First delay after a quick failure.
    #[arg(long, value_parser = duration, default_value = "100ms", value_name = "DURATION")]
    pub backoff_initial: Duration,
    /// Longest delay between restarts.
    #[arg(long, value_parser = duration, default_value = "30s", value_name = "DURATION")]
    pub backoff_max: Duration,
    /// A run at least this long resets the backoff (the next restart is immediate).
    #[arg(long, value_parser = duration, default_value = "10s", value_name = "DURATION")]
    pub reset_after: Duration,
    /// More restarts than this within --restart-window is fatal (0: no limit).
    #[arg(long, default_value_t = 10)]
    pub max_restarts: u32,
    /// The window for --max-restarts.
    #[arg(long, value_parser = duration, default_value = "60s", value_name = "DURATION")]
    pub restart_window: Duration,
    /// Signal that asks the program to stop.
    #[arg(long, default_value = "TERM", value_parser = signal)]
    pub stop_signal: Signal,
    /// Wait this long after the stop signal, then SIGKILL the whole tree (infinity: wait
    /// however long it takes; 0: SIGKILL at once).
    #[arg(long, value_parser = timeout, default_value = "10s", value_name = "DURATION")]
    pub stop_timeout: Duration,
    /// An exit code that counts as success (repeatable; default 0).
    #[arg(long = "exit-code", value_name = "CODE")]
    pub exit_codes: Vec<i32>,
    /// Working directory [default: the current one].
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Extra environment, KEY=VALUE (repeatable).
    #[arg(long, short = 'e', value_name = "KEY=VALUE", value_parser = key_value)]
    pub env: Vec<(String, String)>,
    /// Run as this user (stead must run as root).
    #[arg(long)]
    pub user: Option<String>,
    /// Run with this group.
    #[arg(long)]
    pub group: Option<String>,
    /// Run the command through /bin/sh -c (cmd /C on Windows); give it as one argument.
    #[arg(long)]
    pub shell: bool,
    /// Signal and kill only the main process, not its whole tree.
    #[arg(long)]
    pub no_kill_tree: bool,
    /// Hold a socket for the program across its restarts, handed over as LISTEN_FDS from
    /// descriptor 3 (repeatable, in order): tcp://IP:PORT, udp://IP:PORT or unix:PATH. On
    /// Windows (TCP and UDP only) the program gets them down the pipe STEAD_SOCKETS_HANDLE
    /// names, which services built with the stead library read.
    #[arg(long = "socket", value_name = "ADDRESS")]
    pub sockets: Vec<String>,
    /// Capture output into the logs directory of the state directory (rotated, with
    /// timestamps), and echo it here as "NAME | line", instead of giving the program this
    /// terminal.
    #[arg(long)]
    pub capture: bool,
    /// The command and its arguments, after --.
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

fn timeout(s: &str) -> Result<Duration, String> {
    stead_supervisor::parse_timeout(s)
}

fn signal(s: &str) -> Result<Signal, String> {
    s.parse()
        .map_err(|e: stead_supervisor::signal::UnknownSignal| e.to_string())
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[cfg(unix)]
pub(crate) fn init_tracing_for_daemon() {
    init_tracing_with(false);
}

fn init_tracing() {
    init_tracing_with(std::io::IsTerminal::is_terminal(&std::io::stderr()));
}

/// stead's own log on stderr; on a terminal (`ansi`), through [`TerminalStderr`].
fn init_tracing_with(ansi: bool) {
    use tracing_subscriber::prelude::*;
    let filter = log_filter(std::env::var("STEAD_LOG").ok().as_deref());
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if ansi {
        registry
            .with(layer.with_writer(|| TerminalStderr))
            .try_init()
    } else {
        registry.with(layer.with_writer(std::io::stderr)).try_init()
    };
}

/// Which of stead's own log lines show: `STEAD_LOG` as comma-separated `level` and
/// `target=level` directives (`debug`, `warn,stead_supervisor=debug`). Unset, empty or not
/// understood (with a warning), it is `info`, with the hosting library's account of its own
/// lifecycle ("stead ready") at `warn`: the supervisor's lines already say it.
///
/// These are `tracing`'s `Targets`, not `EnvFilter`: no span or field directives, and so no
/// regular-expression engine of `tracing-subscriber`'s in the binary.
fn log_filter(text: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing::Level;
    let default = || {
        tracing_subscriber::filter::Targets::new()
            .with_default(Level::INFO)
            .with_target("stead::driver", Level::WARN)
            .with_target("stead::runtime", Level::WARN)
    };
    // `debug, stead=trace,` as people type it: spaces and empty pieces are not directives
    // (`Targets` would read an empty one as "errors only").
    let tidy: Vec<&str> = text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if tidy.is_empty() {
        return default();
    }
    let t = tidy.join(",");
    t.parse().unwrap_or_else(|e| {
        eprintln!("stead: STEAD_LOG={t:?} is not understood ({e}); logging at info");
        default()
    })
}

/// stderr for stead's own log lines on a terminal. They may quote a program's text (a probe's
/// stderr, an exit reason); the formatter escapes ESC in it but not CR, BEL or C1 controls,
/// so each line goes through `terminal::escape_log_line`, which keeps the formatter's colours.
struct TerminalStderr;

impl std::io::Write for TerminalStderr {
    // The formatter writes each event in one call, so a character is never split between two.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = stead_supervisor::terminal::escape_log_line(buf);
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Runs the supervisor in the library's host, as it detects it (console, systemd, …).
pub(crate) fn supervise(options: Options) -> Result<u8, Failure> {
    crate::host::supervise(options, crate::host::Hosting::Detected)
}

#[cfg_attr(windows, allow(clippy::needless_pass_by_value))] // consumed by the Unix daemon path
pub(crate) fn up(args: UpArgs, state_dir: PathBuf) -> Result<u8, Failure> {
    let config = stead_supervisor::config::load(&args.config.config)
        .map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
    if args.daemon {
        #[cfg(unix)]
        return crate::daemon::up(config, state_dir, args.pid_file, args.log_file);
        #[cfg(not(unix))]
        return Err(Failure::new(
            EXIT_USAGE,
            "stead: --daemon is for Unix; on Windows install stead as a service (stead install)",
        ));
    }
    if let Some(name) = args.service {
        #[cfg(windows)]
        return crate::host::supervise(
            Options::new(config, state_dir),
            crate::host::Hosting::WindowsService(name),
        );
        #[cfg(not(windows))]
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "stead: --service {name} is for the Windows SCM; under systemd, launchd or OpenRC run `stead up` as it is (stead install does)"
            ),
        ));
    }
    init_tracing();
    let mut options = Options::new(config, state_dir);
    options.foreground = true;
    options.on_listening = Some(start_line(&options));
    supervise(options)
}

/// The line that says a supervisor has started, logged once it holds its state directory
/// and its control socket answers: a second `stead up` on the same directory is refused
/// before it could claim to supervise anything.
pub(crate) fn start_line(options: &Options) -> Box<dyn FnOnce() + Send> {
    let line = format!(
        "supervising {} program(s) from {}; control socket {}",
        options.config.programs.len(),
        options.config.path.display(),
        stead_supervisor::control_endpoint(&options.state_dir).display()
    );
    Box::new(move || tracing::info!("{line}"))
}

pub(crate) fn run(args: RunArgs, state_dir: PathBuf) -> Result<u8, Failure> {
    let mut p = ProgramConfig::new(&args.name, args.command.clone());
    if args.shell {
        if args.command.len() != 1 {
            return Err(Failure::new(
                EXIT_USAGE,
                "stead: --shell takes the command as one argument: stead run --shell -- 'server | tee log'",
            ));
        }
        p.command = stead_supervisor::config::shell_argv(&args.command[0]);
    }
    p.restart = match args.restart.as_str() {
        "on-failure" => RestartPolicy::OnFailure,
        "never" => RestartPolicy::Never,
        _ => RestartPolicy::Always,
    };
    p.backoff = Backoff {
        initial: args.backoff_initial,
        max: args.backoff_max,
        reset_after: args.reset_after,
        ..Backoff::default()
    };
    p.max_restarts = args.max_restarts;
    p.restart_window = args.restart_window;
    p.stop_signal = args.stop_signal;
    p.stop_timeout = args.stop_timeout;
    if !args.exit_codes.is_empty() {
        p.exit_codes = args.exit_codes;
    }
    if let Some(cwd) = args.cwd {
        p.cwd = std::path::absolute(&cwd).unwrap_or(cwd);
    }
    p.env = args.env.into_iter().collect::<BTreeMap<_, _>>();
    p.user = args.user;
    p.group_name = args.group;
    p.kill_tree = !args.no_kill_tree;
    let base = std::env::current_dir().unwrap_or_default();
    for text in &args.sockets {
        let listen = stead_supervisor::config::Listen::parse(text, &base).map_err(|e| {
            Failure::new(
                EXIT_USAGE,
                format!(
                    "stead: --socket {e}
  = hint: for example --socket tcp://0.0.0.0:8080"
                ),
            )
        })?;
        if p.sockets.iter().any(|s| s.listen == listen) {
            return Err(Failure::new(
                EXIT_USAGE,
                format!("stead: --socket {listen} is given twice"),
            ));
        }
        p.sockets.push(stead_supervisor::config::SocketSpec::new(
            listen, &args.name,
        ));
    }
    if let Err(problems) = check_program(&p) {
        let text: Vec<String> = problems
            .into_iter()
            .map(|(m, h)| format!("error: {m}\n  = hint: {h}"))
            .collect();
        return Err(Failure::new(EXIT_USAGE, text.join("\n")));
    }
    init_tracing();
    let mut options = Options::new(Config::single(p), state_dir);
    options.control = false;
    options.run_mode = true;
    options.foreground = true;
    options.output = if args.capture {
        OutputMode::Capture
    } else {
        OutputMode::Inherit
    };
    supervise(options)
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn stead_log_is_level_and_target_directives_with_a_quiet_library_by_default() {
        let default = log_filter(None);
        assert!(default.would_enable("stead_supervisor::engine", &Level::INFO));
        assert!(!default.would_enable("stead_supervisor::engine", &Level::DEBUG));
        assert!(!default.would_enable("stead::driver", &Level::INFO));
        assert!(default.would_enable("stead::driver", &Level::WARN));
        let set = log_filter(Some("warn,stead_supervisor=debug"));
        assert!(set.would_enable("stead_supervisor::engine", &Level::DEBUG));
        assert!(!set.would_enable("stead::run", &Level::INFO));
        // Not understood: the default, not silence.
        let bad = log_filter(Some("stead=loud"));
        assert!(bad.would_enable("stead_supervisor::engine", &Level::INFO));
        assert!(log_filter(Some("  ")).would_enable("x", &Level::INFO));
        // As people type it: a trailing comma and spaces change nothing.
        let typed = log_filter(Some("debug, stead_supervisor=trace ,"));
        assert!(typed.would_enable("stead::run", &Level::DEBUG));
        assert!(typed.would_enable("stead_supervisor::engine", &Level::TRACE));
        assert!(!typed.would_enable("stead::run", &Level::TRACE));
    }
}
