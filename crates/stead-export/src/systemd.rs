//! `stead export systemd`: one unit per program (a template unit `NAME@.service` for
//! `numprocs > 1`, instances `NAME@0` …), and `<name>.target` that starts them all.
//!
//! | stead.toml | unit |
//! |---|---|
//! | `command` | `ExecStart=` (each argument quoted for systemd, its `$NAME`/`${NAME}`/`$$` kept, a shell's `$` doubled; `{index}` → `%i`) |
//! | `cwd`, `env`, `env_file`, `user`, `group` | `WorkingDirectory=` (normalized), `Environment=`, `EnvironmentFile=` (`-` when optional), `User=`, `Group=` |
//! | `restart` | `Restart=always` / `on-failure` / `no` |
//! | `backoff` | `RestartSec=` initial; with systemd ≥ 254 `RestartSteps=` and `RestartMaxDelaySec=` |
//! | `max_restarts`, `restart_window` | `StartLimitBurst=` (max_restarts + 1 starts), `StartLimitIntervalSec=` |
//! | `stop_signal`, `stop_timeout`, `kill_tree` | `KillSignal=`, `TimeoutStopSec=`, `KillMode=control-group` / `process` |
//! | `exit_codes` | `SuccessExitStatus=` |
//! | `depends_on` | `After=` and `Wants=` on the dependencies' units (not `Requires=`: a dependency's restart does not restart its dependents, as under stead); a one-shot dependency (`restart = "never"`) is `Type=oneshot` with `RemainAfterExit=yes`, so `After=` waits for it to finish and it runs once |
//! | `ready = "notify"` (timeout) | `Type=notify`, `TimeoutStartSec=`; other probes are noted (systemd has none) |
//! | `health = { watchdog = … }` | `WatchdogSec=`; other health checks are noted |
//! | `limits` | `MemoryMax=`, `CPUQuota=` (the action is always a kill by the kernel or nothing) |
//! | (`--harden`) | the sandbox of [`harden`]: `default` unless `none` or `strict` |
//! | `sockets` | a socket unit per set of names and options (`ListenStream=`, `ListenDatagram=`, `FileDescriptorName=`, `Backlog=`, `SocketMode=`, `SocketUser=`, `SocketGroup=`, `BindIPv6Only=`), named in the service's `Sockets=` and `Requires=`; see the `socket` module |

mod socket;

use std::path::Path;

use crate::unit::{Unit, environment, escape_value, exec_arg, exec_word};

/// Stands in for `{index}` while an argument is quoted (quoting leaves it alone).
const SLOT: &str = "\u{e000}";
use crate::{File, Options, Program, duration, normalize};

pub(crate) fn render(programs: &mut [Program<'_>], options: &Options) -> Vec<File> {
    let target = format!("{}.target", options.name);
    // The units each program is: `NAME.service`, or every instance of a template.
    let units_of: std::collections::HashMap<String, Vec<String>> = programs
        .iter()
        .map(|p| (p.name.to_string(), instance_units(p.name, p.cfg.numprocs)))
        .collect();
    // The sockets of each program, in the socket units that hold them.
    let groups: Vec<Vec<socket::Group<'_>>> = programs.iter_mut().map(socket::groups).collect();
    let names: Vec<&str> = programs.iter().map(|p| p.name).collect();
    let socket_units = socket::unit_names(&names, &groups);
    let mut files = Vec::new();
    let mut wants = Vec::new();
    for ((p, groups), sockets) in programs.iter_mut().zip(&groups).zip(&socket_units) {
        let template = p.cfg.numprocs > 1;
        let unit_name = if template {
            format!("{}@.service", p.name)
        } else {
            format!("{}.service", p.name)
        };
        let instances = instance_units(p.name, p.cfg.numprocs);
        let activates = instances[0].clone();
        wants.extend(instances);
        let mut unit = program_unit(p, options, &target, template);
        let mut socket_files = Vec::new();
        if !sockets.is_empty() {
            // Sockets= hands them to every instance and orders the start after them;
            // Requires=: a socket that cannot be had fails the start, as under stead.
            unit.set("Unit", "Requires", sockets.join(" "));
            unit.set("Unit", "After", sockets.join(" "));
            unit.set("Service", "Sockets", sockets.join(" "));
            if sockets.len() > 1 {
                p.drop(format!(
                    "`sockets` with different names or options take {} socket units ({}), and systemd passes the descriptors of different units in no fixed order: the program must find each by its name in LISTEN_FDNAMES, not by its place",
                    sockets.len(),
                    sockets.join(", ")
                ));
            }
            for (group, name) in groups.iter().zip(sockets) {
                let file = socket::socket_unit(
                    p,
                    group,
                    &socket::Context {
                        unit_name: name,
                        activates: &activates,
                        template: template.then_some(unit_name.as_str()),
                        target: &target,
                        header: &header(options),
                    },
                );
                socket_files.push(file);
                wants.push(name.clone());
            }
        }
        let mut deps = Vec::new();
        for d in &p.cfg.depends_on {
            match units_of.get(d) {
                Some(units) => deps.extend(units.iter().cloned()),
                None => p.drop(format!(
                    "depends_on `{d}`: not exported with it (--program); add it or order by hand"
                )),
            }
        }
        if !deps.is_empty() {
            // Ordering and a pull, as `depends_on` is under stead: `Requires=` would stop and
            // restart this program whenever a dependency restarts, which stead never does.
            unit.set("Unit", "After", deps.join(" "));
            unit.set("Unit", "Wants", deps.join(" "));
        }
        files.push(File {
            name: unit_name,
            text: header(options) + &unit.render(),
        });
        files.append(&mut socket_files);
    }
    let mut t = Unit::default();
    t.set(
        "Unit",
        "Description",
        format!("{} programs (exported by stead)", options.name),
    );
    t.set("Unit", "Wants", wants.join(" "));
    t.set("Install", "WantedBy", "multi-user.target");
    files.push(File {
        name: target,
        text: header(options) + &t.render(),
    });
    files
}

fn instance_units(name: &str, numprocs: u32) -> Vec<String> {
    if numprocs > 1 {
        (0..numprocs)
            .map(|i| format!("{name}@{i}.service"))
            .collect()
    } else {
        vec![format!("{name}.service")]
    }
}

fn header(_options: &Options) -> String {
    "# Exported from stead.toml by `stead export systemd`; edit the source and export again.\n"
        .to_string()
}

/// The unit of one program: the one renderer of program units (`stead install` builds on it).
pub fn program_unit_for(
    cfg: &stead_config::ProgramConfig,
    options: &Options,
    target: &str,
) -> (Unit, Vec<String>) {
    let mut p = Program {
        name: &cfg.group,
        cfg,
        notes: Vec::new(),
    };
    let unit = program_unit(&mut p, options, target, cfg.numprocs > 1);
    if !cfg.sockets.is_empty() {
        p.drop("`sockets`: this unit alone binds none; the socket units that do are written by `stead export systemd`, which also names them in the unit's Sockets=");
    }
    (unit, p.notes)
}

/// `ready`, `health`, `limits` and hooks: what systemd can say, and notes for the rest.
fn checks(p: &mut Program<'_>, u: &mut Unit) {
    use stead_config::{HealthProbe, Probe};
    let c = p.cfg;
    if let Some(r) = &c.ready {
        if r.probe == Probe::Notify {
            u.set("Service", "TimeoutStartSec", duration(r.timeout));
        } else {
            p.drop(format!(
                "`ready = {}`: systemd only knows notify readiness; use an ExecStartPost= that waits, or Type=notify",
                r.probe.describe()
            ));
        }
    }
    if let Some(h) = &c.health {
        if let HealthProbe::Watchdog(every) = h.probe {
            u.set("Service", "WatchdogSec", duration(every));
        } else {
            p.drop("`health`: systemd has no polled health checks (only WatchdogSec= for notify programs)");
        }
    }
    if let Some(l) = &c.limits {
        if let Some(m) = l.max_memory {
            u.set("Service", "MemoryMax", m.to_string());
        }
        if let Some(cpu) = l.max_cpu {
            u.set("Service", "CPUQuota", format!("{cpu:.0}%"));
        }
        if l.action == stead_config::CheckAction::Report {
            p.drop("`limits` with action = \"report\": systemd enforces MemoryMax=/CPUQuota= instead of reporting");
        }
    }
    if c.on_fatal.is_some() || c.on_unhealthy.is_some() {
        p.drop("`on_fatal`/`on_unhealthy`: use OnFailure= with a unit that runs the hook");
    }
}

fn program_unit(p: &mut Program<'_>, options: &Options, target: &str, template: bool) -> Unit {
    let c = p.cfg;
    let index = if template { "%i" } else { "0" };
    let mut u = Unit::default();
    u.set(
        "Unit",
        "Description",
        escape_value(&format!("{} (stead program)", p.name)),
    );
    u.set("Unit", "PartOf", target);
    if c.max_restarts > 0 {
        u.set("Unit", "StartLimitIntervalSec", duration(c.restart_window));
        u.set("Unit", "StartLimitBurst", (c.max_restarts + 1).to_string());
    } else {
        u.set("Unit", "StartLimitIntervalSec", "0");
    }
    // A one-shot task is `Type=oneshot`: its start completes when it has finished
    // successfully, which is what `After=` in its dependents then waits for (as stead does).
    let one_shot = c.restart == stead_config::RestartPolicy::Never;
    let notify = matches!(
        c.ready.as_ref().map(|r| &r.probe),
        Some(stead_config::Probe::Notify)
    );
    u.set(
        "Service",
        "Type",
        match (one_shot, notify) {
            (true, _) => "oneshot",
            (false, true) => "notify",
            (false, false) => "exec",
        },
    );
    if one_shot {
        // Done stays done: a dependent's start (or a dependency's restart) does not run it again.
        u.set("Service", "RemainAfterExit", "yes");
    }
    checks(p, &mut u);
    let mut argv = c.template.command.clone();
    if let Some(first) = argv.first_mut()
        && first.contains('/')
        && !Path::new(first.as_str()).is_absolute()
    {
        *first = normalize(&c.cwd.join(&*first)).display().to_string();
    }
    // `{index}` becomes the instance specifier. A private-use character (SLOT) stands in for
    // it while quoting, which leaves it alone. stead reads `$NAME`, `${NAME}` and `$$` in a
    // command as systemd does, so they are written as they are; a shell's command is the
    // shell's, and its `$` are doubled so that systemd leaves them to it.
    let quote = if c.template.shell {
        exec_arg
    } else {
        exec_word
    };
    let exec: Vec<String> = argv
        .iter()
        .map(|a| quote(&a.replace("{index}", SLOT)).replace(SLOT, index))
        .collect();
    u.set("Service", "ExecStart", exec.join(" "));
    if !c.template.shell {
        unset_variables(p, &argv);
    }
    // systemd refuses paths that are not normalized (`/srv/app/..`).
    u.set(
        "Service",
        "WorkingDirectory",
        escape_value(&normalize(&c.cwd).display().to_string()),
    );
    if let Some(f) = &c.template.env_file {
        // A leading `-`: a missing file is no error.
        let optional = if c.template.env_file_optional {
            "-"
        } else {
            ""
        };
        u.set(
            "Service",
            "EnvironmentFile",
            format!(
                "{optional}{}",
                escape_value(&normalize(f).display().to_string())
            ),
        );
    }
    for (k, v) in &c.template.env {
        let valid = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            p.drop(format!(
                "env `{k}`: systemd takes only names of letters, digits and `_`; left out"
            ));
            continue;
        }
        let value = environment(k, &v.replace("{index}", SLOT)).replace(SLOT, index);
        u.set("Service", "Environment", value);
    }
    if let Some(user) = &c.user {
        u.set("Service", "User", user.clone());
    }
    if let Some(group) = &c.group_name {
        u.set("Service", "Group", group.clone());
    }
    let restart = match c.restart {
        stead_config::RestartPolicy::Always => "always",
        stead_config::RestartPolicy::OnFailure => "on-failure",
        stead_config::RestartPolicy::Never => "no",
    };
    u.set("Service", "Restart", restart);
    let b = c.backoff;
    let restarts = c.restart != stead_config::RestartPolicy::Never;
    if restarts {
        u.set("Service", "RestartSec", duration(b.initial));
    }
    if restarts && b.multiplier > 1.0 && b.max > b.initial {
        if options.systemd_version >= 254 {
            let initial = b.initial.as_secs_f64().max(0.001);
            let steps = ((b.max.as_secs_f64() / initial).ln() / b.multiplier.ln())
                .ceil()
                .max(1.0);
            u.set("Service", "RestartSteps", format!("{steps:.0}"));
            u.set("Service", "RestartMaxDelaySec", duration(b.max));
        } else {
            p.drop(format!(
                "`backoff` grows exponentially; systemd {} has only a fixed RestartSec= ({}); systemd 254 adds RestartSteps= (export with --systemd-version 254)",
                options.systemd_version,
                duration(b.initial)
            ));
        }
    }
    let defaults = stead_config::Backoff::default();
    if restarts && (b.jitter - defaults.jitter).abs() > f64::EPSILON && b.jitter > 0.0 {
        p.drop("`backoff.jitter`: systemd restarts without jitter");
    }
    if restarts && b.reset_after != defaults.reset_after {
        p.drop("`backoff.reset_after`: systemd resets its restart delay on its own terms");
    }
    let success: Vec<String> = c
        .exit_codes
        .iter()
        .filter(|&&code| code != 0)
        .map(ToString::to_string)
        .collect();
    if !success.is_empty() {
        u.set("Service", "SuccessExitStatus", success.join(" "));
    }
    if !c.exit_codes.contains(&0) {
        p.drop("`exit_codes` without 0: systemd always counts exit code 0 as success");
    }
    u.set(
        "Service",
        "KillSignal",
        format!("SIG{}", c.stop_signal.name()),
    );
    // systemd reads `TimeoutStopSec=0` as "no timeout": stead's `"0"` (kill at once) is the
    // shortest timeout systemd takes, and `"infinity"` is written as such.
    let stop_timeout = if c.stop_timeout.is_zero() {
        "1ms".to_string()
    } else {
        duration(c.stop_timeout)
    };
    u.set("Service", "TimeoutStopSec", stop_timeout);
    u.set(
        "Service",
        "KillMode",
        if c.kill_tree {
            "control-group"
        } else {
            "process"
        },
    );
    let default_log = stead_config::LogSettings::default();
    if c.log != default_log {
        p.drop("`[log]` settings: the unit's output goes to the journal (journald's own retention applies)");
    }
    harden(
        &mut u,
        &Confinement {
            level: options.harden,
            user_mode: false,
            root: c.user.is_none(),
            supervisor: false,
            capabilities: &[],
        },
    );
    u.set("Install", "WantedBy", target);
    u
}

/// How far a unit confines its service (`--harden` of `stead install` and `stead export
/// systemd`). `systemd-analyze security` scores are in `docs/install.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Harden {
    /// No sandboxing directives.
    None,
    /// What nearly every service keeps working under: no new privileges, private `/tmp` and
    /// devices, `/usr`, `/boot` and `/etc` read-only, homes read-only, kernel tunables, modules,
    /// logs, clock and hostname protected, the `@system-service` system calls, native ABI,
    /// Internet, local and netlink sockets, no namespaces, no capabilities for an account other
    /// than root (only those asked for).
    #[default]
    Default,
    /// Also: the whole file system read-only but the service's own directories, homes hidden,
    /// other users' processes hidden, no writable-and-executable memory (a program with a JIT,
    /// such as Java or Node.js, needs `default`), files private to the account (`UMask=0077`),
    /// no capabilities even for root but those asked for (and those stead as root needs to run
    /// programs as other accounts).
    Strict,
}

impl std::str::FromStr for Harden {
    type Err = String;
    /// `none`, `default` or `strict`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Harden::None),
            "default" => Ok(Harden::Default),
            "strict" => Ok(Harden::Strict),
            o => Err(format!("--harden {o}: use none, default or strict")),
        }
    }
}

/// What a service must keep under its sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Confinement<'a> {
    /// The level.
    pub level: Harden,
    /// A `systemd --user` unit: its manager sandboxes only inside a user namespace of the
    /// service's own (`PrivateUsers=yes`).
    pub user_mode: bool,
    /// It runs as root (no `User=`, no `DynamicUser=`).
    pub root: bool,
    /// It is stead supervising programs: it makes their cgroups in its delegated subtree (so
    /// `/sys/fs/cgroup` stays writable), and as root it runs programs as other accounts
    /// (`CAP_SETUID`, `CAP_SETGID`, `CAP_KILL`, `CAP_CHOWN` for their notify sockets in `/run`,
    /// which stays writable, `CAP_DAC_OVERRIDE`/`CAP_FOWNER` for their files, and their
    /// processes visible in `/proc`).
    pub supervisor: bool,
    /// Capabilities asked for (`CAP_NET_BIND_SERVICE`): kept in the bounding set, and given
    /// as ambient capabilities to an account other than root.
    pub capabilities: &'a [String],
}

/// What stead as root keeps to run its programs as their accounts.
const SUPERVISOR_CAPS: &str =
    "CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER";

/// What a root service loses at `default`: the capabilities that own the machine.
const ROOT_DROPS: &str = "~CAP_SYS_ADMIN CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_PTRACE CAP_SYS_BOOT CAP_SYS_TIME CAP_SYS_PACCT CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_MAC_ADMIN CAP_MAC_OVERRIDE CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_AUDIT_WRITE CAP_LINUX_IMMUTABLE CAP_BPF CAP_PERFMON CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_SYSLOG CAP_LEASE CAP_IPC_LOCK";

/// Adds the sandboxing directives of `c.level` to `u`'s `[Service]`.
///
/// ```
/// use stead_export::systemd::{Confinement, Harden, harden};
/// let mut u = stead_export::unit::Unit::default();
/// let c = Confinement { level: Harden::Strict, user_mode: false, root: false, supervisor: false, capabilities: &[] };
/// harden(&mut u, &c);
/// let text = u.render();
/// assert!(text.contains("ProtectSystem=strict") && text.contains("CapabilityBoundingSet=\n"));
/// ```
pub fn harden(u: &mut Unit, c: &Confinement<'_>) {
    if c.level == Harden::None {
        return;
    }
    let strict = c.level == Harden::Strict;
    let mut set = |k: &str, v: &str| u.set("Service", k, v);
    if c.user_mode {
        set("PrivateUsers", "yes");
    }
    set("NoNewPrivileges", "yes");
    set("PrivateTmp", "yes");
    set("PrivateDevices", "yes");
    // A user unit's home is where its state lives: `strict` there would need every path named.
    set(
        "ProtectSystem",
        if strict && !c.user_mode {
            "strict"
        } else {
            "full"
        },
    );
    if !c.user_mode {
        set("ProtectHome", if strict { "yes" } else { "read-only" });
    }
    if !c.user_mode {
        // A user cannot read the kernel log anyway (CAP_SYSLOG); in a user unit the option
        // fails where /proc/kmsg is missing (containers).
        set("ProtectKernelLogs", "yes");
    }
    for k in [
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectClock",
        "ProtectHostname",
        "RestrictSUIDSGID",
        "RestrictRealtime",
        "RestrictNamespaces",
        "LockPersonality",
    ] {
        set(k, "yes");
    }
    if !c.supervisor {
        // systemd 252 makes all of /sys/fs/cgroup read-only, the delegated subtree included.
        set("ProtectControlGroups", "yes");
    }
    set("SystemCallArchitectures", "native");
    set("SystemCallFilter", "@system-service");
    // A call outside the set fails with EPERM instead of killing the program.
    set("SystemCallErrorNumber", "EPERM");
    set(
        "RestrictAddressFamilies",
        if strict {
            "AF_UNIX AF_INET AF_INET6"
        } else {
            "AF_UNIX AF_INET AF_INET6 AF_NETLINK"
        },
    );
    let asked = c.capabilities.join(" ");
    let root_supervisor = c.root && c.supervisor && !c.user_mode;
    if !c.user_mode {
        let bounding = if root_supervisor {
            format!("{SUPERVISOR_CAPS} {asked}").trim().to_string()
        } else if c.root && !strict {
            ROOT_DROPS.to_string()
        } else {
            asked.clone()
        };
        set("CapabilityBoundingSet", &bounding);
        if !c.root && !asked.is_empty() {
            set("AmbientCapabilities", &asked);
        }
    }
    if !c.root && !c.user_mode {
        set("RemoveIPC", "yes");
    }
    if strict {
        set("MemoryDenyWriteExecute", "yes");
        set("UMask", "0077");
        if root_supervisor {
            set("ReadWritePaths", "/run");
        } else {
            set("ProtectProc", "invisible");
        }
    } else {
        set("UMask", "0027");
    }
}

/// A `${NAME}` the unit does not set: systemd expands it from its own few variables or to
/// nothing, where stead took it from its own environment.
fn unset_variables(p: &mut Program<'_>, argv: &[String]) {
    use stead_config::vars::{Piece, parse_arg};
    let c = p.cfg;
    if c.template.env_file.is_some() {
        return;
    }
    let mut notes = Vec::new();
    for a in argv {
        for piece in parse_arg(a, 0).unwrap_or_default() {
            if let Piece::Braced(name) | Piece::Words(name) = piece
                && !c.template.env.contains_key(&name)
            {
                notes.push(format!(
                    "`{a}` in `command`: `{name}` is set by neither `env` nor `env_file`; systemd expands it from its own environment (PATH, and HOME/USER with User=) or to nothing, not from stead's: set it in `env`"
                ));
            }
        }
    }
    for n in notes {
        p.drop(n);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Format, Options, export};

    fn unit_for(stop_timeout: &str) -> String {
        let text =
            format!("[program.db]\ncommand = ['/usr/bin/db']\nstop_timeout = '{stop_timeout}'\n");
        let config =
            stead_config::Config::parse_portable(std::path::Path::new("/srv/stead.toml"), &text)
                .unwrap();
        let out = export(&config, Format::Systemd, &Options::default()).unwrap();
        out.files[0].text.clone()
    }

    fn units(config_path: &str, text: &str) -> (String, Vec<String>) {
        let config =
            stead_config::Config::parse_portable(std::path::Path::new(config_path), text).unwrap();
        let out = export(&config, Format::Systemd, &Options::default()).unwrap();
        let notes = out.warnings.into_iter().flat_map(|w| w.dropped).collect();
        (out.files[0].text.clone(), notes)
    }

    #[test]
    fn variables_stay_variables_and_a_shells_dollars_stay_the_shells() {
        let (unit, notes) = units(
            "/srv/stead.toml",
            "[program.a]\ncommand = ['/usr/sbin/sshd', '-D', '$OPTS', '--x=${X} y', '$$1', 'a$b']\n\
             env_file = { path = '/etc/default/ssh', optional = true }\n",
        );
        assert!(
            unit.contains("ExecStart=/usr/sbin/sshd -D $OPTS \"--x=${X} y\" $$1 a$b\n"),
            "{unit}"
        );
        assert!(
            unit.contains("EnvironmentFile=-/etc/default/ssh\n"),
            "{unit}"
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (unit, _) = units(
            "/srv/stead.toml",
            "[program.a]\ncommand = 'echo $$ $HOME'\nshell = true\n",
        );
        assert!(unit.contains(" -c \"echo $$$$ $$HOME\"\n"), "{unit}");
        // Without an env_file, a variable `env` does not set is stead's, not the unit's.
        let (_, notes) = units(
            "/srv/stead.toml",
            "[program.a]\ncommand = ['/bin/p', '${X}']\n",
        );
        assert!(
            notes[0].contains("`X` is set by neither `env` nor `env_file`"),
            "{notes:?}"
        );
    }

    #[test]
    fn paths_are_normalized_as_systemd_requires() {
        let (unit, _) = units(
            "/srv/app/../stead.toml",
            "[program.a]\ncommand = ['./bin/../bin/p']\nenv_file = './x/../app.env'\ncwd = 'run/.'\n",
        );
        assert!(unit.contains("WorkingDirectory=/srv/run\n"), "{unit}");
        assert!(unit.contains("EnvironmentFile=/srv/app.env\n"), "{unit}");
        assert!(unit.contains("ExecStart=/srv/run/bin/p\n"), "{unit}");
    }

    #[test]
    fn stop_timeouts_keep_their_meaning_where_systemd_reads_zero_as_infinity() {
        assert!(unit_for("infinity").contains("TimeoutStopSec=infinity\n"));
        // stead's "0" kills at once; systemd's 0 would wait for ever.
        assert!(unit_for("0").contains("TimeoutStopSec=1ms\n"));
        assert!(unit_for("1m30s").contains("TimeoutStopSec=1m30s\n"));
    }

    fn confined(level: super::Harden, root: bool, supervisor: bool, user_mode: bool) -> String {
        let mut u = crate::unit::Unit::default();
        let caps = ["CAP_NET_BIND_SERVICE".to_string()];
        super::harden(
            &mut u,
            &super::Confinement {
                level,
                user_mode,
                root,
                supervisor,
                capabilities: &caps,
            },
        );
        u.render()
    }

    #[test]
    fn each_level_keeps_what_the_service_needs() {
        use super::Harden::{Default, None, Strict};
        assert_eq!(confined(None, true, true, false), "");
        // An account of its own: no capability but the one asked for, given to it.
        let own = confined(Default, false, false, false);
        assert!(
            own.contains("CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"),
            "{own}"
        );
        assert!(
            own.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE\n"),
            "{own}"
        );
        assert!(own.contains("ProtectControlGroups=yes") && own.contains("ProtectSystem=full"));
        // stead as the service: its delegated cgroup stays writable; as root it keeps what
        // running programs as other accounts takes, and sees their processes.
        let sup = confined(Strict, true, true, false);
        assert!(!sup.contains("ProtectControlGroups"), "{sup}");
        assert!(
            sup.contains("CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL"),
            "{sup}"
        );
        assert!(
            sup.contains("ReadWritePaths=/run") && !sup.contains("ProtectProc"),
            "{sup}"
        );
        assert!(!sup.contains("AmbientCapabilities"), "{sup}");
        // A root program under strict keeps only what it asked for.
        let root = confined(Strict, true, false, false);
        assert!(
            root.contains("CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"),
            "{root}"
        );
        assert!(
            root.contains("ProtectSystem=strict") && root.contains("MemoryDenyWriteExecute=yes")
        );
        // A user unit sandboxes only in a user namespace, and cannot mask /proc/kmsg there.
        let user = confined(Strict, false, true, true);
        assert!(
            user.contains("PrivateUsers=yes") && !user.contains("ProtectKernelLogs"),
            "{user}"
        );
        assert!(user.contains("ProtectSystem=full") && !user.contains("CapabilityBoundingSet"));
    }

    fn export_all(text: &str) -> (Vec<crate::File>, Vec<String>) {
        let config =
            stead_config::Config::parse_portable(std::path::Path::new("/srv/stead.toml"), text)
                .unwrap();
        let out = export(&config, Format::Systemd, &Options::default()).unwrap();
        let notes = out.warnings.into_iter().flat_map(|w| w.dropped).collect();
        (out.files, notes)
    }

    fn file<'a>(files: &'a [crate::File], name: &str) -> &'a str {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        &files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name} in {names:?}"))
            .text
    }

    #[test]
    fn sockets_become_socket_units_that_the_service_requires() {
        let (files, notes) = export_all(
            "[program.web]\ncommand = ['/bin/web']\nsockets = ['tcp://0.0.0.0:8080', 'tcp://[::]:8081', \
             { listen = 'unix:run/../admin.sock', name = 'admin', mode = 0o660, owner = 'www-data' }, \
             { listen = 'udp://[::]:5353', name = 'mdns', ipv6_only = true }]\n\
             [program.pool]\ncommand = ['/bin/pool']\nnumprocs = 2\n\
             sockets = [{ listen = 'tcp://[fe80::1%2]:9000', backlog = 128, reuse_address = false }]\n",
        );
        let web = file(&files, "web.service");
        for line in [
            "Requires=web.socket web-admin.socket web-mdns.socket\n",
            "After=web.socket web-admin.socket web-mdns.socket\n",
            "Sockets=web.socket web-admin.socket web-mdns.socket\n",
        ] {
            assert!(web.contains(line), "{web}");
        }
        // One unit per name: FileDescriptorName= names every socket of its unit.
        let own = file(&files, "web.socket");
        assert!(
            own.contains(
                "ListenStream=0.0.0.0:8080\nListenStream=[::]:8081\nFileDescriptorName=web\nBacklog=4096\nService=web.service\n"
            ),
            "{own}"
        );
        assert!(own.contains("PartOf=stead.target") && own.contains("WantedBy=stead.target"));
        let admin = file(&files, "web-admin.socket");
        assert!(
            admin.contains(
                "ListenStream=/srv/admin.sock\nFileDescriptorName=admin\nBacklog=4096\nSocketMode=0660\nSocketUser=www-data\nRemoveOnStop=yes\n"
            ),
            "{admin}"
        );
        let mdns = file(&files, "web-mdns.socket");
        assert!(
            mdns.contains(
                "ListenDatagram=[::]:5353\nFileDescriptorName=mdns\nBindIPv6Only=ipv6-only\n"
            ),
            "{mdns}"
        );
        assert!(!mdns.contains("Backlog="), "{mdns}");
        // A template: every instance is handed the one socket; traffic starts instance 0.
        assert!(file(&files, "pool@.service").contains("Sockets=pool.socket\n"));
        let pool = file(&files, "pool.socket");
        assert!(
            pool.contains("ListenStream=[fe80::1]:9000%2\nFileDescriptorName=pool\nBacklog=128\nService=pool@0.service\n"),
            "{pool}"
        );
        assert!(pool.contains(
            "# Unlike under stead, traffic while no instance runs starts pool@0.service"
        ));
        assert!(
            file(&files, "stead.target").contains(
                "Wants=web.service web.socket web-admin.socket web-mdns.socket pool@0.service pool@1.service pool.socket\n"
            )
        );
        let said = |what: &str| notes.iter().any(|n| n.contains(what));
        assert!(
            said("in no fixed order: the program must find each by its name"),
            "{notes:?}"
        );
        assert!(said(
            "`reuse_address = false` on `tcp://[fe80::1%2]:9000`: systemd sets SO_REUSEADDR"
        ));
        assert!(said("`owner = \"www-data\"` without `group`"), "{notes:?}");
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn socket_unit_names_never_clash() {
        let (files, _) = export_all(
            "[program.my]\ncommand = ['/bin/my']\nsockets = ['tcp://0.0.0.0:1', { listen = 'tcp://0.0.0.0:2', name = 'app' }, \
             { listen = 'tcp://0.0.0.0:3', name = 'a/b' }, { listen = 'tcp://0.0.0.0:4', backlog = 1 }, \
             { listen = 'tcp://0.0.0.0:6', name = 'my-app.socket' }, { listen = 'tcp://0.0.0.0:7', name = 'legacy.socket' }]\n\
             [program.my-app]\ncommand = ['/bin/my-app']\nsockets = [{ listen = 'tcp://0.0.0.0:5', name = 'x' }]\n",
        );
        let mut names: Vec<&str> = files
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| n.ends_with(".socket"))
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "legacy.socket",
                "my-a_b.socket",
                "my-app-2.socket",
                "my-app.socket",
                "my-my-app.socket",
                "my-my.socket",
                "my.socket"
            ]
        );
        assert!(file(&files, "my-app.service").contains("Sockets=my-app.socket\n"));
        assert!(file(&files, "my-app-2.socket").contains("FileDescriptorName=app\n"));
    }
}
