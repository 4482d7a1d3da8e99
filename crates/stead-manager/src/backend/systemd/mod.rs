//! systemd: one unit, written with stead's one unit renderer (`stead_export::unit`, the same
//! quoting and escaping `stead export` uses).

/// Installing, removing and asking systemd here (`systemctl`).
#[cfg(target_os = "linux")]
pub(crate) mod apply;

use std::path::{Path, PathBuf};

use stead_export::systemd::{Confinement, harden};
use stead_export::unit::{Unit, environment, escape_value, exec_arg};

use crate::spec::{Account, Readiness, Restart, ServiceSpec, StartMode};

fn secs(d: std::time::Duration) -> String {
    if d == std::time::Duration::MAX {
        // A config whose `stop_timeout = "infinity"` makes the shutdown budget unbounded.
        return "infinity".into();
    }
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The unit for `spec`.
///
/// ```
/// let spec = stead_manager::ServiceSpec::new("web", "/opt/my app/web", &["--port", "80"]);
/// let text = stead_manager::backend::systemd::unit(&spec).render();
/// assert!(text.contains("ExecStart=\"/opt/my app/web\" --port 80"));
/// assert!(text.contains("NoNewPrivileges=yes"));
/// ```
pub fn unit(spec: &ServiceSpec) -> Unit {
    let mut u = Unit::default();
    u.set("Unit", "Description", escape_value(&spec.description));
    if !spec.dependencies.is_empty() {
        let deps: Vec<String> = spec
            .dependencies
            .iter()
            .map(|d| {
                if d.contains('.') {
                    d.clone()
                } else {
                    format!("{d}.service")
                }
            })
            .collect();
        u.set("Unit", "After", deps.join(" "));
        u.set("Unit", "Requires", deps.join(" "));
    }
    // Restarts are the service's business unless it fails this often: 5 starts in 10 min.
    u.set("Unit", "StartLimitIntervalSec", "10min");
    u.set("Unit", "StartLimitBurst", "5");
    u.set(
        "Service",
        "Type",
        match spec.readiness {
            Readiness::Exec => "exec",
            Readiness::Notify => "notify",
        },
    );
    if spec.readiness == Readiness::Notify {
        u.set("Service", "NotifyAccess", "main");
    }
    let exec: Vec<String> = spec.argv().iter().map(|a| exec_arg(a)).collect();
    u.set("Service", "ExecStart", exec.join(" "));
    if let Some(cwd) = &spec.cwd {
        u.set(
            "Service",
            "WorkingDirectory",
            escape_value(&cwd.display().to_string()),
        );
    }
    for (k, v) in &spec.env {
        u.set("Service", "Environment", environment(k, v));
    }
    match &spec.account {
        Account::User(name) => u.set("Service", "User", escape_value(name)),
        Account::Dynamic => u.set("Service", "DynamicUser", "yes"),
        _ => {}
    }
    u.set(
        "Service",
        "Restart",
        match spec.restart {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "no",
        },
    );
    if let Some(first) = spec.restart_delays.first() {
        u.set("Service", "RestartSec", secs(*first));
    }
    u.set("Service", "TimeoutStopSec", secs(spec.stop_timeout));
    if let Some(w) = spec.watchdog {
        u.set("Service", "WatchdogSec", secs(w));
    }
    if let Some(state) = &spec.supervisor_state {
        // stead stops its programs itself, dependents first: systemd's TERM goes to stead
        // alone, and only what is left at the timeout is killed.
        u.set("Service", "KillMode", "mixed");
        // stead makes a cgroup per program instance under its own.
        u.set("Service", "Delegate", "yes");
        let reload: Vec<String> = [
            spec.program.display().to_string(),
            "reload".into(),
            "--state-dir".into(),
            state.display().to_string(),
        ]
        .iter()
        .map(|a| exec_arg(a))
        .collect();
        u.set("Service", "ExecReload", reload.join(" "));
    } else {
        u.set("Service", "KillMode", "control-group");
    }
    harden(
        &mut u,
        &Confinement {
            level: spec.hardening,
            user_mode: spec.user_mode,
            root: !spec.user_mode && !matches!(spec.account, Account::User(_) | Account::Dynamic),
            supervisor: spec.supervisor_state.is_some(),
            capabilities: &spec.capabilities,
        },
    );
    if !spec.user_mode {
        // Made by systemd at start, owned by the service's account, closed to others.
        u.set("Service", "StateDirectory", &spec.name);
        u.set("Service", "StateDirectoryMode", "0750");
        u.set("Service", "LogsDirectory", &spec.name);
        u.set("Service", "LogsDirectoryMode", "0750");
        // systemd leaves a configuration directory owned by root: 0750 would lock a named
        // account out of its own configuration, so for one stead makes `/etc/NAME` itself
        // at install, `root:GROUP` 0750. A dynamic user has no group to give it to.
        match spec.account {
            Account::User(_) => {}
            Account::Dynamic => {
                u.set("Service", "ConfigurationDirectory", &spec.name);
                u.set("Service", "ConfigurationDirectoryMode", "0755");
            }
            _ => {
                u.set("Service", "ConfigurationDirectory", &spec.name);
                u.set("Service", "ConfigurationDirectoryMode", "0750");
            }
        }
    }
    if spec.start != StartMode::Manual {
        u.set(
            "Install",
            "WantedBy",
            if spec.user_mode {
                "default.target"
            } else {
                "multi-user.target"
            },
        );
    }
    u
}

/// Where the unit goes: `/etc/systemd/system` or, for `--user`, `~/.config/systemd/user`.
pub fn unit_path(spec: &ServiceSpec, home: &Path) -> PathBuf {
    let dir = if spec.user_mode {
        home.join(".config/systemd/user")
    } else {
        PathBuf::from("/etc/systemd/system")
    };
    dir.join(format!("{}.service", spec.name))
}

/// The plan for a systemd unit (system, or `--user` with [`Backend::SystemdUser`]).
pub(crate) fn plan(
    spec: &crate::ServiceSpec,
    backend: crate::Backend,
    home: &std::path::Path,
    unix_root: bool,
    mut warnings: Vec<String>,
) -> crate::Plan {
    use std::path::PathBuf;

    use crate::{Backend, Plan, PlannedFile, Provision, StartMode, lingers};

    let file = |path: PathBuf, mode: u32, text: String| PlannedFile { path, mode, text };
    if unix_root {
        warnings.push(format!(
                "{} will run as root: pass --account USER (or --account dynamic for a transient one) unless it needs root",
                spec.name
            ));
    }
    let user = backend == Backend::SystemdUser;
    let ctl = |args: &[&str]| {
        let mut v = vec!["systemctl".to_string()];
        if user {
            v.push("--user".into());
        }
        v.extend(args.iter().map(|a| (*a).to_string()));
        v
    };
    let unit_name = format!("{}.service", spec.name);
    let mut commands = vec![ctl(&["daemon-reload"])];
    if spec.start != StartMode::Manual {
        commands.push(ctl(&["enable", &unit_name]));
    }
    commands.push(ctl(&["start", &unit_name]));
    if user && !lingers() {
        warnings.push("user units run while you are logged in; `loginctl enable-linger` keeps them running after logout".into());
    }
    let provision = Provision::for_spec(spec, backend, home);
    Plan {
        backend,
        files: vec![file(unit_path(spec, home), 0o644, unit(spec).render())],
        commands,
        scm: None,
        provision,
        warnings,
        wrapped: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_supervisor_unit_stops_in_order_delegates_and_reloads() {
        let mut spec = ServiceSpec::new("fleet", "/usr/bin/stead", &["up"]);
        let plain = unit(&spec).render();
        assert!(plain.contains("KillMode=control-group") && !plain.contains("ExecReload"));
        spec.supervisor_state = Some(PathBuf::from("/var/lib/fleet"));
        spec.stop_timeout = Duration::MAX;
        let text = unit(&spec).render();
        for line in [
            "KillMode=mixed",
            "Delegate=yes",
            "ExecReload=/usr/bin/stead reload --state-dir /var/lib/fleet",
            "TimeoutStopSec=infinity",
        ] {
            assert!(text.contains(line), "no {line} in {text}");
        }
    }
}
