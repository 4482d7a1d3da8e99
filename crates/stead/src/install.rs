//! `myservice install|uninstall|start|stop|restart|status`: a program built with stead
//! registers and controls itself with the OS's service manager, through the same installer
//! as `stead install` (`stead-manager`). Turned on with
//! [`Service::install_commands`](crate::Service::install_commands) (feature `install`).
//!
//! ```text
//! myservice install [--user] [--account A | --create-user U] [--start auto|delayed|manual]
//!                   [--restart always|on-failure|never] [--env K=V]… [--dry-run] [--force]
//!                   [-- ARGS…]                      # ARGS: what the service runs with
//! myservice uninstall [--user] [--purge]
//! myservice start|stop|restart [--user]
//! myservice status [--user] [--json]
//! ```
//!
//! The service is registered as this executable, in the `sd_notify` readiness mode (the
//! library speaks it), restarted on failure, with systemd's hardening defaults, as the least
//! privileged account the backend has unless `--account` says otherwise. `--create-user U`
//! makes a system account `U` (no login shell, no home) on Linux and macOS and runs the
//! service as it; `uninstall --purge` deletes it again if the install created it.

use stead_manager::{Account, Backend, Readiness, ServiceSpec};

use crate::Exit;

const USAGE: &str = "usage: NAME install [--user] [--account A | --create-user U] [--start auto|delayed|manual] \
[--restart always|on-failure|never] [--env K=V]... [--dry-run] [--force] [-- ARGS...]\n\
       NAME uninstall [--user] [--purge]\n       NAME start|stop|restart [--user]\n       \
NAME status [--user] [--json]";

/// The verbs this module answers.
const VERBS: &[&str] = &["install", "uninstall", "start", "stop", "restart", "status"];

/// Runs the install command in `args` (the process's arguments without the program name)
/// for the service `name`, if the first argument is one of the verbs; `None` otherwise, and
/// the service runs as usual.
pub(crate) fn handle(name: &str, description: Option<&str>, args: &[String]) -> Option<Exit> {
    let verb = args.first()?;
    if !VERBS.contains(&verb.as_str()) {
        return None;
    }
    Some(match run(name, description, verb, &args[1..]) {
        Ok(code) => Exit {
            code,
            reason: String::new(),
        },
        Err((code, message)) => {
            eprintln!("{name}: {message}");
            Exit {
                code,
                reason: message,
            }
        }
    })
}

/// Exit codes, as `stead install` and `stead service` use them.
const USAGE_ERROR: u32 = 2;
const FAILED: u32 = 1;

#[derive(Default)]
struct Flags {
    user: bool,
    account: Option<String>,
    create_user: Option<String>,
    start: Option<String>,
    restart: Option<String>,
    env: Vec<String>,
    dry_run: bool,
    force: bool,
    purge: bool,
    json: bool,
    rest: Vec<String>,
}

fn parse(verb: &str, args: &[String]) -> Result<Flags, (u32, String)> {
    let mut f = Flags::default();
    let mut it = args.iter();
    let bad = |m: String| (USAGE_ERROR, format!("{m}\n{USAGE}"));
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| bad(format!("{flag} needs a value")))
        };
        match (verb, a.as_str()) {
            (_, "--user") => f.user = true,
            ("install", "--account") => f.account = Some(value("--account")?),
            ("install", "--create-user") => f.create_user = Some(value("--create-user")?),
            ("install", "--start") => f.start = Some(value("--start")?),
            ("install", "--restart") => f.restart = Some(value("--restart")?),
            ("install", "--env") => f.env.push(value("--env")?),
            ("install", "--dry-run") => f.dry_run = true,
            ("install", "--force") => f.force = true,
            ("install", "--") => {
                f.rest = it.by_ref().cloned().collect();
            }
            ("uninstall", "--purge") => f.purge = true,
            ("status", "--json") => f.json = true,
            (_, other) => return Err(bad(format!("`{verb}` does not take `{other}`"))),
        }
    }
    Ok(f)
}

/// The spec `install` registers: this executable with `f.rest`, notify readiness.
fn spec(name: &str, description: Option<&str>, f: &Flags) -> Result<ServiceSpec, (u32, String)> {
    let usage = |m: String| (USAGE_ERROR, m);
    let exe = std::env::current_exe()
        .map_err(|e| (FAILED, format!("cannot find this program's own path: {e}")))?;
    let mut spec = ServiceSpec::new(name, exe, &[]);
    spec.args.clone_from(&f.rest);
    if let Some(d) = description {
        spec.description = d.to_string();
    }
    spec.readiness = Readiness::Notify;
    spec.user_mode = f.user;
    if f.account.is_some() && f.create_user.is_some() {
        return Err(usage(
            "--account and --create-user both name the account: pass one of them".to_string(),
        ));
    }
    spec.account = Account::from_arg(f.account.as_deref());
    spec.create_user.clone_from(&f.create_user);
    if let Some(s) = &f.start {
        spec.start = s
            .parse()
            .map_err(|e: stead_manager::SpecError| usage(e.0))?;
    }
    if let Some(r) = &f.restart {
        spec.restart = r
            .parse()
            .map_err(|e: stead_manager::SpecError| usage(e.0))?;
    }
    for kv in &f.env {
        spec.add_env(kv).map_err(|e| usage(e.0))?;
    }
    spec.validate().map_err(|e| usage(e.0))?;
    Ok(spec)
}

fn run(
    name: &str,
    description: Option<&str>,
    verb: &str,
    args: &[String],
) -> Result<u32, (u32, String)> {
    let f = parse(verb, args)?;
    let backend = Backend::detect(f.user).ok_or_else(|| {
        (
            FAILED,
            "cannot tell this machine's service manager (systemd, the Windows SCM, launchd, OpenRC)"
                .to_string(),
        )
    })?;
    let failed = |e: stead_manager::ManagerError| (FAILED, e.to_string());
    match verb {
        "install" => {
            let spec = spec(name, description, &f)?;
            let plan = stead_manager::plan(&spec, backend, &stead_manager::home_dir())
                .map_err(|e| (USAGE_ERROR, e.0))?;
            for w in &plan.warnings {
                eprintln!("{name}: warning: {w}");
            }
            if f.dry_run {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plan).unwrap_or_default()
                );
                return Ok(0);
            }
            stead_manager::apply(&plan, &spec, f.force).map_err(failed)?;
            println!("installed {name} ({})", backend.as_str());
            Ok(0)
        }
        "uninstall" => {
            stead_manager::uninstall(name, backend, &stead_manager::home_dir(), f.purge)
                .map_err(failed)?;
            println!("uninstalled {name} ({})", backend.as_str());
            Ok(0)
        }
        "status" => {
            let st = stead_manager::status(name, backend).map_err(failed)?;
            if f.json {
                println!("{}", serde_json::to_string_pretty(&st).unwrap_or_default());
            } else {
                println!("{name}: {} ({})", st.state, st.detail);
            }
            Ok(u32::from(st.exit_code()))
        }
        verb => {
            let control = match verb {
                "start" => stead_manager::Control::Start,
                "stop" => stead_manager::Control::Stop,
                "restart" => stead_manager::Control::Restart,
                other => {
                    return Err((
                        USAGE_ERROR,
                        format!(
                            "unknown command `{other}`: install, uninstall, start, stop, restart or status"
                        ),
                    ));
                }
            };
            stead_manager::control(name, backend, control).map_err(failed)?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn other_arguments_run_the_service() {
        assert!(handle("svc", None, &[]).is_none());
        assert!(handle("svc", None, &strings(&["--port", "80"])).is_none());
        assert!(handle("svc", None, &strings(&["serve"])).is_none());
    }

    #[test]
    fn flags_are_checked_per_verb() {
        let f = parse(
            "install",
            &strings(&[
                "--user",
                "--account",
                "www",
                "--env",
                "A=1",
                "--",
                "--port",
                "80",
            ]),
        )
        .unwrap();
        assert!(f.user);
        assert_eq!(f.account.as_deref(), Some("www"));
        assert_eq!(f.rest, ["--port", "80"]);
        let (code, msg) = parse("status", &strings(&["--purge"])).err().unwrap();
        assert_eq!(code, USAGE_ERROR);
        assert!(msg.contains("`status` does not take `--purge`"), "{msg}");
        assert!(parse("install", &strings(&["--account"])).is_err());
    }

    #[test]
    fn the_spec_is_this_program_with_notify_readiness() {
        let f = parse(
            "install",
            &strings(&["--restart", "always", "--", "--port", "80"]),
        )
        .unwrap();
        let s = spec("orders", Some("Order service"), &f).unwrap();
        assert_eq!(s.program, std::env::current_exe().unwrap());
        assert_eq!(s.args, ["--port", "80"]);
        assert_eq!(s.readiness, Readiness::Notify);
        assert_eq!(s.restart, stead_manager::Restart::Always);
        assert_eq!(s.description, "Order service");
        let bad = parse("install", &strings(&["--start", "sometimes"])).unwrap();
        assert_eq!(spec("orders", None, &bad).err().unwrap().0, USAGE_ERROR);
    }

    #[test]
    fn create_user_names_the_account_and_excludes_account() {
        let f = parse("install", &strings(&["--create-user", "orders"])).unwrap();
        let s = spec("orders", None, &f).unwrap();
        assert_eq!(s.create_user.as_deref(), Some("orders"));
        let both = parse(
            "install",
            &strings(&["--create-user", "orders", "--account", "www"]),
        )
        .unwrap();
        let (code, msg) = spec("orders", None, &both).err().unwrap();
        assert_eq!(code, USAGE_ERROR);
        assert!(msg.contains("pass one of them"), "{msg}");
        let bad = parse("install", &strings(&["--create-user", "Not Valid"])).unwrap();
        let (code, msg) = spec("orders", None, &bad).err().unwrap();
        assert_eq!(code, USAGE_ERROR);
        assert!(msg.contains("bad account name"), "{msg}");
    }
}
