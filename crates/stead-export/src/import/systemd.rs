//! `stead import systemd UNIT…`: service units to programs.
//!
//! Mapped: `ExecStart` (one command, its `$VAR`/`${VAR}` kept as variables; prefixes `-@:+!`
//! dropped with a note), `WorkingDirectory`, `Environment`, `EnvironmentFile` (`-` → optional), `User`, `Group`, `Restart` (`always`, `on-failure`,
//! `no`; others approximated with a note), `RestartSec`, `RestartMaxDelaySec`,
//! `StartLimitBurst`/`StartLimitIntervalSec`, `KillSignal`, `TimeoutStopSec`/`TimeoutSec` (0 and
//! `infinity`: no timeout), `Type=notify` → `ready`, `WatchdogSec`,
//! `KillMode=process`, `SuccessExitStatus`. Everything else in `[Service]` is listed as not
//! mapped; `[Unit]` ordering and `[Install]` are noted once.
//!
//! A service's socket units (those named in `Sockets=`, the one of its own name, and any
//! imported whose `Service=` names it), among the units imported or beside the service,
//! become its `sockets` (see [`SOCKET_MAPPED`]).

mod socket;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stead_config::{INFINITY, format_duration};

use super::{Draft, program_name, toml_array, toml_str, toml_table};
use crate::unit::{Unit, split_exec_words};
pub use socket::SOCKET_MAPPED;
use socket::SocketUnit;

/// The directives the import maps (some with a note about what their value could not
/// keep); every other directive of a unit is listed as not mapped, by name.
pub const MAPPED: &[(&str, &str)] = &[
    ("Service", "ExecStart"),
    ("Service", "WorkingDirectory"),
    ("Service", "Environment"),
    ("Service", "EnvironmentFile"),
    ("Service", "User"),
    ("Service", "Group"),
    ("Service", "Restart"),
    ("Service", "RestartSec"),
    ("Service", "RestartMaxDelaySec"),
    ("Service", "KillSignal"),
    ("Service", "TimeoutStopSec"),
    ("Service", "TimeoutSec"),
    ("Service", "TimeoutStartSec"),
    ("Service", "KillMode"),
    ("Service", "WatchdogSec"),
    ("Service", "SuccessExitStatus"),
    ("Service", "Type"),
    // The socket units named are imported with the service (their sockets, or a note).
    ("Service", "Sockets"),
    // Derived from `backoff` on export.
    ("Service", "RestartSteps"),
    ("Unit", "StartLimitBurst"),
    ("Service", "StartLimitBurst"),
    ("Unit", "StartLimitIntervalSec"),
    ("Service", "StartLimitIntervalSec"),
    ("Unit", "StartLimitInterval"),
    ("Service", "StartLimitInterval"),
    // Informational.
    ("Unit", "Description"),
    ("Unit", "Documentation"),
    // Started at boot: stead's `autostart`, its default.
    ("Install", "WantedBy"),
];

/// Reads unit files into drafts; `After=`/`Requires=`/`Wants=` between them become
/// `depends_on` (the others are listed as not mapped). Socket units (`.socket`) among them, or
/// beside a service, become the `sockets` of the service they hand sockets to; a socket unit
/// given that no service given takes is an error.
pub fn import_units(paths: &[PathBuf]) -> Result<Vec<Draft>, String> {
    let (socket_paths, paths): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| p.extension().is_some_and(|e| e == "socket"));
    let paths = &paths[..];
    if paths.is_empty() {
        return Err(format!(
            "{}: socket units alone; give the service each hands its sockets to as well",
            socket_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut drafts = paths
        .iter()
        .map(|p| import_unit(p))
        .collect::<Result<Vec<_>, _>>()?;
    // `x.service` and `x@.service` side by side (postgresql): the template gets its own name.
    let plain: Vec<String> = paths
        .iter()
        .zip(&drafts)
        .filter(|(p, _)| !is_template(p))
        .map(|(_, d)| d.name.clone())
        .collect();
    for (p, d) in paths.iter().zip(drafts.iter_mut()) {
        if is_template(p) && plain.contains(&d.name) {
            d.name = format!("{}-template", d.name);
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (p, d) in paths.iter().zip(&drafts) {
        if seen.contains(&d.name.as_str()) {
            return Err(format!(
                "{}: a second unit named `{}` (give each unit once)",
                p.display(),
                d.name
            ));
        }
        seen.push(&d.name);
    }
    let attached = attach_sockets(paths, &socket_paths, &mut drafts)?;
    let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    for (d, sockets) in drafts.iter_mut().zip(&attached) {
        let mut deps: Vec<String> = Vec::new();
        for (setting, unit) in std::mem::take(&mut d.after) {
            // The service's own socket units: `sockets` is their ordering and requirement.
            if sockets.contains(&unit) {
                continue;
            }
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

/// Gives each service (`paths[i]`, `drafts[i]`) the sockets of its socket units: those its
/// `Sockets=` names, the one of its own name (`NAME.socket`; a template's `NAME@.service` is
/// handed `NAME.socket`'s with `Accept=yes` or a `Service=` naming an instance), and those in
/// `socket_paths` whose `Service=` names it. A unit is looked for among `socket_paths`, then
/// beside the service. Returns the socket units each service was given.
fn attach_sockets(
    paths: &[PathBuf],
    socket_paths: &[PathBuf],
    drafts: &mut [Draft],
) -> Result<Vec<Vec<String>>, String> {
    let mut units: HashMap<String, SocketUnit> = HashMap::new();
    for p in socket_paths {
        let u = SocketUnit::read(p)?;
        if units.contains_key(&u.file) {
            return Err(format!(
                "{}: a second unit named `{}` (give each unit once)",
                p.display(),
                u.file
            ));
        }
        units.insert(u.file.clone(), u);
    }
    // Which program has taken each socket unit, and each address.
    let mut taken: HashMap<String, String> = HashMap::new();
    let mut held: HashMap<String, String> = HashMap::new();
    let mut attached = Vec::new();
    for (path, d) in paths.iter().zip(drafts.iter_mut()) {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let template = is_template(path);
        let stem = file.strip_suffix(".service").unwrap_or(&file);
        let own = format!("{}.socket", stem.trim_end_matches('@'));
        let activates_this = |u: &SocketUnit| match &u.service {
            Some(s) if template => s
                .strip_prefix(stem)
                .is_some_and(|i| i.ends_with(".service")),
            Some(s) => *s == file,
            // With Accept=yes, a unit of its own name activates instances of NAME@.service.
            None => !template && !u.accept && u.file == own,
        };
        let mut candidates: Vec<(String, bool)> =
            d.sockets.iter().map(|s| (s.clone(), true)).collect();
        candidates.push((own.clone(), false));
        let mut given: Vec<&String> = units
            .values()
            .filter(|u| activates_this(u))
            .map(|u| &u.file)
            .collect();
        given.sort();
        candidates.extend(given.into_iter().map(|f| (f.clone(), false)));
        let mut items = Vec::new();
        let mut mine = Vec::new();
        for (name, named) in candidates {
            if mine.contains(&name) {
                continue;
            }
            if !units.contains_key(&name) {
                let beside = path.with_file_name(&name);
                if beside.is_file() {
                    units.insert(name.clone(), SocketUnit::read(&beside)?);
                } else {
                    if named {
                        d.unmapped(format!(
                            "[Service] Sockets={name} ({name} is neither among the units imported nor beside {file}: import it with the service)"
                        ));
                    }
                    continue;
                }
            }
            let u = &units[&name];
            // The unit of the service's own name hands it sockets only when it activates it
            // (a template's `NAME.socket` activates an instance, or one per connection).
            let hands_this =
                named || activates_this(u) || (template && u.accept && u.service.is_none());
            if !hands_this {
                continue;
            }
            mine.push(name.clone());
            if u.accept {
                taken.insert(name.clone(), d.name.clone());
                d.unmapped(format!(
                    "{name}: Accept=yes (systemd starts a process per connection and hands it the connection): stead hands the listening socket to the program, which accepts connections itself; its sockets were left out"
                ));
                continue;
            }
            if let Some(other) = taken.get(&name) {
                d.unmapped(format!(
                    "{name}: its sockets are [program.{other}]'s already, and stead hands a socket to one program; left out here"
                ));
                continue;
            }
            taken.insert(name.clone(), d.name.clone());
            for n in &u.notes {
                d.unmapped(n.clone());
            }
            for spec in &u.specs {
                let address = spec.listen.to_string();
                if let Some(other) = held.get(&address) {
                    d.unmapped(format!(
                        "{name}: `{address}` is [program.{other}]'s already, and stead holds an address for one program; left out here"
                    ));
                    continue;
                }
                held.insert(address, d.name.clone());
                items.push(socket::item(spec, &d.name));
            }
        }
        if !items.is_empty() {
            d.set("sockets", socket::array(&items));
        }
        attached.push(mine);
    }
    for p in socket_paths {
        let file = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !taken.contains_key(&file) {
            return Err(format!(
                "{}: no service imported with it takes its sockets; import it with the service it activates ({}), or leave it out",
                p.display(),
                units[&file]
                    .service
                    .clone()
                    .unwrap_or_else(|| file.replace(".socket", ".service"))
            ));
        }
    }
    Ok(attached)
}

/// A template unit (`NAME@.service`).
fn is_template(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with("@.service"))
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
    // The `${NAME}`s of ExecStart=: stead refuses an unset one where systemd gives nothing.
    let mut braced: Vec<String> = Vec::new();
    let mut start_limit: (Option<String>, Option<String>) = (None, None);
    // `Type=`, and `TimeoutStartSec=` (the ready timeout of a notify service).
    let mut kind = String::from("simple");
    let mut start_timeout: Option<String> = None;
    for (section, key, value) in unit.entries() {
        let value = value.to_string();
        match (section, key) {
            ("Service", "ExecStart") => {
                if value.starts_with(['-', '@', ':', '+', '!']) {
                    d.unmapped(format!("ExecStart prefix in `{value}`"));
                }
                // `$NAME`, `${NAME}` and `$$` mean in stead's `command` what they mean here.
                match split_exec_words(&value) {
                    Ok(argv) if !argv.is_empty() => {
                        if d.keys.iter().any(|(k, _)| k == "command") {
                            d.unmapped(format!(
                                "ExecStart={value} (stead runs one command per program)"
                            ));
                        } else {
                            braced = argv
                                .iter()
                                .flat_map(|a| braced_names(a))
                                .collect();
                            d.set("command", toml_array(&argv));
                        }
                    }
                    _ => d.unmapped(format!("ExecStart={value} (cannot be split)")),
                }
            }
            ("Service", "WorkingDirectory") => {
                d.set("cwd", toml_str(value.trim_start_matches('-')))
            }
            ("Service", "Environment") => match split_exec_words(&value) {
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
                if d.keys.iter().any(|(k, _)| k == "env_file") {
                    d.unmapped(format!(
                        "EnvironmentFile={value} (stead reads one env_file per program: merge the files)"
                    ));
                } else if let Some(path) = value.strip_prefix('-') {
                    d.set(
                        "env_file",
                        format!("{{ path = {}, optional = true }}", toml_str(path)),
                    );
                } else {
                    d.set("env_file", toml_str(&value));
                }
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
            ("Service", "RestartSec") => match timespan(&value) {
                Some(t) if t != INFINITY => d.set(
                    "backoff",
                    format!("{{ initial = {} }}", toml_str(&format_duration(t))),
                ),
                _ => d.unmapped(format!("RestartSec={value} (not a finite time span)")),
            },
            ("Service", "RestartMaxDelaySec") => {
                let initial = d.keys.iter().find(|(k, _)| k == "backoff").map(|(_, v)| {
                    v.trim_start_matches("{ initial = ")
                        .trim_end_matches(" }")
                        .to_string()
                });
                match (timespan(&value), initial) {
                    (Some(t), _) if t == INFINITY || t.is_zero() => {
                        d.unmapped(format!("RestartMaxDelaySec={value} (no upper bound)"));
                    }
                    (Some(t), Some(i)) => d.set(
                        "backoff",
                        format!(
                            "{{ initial = {i}, max = {} }}",
                            toml_str(&format_duration(t))
                        ),
                    ),
                    (Some(t), None) => d.set(
                        "backoff",
                        format!("{{ max = {} }}", toml_str(&format_duration(t))),
                    ),
                    (None, _) => d.unmapped(format!("RestartMaxDelaySec={value} (not a time span)")),
                }
            }
            ("Service", "KillSignal") => {
                d.set("stop_signal", toml_str(value.trim_start_matches("SIG")))
            }
            ("Service", "TimeoutStopSec" | "TimeoutSec" | "TimeoutStartSec") => {
                // systemd reads 0 as "no timeout", like infinity.
                let Some(t) = timespan(&value) else {
                    d.unmapped(format!("{key}={value} (not a time span)"));
                    continue;
                };
                let t = if t.is_zero() { INFINITY } else { t };
                if key != "TimeoutStartSec" {
                    d.set("stop_timeout", toml_str(&format_duration(t)));
                }
                if key != "TimeoutStopSec" {
                    start_timeout = Some(format_duration(t));
                }
            }
            ("Service", "KillMode") => match value.as_str() {
                "process" => d.set("kill_tree", "false".to_string()),
                "control-group" => {}
                "mixed" => d.unmapped(
                    "KillMode=mixed (stead sends the stop signal to the whole tree, as KillMode=control-group does; set kill_tree = false to signal only the main process)",
                ),
                other => d.unmapped(format!("KillMode={other}")),
            },
            ("Service", "WatchdogSec") => match timespan(&value) {
                // 0 and infinity: no watchdog, stead's default.
                Some(t) if t.is_zero() || t == INFINITY => {}
                Some(t) => d.set(
                    "health",
                    format!("{{ watchdog = {} }}", toml_str(&format_duration(t))),
                ),
                None => d.unmapped(format!("WatchdogSec={value} (not a time span)")),
            },
            ("Service", "PIDFile") => d.unmapped(format!(
                "PIDFile={value} (stead is the program's parent and needs no pid file: run it in the foreground)"
            )),
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
            ("Service", "Type") => kind = value,
            ("Service", "Sockets") => d
                .sockets
                .extend(value.split_whitespace().map(String::from)),
            ("Unit" | "Service", "StartLimitBurst") => start_limit.0 = Some(value),
            ("Unit" | "Service", "StartLimitIntervalSec" | "StartLimitInterval") => {
                start_limit.1 = Some(value)
            }
            // Derived from the backoff on export; informational here.
            ("Unit", "Description" | "Documentation")
            | ("Install", "WantedBy")
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
    if !d.keys.iter().any(|(k, _)| k == "env_file") {
        for name in braced.iter().filter(|n| !env.iter().any(|(k, _)| k == *n)) {
            d.unmapped(format!(
                "${{{name}}} in ExecStart= is set by no Environment= (systemd gives nothing or its own value; stead takes it from its own environment and refuses it unset: define it in `env`)"
            ));
        }
    }
    if !env.is_empty() {
        d.set("env", toml_table(&env));
    }
    service_type(&mut d, &kind, start_timeout);
    let interval = start_limit.1.as_deref().map(|i| (i, timespan(i)));
    match (start_limit.0, interval) {
        // `StartLimitIntervalSec=0`: no rate limit at all.
        (_, Some((_, Some(t)))) if t.is_zero() => d.set("max_restarts", "0".into()),
        (_, Some((i, t))) if t.is_none_or(|t| t == INFINITY) => d.unmapped(format!(
            "StartLimitIntervalSec={i} (stead counts restarts within a finite restart_window)"
        )),
        (Some(burst), interval) => {
            if let Ok(n) = burst.parse::<u32>() {
                d.set("max_restarts", n.saturating_sub(1).to_string());
            }
            let window = interval
                .and_then(|(_, t)| t)
                .unwrap_or(Duration::from_secs(10));
            d.set("restart_window", toml_str(&format_duration(window)));
        }
        _ => {}
    }
    if !d.keys.iter().any(|(k, _)| k == "command") {
        return Err(format!("{}: no ExecStart= in [Service]", path.display()));
    }
    Ok(d)
}

/// The names of an argument's `${NAME}`s.
fn braced_names(arg: &str) -> Vec<String> {
    use stead_config::vars::{Piece, parse_arg};
    parse_arg(arg, 0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| match p {
            Piece::Braced(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// `Type=`: how systemd knows the service started, as stead's `ready` (notify), or a note.
fn service_type(d: &mut Draft, kind: &str, start_timeout: Option<String>) {
    if !kind.starts_with("notify")
        && let Some(t) = &start_timeout
    {
        d.unmapped(format!(
            "TimeoutStartSec={t} (stead times a start only with a `ready` check)"
        ));
    }
    match kind {
        "notify" | "notify-reload" => {
            // systemd's default start timeout (DefaultTimeoutStartSec=) is 90 s.
            let timeout = start_timeout.unwrap_or_else(|| "1m30s".into());
            d.set(
                "ready",
                format!("{{ notify = true, timeout = {} }}", toml_str(&timeout)),
            );
            if kind == "notify-reload" {
                d.unmapped("Type=notify-reload (reloading is stead's restart; the notify readiness is kept)");
            }
        }
        "simple" | "exec" => {}
        "forking" => d.unmapped(
            "Type=forking (stead supervises the process it starts: run the program in the foreground, e.g. nginx -g 'daemon off;', redis-server --daemonize no, sshd -D; a program that forks away is stopped with its tree when the parent exits)",
        ),
        other => d.unmapped(format!("Type={other}")),
    }
}

/// A systemd time span (`5`, `5s`, `1min 30s`, `100ms`, `2h`, `infinity`): `None` when it is
/// not one; `infinity` is [`INFINITY`].
fn timespan(v: &str) -> Option<Duration> {
    let v = v.trim();
    if v == "infinity" {
        return Some(INFINITY);
    }
    if let Ok(n) = v.parse::<f64>() {
        return (n >= 0.0 && n.is_finite()).then(|| Duration::from_secs_f64(n));
    }
    let mut total = 0f64;
    let mut rest = v;
    while !rest.trim_start().is_empty() {
        rest = rest.trim_start();
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "us" | "usec" | "µs" => 1e-6,
            "ms" | "msec" => 1e-3,
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604_800.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total < 1e9).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of unit files, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str, units: &[(&str, &str)]) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("stead-export-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in units {
                std::fs::write(dir.join(file), text).unwrap();
            }
            Dir(dir)
        }

        fn paths(&self, files: &[&str]) -> Vec<PathBuf> {
            files.iter().map(|f| self.0.join(f)).collect()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn key<'a>(d: &'a Draft, k: &str) -> Option<&'a str> {
        d.keys.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_services_socket_units_become_its_sockets() {
        let dir = Dir::new(
            "sockets",
            &[
                (
                    "web.service",
                    "[Unit]\nAfter=web.socket network.target\nRequires=web-admin.socket\n\
                     [Service]\nExecStart=/bin/web\nSockets=web-admin.socket gone.socket\n",
                ),
                ("web.socket", "[Socket]\nListenStream=8080\n"),
                (
                    "web-admin.socket",
                    "[Socket]\nListenStream=/run/web.sock\nFileDescriptorName=admin\nSocketMode=0600\nService=web.service\n",
                ),
                (
                    "inetd@.service",
                    "[Service]\nExecStart=/usr/sbin/in.telnetd\n",
                ),
                ("inetd.service", "[Service]\nExecStart=/usr/sbin/inetd\n"),
                ("inetd.socket", "[Socket]\nListenStream=23\nAccept=yes\n"),
                ("lonely.socket", "[Socket]\nListenStream=9\n"),
            ],
        );
        // The socket units beside the services are found without being named.
        let drafts = import_units(&dir.paths(&["web.service", "inetd@.service"])).unwrap();
        let web = &drafts[0];
        assert_eq!(
            key(web, "sockets"),
            Some(
                "[{ listen = \"unix:/run/web.sock\", name = \"admin\", mode = 0o600 }, { listen = \"tcp://[::]:8080\", name = \"web.socket\" }]"
            ),
            "{web:?}"
        );
        // Ordering on its own sockets is implied; on other units it is noted.
        assert!(
            !web.unmapped
                .iter()
                .any(|n| n.contains("web.socket") && n.contains("After"))
        );
        assert!(
            web.unmapped
                .iter()
                .any(|n| n == "[Unit] After=network.target")
        );
        assert!(
            web.unmapped
                .iter()
                .any(|n| n.starts_with("[Service] Sockets=gone.socket (gone.socket is neither")),
            "{:?}",
            web.unmapped
        );
        let inetd = &drafts[1];
        assert_eq!(key(inetd, "sockets"), None);
        assert!(
            inetd
                .unmapped
                .iter()
                .any(|n| n.starts_with("inetd.socket: Accept=yes")),
            "{:?}",
            inetd.unmapped
        );
        let out = crate::import::write(&drafts, "test");
        out.validate(Path::new("/etc/stead/stead.toml")).unwrap();
        // An Accept=yes unit activates the template's instances, not the plain service.
        let plain = import_units(&dir.paths(&["inetd.service"])).unwrap();
        assert!(plain[0].unmapped.is_empty(), "{:?}", plain[0].unmapped);
        // Given by name, a socket unit must belong to a service given with it.
        let e = import_units(&dir.paths(&["web.service", "lonely.socket"])).unwrap_err();
        assert!(
            e.contains("lonely.socket: no service imported with it takes its sockets"),
            "{e}"
        );
        assert!(import_units(&dir.paths(&["web.socket"])).is_err());
    }

    #[test]
    fn a_socket_unit_serves_one_program_and_an_address_one_socket() {
        let dir = Dir::new(
            "shared-sockets",
            &[
                (
                    "a.service",
                    "[Service]\nExecStart=/bin/a\nSockets=shared.socket\n",
                ),
                (
                    "b.service",
                    "[Service]\nExecStart=/bin/b\nSockets=shared.socket\n",
                ),
                ("shared.socket", "[Socket]\nListenStream=0.0.0.0:80\n"),
            ],
        );
        let drafts = import_units(&dir.paths(&["a.service", "b.service"])).unwrap();
        assert_eq!(
            key(&drafts[0], "sockets"),
            Some("[{ listen = \"tcp://0.0.0.0:80\", name = \"shared.socket\" }]")
        );
        assert_eq!(key(&drafts[1], "sockets"), None);
        assert!(
            drafts[1]
                .unmapped
                .iter()
                .any(|n| n.contains("shared.socket: its sockets are [program.a]'s already")),
            "{:?}",
            drafts[1].unmapped
        );
        crate::import::write(&drafts, "test")
            .validate(Path::new("/etc/stead/stead.toml"))
            .unwrap();
    }
}
