//! Windows Task Scheduler: a logon task for `--user` installs (autostart without admin
//! rights), as the XML `schtasks /Create /XML` and the Task Scheduler API read.

/// Creating, removing and asking logon tasks here (`schtasks`).
#[cfg(windows)]
pub(crate) mod apply;

use crate::backend::launchd::xml;
use crate::backend::windows::quote_arg;
use crate::spec::{Restart, ServiceSpec};

/// The task XML for `spec`, run at the logon of `user`.
///
/// ```
/// let spec = stead_manager::ServiceSpec::new("web", "/opt/web", &["a b"]);
/// let x = stead_manager::backend::task_scheduler::task_xml(&spec, r"PC\alice");
/// assert!(x.contains("<Arguments>\"a b\"</Arguments>"));
/// assert!(x.contains("<UserId>PC\\alice</UserId>"));
/// ```
pub fn task_xml(spec: &ServiceSpec, user: &str) -> String {
    let args: Vec<String> = spec.args.iter().map(|a| quote_arg(a)).collect();
    let restart = if spec.restart == Restart::Never {
        String::new()
    } else {
        let every = spec
            .restart_delays
            .first()
            .map_or(60, std::time::Duration::as_secs)
            .max(60);
        format!(
            "    <RestartOnFailure>\n      <Interval>PT{}M</Interval>\n      <Count>3</Count>\n    </RestartOnFailure>\n",
            every.div_ceil(60)
        )
    };
    let cwd = spec.cwd.as_ref().map_or(String::new(), |c| {
        format!(
            "      <WorkingDirectory>{}</WorkingDirectory>\n",
            xml(&c.display().to_string())
        )
    });
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n  <RegistrationInfo>\n    <Description>{desc}</Description>\n  </RegistrationInfo>\n  <Triggers>\n    <LogonTrigger>\n      <Enabled>true</Enabled>\n      <UserId>{user}</UserId>\n    </LogonTrigger>\n  </Triggers>\n  <Principals>\n    <Principal id=\"Author\">\n      <UserId>{user}</UserId>\n      <LogonType>InteractiveToken</LogonType>\n      <RunLevel>LeastPrivilege</RunLevel>\n    </Principal>\n  </Principals>\n  <Settings>\n    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n{restart}  </Settings>\n  <Actions Context=\"Author\">\n    <Exec>\n      <Command>{cmd}</Command>\n      <Arguments>{args}</Arguments>\n{cwd}    </Exec>\n  </Actions>\n</Task>\n",
        desc = xml(&spec.description),
        user = xml(user),
        cmd = xml(&spec.program.display().to_string()),
        args = xml(&args.join(" ")),
    )
}

/// The task XML as `schtasks /Create /XML` reads it: UTF-16LE with a byte order mark (what
/// its `encoding="UTF-16"` declaration promises).
///
/// ```
/// let bytes = stead_manager::backend::task_scheduler::utf16_with_bom("<a/>");
/// assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'<', 0]);
/// ```
pub fn utf16_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// The state (`running`, `starting`, `stopped`, `unknown`) and the Task Scheduler's own word,
/// from the `Status:` line of `schtasks /Query /V /FO LIST`.
///
/// ```
/// use stead_manager::backend::task_scheduler::state_of;
/// assert_eq!(state_of("TaskName: \\web\nStatus: Running\n").0, "running");
/// ```
pub fn state_of(listing: &str) -> (&'static str, String) {
    let status = listing
        .lines()
        .find_map(|l| l.trim().strip_prefix("Status:"))
        .map(str::trim)
        .unwrap_or_default();
    let state = match status {
        "Running" => "running",
        "Queued" => "starting",
        "Ready" | "Disabled" => "stopped",
        _ => "unknown",
    };
    (state, status.to_string())
}

/// The plan for a logon task in the Task Scheduler (`--user` on Windows).
pub(crate) fn plan(
    spec: &crate::ServiceSpec,
    backend: crate::Backend,
    home: &std::path::Path,
    warnings: Vec<String>,
) -> crate::Plan {
    use crate::{Plan, PlannedFile};
    use std::path::PathBuf;

    let file = |path: PathBuf, mode: u32, text: String| PlannedFile { path, mode, text };
    // The logon user: known on Windows; a placeholder in a preview elsewhere.
    let user = if cfg!(windows) {
        match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
            (Ok(d), Ok(u)) => format!("{d}\\{u}"),
            (_, Ok(u)) => u,
            _ => "%USERNAME%".into(),
        }
    } else {
        "%USERNAME%".into()
    };
    let xml_path = home.join(format!("{}.task.xml", spec.name));
    Plan {
        backend,
        files: vec![file(xml_path.clone(), 0o644, task_xml(spec, &user))],
        commands: vec![vec![
            "schtasks".into(),
            "/Create".into(),
            "/TN".into(),
            format!("stead\\{}", spec.name),
            "/XML".into(),
            xml_path.display().to_string(),
        ]],
        scm: None,
        provision: None,
        warnings,
        wrapped: None,
    }
}

#[cfg(test)]
mod schtasks_tests {
    use super::*;

    #[test]
    fn the_status_line_gives_the_state() {
        let listing = "Folder: \\\nHostName: PC\nTaskName: \\web\nStatus: Running\nLogon Mode: Interactive only\n";
        assert_eq!(state_of(listing), ("running", "Running".to_string()));
        assert_eq!(state_of("Status: Ready").0, "stopped");
        assert_eq!(state_of("").0, "unknown");
    }

    #[test]
    fn the_file_is_utf16_with_a_bom() {
        assert_eq!(
            utf16_with_bom("<a/>"),
            [0xFF, 0xFE, b'<', 0, b'a', 0, b'/', 0, b'>', 0]
        );
    }
}
