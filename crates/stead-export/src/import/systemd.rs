//! `stead import systemd UNIT…`: service units to programs.
//!
//! Mapped: `ExecStart` (one command; prefixes `-@:+!` dropped with a note), `WorkingDirectory`,
//! `Environment`, `EnvironmentFile`, `User`, `Group`, `Restart` (`always`, `on-failure`,
//! `no`; others approximated with a note), `RestartSec`, `RestartMaxDelaySec`,
//! `StartLimitBurst`/`StartLimitIntervalSec`, `KillSignal`, `TimeoutStopSec`/`TimeoutSec`,
//! `KillMode=process`, `SuccessExitStatus`. Everything else in `[Service]` is listed as not
//! mapped; `[Unit]` ordering and `[Install]` are noted once.

use std::path::Path;

use super::{Draft, program_name, toml_array, toml_str, toml_table};
use crate::unit::{Unit, split_exec};

/// Reads unit files into drafts; `After=`/`Requires=`/`Wants=` between them become
/// `depends_on` (the others are listed as not mapped).
pub fn import_units(paths: &[std::path::PathBuf]) -> Result<Vec<Draft>, String> {
    let mut drafts = paths
        .iter()
        .map(|p| import_unit(p))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    for d in &mut drafts {
        let mut deps: Vec<String> = Vec::new();
        for (setting, unit) in std::mem::take(&mut d.after) {
            let stem = unit.strip_suffix(".service").unwrap_or(&unit);
            let program = program_name(stem.split('@').next().unwrap_or(stem));
            if names.contains(&program) && program != d.name && unit.ends_with(".service") {
                if !deps.contains(&program) {
                    deps.push(program);
                }
            } else {
                d.unmapped(setting);
            }
        }
        if !deps.is_empty() {
            d.set("depends_on", super::toml_array(&deps));
        }
    }
    Ok(drafts)
}

/// Reads one unit file into a draft.
pub fn import_unit(path: &Path) -> Result<Draft, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let unit = Unit::parse(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.strip_suffix(".service").unwrap_or(&file);
    let mut d = Draft::new(&program_name(stem.trim_end_matches('@')));
    if stem.ends_with('@') {
        d.unmapped(format!("{file} is a template: one instance was imported; set `numprocs` and use `{{index}}` for %i"));
    }
    let mut env: Vec<(String, String)> = Vec::new();
    let mut start_limit: (Option<String>, Option<String>) = (None, None);
    for (section, key, value) in unit.entries() {
        let value = value.to_string();
        if value == "infinity" && key != "StartLimitIntervalSec" {
            d.unmapped(format!(
                "[{section}] {key}=infinity (stead's timeouts are finite)"
            ));
            continue;
        }
        match (section, key) {
            ("Service", "ExecStart") => {
                if value.starts_with(['-', '@', ':', '+', '!']) {
                    d.unmapped(format!("ExecStart prefix in `{value}`"));
                }
                match split_exec(&value) {
                    Ok(argv) if !argv.is_empty() => {
                        if d.keys.iter().any(|(k, _)| k == "command") {
                            d.unmapped(format!(
                                "ExecStart={value} (stead runs one command per program)"
                            ));
                        } else {
                            d.set("command", toml_array(&argv));
                        }
                    }
                    _ => d.unmapped(format!("ExecStart={value} (cannot be split)")),
                }
            }
            ("Service", "WorkingDirectory") => {
                d.set("cwd", toml_str(value.trim_start_matches('-')))
            }
            ("Service", "Environment") => match split_exec(&value) {
                Ok(items) => {
                    for item in items {
                        if let Some((k, v)) = item.split_once('=') {
                            env.push((k.to_string(), v.to_string()));
                        }
                    }
                }
                Err(_) => d.unmapped(format!("Environment={value}")),
            },
            ("Service", "EnvironmentFile") => {
                d.set("env_file", toml_str(value.trim_start_matches('-')))
            }
            ("Service", "User") => d.set("user", toml_str(&value)),
            ("Service", "Group") => d.set("group", toml_str(&value)),
            ("Service", "Restart") => {
                let policy = match value.as_str() {
                    "always" => "always",
                    "on-failure" => "on-failure",
                    "no" => "never",
                    other => {
                        d.unmapped(format!("Restart={other} (imported as on-failure)"));
                        "on-failure"
                    }
                };
                d.set("restart", toml_str(policy));
            }
            ("Service", "RestartSec") => d.set(
                "backoff",
                format!("{{ initial = {} }}", toml_str(&seconds(&value))),
            ),
            ("Service", "RestartMaxDelaySec") => {
                let initial = d.keys.iter().find(|(k, _)| k == "backoff").map(|(_, v)| {
                    v.trim_start_matches("{ initial = ")
                        .trim_end_matches(" }")
                        .to_string()
                });
                match initial {
                    Some(i) => d.set(
                        "backoff",
                        format!("{{ initial = {i}, max = {} }}", toml_str(&seconds(&value))),
                    ),
                    None => d.set(
                        "backoff",
                        format!("{{ max = {} }}", toml_str(&seconds(&value))),
                    ),
                }
            }
            ("Service", "KillSignal") => {
                d.set("stop_signal", toml_str(value.trim_start_matches("SIG")))
            }
            ("Service", "TimeoutStopSec" | "TimeoutSec") => {
                d.set("stop_timeout", toml_str(&seconds(&value)))
            }
            ("Service", "KillMode") => match value.as_str() {
                "process" => d.set("kill_tree", "false".to_string()),
                "control-group" | "mixed" => {}
                other => d.unmapped(format!("KillMode={other}")),
            },
            ("Service", "SuccessExitStatus") => {
                let mut codes: Vec<String> = vec!["0".into()];
                for c in value.split_whitespace() {
                    if c.parse::<u8>().is_ok() {
                        codes.push(c.to_string());
                    } else {
                        d.unmapped(format!(
                            "SuccessExitStatus {c} (only exit codes are mapped)"
                        ));
                    }
                }
                d.set("exit_codes", format!("[{}]", codes.join(", ")));
            }
            ("Service", "Type") if matches!(value.as_str(), "simple" | "exec" | "notify") => {}
            ("Unit" | "Service", "StartLimitBurst") => start_limit.0 = Some(value),
            ("Unit" | "Service", "StartLimitIntervalSec" | "StartLimitInterval") => {
                start_limit.1 = Some(value)
            }
            // Derived from the backoff on export; informational here.
            ("Unit", "Description" | "Documentation")
            | ("Install", _)
            | ("Service", "RestartSteps") => {}
            ("Unit", "After" | "Requires" | "Wants" | "BindsTo") => {
                // Kept aside: dependencies on other imported units become `depends_on`.
                for unit in value.split_whitespace() {
                    d.after
                        .push((format!("[Unit] {key}={unit}"), unit.to_string()));
                }
            }
            (s, k) => d.unmapped(format!("[{s}] {k}={value}")),
        }
    }
    if !env.is_empty() {
        d.set("env", toml_table(&env));
    }
    match start_limit {
        (Some(burst), interval) => {
            if let Ok(n) = burst.parse::<u32>() {
                d.set("max_restarts", n.saturating_sub(1).to_string());
            }
            d.set(
                "restart_window",
                toml_str(&seconds(interval.as_deref().unwrap_or("10s"))),
            );
        }
        (None, Some(i)) if i == "0" || i == "infinity" => d.set("max_restarts", "0".into()),
        _ => {}
    }
    if !d.keys.iter().any(|(k, _)| k == "command") {
        return Err(format!("{}: no ExecStart= in [Service]", path.display()));
    }
    Ok(d)
}

/// systemd time spans (`5`, `5s`, `1min 30s`, `100ms`) as a stead duration.
fn seconds(v: &str) -> String {
    let v = v.trim();
    if let Ok(n) = v.parse::<f64>() {
        return format!("{n}s");
    }
    v.replace("min", "m").replace("sec", "s").replace(' ', "")
}
