//! launchd: a property list for a `LaunchDaemon` (system) or `LaunchAgent` (`--user`).
//!
//! `KeepAlive` is what keeps a job alive: `true` for `restart = always`, a dictionary
//! `SuccessfulExit = false` for `on-failure` (restart only after a failed exit), absent for
//! `never` — not the inverted form some tools write.

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
    if let Account::User(u) = &spec.account
        && !spec.user_mode
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

#[cfg(test)]
mod tests {
    use super::PrintedJob;

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
