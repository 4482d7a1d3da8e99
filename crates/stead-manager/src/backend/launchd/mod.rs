//! launchd: a property list for a `LaunchDaemon` (system) or `LaunchAgent` (`--user`).
//!
//! `KeepAlive` is what keeps a job alive: `true` for `restart = always`, a dictionary
//! `SuccessfulExit = false` for `on-failure` (restart only after a failed exit), absent for
//! `never` — not the inverted form some tools write.

/// Installing, removing and asking launchd here (`launchctl`).
#[cfg(target_os = "macos")]
pub(crate) mod apply;

use std::path::{Path, PathBuf};

use crate::spec::{Account, Restart, ServiceSpec, StartMode};

/// `&`, `<` and `>` escaped, for XML text content.
pub fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            c => o.push(c),
        }
    }
    o
}

/// The job label: `stead.NAME`.
pub fn label(spec: &ServiceSpec) -> String {
    format!("stead.{}", spec.name)
}

/// The plist for `spec`.
///
/// ```
/// let spec = stead_manager::ServiceSpec::new("web", "/opt/web", &["a&b"]);
/// let p = stead_manager::backend::launchd::plist(&spec);
/// assert!(p.contains("<string>a&amp;b</string>"));
/// assert!(p.contains("<key>SuccessfulExit</key>\n\t\t<false/>"));
/// ```
pub fn plist(spec: &ServiceSpec) -> String {
    let mut o = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n",
    );
    let kv = |o: &mut String, k: &str, v: &str| {
        o.push_str(&format!(
            "\t<key>{}</key>\n\t<string>{}</string>\n",
            xml(k),
            xml(v)
        ));
    };
    kv(&mut o, "Label", &label(spec));
    o.push_str("\t<key>ProgramArguments</key>\n\t<array>\n");
    for a in spec.argv() {
        o.push_str(&format!("\t\t<string>{}</string>\n", xml(&a)));
    }
    o.push_str("\t</array>\n");
    if let Some(cwd) = &spec.cwd {
        kv(&mut o, "WorkingDirectory", &cwd.display().to_string());
    }
    if !spec.env.is_empty() {
        o.push_str("\t<key>EnvironmentVariables</key>\n\t<dict>\n");
        for (k, v) in &spec.env {
            o.push_str(&format!(
                "\t\t<key>{}</key>\n\t\t<string>{}</string>\n",
                xml(k),
                xml(v)
            ));
        }
        o.push_str("\t</dict>\n");
    }
    // A daemon without `UserName` runs as root, launchd's default: the key names only an
    // account other than root (an agent runs as its user, and ignores it).
    if let Account::User(u) = &spec.account
        && !spec.user_mode
        && u != "root"
    {
        kv(&mut o, "UserName", u);
    }
    let run_at_load = spec.start != StartMode::Manual;
    o.push_str(&format!("\t<key>RunAtLoad</key>\n\t<{run_at_load}/>\n"));
    match spec.restart {
        Restart::Always => o.push_str("\t<key>KeepAlive</key>\n\t<true/>\n"),
        Restart::OnFailure => o.push_str(
            "\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n",
        ),
        Restart::Never => {}
    }
    let throttle = spec
        .restart_delays
        .first()
        .map_or(10, std::time::Duration::as_secs)
        .max(1);
    o.push_str(&format!(
        "\t<key>ThrottleInterval</key>\n\t<integer>{throttle}</integer>\n\t<key>ExitTimeOut</key>\n\t<integer>{}</integer>\n",
        spec.stop_timeout.as_secs().max(1)
    ));
    if let Some(dir) = &spec.log_dir {
        kv(
            &mut o,
            "StandardOutPath",
            &dir.join(format!("{}.out.log", spec.name))
                .display()
                .to_string(),
        );
        kv(
            &mut o,
            "StandardErrorPath",
            &dir.join(format!("{}.err.log", spec.name))
                .display()
                .to_string(),
        );
    }
    o.push_str("</dict>\n</plist>\n");
    o
}

/// `/Library/LaunchDaemons/stead.NAME.plist`, or `~/Library/LaunchAgents/…` for `--user`.
pub fn plist_path(spec: &ServiceSpec, home: &Path) -> PathBuf {
    let dir = if spec.user_mode {
        home.join("Library/LaunchAgents")
    } else {
        PathBuf::from("/Library/LaunchDaemons")
    };
    dir.join(format!("{}.plist", label(spec)))
}

/// A job as `launchctl print DOMAIN/LABEL` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedJob {
    /// launchd's word: `running`, `not running`, `spawn scheduled`, `waiting`…
    pub state: String,
    /// The pid while it runs.
    pub pid: Option<u32>,
    /// The last exit code (`None` while it never exited).
    pub last_exit: Option<i32>,
}

impl PrintedJob {
    /// Reads the job's own top-level lines (one tab deep) of `launchctl print`; nested
    /// dictionaries (endpoints, event triggers) have states of their own and are skipped.
    ///
    /// ```
    /// let text = "system/stead.web = {\n\tactive count = 1\n\tstate = running\n\tpid = 812\n\tendpoints = {\n\t\tstate = active\n\t}\n\tlast exit code = 1\n}\n";
    /// let job = stead_manager::backend::launchd::PrintedJob::parse(text);
    /// assert_eq!(job.state, "running");
    /// assert_eq!(job.pid, Some(812));
    /// assert_eq!(job.last_exit, Some(1));
    /// assert_eq!(job.service_state(), "running");
    /// ```
    pub fn parse(text: &str) -> PrintedJob {
        let mut job = PrintedJob {
            state: String::new(),
            pid: None,
            last_exit: None,
        };
        for line in text.lines() {
            let Some(rest) = line.strip_prefix('\t') else {
                continue;
            };
            if rest.starts_with(char::is_whitespace) {
                continue;
            }
            let Some((k, v)) = rest.split_once(" = ") else {
                continue;
            };
            match k {
                "state" => job.state = v.trim().to_string(),
                "pid" => job.pid = v.trim().parse().ok(),
                // `1`, or `78: EX_CONFIG` on newer macOS.
                "last exit code" => {
                    job.last_exit = v.split(':').next().and_then(|n| n.trim().parse().ok());
                }
                _ => {}
            }
        }
        job
    }

    /// The state `stead service status` reports: `running`, `starting`, `failed` (not
    /// running after a failed exit) or `stopped`.
    pub fn service_state(&self) -> &'static str {
        match self.state.as_str() {
            "running" => "running",
            "spawn scheduled" | "spawning" | "xpcproxy" => "starting",
            _ if self.last_exit.is_some_and(|c| c != 0) => "failed",
            _ => "stopped",
        }
    }
}

/// The ids macOS leaves to system accounts that are not Apple's own (Apple's daemons sit
/// below 200; user accounts start at 501).
pub const SYSTEM_IDS: std::ops::Range<u32> = 200..400;

/// The numbers in the second column of `dscl . -list /Users UniqueID` (or `/Groups
/// PrimaryGroupID`) output: `_www   70`.
pub fn listed_ids(dscl_output: &str) -> Vec<u32> {
    dscl_output
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// The lowest id in [`SYSTEM_IDS`] that is neither a user's nor a group's, so the account and
/// its group can share it.
///
/// ```
/// use stead_manager::backend::launchd::free_system_id;
/// assert_eq!(free_system_id("_www 70\nroot 0\n_svc 200\n", "_svc 201\n"), Some(202));
/// ```
pub fn free_system_id(users: &str, groups: &str) -> Option<u32> {
    let taken: std::collections::BTreeSet<u32> = listed_ids(users)
        .into_iter()
        .chain(listed_ids(groups))
        .collect();
    SYSTEM_IDS.clone().find(|id| !taken.contains(id))
}

/// The `dscl` commands that make a hidden system account `user` with its own group, both
/// with `id`: no login shell, no password, `/var/empty` as home — what `useradd --system`
/// makes on Linux.
pub fn create_account_commands(user: &str, id: u32) -> Vec<Vec<String>> {
    let id = id.to_string();
    let group = format!("/Groups/{user}");
    let account = format!("/Users/{user}");
    let real_name = format!("{user} (service account made by stead)");
    let dscl = |args: &[&str]| {
        let mut v = vec!["dscl".to_string(), ".".into(), "-create".into()];
        v.extend(args.iter().map(|a| (*a).to_string()));
        v
    };
    vec![
        dscl(&[&group]),
        dscl(&[&group, "PrimaryGroupID", &id]),
        dscl(&[&group, "RealName", &real_name]),
        dscl(&[&group, "Password", "*"]),
        dscl(&[&account]),
        dscl(&[&account, "UniqueID", &id]),
        dscl(&[&account, "PrimaryGroupID", &id]),
        dscl(&[&account, "UserShell", "/usr/bin/false"]),
        dscl(&[&account, "NFSHomeDirectory", "/var/empty"]),
        dscl(&[&account, "RealName", &real_name]),
        dscl(&[&account, "Password", "*"]),
        dscl(&[&account, "IsHidden", "1"]),
    ]
}

/// The `dscl` commands that remove an account [`create_account_commands`] made, and its group.
pub fn delete_account_commands(user: &str) -> Vec<Vec<String>> {
    ["Users", "Groups"]
        .iter()
        .map(|kind| {
            vec![
                "dscl".to_string(),
                ".".into(),
                "-delete".into(),
                format!("/{kind}/{user}"),
            ]
        })
        .collect()
}

/// The plan for a launchd job (a daemon, or an agent with `--user`).
pub(crate) fn plan(
    spec: &crate::ServiceSpec,
    backend: crate::Backend,
    home: &std::path::Path,
    unix_root: bool,
    mut warnings: Vec<String>,
) -> crate::Plan {
    use std::path::PathBuf;

    use crate::{Plan, PlannedFile, Provision};

    let file = |path: PathBuf, mode: u32, text: String| PlannedFile { path, mode, text };
    if unix_root {
        warnings.push(format!(
                "{} will run as root: pass --create-user _{} (a hidden account of its own) or --account USER unless it needs root",
                spec.name, spec.name
            ));
    }
    let path = plist_path(spec, home);
    let domain = if spec.user_mode {
        "gui/$UID".to_string()
    } else {
        "system".to_string()
    };
    Plan {
        backend,
        files: vec![file(path.clone(), 0o644, plist(spec))],
        commands: vec![vec![
            "launchctl".into(),
            "bootstrap".into(),
            domain,
            path.display().to_string(),
        ]],
        scm: None,
        provision: Provision::for_spec(spec, backend, home),
        warnings,
        wrapped: None,
    }
}

#[cfg(test)]
mod tests {
    use super::PrintedJob;

    #[test]
    fn a_system_account_gets_a_free_id_no_shell_and_its_own_group() {
        let users = "_amavisd                 83\n_www  70\nroot 0\nme 501\n_a 200\n_b 201\n";
        let groups = "_www 70\n_c 202\nstaff 20\n";
        assert_eq!(super::listed_ids(groups), [70, 202, 20]);
        let id = super::free_system_id(users, groups).unwrap();
        assert_eq!(id, 203);
        let cmds = super::create_account_commands("_web", id);
        let has = |want: &[&str]| cmds.iter().any(|c| c[3..] == *want);
        assert!(has(&["/Users/_web", "UniqueID", "203"]));
        assert!(has(&["/Users/_web", "PrimaryGroupID", "203"]));
        assert!(has(&["/Groups/_web", "PrimaryGroupID", "203"]));
        assert!(has(&["/Users/_web", "UserShell", "/usr/bin/false"]));
        assert!(has(&["/Users/_web", "Password", "*"]));
        assert!(has(&["/Users/_web", "IsHidden", "1"]));
        assert!(cmds.iter().all(|c| c[..3] == ["dscl", ".", "-create"]));
        // The group exists before the account names it.
        let pos = |want: &[&str]| cmds.iter().position(|c| c[3..] == *want).unwrap();
        assert!(pos(&["/Groups/_web"]) < pos(&["/Users/_web", "PrimaryGroupID", "203"]));
        assert_eq!(
            super::delete_account_commands("_web"),
            [
                ["dscl", ".", "-delete", "/Users/_web"],
                ["dscl", ".", "-delete", "/Groups/_web"]
            ]
        );
        let full = (200..400).fold(String::new(), |mut s, i| {
            s.push_str(&format!("_x{i} {i}\n"));
            s
        });
        assert_eq!(super::free_system_id(&full, ""), None);
    }

    #[test]
    fn a_crashed_job_waiting_to_respawn_reads_as_failed_or_starting() {
        let waiting =
            "gui/501/stead.x = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}\n";
        let job = PrintedJob::parse(waiting);
        assert_eq!((job.last_exit, job.service_state()), (Some(78), "failed"));
        let waiting = "gui/501/stead.x = {\n\tstate = not running\n\tlast exit code = 3\n}\n";
        assert_eq!(PrintedJob::parse(waiting).service_state(), "failed");
        let spawn = "system/stead.x = {\n\tstate = spawn scheduled\n\tlast exit code = 1\n}\n";
        assert_eq!(PrintedJob::parse(spawn).service_state(), "starting");
        let never =
            "system/stead.x = {\n\tstate = not running\n\tlast exit code = (never exited)\n}\n";
        let job = PrintedJob::parse(never);
        assert_eq!((job.service_state(), job.last_exit), ("stopped", None));
    }
}
