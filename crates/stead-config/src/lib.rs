//! # stead-config
//!
//! `stead.toml`: the model, and a strict parser that reports every problem at once with its
//! line, column and a hint; with the [`Signal`] names and the durations it is written in.
//!
//! Parsing checks the file itself. Checks against the machine the programs will run on (the
//! binary resolves, the user exists, `cwd` is a directory) are a separate concern: the
//! supervisor passes its own [`HostChecks`] to [`Config::load_checked`]; an export for other
//! machines uses [`Config::load_portable`], which runs none of them.
//!
//! ```
//! use std::path::Path;
//! use stead_config::{Config, RestartPolicy};
//!
//! let text = r#"
//! [program.web]
//! command = ["sh", "-c", "exec sleep 100"]
//! restart = "on-failure"
//! stop_timeout = "5s"
//! "#;
//! let config = Config::parse_portable(Path::new("stead.toml"), text).unwrap();
//! assert_eq!(config.programs[0].name, "web");
//! assert_eq!(config.programs[0].restart, RestartPolicy::OnFailure);
//!
//! let err = Config::parse_portable(Path::new("stead.toml"), "[program.web]\ncomand = 'x'\n")
//!     .unwrap_err();
//! assert!(err.to_string().contains("stead.toml:2:1: unknown key `comand`"));
//! ```

mod check;
mod diagnostic;
mod duration;
mod host;
mod include;
mod log;
mod parse;
pub mod signal;
mod socket;
pub mod terminal;
mod update;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use check::{
    CheckAction, HealthCheck, HealthProbe, Limits, MetricsSettings, Probe, ReadyCheck,
};
pub use diagnostic::{ConfigError, Diagnostic};
pub use duration::{INFINITY, format_duration, parse_duration, parse_timeout};
pub use host::HostChecks;
pub use log::{
    LogFormat, LogMode, LogSettings, NAME_MAX, RotateEvery, Timestamps, file_stem,
    longest_file_name, parse_size,
};
pub use parse::parse_http_url;
pub use signal::Signal;
pub use socket::{Listen, SocketSpec, overlaps, socket_name_problem};
pub use update::{Amount, RollingLimits, UpdateStrategy};

/// The exit code of stead when a program went `fatal` and that ended the supervisor
/// (`stead run`, or `exit_on_fatal = true`): a permanent failure, so that a native manager's
/// own recovery (systemd `Restart=`, SCM failure actions) can act.
///
/// ```
/// assert_eq!(stead_config::EXIT_PROGRAM_FATAL, 100);
/// ```
pub const EXIT_PROGRAM_FATAL: i32 = 100;

/// Serializes a `Duration` as a human string (`"1.5s"`), for status and config dumps:
/// `#[serde(serialize_with = "stead_config::serde_duration::serialize")]`.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Status {
///     #[serde(with = "stead_config::serde_duration")]
///     uptime: std::time::Duration,
/// }
/// # let _ = Status { uptime: std::time::Duration::ZERO };
/// ```
pub mod serde_duration {
    use std::time::Duration;

    /// Writes `d` as [`crate::format_duration`] does.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::format_duration(*d))
    }
}

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
    /// The files `include` brought in, in the order they were read (their programs follow
    /// the main file's).
    pub included: Vec<PathBuf>,
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
    /// `update = "rolling"`: how a reload that changed the program applies to it.
    pub update: UpdateStrategy,
    /// `update = { max_surge = …, max_unavailable = … }`: how far a rolling update (at a
    /// reload with `strategy = "rolling"`, or `stead restart --rolling`) may go beside and
    /// below `numprocs`.
    pub rolling: RollingLimits,
    /// `sockets = [...]`: sockets stead binds once and hands to every instance, kept open
    /// across restarts and reloads (see [`SocketSpec`]).
    pub sockets: Vec<SocketSpec>,
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
    /// let mut p = stead_config::ProgramConfig::new("web", vec!["x".into()]);
    /// p.name = "web:1".into();
    /// assert!(p.answers_to("web") && p.answers_to("web:1") && !p.answers_to("web:0"));
    /// ```
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.group == name
    }

    /// A program with every default, running `command`; what `stead run` builds from its flags.
    ///
    /// ```
    /// let p = stead_config::ProgramConfig::new("job", vec!["true".into()]);
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
            sockets: Vec::new(),
            update: UpdateStrategy::Restart,
            rolling: RollingLimits::default(),
        }
    }
}

/// The argv that runs `script` through the system shell: `/bin/sh -c` on Unix, `cmd.exe /C`
/// on Windows. What `shell = true` does to a `command` string.
///
/// ```
/// # #[cfg(unix)]
/// assert_eq!(stead_config::shell_argv("a | b"), ["/bin/sh", "-c", "a | b"]);
/// ```
pub fn shell_argv(script: &str) -> Vec<String> {
    if cfg!(windows) {
        vec!["cmd.exe".into(), "/C".into(), script.into()]
    } else {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
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

    /// Reads a config file and checks it, and checks it against this host through `host`
    /// (the supervisor's checks: binaries resolve, users exist, `cwd` is a directory).
    pub fn load_checked(path: &Path, host: &dyn HostChecks) -> Result<Config, ConfigError> {
        Self::load_with(path, Some(host))
    }

    /// Reads a config file for programs that run on other machines (`stead export`): every
    /// check of the file itself, none against this host (binaries, users, `cwd`, env files).
    pub fn load_portable(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, None)
    }

    fn load_with(path: &Path, host: Option<&dyn HostChecks>) -> Result<Config, ConfigError> {
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
        parse::parse(path, &text, host)
    }

    /// Parses and checks config text, and checks it against this host through `host`;
    /// `path` names the file in messages and anchors relative paths (`cwd`, `env_file`,
    /// programs given as `./bin`).
    pub fn parse_checked(
        path: &Path,
        text: &str,
        host: &dyn HostChecks,
    ) -> Result<Config, ConfigError> {
        parse::parse(path, text, Some(host))
    }

    /// Parses config text with every check of the file itself and none against this host
    /// (as [`Config::load_portable`] does for a file).
    pub fn parse_portable(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse::parse(path, text, None)
    }

    /// The longest an orderly shutdown of every program can take: a program is stopped only
    /// after everything that depends on it has stopped, so this is the largest sum of
    /// `stop_timeout`s along a `depends_on` chain (the instances of one program stop
    /// together). A service manager's stop timeout for stead itself is this plus a margin.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = stead_config::Config::parse_portable(
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
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a UTF-8 text file of at most `limit` bytes (`FileTooLarge` beyond, without reading
/// more than one byte past the limit).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opened without blocking and checked on the descriptor: a FIFO, a device or a
    // `/proc` file that blocks (named in a config or matched by an `include`) is refused,
    // never waited on, since a reload must not hang the supervisor.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is over {} KiB", limit >> 10),
        ));
    }
    Ok(text)
}

#[cfg(all(test, unix))]
mod tests {
    /// A FIFO (or a blocking `/proc` file) where a config is read is refused at once: a
    /// reload must never wait on it.
    #[test]
    fn a_fifo_is_refused_not_waited_on() {
        let fifo = std::env::temp_dir().join(format!("stead-config-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = super::read_bounded(&fifo, 1024).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        std::fs::remove_file(&fifo).unwrap();
    }
}
