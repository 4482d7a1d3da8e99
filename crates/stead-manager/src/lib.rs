//! Native service registration: one [`ServiceSpec`] installed with the OS's own manager —
//! systemd (system and `--user`), the Windows Service Control Manager, launchd, `OpenRC` — or,
//! for per-user autostart on Windows, a Task Scheduler logon task.
//!
//! Every backend has a pure renderer ([`backend`]) that runs on every OS, so
//! [`plan`] shows exactly what an install would write and run anywhere (`stead install
//! --dry-run --backend windows` on Linux). Applying a plan is per OS: systemd here
//! ([`apply`]); the SCM on Windows.
//!
//! The `service-manager` crate was evaluated first: its systemd backend writes `ExecStart=`
//! with the arguments joined by spaces (a path with a space breaks), sets no `Restart=`, no
//! hardening, and writes in place; its Windows support goes through `sc.exe` or `WinSW`. stead
//! needs quoting proven by round trips, restart and failure actions, least-privilege
//! accounts and a cross-OS dry run, so the renderers here are its own; unit text reuses
//! `stead_export::unit`.
//!
//! ```
//! use stead_manager::{Backend, ServiceSpec, plan};
//! let spec = ServiceSpec::new("web", "/usr/local/bin/web", &["--port", "8080"]);
//! let p = plan(&spec, Backend::Systemd, std::path::Path::new("/root")).unwrap();
//! assert_eq!(p.files[0].path, std::path::Path::new("/etc/systemd/system/web.service"));
//! assert_eq!(p.commands[0], ["systemctl", "daemon-reload"]);
//! ```

// Renderers build text piece by piece; `format!` into `push_str` reads best there.
#![allow(clippy::format_push_string)]

#[cfg(any(unix, windows))]
mod atomic;
pub mod backend;
#[cfg(target_os = "linux")]
#[path = "native_linux.rs"]
mod native;
#[cfg(windows)]
#[path = "native_windows.rs"]
mod native;
#[cfg(target_os = "macos")]
#[path = "native_macos.rs"]
mod native;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
#[path = "native_other.rs"]
mod native;
pub mod path_safety;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod provision_unix;
mod spec;
#[cfg(unix)]
mod unix_apply;
pub mod wrap;
#[cfg(any(unix, windows))]
mod wrap_apply;

use std::path::{Path, PathBuf};

pub use spec::{Account, Harden, Readiness, Restart, ServiceSpec, SpecError, StartMode};

/// A native service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// systemd system units.
    Systemd,
    /// systemd user units (`--user`).
    SystemdUser,
    /// launchd: `LaunchDaemon`, or `LaunchAgent` with `--user`.
    Launchd,
    /// `OpenRC` with `supervise-daemon`.
    Openrc,
    /// The Windows Service Control Manager.
    Windows,
    /// A Windows Task Scheduler logon task (per-user autostart, no admin rights).
    TaskScheduler,
}

impl Backend {
    /// Whether this backend's services run on Windows (the SCM, Task Scheduler), so its
    /// paths follow Windows' rules wherever the plan is made.
    pub fn is_windows(self) -> bool {
        matches!(self, Backend::Windows | Backend::TaskScheduler)
    }

    /// Whether `path` is absolute on the OS this backend's services run on, judged by that
    /// OS's rules rather than this machine's: on Windows a drive letter and `\` or `/`
    /// (`C:\Program Files\app.exe`) or a UNC path (`\\server\share\app.exe`); elsewhere a
    /// leading `/`.
    ///
    /// ```
    /// use stead_manager::Backend;
    /// assert!(Backend::Windows.is_absolute(r"C:\Program Files\App\app.exe"));
    /// assert!(Backend::Windows.is_absolute(r"\\server\share\app.exe"));
    /// assert!(!Backend::Windows.is_absolute(r"C:app.exe"));
    /// assert!(!Backend::Windows.is_absolute("/usr/bin/app"));
    /// assert!(Backend::Systemd.is_absolute("/usr/bin/app"));
    /// assert!(!Backend::Systemd.is_absolute(r"C:\app.exe"));
    /// ```
    pub fn is_absolute(self, path: &str) -> bool {
        if !self.is_windows() {
            return path.starts_with('/');
        }
        let b = path.as_bytes();
        let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':';
        if drive {
            return matches!(b[2], b'\\' | b'/');
        }
        // `\\server\share\…` (and `\\?\C:\…`): two leading separators, then a server and a
        // share.
        let unc = path.strip_prefix(r"\\").or_else(|| path.strip_prefix("//"));
        unc.is_some_and(|rest| rest.split(['\\', '/']).filter(|s| !s.is_empty()).count() >= 2)
    }

    /// The backend for this machine: systemd when it is PID 1, `OpenRC` when its run
    /// directory exists, launchd on macOS, the SCM on Windows; `user` picks the per-user
    /// flavour.
    pub fn detect(user: bool) -> Option<Backend> {
        if cfg!(windows) {
            return Some(if user {
                Backend::TaskScheduler
            } else {
                Backend::Windows
            });
        }
        if cfg!(target_os = "macos") {
            return Some(Backend::Launchd);
        }
        if Path::new("/run/systemd/system").exists() {
            return Some(if user {
                Backend::SystemdUser
            } else {
                Backend::Systemd
            });
        }
        if Path::new("/run/openrc").exists() {
            return Some(Backend::Openrc);
        }
        None
    }

    /// The name used by `--backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Systemd => "systemd",
            Backend::SystemdUser => "systemd-user",
            Backend::Launchd => "launchd",
            Backend::Openrc => "openrc",
            Backend::Windows => "windows",
            Backend::TaskScheduler => "task-scheduler",
        }
    }
}

/// A file an install writes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedFile {
    /// Where.
    pub path: PathBuf,
    /// Unix mode.
    pub mode: u32,
    /// What.
    pub text: String,
}

/// The account a system service runs as, and the directories made for it. `uninstall
/// --purge` removes what this records as made by the install, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provision {
    /// What kind of account the service runs as, which says what the install makes.
    #[serde(default)]
    pub kind: ProvisionKind,
    /// The account (empty for a dynamic one and for a per-user service, which runs as the
    /// user who installs it).
    pub user: String,
    /// Whether the account may be created when it is missing (`--create-user`): a system
    /// account, no login shell, no home.
    #[serde(default)]
    pub create_user: bool,
    /// Whether this install created it (set when applied; only then does `--purge` delete it).
    pub user_created: bool,
    /// State and log directories, owned by the account, mode 0750 (made by systemd at start,
    /// by the `OpenRC` script's `start_pre`, or for launchd and per-user services by the
    /// install). Once applied, only those that did not exist before the install (or that an
    /// earlier install of the name made) are recorded.
    pub directories: Vec<PathBuf>,
    /// The configuration directory, made at install as `root:GROUP` 0750 (the account reads,
    /// only root changes; 0700 for a per-user service; by systemd for a dynamic account)
    /// unless it exists already.
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
    /// Whether this install made `config_dir` (set when applied).
    #[serde(default)]
    pub config_dir_created: bool,
    /// Where the record of what the install made is kept (0600): `/var/lib/stead/installs`
    /// (`/var/db/stead/installs` on macOS), or for a per-user service
    /// `~/.local/state/stead/installs`, the user's own.
    #[serde(default)]
    pub record: PathBuf,
}

/// What kind of account a provisioned service runs as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisionKind {
    /// A system account (root, or a named one, perhaps created by the install).
    #[default]
    System,
    /// systemd's `DynamicUser=`: systemd makes the account at start and keeps its state and
    /// logs under `/var/lib/private/NAME` and `/var/log/private/NAME`, reached through
    /// symbolic links `/var/lib/NAME` and `/var/log/NAME`.
    Dynamic,
    /// A `--user` service: the installing user, its directories under the home.
    PerUser,
}

/// Where the record of what the install of `name` made is kept.
pub(crate) fn record_path(name: &str, backend: Backend, user_mode: bool, home: &Path) -> PathBuf {
    let dir = if user_mode {
        home.join(".local/state/stead/installs")
    } else {
        Path::new(state_root(backend)).join("stead/installs")
    };
    dir.join(format!("{name}.json"))
}

impl Provision {
    /// What an install for `spec` provisions. The state directory is `/var/lib/NAME` on
    /// Linux, `/var/db/NAME` on macOS (launchd), where system daemons keep theirs, and
    /// `~/.local/state/NAME` for a per-user service (its configuration `~/.config/NAME`).
    /// A service running as root gets the same record as one with its own account, so that
    /// `--purge` removes its directories too; a dynamic account's are systemd's private ones.
    fn for_spec(spec: &ServiceSpec, backend: Backend, home: &Path) -> Option<Provision> {
        let record = record_path(&spec.name, backend, spec.user_mode, home);
        let name = &spec.name;
        let (kind, user, directories, config_dir) = if spec.user_mode {
            (
                ProvisionKind::PerUser,
                String::new(),
                vec![home.join(".local/state").join(name)],
                home.join(".config").join(name),
            )
        } else {
            let sys = |d: &str| Path::new(d).join(name);
            match &spec.account {
                Account::User(user) => (
                    ProvisionKind::System,
                    user.clone(),
                    vec![sys(state_root(backend)), sys("/var/log")],
                    sys("/etc"),
                ),
                Account::Default => (
                    ProvisionKind::System,
                    "root".to_string(),
                    vec![sys(state_root(backend)), sys("/var/log")],
                    sys("/etc"),
                ),
                Account::Dynamic if backend == Backend::Systemd => (
                    ProvisionKind::Dynamic,
                    String::new(),
                    vec![
                        sys("/var/lib"),
                        sys("/var/lib/private"),
                        sys("/var/log"),
                        sys("/var/log/private"),
                    ],
                    sys("/etc"),
                ),
                _ => return None,
            }
        };
        Some(Provision {
            kind,
            user,
            create_user: spec.create_user.is_some(),
            user_created: false,
            directories,
            config_dir: Some(config_dir),
            config_dir_created: false,
            record,
        })
    }
}

/// Whether systemd keeps the installing user's manager running after logout (`loginctl
/// enable-linger` leaves `/var/lib/systemd/linger/USER`).
pub(crate) fn lingers() -> bool {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .is_ok_and(|u| Path::new("/var/lib/systemd/linger").join(u).exists())
}

/// Where system services keep their state with `backend`.
fn state_root(backend: Backend) -> &'static str {
    if backend == Backend::Launchd {
        "/var/db"
    } else {
        "/var/lib"
    }
}

/// What an install does: files to write, commands to run, SCM calls to make, and warnings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// The backend.
    pub backend: Backend,
    /// Files, in order.
    pub files: Vec<PlannedFile>,
    /// Commands, in order, after the files.
    pub commands: Vec<Vec<String>>,
    /// The SCM registration (Windows backend).
    pub scm: Option<backend::windows::ScmParams>,
    /// An account to create (if missing) and the directories made for the service, which
    /// `uninstall --purge` removes again (and only those).
    pub provision: Option<Provision>,
    /// Things worth knowing (root/`LocalSystem` without need, linger for user units…).
    pub warnings: Vec<String>,
    /// `--wrap`: the generated `stead.toml` the service (stead) runs, written before the
    /// service starts. An existing file there is refused unless `--force`; `uninstall` removes
    /// it while it is unchanged ([`wrap::is_unchanged`]).
    pub wrapped: Option<Wrapped>,
}

/// What `--wrap` adds to a plan: the program stead runs, and the config that says so.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Wrapped {
    /// The wrapped program, judged like a service's own binary before a system install.
    pub program: PathBuf,
    /// The generated `stead.toml`.
    pub config: PlannedFile,
}

/// The plan to install `spec` with `backend`; `home` is the user's home for `--user` paths.
pub fn plan(spec: &ServiceSpec, backend: Backend, home: &Path) -> Result<Plan, SpecError> {
    spec.validate_for(backend)?;
    let mut spec = spec.clone();
    spec.user_mode =
        matches!(backend, Backend::SystemdUser | Backend::TaskScheduler) || spec.user_mode;
    let warnings = Vec::new();
    if let Some(u) = &spec.create_user {
        if matches!(backend, Backend::Windows | Backend::TaskScheduler) {
            return Err(SpecError(format!(
                "{}: --create-user makes Unix system accounts; on Windows the service runs as the virtual account NT SERVICE\\{} by default, which needs no creation (or pass --account)",
                spec.name, spec.name
            )));
        }
        spec.account = Account::User(u.clone());
    }
    // A systemd user manager cannot switch to another account, and launchd ignores
    // `UserName` for agents: the service would fail to start, or run as someone else.
    if spec.user_mode
        && matches!(backend, Backend::SystemdUser | Backend::Launchd)
        && !matches!(spec.account, Account::Default)
    {
        return Err(SpecError(format!(
            "{}: a per-user service runs as the user who installs it; drop --account/--create-user, or install it system-wide (without --user)",
            spec.name
        )));
    }
    let unix_root = !spec.user_mode && matches!(spec.account, Account::Default);
    let p = match backend {
        Backend::Systemd | Backend::SystemdUser => {
            backend::systemd::plan(&spec, backend, home, unix_root, warnings)
        }
        Backend::Launchd => backend::launchd::plan(&spec, backend, home, unix_root, warnings),
        Backend::Openrc => backend::openrc::plan(&spec, backend, home, unix_root, warnings),
        Backend::Windows => backend::windows::plan(&spec, backend, warnings),
        Backend::TaskScheduler => backend::task_scheduler::plan(&spec, backend, home, warnings),
    };
    Ok(p)
}

/// What `stead service VERB` asks of an installed service.
///
/// ```
/// assert_eq!(stead_manager::Control::Restart.as_str(), "restart");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Start it (a running service is left alone).
    Start,
    /// Stop it.
    Stop,
    /// Stop it, then start it.
    Restart,
}

impl Control {
    /// The manager's own word for it (`systemctl restart`, `rc-service NAME restart`).
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Start => "start",
            Control::Stop => "stop",
            Control::Restart => "restart",
        }
    }
}

/// Why an install, an uninstall or a status query did not work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// The spec is not installable.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A service of that name exists.
    #[error(
        "a service named {0} is already installed ({1}); uninstall it first, or pass --force to replace it"
    )]
    Exists(String, String),
    /// Nothing by that name is installed.
    #[error("no service named {0} is installed ({1})")]
    NotInstalled(String, String),
    /// A file could not be written or removed.
    #[error("cannot write {path}: {source}; run as root (or with --user for a per-user service)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A manager command failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// What it said.
        output: String,
    },
    /// A system service would run or read a file that users other than an administrator
    /// can change.
    #[error("refusing to install: {0}")]
    UnsafePath(String),
    /// `--wrap` would replace a file that exists where its config goes.
    #[error(
        "{0} exists already; move it away (or run it with `stead install -c {0}`), or pass --force to replace it"
    )]
    ConfigExists(PathBuf),
    /// This backend cannot be applied on this OS (only rendered with --dry-run).
    #[error("the {0} backend can only be previewed here (--dry-run); install on its own OS")]
    NotHere(&'static str),
}

/// What the native manager says about a service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NativeStatus {
    /// The service.
    pub name: String,
    /// The backend asked.
    pub backend: Backend,
    /// `not-installed`, `stopped`, `starting`, `running`, `stopping`, `failed`.
    pub state: String,
    /// The main pid while running.
    pub pid: Option<u32>,
    /// `enabled`, `disabled`, `static`… (the manager's own word).
    pub start_mode: Option<String>,
    /// The last exit code, when known.
    pub last_exit: Option<i32>,
    /// The manager's words for the state (`active (running)`, `failed (exit-code)`).
    pub detail: String,
}

impl NativeStatus {
    /// The exit code `status` commands give: 0 only while it runs (so scripts can test it),
    /// 4 when not installed, 1 otherwise.
    ///
    /// ```
    /// # use stead_manager::{Backend, NativeStatus};
    /// let st = NativeStatus { name: "web".into(), backend: Backend::Systemd, state: "stopped".into(),
    ///     pid: None, start_mode: None, last_exit: None, detail: String::new() };
    /// assert_eq!(st.exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self.state.as_str() {
            "running" => 0,
            "not-installed" => 4,
            _ => 1,
        }
    }
}

/// The user's home directory (`HOME`, else `USERPROFILE`), where `--user` plans put files.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

/// Applies `plan`: writes its files (atomically), runs its commands. Refuses to replace an
/// installed service unless `force`.
pub fn apply(plan: &Plan, spec: &ServiceSpec, force: bool) -> Result<(), ManagerError> {
    native::install(plan, spec, force)
}

/// Stops, disables and removes `name`, then reloads the manager.
pub fn uninstall(
    name: &str,
    backend: Backend,
    home: &Path,
    purge: bool,
) -> Result<(), ManagerError> {
    native::uninstall(name, backend, home, purge)
}

/// What the native manager says about `name`.
pub fn status(name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    native::status(name, backend)
}

/// Starts, stops or restarts `name` through the native manager.
pub fn control(name: &str, backend: Backend, verb: Control) -> Result<(), ManagerError> {
    native::control(name, backend, verb)
}

/// Entry points for the fuzz targets in `fuzz/` — not an API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::ServiceSpec;

    /// The `renderers` target's bytes: NUL separates arguments; an argument holding `\x01`
    /// is an environment entry, `KEY\x01VALUE`.
    pub fn round_trip_bytes(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let mut args = Vec::new();
        let mut env = Vec::new();
        for part in text.split('\0') {
            match part.split_once('\u{1}') {
                Some((k, v)) => env.push((k.to_string(), v.to_string())),
                None => args.push(part.to_string()),
            }
        }
        round_trip(args, env);
    }

    /// Any spec the validator accepts renders to forms that parse back to the same argv: the
    /// systemd `ExecStart=` (through stead's unit parser) and the SCM image path (through
    /// `CommandLineToArgvW` rules); with the `fuzzing` feature also the launchd plist (the
    /// `plist` crate), the `OpenRC` script (POSIX words, as the shell reads them) and the
    /// task XML (`roxmltree`), environment included. A spec that is refused is fine.
    pub fn round_trip(args: Vec<String>, env: Vec<(String, String)>) {
        let mut spec = ServiceSpec::new("fuzz", "/opt/fuzz app/bin/x", &[]);
        spec.args = args;
        spec.env = env.into_iter().collect();
        if spec.validate().is_err() {
            return;
        }
        let want = spec.argv();
        let unit = crate::backend::systemd::unit(&spec).render();
        let parsed = stead_export::unit::Unit::parse(&unit).expect("our own unit parses");
        let exec = parsed
            .get("Service", "ExecStart")
            .next()
            .expect("ExecStart");
        let got = stead_export::unit::split_exec(exec).expect("ExecStart splits");
        assert_eq!(got, want, "systemd: {unit}");
        let image = crate::backend::windows::image_path(&spec);
        assert_eq!(
            crate::backend::windows::split_command_line(&image),
            want,
            "SCM: {image}"
        );
        let envs: Vec<&str> = parsed.get("Service", "Environment").collect();
        assert_eq!(envs.len(), spec.env.len(), "systemd environment: {unit}");
        #[cfg(feature = "fuzzing")]
        other_formats(&spec, &want);
    }

    #[cfg(feature = "fuzzing")]
    fn other_formats(spec: &ServiceSpec, want: &[String]) {
        // launchd: ProgramArguments and EnvironmentVariables.
        let text = crate::backend::launchd::plist(spec);
        let v = plist::Value::from_reader_xml(text.as_bytes()).expect("our plist parses");
        let dict = v.as_dictionary().expect("a dictionary");
        let args: Vec<String> = dict
            .get("ProgramArguments")
            .and_then(plist::Value::as_array)
            .expect("ProgramArguments")
            .iter()
            .map(|a| a.as_string().expect("a string").to_string())
            .collect();
        assert_eq!(args, want, "launchd: {text}");
        let env: std::collections::BTreeMap<String, String> = dict
            .get("EnvironmentVariables")
            .and_then(plist::Value::as_dictionary)
            .map(|d| {
                d.iter()
                    .map(|(k, v)| (k.clone(), v.as_string().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(env, spec.env, "launchd environment: {text}");

        // OpenRC: `command=` and `command_args=` as sh assigns them, the arguments then
        // split as words (openrc-run evals them).
        let script = crate::backend::openrc::script(spec);
        let assigned = |key: &str| -> String {
            let rhs = script
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}= in {script}"));
            let words = shlex::split(rhs).unwrap_or_else(|| panic!("{key}= is not shell: {rhs}"));
            assert_eq!(words.len(), 1, "{key}= is one word: {rhs}");
            words.into_iter().next().unwrap_or_default()
        };
        let mut got = vec![assigned("command")];
        got.extend(shlex::split(&assigned("command_args")).expect("command_args splits"));
        assert_eq!(got, want, "OpenRC: {script}");

        // Task Scheduler: <Command> and <Arguments> (a Windows command line).
        let xml = crate::backend::task_scheduler::task_xml(spec, r"PC\fuzz").replacen(
            "encoding=\"UTF-16\"",
            "",
            1,
        );
        let doc = roxmltree::Document::parse(&xml).expect("our task XML parses");
        let text_of = |tag: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_string()
        };
        let mut got = vec![text_of("Command")];
        got.extend(crate::backend::windows::split_command_line(&text_of(
            "Arguments",
        )));
        assert_eq!(got, want, "task XML: {xml}");
    }
}
