//! `stead install`, `stead uninstall` and `stead service start|stop|restart|status`: native
//! registration with the OS's service manager (crate `stead-manager`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use stead_manager::{Account, Backend, Readiness, ServiceSpec, SpecError};

use crate::{EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE, Failure};

/// `--backend`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BackendArg {
    /// This machine's manager.
    Auto,
    Systemd,
    SystemdUser,
    Launchd,
    Openrc,
    Windows,
    TaskScheduler,
}

/// Where and how to register.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// The native manager (default: this machine's).
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// A per-user service: systemd --user, a LaunchAgent, a Task Scheduler logon task.
    #[arg(long)]
    pub user: bool,
}

/// `stead install`.
#[derive(Debug, clap::Args)]
pub(crate) struct InstallArgs {
    #[command(flatten)]
    pub target: Target,
    /// The service name (default: the program's file name, or "stead" with -c).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Install 'stead up -c FILE' as the service: every program of the file under stead's
    /// supervision (the NSSM/WinSW role), with stead's readiness towards the manager.
    #[arg(short, long, conflicts_with = "command", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run the program after -- under stead (the NSSM/WinSW role on every manager): a
    /// generated stead.toml with that one program, and 'stead up' on it as the service, so
    /// it gets stead's restarts with backoff, whole-tree stop and log capture with rotation.
    /// On Windows this is how a program that does not answer the SCM becomes a service.
    #[arg(long, conflicts_with = "config")]
    pub wrap: bool,
    /// The account: dynamic, a user name, LocalSystem, LocalService, NetworkService
    /// (default: root on Unix, with a warning; the virtual NT SERVICE\NAME on Windows).
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Create this system account (no login shell, no home) if it does not exist, run the
    /// service as it (systemd, OpenRC, launchd); uninstall --purge deletes it again if
    /// this install created it.
    #[arg(long, conflicts_with = "account", value_name = "USER")]
    pub create_user: Option<String>,
    /// When the service starts: auto, delayed (Windows delayed auto-start) or manual.
    #[arg(long, default_value = "auto", value_name = "WHEN")]
    pub start: String,
    /// When the manager restarts it: always, on-failure or never.
    #[arg(long, default_value = "on-failure", value_name = "POLICY")]
    pub restart: String,
    /// A service to start first (repeatable).
    #[arg(long = "after", value_name = "SERVICE")]
    pub after: Vec<String>,
    /// A KEY=VALUE for the service's environment (repeatable; never secrets).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// One line about the service.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The program speaks the notify protocol (built with the stead library).
    #[arg(long)]
    pub notify: bool,
    /// Watchdog interval for a notify program (30s).
    #[arg(long, value_name = "DURATION")]
    pub watchdog: Option<String>,
    /// Delay before the first restart (5s); Windows failure actions then wait 10 s and
    /// 60 s.
    #[arg(long, value_name = "DURATION")]
    pub restart_delay: Option<String>,
    /// How long a stop may take before the kill [default: 30s; with -c, the config's
    /// longest ordered shutdown (each dependency chain's stop timeouts added up) plus 15s]
    #[arg(long, value_name = "DURATION")]
    pub stop_timeout: Option<String>,
    /// systemd sandboxing: none, default or strict (docs/install.md lists what each sets,
    /// and its systemd-analyze security score); on Windows the privileges the service keeps,
    /// and with strict a restricted service SID.
    #[arg(long, default_value = "default", value_parser = parse_harden)]
    pub harden: stead_manager::Harden,
    /// The same as --harden none.
    #[arg(long, conflicts_with = "harden")]
    pub no_hardening: bool,
    /// A capability the program needs (CAP_NET_BIND_SERVICE for a port below 1024;
    /// repeatable): kept when hardened, and given to an account other than root. On Windows
    /// a privilege (SeBackupPrivilege), kept in the service's required privileges.
    #[arg(long = "capability", value_name = "CAP")]
    pub capabilities: Vec<String>,
    /// Print what would be written and run, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Replace an installed service of the same name.
    #[arg(long)]
    pub force: bool,
    /// The program and its arguments (after --).
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `stead uninstall NAME`.
#[derive(Debug, clap::Args)]
pub(crate) struct UninstallArgs {
    #[command(flatten)]
    pub target: Target,
    /// The service.
    pub name: String,
    /// Also remove what the install provisioned: the account it created and the service's
    /// state, log and configuration directories (only those).
    #[arg(long)]
    pub purge: bool,
}

/// What `stead service` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ServiceVerb {
    /// Start the service
    Start,
    /// Stop the service
    Stop,
    /// Stop, then start the service
    Restart,
    /// Show the manager's view of it (exit code 0 only while it runs, 4 when not installed)
    Status,
}

/// `stead service VERB NAME`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServiceArgs {
    /// What to do
    pub verb: ServiceVerb,
    /// The service.
    pub name: String,
    #[command(flatten)]
    pub target: Target,
    /// JSON (status).
    #[arg(long)]
    pub json: bool,
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::new(EXIT_USAGE, format!("stead: {}", msg.into()))
}

fn backend(t: &Target) -> Result<Backend, Failure> {
    backend_or(t, None)
}

/// The backend; with `--dry-run` (`preview`) where no manager can be detected, this OS's
/// usual one (systemd on Linux and other Unix, launchd on macOS), with a note: a preview
/// needs no manager.
fn backend_or(t: &Target, preview: Option<()>) -> Result<Backend, Failure> {
    Ok(match t.backend {
        BackendArg::Auto => match (Backend::detect(t.user), preview) {
            (Some(b), _) => b,
            (None, Some(())) => {
                let b = if cfg!(target_os = "macos") {
                    Backend::Launchd
                } else if t.user {
                    Backend::SystemdUser
                } else {
                    Backend::Systemd
                };
                eprintln!(
                    "stead: note: no service manager detected here; showing the {} plan (pass --backend systemd|openrc|launchd|windows for another)",
                    b.as_str()
                );
                b
            }
            (None, None) => {
                return Err(usage(
                    "cannot tell this machine's service manager; pass --backend systemd|openrc|launchd|windows",
                ));
            }
        },
        BackendArg::Systemd if t.user => Backend::SystemdUser,
        BackendArg::Systemd => Backend::Systemd,
        BackendArg::SystemdUser => Backend::SystemdUser,
        BackendArg::Launchd => Backend::Launchd,
        BackendArg::Openrc => Backend::Openrc,
        BackendArg::Windows if t.user => Backend::TaskScheduler,
        BackendArg::Windows => Backend::Windows,
        BackendArg::TaskScheduler => Backend::TaskScheduler,
    })
}

fn parse_harden(s: &str) -> Result<stead_manager::Harden, String> {
    s.parse()
}

fn home() -> PathBuf {
    stead_manager::home_dir()
}

/// The program as an absolute path: a path made absolute, a bare name found in `PATH`. For
/// a backend of another OS (`--backend windows` on Linux) the program is on that machine:
/// its path is judged by that OS's rules and taken as it is, never resolved here.
fn absolute_program(p: &str, backend: Backend) -> Result<PathBuf, Failure> {
    if backend.is_windows() != cfg!(windows) {
        if backend.is_absolute(p) {
            return Ok(PathBuf::from(p));
        }
        let example = if backend.is_windows() {
            r"C:\Program Files\App\app.exe or \\server\share\app.exe"
        } else {
            "/usr/local/bin/app"
        };
        return Err(usage(format!(
            "`{p}` is not an absolute path on the machine a {} service runs on; give its full path there ({example})",
            backend.as_str()
        )));
    }
    let path = Path::new(p);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    if p.contains(['/', '\\']) {
        return std::path::absolute(path).map_err(|e| usage(format!("{p}: {e}")));
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&dirs) {
        for cand in [dir.join(p), dir.join(format!("{p}.exe"))] {
            if cand.is_file() {
                return Ok(cand);
            }
        }
    }
    Err(usage(format!("`{p}` is not in PATH; give its path")))
}

/// Beyond the programs' own stop timeouts: the time stead takes to close its logs and exit.
const STOP_MARGIN: Duration = Duration::from_secs(15);

fn duration(s: &str, what: &str) -> Result<Duration, Failure> {
    stead_supervisor::parse_duration(s).map_err(|e| usage(format!("bad {what}: {e}")))
}

fn stead_exe() -> Result<PathBuf, Failure> {
    std::env::current_exe().map_err(|e| usage(format!("cannot find stead itself: {e}")))
}

fn spec(args: &InstallArgs, backend: Backend) -> Result<ServiceSpec, Failure> {
    let mut budget = None;
    let mut supervisor_state = None;
    let (program, rest, wrap) = if let Some(config) = &args.config {
        let config = std::path::absolute(config).map_err(|e| usage(e.to_string()))?;
        let loaded = stead_supervisor::config::load(&config).map_err(|e| usage(format!("{e}")))?;
        budget = Some(loaded.shutdown_budget().saturating_add(STOP_MARGIN));
        let exe = stead_exe()?;
        let name = args.name.clone().unwrap_or_else(|| "stead".into());
        let state = stead_manager::wrap::state_dir(&name, backend, args.target.user, &home());
        supervisor_state = Some(state.clone());
        (
            exe,
            vec![
                "up".to_string(),
                "-c".into(),
                config.display().to_string(),
                "--state-dir".into(),
                state.display().to_string(),
            ],
            true,
        )
    } else {
        let Some((first, rest)) = args.command.split_first() else {
            return Err(usage(
                "give the program after `--` (stead install --name web -- /usr/local/bin/web --port 80), or -c stead.toml",
            ));
        };
        (absolute_program(first, backend)?, rest.to_vec(), false)
    };
    let name = match &args.name {
        Some(n) => n.clone(),
        None if wrap => "stead".into(),
        // The file name by the service's OS's separators (`\` too for Windows on Linux).
        None => {
            let path = program.to_string_lossy();
            let seps: &[char] = if backend.is_windows() {
                &['/', '\\']
            } else {
                &['/']
            };
            let file = path.rsplit(seps).next().unwrap_or_default();
            Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
    };
    let mut spec = ServiceSpec::new(&name, program, &[]);
    spec.args = rest;
    if let Some(d) = &args.description {
        spec.description.clone_from(d);
    }
    spec.cwd.clone_from(&args.cwd);
    for kv in &args.env {
        spec.add_env(kv).map_err(|e| usage(e.0))?;
    }
    spec.account = Account::from_arg(args.account.as_deref());
    spec.start = args.start.parse().map_err(|e: SpecError| usage(e.0))?;
    spec.restart = args.restart.parse().map_err(|e: SpecError| usage(e.0))?;
    spec.dependencies.clone_from(&args.after);
    if let Some(d) = &args.restart_delay {
        spec.restart_delays[0] = duration(d, "--restart-delay")?;
    }
    spec.stop_timeout = match (&args.stop_timeout, budget) {
        (Some(given), _) => duration(given, "--stop-timeout")?,
        (None, Some(budget)) => budget,
        (None, None) => Duration::from_secs(30),
    };
    spec.supervisor_state = supervisor_state;
    // stead itself speaks the notify protocol towards systemd.
    spec.readiness = if args.notify || wrap {
        Readiness::Notify
    } else {
        Readiness::Exec
    };
    if let Some(w) = &args.watchdog {
        spec.watchdog = Some(duration(w, "--watchdog")?);
    }
    spec.hardening = if args.no_hardening {
        stead_manager::Harden::None
    } else {
        args.harden
    };
    spec.capabilities.clone_from(&args.capabilities);
    spec.user_mode = args.target.user;
    spec.create_user.clone_from(&args.create_user);
    spec.validate_for(backend)
        .map_err(|e| usage(e.to_string()))?;
    Ok(spec)
}

pub(crate) fn install(args: &InstallArgs) -> Result<u8, Failure> {
    let backend = backend_or(&args.target, args.dry_run.then_some(()))?;
    let mut spec = spec(args, backend)?;
    let mut wrapped = None;
    if args.wrap {
        let (host, w) = stead_manager::wrap::wrap(&spec, &stead_exe()?, backend, &home());
        spec = host;
        wrapped = Some(w);
    } else if backend == Backend::Windows && args.config.is_none() && !args.notify {
        eprintln!(
            "stead: warning: a program that does not answer the Service Control Manager (one not built as a service, as the stead library builds them) fails to start with error 1053; pass --wrap to run it under stead"
        );
    }
    if (args.config.is_some() || args.wrap) && backend == Backend::Windows {
        // The wrap mode under the SCM: `stead up` must answer the service dispatcher.
        spec.args
            .extend(["--service".to_string(), spec.name.clone()]);
    }
    let mut plan =
        stead_manager::plan(&spec, backend, &home()).map_err(|e| usage(e.to_string()))?;
    plan.wrapped = wrapped;
    for w in &plan.warnings {
        eprintln!("stead: warning: {w}");
    }
    if args.dry_run {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&plan).unwrap_or_default()
            );
        } else {
            print_plan(&plan);
        }
        return Ok(0);
    }
    stead_manager::apply(&plan, &spec, args.force).map_err(|e| manager_failure(&e))?;
    println!("installed {} ({})", spec.name, backend.as_str());
    Ok(0)
}

fn print_plan(plan: &stead_manager::Plan) {
    println!("# backend: {}", plan.backend.as_str());
    for f in &plan.files {
        println!("# write {} (mode {:o})", f.path.display(), f.mode);
        print!("{}", f.text);
        if !f.text.ends_with('\n') {
            println!();
        }
    }
    if let Some(w) = &plan.wrapped {
        println!(
            "# write {} (mode {:o}): stead runs {}",
            w.config.path.display(),
            w.config.mode,
            w.program.display()
        );
        print!("{}", w.config.text);
    }
    if let Some(scm) = &plan.scm {
        println!("# Service Control Manager: CreateServiceW + ChangeServiceConfig2W");
        println!("{}", serde_json::to_string_pretty(scm).unwrap_or_default());
    }
    for c in &plan.commands {
        println!("# run: {}", c.join(" "));
    }
}

fn manager_failure(e: &stead_manager::ManagerError) -> Failure {
    use stead_manager::ManagerError as E;
    let code = match e {
        E::Spec(_) | E::Exists(..) | E::NotHere(_) | E::ConfigExists(_) => EXIT_USAGE,
        E::NotInstalled(..) => EXIT_NOT_FOUND,
        _ => EXIT_FAILED,
    };
    Failure::new(code, format!("stead: {e}"))
}

pub(crate) fn uninstall(args: &UninstallArgs) -> Result<u8, Failure> {
    let backend = backend(&args.target)?;
    stead_manager::uninstall(&args.name, backend, &home(), args.purge)
        .map_err(|e| manager_failure(&e))?;
    println!("uninstalled {} ({})", args.name, backend.as_str());
    Ok(0)
}

pub(crate) fn service(args: &ServiceArgs) -> Result<u8, Failure> {
    let backend = backend(&args.target)?;
    let control = match args.verb {
        ServiceVerb::Start => stead_manager::Control::Start,
        ServiceVerb::Stop => stead_manager::Control::Stop,
        ServiceVerb::Restart => stead_manager::Control::Restart,
        ServiceVerb::Status => {
            let st = stead_manager::status(&args.name, backend).map_err(|e| manager_failure(&e))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&st).unwrap_or_default());
            } else {
                println!(
                    "{}: {}{} — {}",
                    st.name,
                    st.state,
                    st.pid.map(|p| format!(", pid {p}")).unwrap_or_default(),
                    st.detail
                );
            }
            return Ok(st.exit_code());
        }
    };
    stead_manager::control(&args.name, backend, control).map_err(|e| manager_failure(&e))?;
    Ok(0)
}
