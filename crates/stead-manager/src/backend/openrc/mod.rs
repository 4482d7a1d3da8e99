//! `OpenRC`: an init script run by `supervise-daemon`, which restarts the program.

/// Installing, removing and asking `OpenRC` here (`rc-update`, `rc-service`).
#[cfg(target_os = "linux")]
pub(crate) mod apply;

use std::path::PathBuf;

use crate::spec::{Account, Restart, ServiceSpec};

/// One POSIX-shell word: single quotes, with `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The init script for `spec`.
///
/// ```
/// let spec = stead_manager::ServiceSpec::new("web", "/opt/web", &["it's", "$HOME"]);
/// let s = stead_manager::backend::openrc::script(&spec);
/// assert!(s.contains(r#"command_args="'it'\\''s' '\$HOME'""#), "{s}");
/// ```
pub fn script(spec: &ServiceSpec) -> String {
    let mut o =
        String::from("#!/sbin/openrc-run\n# Installed by stead; `stead uninstall` removes it.\n\n");
    o.push_str(&format!("description={}\n", sh_quote(&spec.description)));
    o.push_str("supervisor=supervise-daemon\n");
    o.push_str(&format!(
        "command={}\n",
        sh_quote(&spec.program.display().to_string())
    ));
    let args: Vec<String> = spec.args.iter().map(|a| sh_quote(a)).collect();
    // Inside double quotes only `$`, `` ` ``, `"` and `\` are special, and single-quoted
    // words have none of them unescaped except `$` and `` ` ``, which we escape.
    let args = args
        .join(" ")
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
        .replace('`', "\\`");
    o.push_str(&format!("command_args=\"{args}\"\n"));
    if let Account::User(u) = &spec.account {
        o.push_str(&format!("command_user={}\n", sh_quote(u)));
    }
    if let Some(cwd) = &spec.cwd {
        o.push_str(&format!(
            "directory={}\n",
            sh_quote(&cwd.display().to_string())
        ));
    }
    let env: Vec<String> = spec
        .env
        .iter()
        .map(|(k, v)| format!("--env {}", sh_quote(&format!("{k}={v}"))))
        .collect();
    if !env.is_empty() {
        o.push_str(&format!(
            "supervise_daemon_args={}\n",
            sh_quote(&env.join(" "))
        ));
    }
    if spec.restart == Restart::Never {
        o.push_str("respawn_max=0\n");
    } else {
        // Whole seconds, rounded up: a delay asked for is never dropped to none.
        let delay = spec
            .restart_delays
            .first()
            .map_or(5, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
        o.push_str(&format!(
            "respawn_delay={delay}\nrespawn_max=5\nrespawn_period=600\n"
        ));
    }
    o.push_str(&format!(
        "retry=\"TERM/{}/KILL/5\"\n",
        spec.stop_timeout.as_secs().max(1)
    ));
    // `use`, not `need`: where no service provides `net` (Debian's OpenRC, containers), a
    // `need` refuses to start at all.
    // Like systemd's StateDirectory=/LogsDirectory=: made (or corrected) at every start,
    // owned by the service's account, closed to others.
    let owner = match &spec.account {
        Account::User(u) => u.as_str(),
        _ => "root",
    };
    o.push_str(&format!(
        "\nstart_pre() {{\n\tcheckpath --directory --mode 0750 --owner {} {} {}\n}}\n",
        sh_quote(owner),
        sh_quote(&format!("/var/lib/{}", spec.name)),
        sh_quote(&format!("/var/log/{}", spec.name)),
    ));
    o.push_str("\ndepend() {\n\tuse net\n");
    for d in &spec.dependencies {
        o.push_str(&format!("\tneed {d}\n"));
    }
    o.push_str("}\n");
    o
}

/// `/etc/init.d/NAME`.
pub fn script_path(spec: &ServiceSpec) -> PathBuf {
    PathBuf::from("/etc/init.d").join(&spec.name)
}

/// The plan for an `OpenRC` script.
pub(crate) fn plan(
    spec: &crate::ServiceSpec,
    backend: crate::Backend,
    home: &std::path::Path,
    unix_root: bool,
    mut warnings: Vec<String>,
) -> crate::Plan {
    use std::path::PathBuf;

    use crate::{Plan, PlannedFile, Provision, StartMode};

    let file = |path: PathBuf, mode: u32, text: String| PlannedFile { path, mode, text };
    if unix_root {
        warnings.push(format!(
            "{} will run as root: pass --account USER unless it needs root",
            spec.name
        ));
    }
    let mut commands = Vec::new();
    if spec.start != StartMode::Manual {
        commands.push(vec![
            "rc-update".into(),
            "add".into(),
            spec.name.clone(),
            "default".into(),
        ]);
    }
    commands.push(vec!["rc-service".into(), spec.name.clone(), "start".into()]);
    Plan {
        backend,
        files: vec![file(script_path(spec), 0o755, script(spec))],
        commands,
        scm: None,
        provision: Provision::for_spec(spec, backend, home),
        warnings,
        wrapped: None,
    }
}
