//! `stead.toml`: the model, and a strict parser that reports every problem at once with its
//! line, column and a hint.
//!
//! ```
//! use std::path::Path;
//! use stead_supervisor::config::{Config, RestartPolicy};
//!
//! let text = r#"
//! [program.web]
//! command = ["sh", "-c", "exec sleep 100"]
//! restart = "on-failure"
//! stop_timeout = "5s"
//! "#;
//! let config = Config::parse(Path::new("stead.toml"), text).unwrap();
//! assert_eq!(config.programs[0].name, "web");
//! assert_eq!(config.programs[0].restart, RestartPolicy::OnFailure);
//!
//! let err = Config::parse(Path::new("stead.toml"), "[program.web]\ncomand = 'x'\n").unwrap_err();
//! assert!(err.to_string().contains("stead.toml:2:1: unknown key `comand`"));
//! ```

mod check;
mod diagnostic;
mod log;
mod parse;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use check::{
    CheckAction, HealthCheck, HealthProbe, Limits, MetricsSettings, Probe, ReadyCheck,
};
pub use diagnostic::{ConfigError, Diagnostic};
pub use log::{LogFormat, LogMode, LogSettings, RotateEvery, Timestamps, parse_size};
pub(crate) use parse::parse_http_url;

use crate::Signal;

/// A whole `stead.toml`, with `numprocs` expanded into instances.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this was read from (used in messages and by reload).
    pub path: PathBuf,
    /// The `[supervisor]` section.
    pub supervisor: SupervisorSettings,
    /// Every program instance, in file order.
    pub programs: Vec<ProgramConfig>,
}

/// Settings of the supervisor itself (`[supervisor]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SupervisorSettings {
    /// When a program goes `fatal`, stop everything and exit with
    /// [`crate::EXIT_PROGRAM_FATAL`], so that the native manager running stead can act.
    pub exit_on_fatal: bool,
    /// Where captured output goes; default `<state dir>/logs`.
    pub log_dir: Option<PathBuf>,
    /// `[metrics]`: the Prometheus endpoint and the resource sampling interval.
    pub metrics: MetricsSettings,
}

/// When a program that exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Restart after every exit, successful or not.
    Always,
    /// Restart only after a failure: an exit code not in `exit_codes`, or death by a signal.
    OnFailure,
    /// Never restart; the program ends in state `exited`.
    Never,
}

/// How long to wait before restarting a program that keeps failing quickly.
///
/// A program that ran for at least `reset_after` is restarted at once; each further exit
/// that comes sooner than `reset_after` waits `initial`, then `initial × multiplier`, … up to
/// `max`, each spread by ± `jitter` (a fraction) so that many programs do not restart in step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Backoff {
    /// First delay after a quick exit.
    #[serde(with = "crate::serde_duration")]
    pub initial: Duration,
    /// Longest delay.
    #[serde(with = "crate::serde_duration")]
    pub max: Duration,
    /// Growth factor between consecutive delays (≥ 1).
    pub multiplier: f64,
    /// Random spread, as a fraction of the delay (0 to 1).
    pub jitter: f64,
    /// A run at least this long counts as healthy and resets the backoff.
    #[serde(with = "crate::serde_duration")]
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.1,
            reset_after: Duration::from_secs(10),
        }
    }
}

/// One program instance to supervise.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProgramConfig {
    /// Instance name: the program's name, or `NAME:INDEX` when `numprocs > 1`.
    pub name: String,
    /// The `[program.NAME]` this instance comes from.
    pub group: String,
    /// 0-based instance index (`{index}` in `command` and `env`).
    pub index: u32,
    /// The argv to execute, after `{index}` and variable expansion (see [`vars`]); with
    /// `shell = true`, the shell's argv.
    pub command: Vec<String>,
    /// Working directory; default: the directory of the config file.
    pub cwd: PathBuf,
    /// Extra environment, `env_file` first, then `env` (later wins).
    pub env: BTreeMap<String, String>,
    /// Run as this user (requires stead to run as root).
    pub user: Option<String>,
    /// Run with this primary group (default: the user's).
    pub group_name: Option<String>,
    /// Start with the supervisor.
    pub autostart: bool,
    /// When to restart.
    pub restart: RestartPolicy,
    /// Delays between quick restarts.
    pub backoff: Backoff,
    /// More than this many restarts within `restart_window` makes the program `fatal`
    /// (0: no limit).
    pub max_restarts: u32,
    /// The window for `max_restarts`.
    #[serde(with = "crate::serde_duration")]
    pub restart_window: Duration,
    /// Signal sent to ask the program to stop.
    pub stop_signal: Signal,
    /// How long to wait after `stop_signal` before killing the whole tree.
    #[serde(with = "crate::serde_duration")]
    pub stop_timeout: Duration,
    /// Exit codes that count as success.
    pub exit_codes: Vec<i32>,
    /// Stop and kill the program's whole process tree (default); `false` signals only the
    /// main process, for programs that detach children on purpose.
    pub kill_tree: bool,
    /// Where the program's output goes and how it is kept.
    pub log: LogSettings,
    /// Programs (`[program.NAME]` names) that must be running — or, for one-shot programs
    /// (`restart = "never"`), have finished successfully — before this one starts; stopped
    /// after this one at shutdown.
    pub depends_on: Vec<String>,
    /// How many instances the program has (`numprocs`).
    pub numprocs: u32,
    /// `command` and `env` as written, before `{index}` expansion, and the `env_file`: what
    /// `stead export` renders (as systemd template units, Nomad interpolations, …).
    pub template: Template,
    /// A container image for `stead export` to Kubernetes, Nomad (docker driver) and
    /// Compose; stead itself does not use it.
    pub image: Option<String>,
    /// Of `depends_on`, the programs for which "started" is enough (`{ db = "started" }`);
    /// the others must be ready (`ready = …` passed; running, for programs without one).
    pub depends_started: Vec<String>,
    /// `ready = …`: when the program counts as ready.
    pub ready: Option<ReadyCheck>,
    /// `health = …`: a liveness check while it runs.
    pub health: Option<HealthCheck>,
    /// `limits = …`: memory and CPU of its tree.
    pub limits: Option<Limits>,
    /// `on_fatal = [cmd…]`: run when the program goes fatal (env `STEAD_PROGRAM`,
    /// `STEAD_EVENT`, `STEAD_REASON`).
    pub on_fatal: Option<Vec<String>>,
    /// `on_unhealthy = [cmd…]`: run when a health check or a limit fails.
    pub on_unhealthy: Option<Vec<String>>,
}

/// A program's definition as written in the file (see [`ProgramConfig::template`]).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Template {
    /// The argv, `{index}` and variables unexpanded (after `shell = true` wrapping or string
    /// splitting).
    pub command: Vec<String>,
    /// `shell = true`: the shell, not stead, expands the variables of `command`.
    pub shell: bool,
    /// The `env` table only (not the `env_file`'s values), `{index}` unexpanded.
    pub env: BTreeMap<String, String>,
    /// The `env_file`, as an absolute path.
    pub env_file: Option<PathBuf>,
    /// `env_file = { path = …, optional = true }`: a missing file is no error.
    pub env_file_optional: bool,
}

impl ProgramConfig {
    /// Whether `name` selects this instance: its own name (`web:1`) or its program's (`web`).
    ///
    /// ```
    /// let mut p = stead_supervisor::config::ProgramConfig::new("web", vec!["x".into()]);
    /// p.name = "web:1".into();
    /// assert!(p.answers_to("web") && p.answers_to("web:1") && !p.answers_to("web:0"));
    /// ```
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.group == name
    }

    /// A program with every default, running `command`; what `stead run` builds from its flags.
    ///
    /// ```
    /// let p = stead_supervisor::config::ProgramConfig::new("job", vec!["true".into()]);
    /// assert_eq!(p.stop_timeout, std::time::Duration::from_secs(10));
    /// ```
    pub fn new(name: &str, command: Vec<String>) -> Self {
        ProgramConfig {
            name: name.to_string(),
            group: name.to_string(),
            index: 0,
            command: command.clone(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            env: BTreeMap::new(),
            user: None,
            group_name: None,
            autostart: true,
            restart: RestartPolicy::Always,
            backoff: Backoff::default(),
            max_restarts: 10,
            restart_window: Duration::from_secs(60),
            stop_signal: Signal::Term,
            stop_timeout: Duration::from_secs(10),
            exit_codes: vec![0],
            kill_tree: true,
            log: LogSettings::default(),
            depends_on: Vec::new(),
            numprocs: 1,
            template: Template {
                command,
                ..Template::default()
            },
            image: None,
            depends_started: Vec::new(),
            ready: None,
            health: None,
            limits: None,
            on_fatal: None,
            on_unhealthy: None,
        }
    }
}

/// The argv that runs `script` through the system shell: `/bin/sh -c` on Unix, `cmd.exe /C`
/// on Windows. What `shell = true` does to a `command` string.
///
/// ```
/// # #[cfg(unix)]
/// assert_eq!(stead_supervisor::config::shell_argv("a | b"), ["/bin/sh", "-c", "a | b"]);
/// ```
pub fn shell_argv(script: &str) -> Vec<String> {
    crate::spawn::shell_argv(script)
}

/// Checks a program built outside a config file (`stead run`): the binary resolves and the
/// user and group exist and can be switched to. Returns every problem, each with its fix.
///
/// ```
/// use stead_supervisor::config::{ProgramConfig, check_program};
/// assert!(check_program(&ProgramConfig::new("x", vec!["no-such-binary-here".into()])).is_err());
/// ```
pub fn check_program(p: &ProgramConfig) -> Result<(), Vec<(String, String)>> {
    let mut problems = Vec::new();
    if p.command.is_empty() {
        problems.push((
            "no command given".to_string(),
            "put the command after `--`: stead run -- ./server --port 8080".to_string(),
        ));
        return Err(problems);
    }
    if let Err(msg) =
        crate::spawn::resolve_program(&p.command[0], &p.cwd, p.env.get("PATH").map(String::as_str))
    {
        problems.push((
            msg,
            "install it, fix the path, or give an absolute path".to_string(),
        ));
    }
    if let Some(u) = &p.user
        && let Err(e) = crate::spawn::check_user(u)
    {
        problems.push(e);
    }
    if let Some(g) = &p.group_name
        && let Err(e) = crate::spawn::check_group(g)
    {
        problems.push(e);
    }
    if (p.user.is_some() || p.group_name.is_some())
        && let Err(e) = crate::spawn::check_can_switch_user()
    {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The time until `group` has stopped: its own stop, after its dependents'.
fn until_stopped<'a>(
    group: &'a str,
    own: &BTreeMap<&'a str, (Duration, &'a [String])>,
    memo: &mut BTreeMap<&'a str, Duration>,
    depth: usize,
) -> Duration {
    if let Some(d) = memo.get(group) {
        return *d;
    }
    let mut after = Duration::ZERO;
    // Cycles are refused by the parser; the depth bound keeps this total anyway.
    if depth <= own.len() {
        for (other, (_, deps)) in own {
            if deps.iter().any(|d| d == group) {
                after = after.max(until_stopped(other, own, memo, depth + 1));
            }
        }
    }
    let total = after.saturating_add(own.get(group).map_or(Duration::ZERO, |o| o.0));
    memo.insert(group, total);
    total
}

impl Config {
    /// A config holding one program, for `stead run` (no file: `path` is empty).
    pub fn single(program: ProgramConfig) -> Config {
        Config {
            path: PathBuf::new(),
            supervisor: SupervisorSettings::default(),
            programs: vec![program],
        }
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, true)
    }

    /// Reads a config file for programs that run on other machines (`stead export`): every
    /// check of the file itself, none against this host (binaries, users, `cwd`, env files).
    pub fn load_portable(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, false)
    }

    fn load_with(path: &Path, host_checks: bool) -> Result<Config, ConfigError> {
        let text = read_bounded(path, MAX_CONFIG_BYTES).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => Some(
                    "create it (see examples/stead.toml) or pass another file with -c".to_string(),
                ),
                std::io::ErrorKind::PermissionDenied => {
                    Some("make it readable by the user running stead".to_string())
                }
                std::io::ErrorKind::InvalidData => Some("save the file as UTF-8".to_string()),
                std::io::ErrorKind::FileTooLarge => {
                    Some("split the programs over several stead instances".to_string())
                }
                _ => None,
            };
            ConfigError::whole_file(path, format!("cannot read the config: {e}"), hint)
        })?;
        parse::parse(path, &text, host_checks)
    }

    /// Parses and checks config text; `path` names the file in messages and anchors relative
    /// paths (`cwd`, `env_file`, programs given as `./bin`).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse::parse(path, text, true)
    }

    /// Parses config text with every check of the file itself and none against this host
    /// (as [`Config::load_portable`] does for a file).
    pub fn parse_portable(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse::parse(path, text, false)
    }

    /// The longest an orderly shutdown of every program can take: a program is stopped only
    /// after everything that depends on it has stopped, so this is the largest sum of
    /// `stop_timeout`s along a `depends_on` chain (the instances of one program stop
    /// together). A service manager's stop timeout for stead itself is this plus a margin.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = stead_supervisor::Config::parse_portable(
    ///     std::path::Path::new("stead.toml"),
    ///     "[program.db]\ncommand = ['db']\nstop_timeout = '20s'\n\
    ///      [program.app]\ncommand = ['app']\nstop_timeout = '5s'\ndepends_on = ['db']\n\
    ///      [program.cron]\ncommand = ['cron']\nstop_timeout = '22s'\n",
    /// ).unwrap();
    /// assert_eq!(c.shutdown_budget(), Duration::from_secs(25));
    /// ```
    pub fn shutdown_budget(&self) -> Duration {
        let mut own: BTreeMap<&str, (Duration, &[String])> = BTreeMap::new();
        for p in &self.programs {
            let e = own
                .entry(p.group.as_str())
                .or_insert((Duration::ZERO, p.depends_on.as_slice()));
            e.0 = e.0.max(p.stop_timeout);
        }
        let mut memo = BTreeMap::new();
        own.keys()
            .map(|g| until_stopped(g, &own, &mut memo, 0))
            .max()
            .unwrap_or_default()
    }

    /// The instances of the group or instance called `name` (`web` gives `web:0`, `web:1`…).
    pub fn select<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ProgramConfig> + 'a {
        self.programs.iter().filter(move |p| p.answers_to(name))
    }
}

/// The largest config file stead reads (4 MiB: thousands of programs); a bigger one is
/// refused before it is parsed, so a wrong path (a log, a device) cannot eat the memory.
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a UTF-8 text file of at most `limit` bytes (`FileTooLarge` beyond, without reading
/// more than one byte past the limit).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is over {} KiB", limit >> 10),
        ));
    }
    Ok(text)
}
