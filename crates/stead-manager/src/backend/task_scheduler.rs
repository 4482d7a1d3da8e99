//! Windows Task Scheduler: a logon task for `--user` installs (autostart without admin
//! rights), as the XML `schtasks /Create /XML` and the Task Scheduler API read.

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
