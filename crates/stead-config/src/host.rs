//! The checks of a config against the machine its programs will run on, apart from the
//! parser: the parser asks them through [`HostChecks`] where it has the key's line and
//! column, and a portable load (an export for other machines) asks none.

use std::path::Path;

/// What the parser asks of the host, when it is asked to check against one
/// ([`crate::Config::load_checked`]). Each failure is a message and, where there is one, a
/// hint saying how to fix it; the parser puts them at the line of the key concerned.
///
/// ```
/// use std::path::Path;
/// use stead_config::{Config, HostChecks};
///
/// /// A host with no users at all.
/// struct NoUsers;
/// impl HostChecks for NoUsers {
///     fn program(&self, _: &str, _: &Path, _: Option<&str>) -> Result<(), String> { Ok(()) }
///     fn user(&self, name: &str) -> Result<(), (String, String)> {
///         Err((format!("unknown user `{name}`"), "create it".into()))
///     }
///     fn group(&self, _: &str) -> Result<(), (String, String)> { Ok(()) }
///     fn can_switch_user(&self) -> Result<(), (String, String)> { Ok(()) }
///     fn metrics_token(&self, _: &Path) -> Result<(), String> { Ok(()) }
///     fn resource_sampling(&self) -> bool { true }
/// }
///
/// let text = "[program.web]\ncommand = ['web']\nuser = 'www'\n";
/// let err = Config::parse_checked(Path::new("stead.toml"), text, &NoUsers).unwrap_err();
/// assert!(err.to_string().contains("stead.toml:3:8: unknown user `www`"));
/// assert!(Config::parse_portable(Path::new("stead.toml"), text).is_ok());
/// ```
pub trait HostChecks {
    /// The program to run, `program` (the first word of `command`), resolves from `cwd` and
    /// the `PATH` given (the program's own, or stead's when `None`) to an executable file.
    fn program(&self, program: &str, cwd: &Path, path_var: Option<&str>) -> Result<(), String>;
    /// The user `name` exists.
    fn user(&self, name: &str) -> Result<(), (String, String)>;
    /// The group `name` exists.
    fn group(&self, name: &str) -> Result<(), (String, String)>;
    /// The supervisor may switch programs to another user or group (it runs as root).
    fn can_switch_user(&self) -> Result<(), (String, String)>;
    /// The metrics token file can be read and holds a usable token.
    fn metrics_token(&self, file: &Path) -> Result<(), String>;
    /// Resource sampling exists on this OS, so `limits` can act.
    fn resource_sampling(&self) -> bool;
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    /// A host for the parser's tests, answering from what is on this machine: programs from
    /// `PATH`, users and groups from `/etc/passwd` and `/etc/group`.
    pub(crate) struct TestHost;

    fn listed(file: &str, name: &str) -> bool {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(':').next() == Some(name))
    }

    impl super::HostChecks for TestHost {
        fn program(&self, program: &str, cwd: &Path, path: Option<&str>) -> Result<(), String> {
            let found = if program.contains('/') {
                cwd.join(program).is_file()
            } else {
                let path = path
                    .map(str::to_string)
                    .or_else(|| std::env::var("PATH").ok())
                    .unwrap_or_default();
                std::env::split_paths(&path).any(|d| d.join(program).is_file())
            };
            if found {
                Ok(())
            } else {
                Err(format!("program `{program}` not found"))
            }
        }
        fn user(&self, name: &str) -> Result<(), (String, String)> {
            if listed("/etc/passwd", name) {
                Ok(())
            } else {
                Err((format!("unknown user `{name}`"), "create it".into()))
            }
        }
        fn group(&self, name: &str) -> Result<(), (String, String)> {
            if listed("/etc/group", name) {
                Ok(())
            } else {
                Err((format!("unknown group `{name}`"), "create it".into()))
            }
        }
        fn can_switch_user(&self) -> Result<(), (String, String)> {
            Ok(())
        }
        fn metrics_token(&self, file: &Path) -> Result<(), String> {
            match std::fs::read_to_string(file) {
                Ok(t) if t.trim().len() >= 16 => Ok(()),
                Ok(_) => Err(format!("the token in {} is too short", file.display())),
                Err(e) => Err(format!("cannot read {}: {e}", file.display())),
            }
        }
        fn resource_sampling(&self) -> bool {
            true
        }
    }
}
