//! Arguments, and which module handles each command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use stead_supervisor::control::api::Verb;

use crate::{EXIT_USAGE, Failure};

/// Keep any program running: restart it when it dies, stop its whole process tree, capture
/// its output, and control it from the command line.
///
/// Start with 'stead up -c examples/stead.toml' in one terminal and 'stead status' in another.
#[derive(Debug, Parser)]
#[command(
    name = "stead",
    version = env!("STEAD_VERSION"),
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Directory for the control socket, the lock and the logs
    /// [default: /run/stead for root, else $XDG_RUNTIME_DIR/stead]
    #[arg(long, global = true, env = "STEAD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// How long to wait for the supervisor to answer (connecting included) before giving up
    /// with exit code 75; refusals for load are retried until then. Waits that are the
    /// point of a command (events -f, logs -f, a stop waiting for a tree to end) are not
    /// cut short: the supervisor only has to take the request up within this time.
    #[arg(
        long,
        global = true,
        env = "STEAD_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_timeout
    )]
    pub timeout: std::time::Duration,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Supervise every program in a stead.toml (in the foreground, or with --daemon).
    ///
    /// Programs with autostart = true (the default) start at once. SIGTERM or Ctrl-C stops
    /// them all (each with its stop_signal, then SIGKILL of its whole tree after
    /// stop_timeout); SIGHUP or 'stead reload' re-reads the file and applies the difference.
    Up(UpArgs),
    /// Supervise one command in the foreground: stead run --restart on-failure -- ./server.
    ///
    /// The command runs directly (no shell) with this terminal as its stdout and stderr. It
    /// is restarted per --restart; Ctrl-C stops it gracefully. stead exits with the program's
    /// exit code once it ends for good (restart = never, or success under on-failure), or
    /// with 100 when it restarted too often (fatal).
    Run(crate::run::RunArgs),
    /// Show each program's state, pid, uptime, restarts, last exit and why.
    Status(StatusArgs),
    /// Start programs: by name (a program's name means all its instances), or --all.
    Start(ActionArgs),
    /// Stop programs: stop_signal to the whole tree, SIGKILL after stop_timeout.
    Stop(ActionArgs),
    /// Stop, then start programs; --rolling replaces them instance by instance.
    ///
    /// With --rolling each instance's replacement starts first, and the old instance is
    /// stopped once the replacement is ready (its ready check passed): with held sockets
    /// (sockets = [...] in the config) no connection is refused or dropped. A replacement that does not
    /// become ready is stopped, the old instance keeps running, and the command fails.
    Restart(RestartArgs),
    /// Send a signal to programs' process trees: stead signal HUP web.
    Signal(SignalArgs),
    /// Re-read the config file and apply it: add, remove and restart changed programs.
    ///
    /// Programs whose settings did not change keep running untouched. A file with any error
    /// changes nothing, and the errors are printed.
    Reload(JsonArg),
    /// Stop every program and end the supervisor.
    Shutdown(JsonArg),
    /// Show programs' output: the newest lines, merged by time; -f follows.
    ///
    /// Examples: stead logs web -n 50; stead logs --since 10m; stead logs -f (all programs,
    /// interleaved). Reads the files, rotated and compressed ones included.
    Logs(crate::logs::LogsArgs),
    /// Show what happened: started, ready, unhealthy, exited, backoff, fatal, reloaded…
    ///
    /// 'stead events' prints the recent history (the supervisor keeps the last 2000);
    /// 'stead events -f' keeps following; --json prints one JSON object per line.
    Events(EventsArgs),
    /// A live view: programs with state, readiness, CPU, memory, restarts, and the selected
    /// program's output; keys r (restart), s (stop), a (start), q (quit).
    Top(crate::top::TopArgs),
    /// Register a service with this OS's manager: systemd, the Windows SCM, launchd, OpenRC.
    ///
    /// 'stead install --name web --account www-data -- /usr/local/bin/web --port 80', or
    /// 'stead install -c stead.toml' to run stead itself (and every program of the file) as the
    /// service. --dry-run prints exactly what would be written and run, for any backend on
    /// any OS (--backend windows on Linux shows the SCM parameters).
    Install(crate::install::InstallArgs),
    /// Stop, disable and remove a service that 'stead install' registered.
    Uninstall(crate::install::UninstallArgs),
    /// Start, stop, restart a native service, or show the manager's view of it (status).
    Service(crate::install::ServiceArgs),
    /// Render the programs for another engine: systemd units, Kubernetes, Nomad, Compose.
    ///
    /// Examples: stead export systemd -o units/; stead export kubernetes --image reg/app:1.
    /// What does not translate is listed per program (--strict fails on it).
    Export(crate::export::ExportArgs),
    /// Turn systemd units, a supervisord config or a PM2 ecosystem file into a stead.toml.
    #[command(subcommand)]
    Import(crate::export::ImportCommand),
    /// Check a config file without running anything.
    Validate(ValidateArgs),
    /// Print a shell completion script: stead completions bash > /etc/bash_completion.d/stead.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the command reference and the man pages from these definitions (for
    /// maintainers and packagers: 'stead __docs --man target/man').
    #[command(name = "__docs", hide = true)]
    Docs(crate::docs::DocsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArg {
    /// The config file.
    #[arg(
        short,
        long,
        env = "STEAD_CONFIG",
        default_value = "stead.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Detach into the background; return once the control socket answers.
    #[arg(long)]
    pub daemon: bool,
    /// With --daemon: write stead's pid here [default: stead.pid in the state directory].
    #[arg(long, value_name = "FILE", requires = "daemon")]
    pub pid_file: Option<PathBuf>,
    /// With --daemon: stead's own log [default: stead.log in the state directory].
    #[arg(long, value_name = "FILE", requires = "daemon")]
    pub log_file: Option<PathBuf>,
    /// Windows: run as the SCM service NAME (what 'stead install -c' registers): report
    /// start and stop to the SCM, stop every program on Stop, Shutdown or PreShutdown, and
    /// log to the Event Log and to NAME.log in the log directory.
    #[arg(long, value_name = "NAME", conflicts_with = "daemon")]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct JsonArg {
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Programs to show (all when none).
    pub names: Vec<String>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub(crate) struct ActionArgs {
    /// Programs (a name from the config selects all its instances; web:1 selects one).
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every program.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Return at once instead of waiting for the programs to settle.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    /// Instance by instance: start the replacement, wait until it is ready, then stop the
    /// old one (one at a time, unless the program's update limits or the options below say
    /// otherwise).
    #[arg(long)]
    pub rolling: bool,
    /// With --rolling: how many replacements may run beside old instances at once, a count
    /// or a percentage of the program's instances (instead of its max_surge).
    #[arg(long, value_name = "N|P%", requires = "rolling", value_parser = amount)]
    pub max_surge: Option<stead_supervisor::config::Amount>,
    /// With --rolling: how many instances may be restarted in place at once, below their
    /// count while they restart (instead of the program's max_unavailable).
    #[arg(long, value_name = "N|P%", requires = "rolling", value_parser = amount)]
    pub max_unavailable: Option<stead_supervisor::config::Amount>,
}

fn amount(s: &str) -> Result<stead_supervisor::config::Amount, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// The signal: HUP, USR1, TERM… (with or without SIG, or a number).
    pub signal: String,
    /// Programs to signal.
    #[arg(required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub json: JsonArg,
}

/// stead events.
#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    /// Keep printing events as they happen (Ctrl-C ends).
    #[arg(short, long)]
    pub follow: bool,
    /// Only events of these programs (instance or program names).
    pub names: Vec<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match stead_supervisor::parse_duration(text)? {
        d if d.is_zero() => Err("the timeout must be more than 0, for example \"10s\"".into()),
        d => Ok(d),
    }
}

pub(crate) fn state_dir(cli_value: Option<PathBuf>) -> PathBuf {
    cli_value.unwrap_or_else(stead_supervisor::default_state_dir)
}

pub(crate) fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let state = state_dir(cli.state_dir);
    crate::ctl::set_timeout(cli.timeout);
    match cli.command {
        Command::Up(args) => crate::run::up(args, state),
        Command::Run(args) => crate::run::run(args, state),
        Command::Status(a) => crate::ctl::status(&state, &a.names, a.json.json),
        Command::Start(a) => crate::ctl::action(&state, Verb::Start, &a, None),
        Command::Stop(a) => crate::ctl::action(&state, Verb::Stop, &a, None),
        Command::Restart(a) => crate::ctl::action(
            &state,
            Verb::Restart,
            &a.action,
            a.rolling.then_some((a.max_surge, a.max_unavailable)),
        ),
        Command::Signal(a) => crate::ctl::signal(&state, &a),
        Command::Reload(a) => crate::ctl::reload(&state, &a),
        Command::Shutdown(a) => crate::ctl::shutdown(&state, &a),
        Command::Logs(a) => crate::logs::logs(&state, &a),
        Command::Events(a) => crate::ctl::events(&state, &a),
        Command::Top(a) => crate::top::top(&state, &a),
        Command::Install(a) => crate::install::install(&a),
        Command::Uninstall(a) => crate::install::uninstall(&a),
        Command::Service(a) => crate::install::service(&a),
        Command::Export(a) => crate::export::run_export(&a),
        Command::Import(c) => crate::export::run_import(&c),
        Command::Validate(a) => validate(&a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "stead", &mut std::io::stdout());
            Ok(0)
        }
        Command::Docs(a) => crate::docs::run(&a, <Cli as clap::CommandFactory>::command()),
    }
}

fn validate(args: &ValidateArgs) -> Result<u8, Failure> {
    match stead_supervisor::config::load(&args.config.config) {
        Ok(config) => {
            if args.json.json {
                let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
                println!(
                    "{}",
                    serde_json::json!({ "ok": true, "path": config.path, "programs": names })
                );
            } else {
                println!(
                    "{}: ok, {} program instance(s)",
                    config.path.display(),
                    config.programs.len()
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json.json {
                let json = serde_json::json!({ "ok": false, "path": e.path, "diagnostics": e.diagnostics });
                println!(
                    "{}",
                    stead_supervisor::terminal::escape_json(&json.to_string())
                );
                Err(Failure::new(EXIT_USAGE, ""))
            } else {
                Err(Failure::new(EXIT_USAGE, e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command's help, short (`-h`) and long (`--help`), with the command line.
    fn every_help() -> Vec<(String, String)> {
        fn walk(cmd: &mut clap::Command, path: &str, out: &mut Vec<(String, String)>) {
            let path = format!("{path} {}", cmd.get_name());
            out.push((format!("{path} -h"), cmd.render_help().to_string()));
            out.push((format!("{path} --help"), cmd.render_long_help().to_string()));
            // clap's own `help` subcommand repeats the others' texts.
            for sub in cmd.get_subcommands_mut().filter(|s| s.get_name() != "help") {
                walk(sub, &path, out);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut out = Vec::new();
        walk(&mut cmd, "", &mut out);
        for (path, _) in &mut out {
            *path = path.trim_start().to_string();
        }
        out
    }

    /// clap prints doc comments as they are: help is plain text, so Markdown in a doc comment
    /// (backticks, links) reaches the terminal as punctuation.
    #[test]
    fn help_is_plain_text_without_markdown() {
        let helps = every_help();
        assert!(
            helps.len() > 40,
            "the walk missed commands: {}",
            helps.len()
        );
        let mut bad = Vec::new();
        for (path, text) in &helps {
            for (n, line) in text.lines().enumerate() {
                if line.contains('`') || line.contains("](") || line.contains("<http") {
                    bad.push(format!("{path}, line {}: {line}", n + 1));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "Markdown in --help (write plain text in these doc comments):\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
