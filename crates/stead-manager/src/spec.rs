//! [`ServiceSpec`]: one description of a service, which every backend renders natively.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use stead_export::systemd::Harden;

/// The account a service runs as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Account {
    /// The OS default for a service of this kind: on Windows the virtual account
    /// `NT SERVICE\NAME` (least privilege); on Unix `root`… unless `--user` is set, which is
    /// why stead warns about it.
    Default,
    /// A named user (`www-data`; on Windows `DOMAIN\user`, password from the environment).
    User(String),
    /// systemd `DynamicUser=yes`: a transient account made for the service.
    Dynamic,
    /// Windows `LocalSystem` (full rights: only when needed).
    LocalSystem,
    /// Windows `NT AUTHORITY\LocalService`.
    LocalService,
    /// Windows `NT AUTHORITY\NetworkService`.
    NetworkService,
}

/// When the service starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartMode {
    /// At boot (or logon for `--user`).
    Auto,
    /// At boot, after the automatic ones (Windows delayed auto-start; elsewhere = auto).
    DelayedAuto,
    /// Only when started by hand.
    Manual,
}

/// When the native manager restarts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Whenever it ends.
    Always,
    /// When it fails (non-zero exit, signal, watchdog).
    OnFailure,
    /// Never.
    Never,
}

impl Account {
    /// The account named on a command line: `dynamic`, `LocalSystem`, `LocalService`,
    /// `NetworkService` (any case), or a user name; none is [`Account::Default`].
    ///
    /// ```
    /// use stead_manager::Account;
    /// assert_eq!(Account::from_arg(Some("localservice")), Account::LocalService);
    /// assert_eq!(Account::from_arg(Some("www-data")), Account::User("www-data".into()));
    /// ```
    pub fn from_arg(arg: Option<&str>) -> Account {
        match arg {
            None => Account::Default,
            Some("dynamic") => Account::Dynamic,
            Some(a) if a.eq_ignore_ascii_case("LocalSystem") => Account::LocalSystem,
            Some(a) if a.eq_ignore_ascii_case("LocalService") => Account::LocalService,
            Some(a) if a.eq_ignore_ascii_case("NetworkService") => Account::NetworkService,
            Some(u) => Account::User(u.to_string()),
        }
    }
}

impl ServiceSpec {
    /// Adds an environment entry given as `KEY=VALUE` (a command line's `--env`).
    ///
    /// ```
    /// let mut s = stead_manager::ServiceSpec::new("web", "/opt/web", &[]);
    /// s.add_env("A=b=c").unwrap();
    /// assert_eq!(s.env["A"], "b=c");
    /// assert!(s.add_env("nokey").is_err());
    /// ```
    pub fn add_env(&mut self, kv: &str) -> Result<(), SpecError> {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| SpecError(format!("--env {kv}: expected KEY=VALUE")))?;
        self.env.insert(k.to_string(), v.to_string());
        Ok(())
    }
}

impl std::str::FromStr for StartMode {
    type Err = SpecError;
    /// `auto`, `delayed` (or `delayed-auto`), `manual`.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s {
            "auto" => Ok(StartMode::Auto),
            "delayed" | "delayed-auto" => Ok(StartMode::DelayedAuto),
            "manual" => Ok(StartMode::Manual),
            o => Err(SpecError(format!(
                "--start {o}: use auto, delayed or manual"
            ))),
        }
    }
}

impl std::str::FromStr for Restart {
    type Err = SpecError;
    /// `always`, `on-failure`, `never`.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s {
            "always" => Ok(Restart::Always),
            "on-failure" => Ok(Restart::OnFailure),
            "never" => Ok(Restart::Never),
            o => Err(SpecError(format!(
                "--restart {o}: use always, on-failure or never"
            ))),
        }
    }
}

/// How the manager learns the service started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    /// When the process has been executed.
    Exec,
    /// When it says so (`sd_notify` READY=1): programs built with the `stead` library, and
    /// `stead up`/`stead run`.
    Notify,
}

/// Everything about one service, for every backend.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceSpec {
    /// The service name: letters, digits, `-`, `_`, `.` (see [`ServiceSpec::validate`]).
    pub name: String,
    /// A human name (Windows display name, unit `Description=`).
    pub display_name: String,
    /// One sentence about it.
    pub description: String,
    /// The program, an absolute path.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Environment (never secrets: they belong in a file only the account can read).
    pub env: BTreeMap<String, String>,
    /// Who it runs as.
    pub account: Account,
    /// When it starts.
    pub start: StartMode,
    /// Services that must start first (native names).
    pub dependencies: Vec<String>,
    /// When it is restarted.
    pub restart: Restart,
    /// Delays before the 1st, 2nd, 3rd+ restart (Windows failure actions; systemd uses the
    /// first as `RestartSec=`).
    pub restart_delays: Vec<Duration>,
    /// The failure count resets after this long without a failure.
    pub restart_reset: Duration,
    /// How long a stop may take before the kill.
    pub stop_timeout: Duration,
    /// How readiness is learned.
    pub readiness: Readiness,
    /// Watchdog interval for notify services (systemd `WatchdogSec=`).
    pub watchdog: Option<Duration>,
    /// Per-user service (systemd `--user`, `LaunchAgent`, Task Scheduler logon task).
    pub user_mode: bool,
    /// How far systemd sandboxes it (`--harden none|default|strict`; `--no-hardening` is
    /// `none`): see [`Harden`].
    pub hardening: Harden,
    /// Capabilities it needs (`CAP_NET_BIND_SERVICE`): kept when hardened, given to an account
    /// other than root as ambient capabilities.
    pub capabilities: Vec<String>,
    /// Where stdout/stderr go when the manager does not collect them itself (launchd).
    pub log_dir: Option<PathBuf>,
    /// Create this system account (no shell, no home) if it does not exist, and run as it.
    pub create_user: Option<String>,
    /// Set when the service is stead itself supervising programs (`stead install -c`,
    /// `--wrap`): its state directory. The units stead writes for itself let it stop its
    /// programs in order (systemd `KillMode=mixed`), delegate the cgroup it makes instance
    /// cgroups in (`Delegate=yes`), and reload through `stead reload` (`ExecReload=`).
    pub supervisor_state: Option<PathBuf>,
}

/// A spec that cannot be installed, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

impl ServiceSpec {
    /// A spec with the defaults: auto start, restart on failure after 5 s / 10 s / 60 s
    /// (reset after a day), stop timeout 30 s, the least-privileged default account,
    /// hardening on.
    ///
    /// ```
    /// let s = stead_manager::ServiceSpec::new("web", "/usr/local/bin/web", &["--port", "8080"]);
    /// assert!(s.validate().is_ok());
    /// assert_eq!(s.restart_delays.len(), 3);
    /// ```
    pub fn new(name: &str, program: impl Into<PathBuf>, args: &[&str]) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            display_name: name.to_string(),
            description: format!("{name} (installed by stead)"),
            program: program.into(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
            cwd: None,
            env: BTreeMap::new(),
            account: Account::Default,
            start: StartMode::Auto,
            dependencies: Vec::new(),
            restart: Restart::OnFailure,
            restart_delays: vec![
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ],
            restart_reset: Duration::from_secs(86_400),
            stop_timeout: Duration::from_secs(30),
            readiness: Readiness::Exec,
            watchdog: None,
            user_mode: false,
            hardening: Harden::Default,
            capabilities: Vec::new(),
            log_dir: None,
            create_user: None,
            supervisor_state: None,
        }
    }

    /// Checks what every backend needs: a name safe in file names, unit names, registry keys
    /// and plist labels; an absolute program path; no newline or NUL anywhere (a newline in
    /// a generated file is how configuration injection starts).
    ///
    /// ```
    /// let mut s = stead_manager::ServiceSpec::new("web", "/bin/web", &[]);
    /// s.name = "../etc/passwd".into();
    /// assert!(s.validate().unwrap_err().to_string().contains("service name"));
    /// ```
    pub fn validate(&self) -> Result<(), SpecError> {
        self.check(self.program.is_absolute())
    }

    /// [`ServiceSpec::validate`] for a service of `backend`, which may run on another OS
    /// than this one (`--dry-run --backend windows` on Linux): the program's path is judged
    /// by that OS's rules ([`Backend::is_absolute`](crate::Backend::is_absolute)).
    pub fn validate_for(&self, backend: crate::Backend) -> Result<(), SpecError> {
        let absolute = if backend.is_windows() == cfg!(windows) {
            self.program.is_absolute()
        } else {
            self.program
                .to_str()
                .is_some_and(|p| backend.is_absolute(p))
        };
        self.check(absolute)?;
        let windows = backend.is_windows();
        if let Some(c) = self
            .capabilities
            .iter()
            .find(|c| is_capability(c) == windows)
        {
            return Err(SpecError(if windows {
                format!(
                    "--capability {c} is a Linux capability; a Windows service keeps privileges: name one as Windows does, SeBackupPrivilege"
                )
            } else {
                format!(
                    "--capability {c} is a Windows privilege; a {} service keeps Linux capabilities: name one as capabilities(7) does, CAP_NET_BIND_SERVICE",
                    backend.as_str()
                )
            }));
        }
        Ok(())
    }

    fn check(&self, absolute: bool) -> Result<(), SpecError> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > 80
            || n.starts_with(['.', '-'])
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(SpecError(format!(
                "bad service name `{n}`: use 1-80 letters, digits, `-`, `_` or `.`, not starting with `.` or `-`"
            )));
        }
        if !absolute {
            return Err(SpecError(format!(
                "the program must be an absolute path, not `{}`",
                self.program.display()
            )));
        }
        let mut texts: Vec<&str> = vec![&self.display_name, &self.description];
        texts.extend(self.args.iter().map(String::as_str));
        texts.extend(self.env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        texts.extend(self.dependencies.iter().map(String::as_str));
        if let Some(p) = self.program.to_str() {
            texts.push(p);
        }
        // Newlines inject lines into unit files and scripts; NUL ends C strings; other
        // control characters and U+FFFE/U+FFFF cannot appear in XML (plists, task files),
        // even escaped. A tab is fine everywhere.
        let unfit = |c: char| (c.is_control() && c != '\t') || matches!(c, '\u{FFFE}' | '\u{FFFF}');
        if let Some(t) = texts.iter().find(|t| t.chars().any(unfit)) {
            return Err(SpecError(format!(
                "{t:?} contains a newline, NUL or other control character: not allowed in a service definition"
            )));
        }
        if let Some(u) = &self.create_user
            && (u.is_empty()
                || u.len() > 32
                || u.starts_with('-')
                || !u.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')
                }))
        {
            return Err(SpecError(format!(
                "bad account name `{u}`: use up to 32 lowercase letters, digits, `-` or `_`"
            )));
        }
        if let Some(c) = self
            .capabilities
            .iter()
            .find(|c| !is_capability(c) && !crate::backend::windows::is_privilege(c))
        {
            return Err(SpecError(format!(
                "bad capability `{c}`: name one as capabilities(7) does, CAP_NET_BIND_SERVICE (on Windows a privilege, SeBackupPrivilege)"
            )));
        }
        for k in self.env.keys() {
            if k.is_empty() || k.contains('=') {
                return Err(SpecError(format!("bad environment variable name `{k}`")));
            }
        }
        Ok(())
    }

    /// The argv: program and arguments.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// Whether `name` is spelled as capabilities(7) spells one: `CAP_…`.
fn is_capability(name: &str) -> bool {
    name.len() > 4
        && name.starts_with("CAP_")
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}
