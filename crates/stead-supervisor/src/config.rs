//! `stead.toml`, as the supervisor reads it: the model and parser of [`stead_config`], with
//! the checks against this host ([`ThisHost`]) that only the machine the programs run on can
//! make: the binary resolves, the user and group exist and can be switched to, the metrics
//! token is readable, resource sampling exists.
//!
//! ```
//! use std::path::Path;
//! use stead_supervisor::config::{self, RestartPolicy};
//!
//! let text = r#"
//! [program.web]
//! command = ["sh", "-c", "exec sleep 100"]
//! restart = "on-failure"
//! stop_timeout = "5s"
//! "#;
//! let config = config::parse(Path::new("stead.toml"), text).unwrap();
//! assert_eq!(config.programs[0].name, "web");
//! assert_eq!(config.programs[0].restart, RestartPolicy::OnFailure);
//!
//! let err = config::parse(Path::new("stead.toml"), "[program.web]\ncomand = 'x'\n").unwrap_err();
//! assert!(err.to_string().contains("stead.toml:2:1: unknown key `comand`"));
//! ```

use std::path::Path;

pub use stead_config::*;

/// The checks against the machine stead runs on, as `stead up`, `reload` and `validate` make
/// them (through the spawn layer's own lookups, so that what is checked is what is used).
///
/// ```
/// use stead_supervisor::config::{HostChecks, ThisHost};
/// assert!(ThisHost.program("no-such-binary-here", std::path::Path::new("."), None).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ThisHost;

impl HostChecks for ThisHost {
    fn program(&self, program: &str, cwd: &Path, path_var: Option<&str>) -> Result<(), String> {
        crate::spawn::resolve_program(program, cwd, path_var).map(drop)
    }
    fn user(&self, name: &str) -> Result<(), (String, String)> {
        crate::spawn::check_user(name)
    }
    fn group(&self, name: &str) -> Result<(), (String, String)> {
        crate::spawn::check_group(name)
    }
    fn can_switch_user(&self) -> Result<(), (String, String)> {
        crate::spawn::check_can_switch_user()
    }
    fn metrics_token(&self, file: &Path) -> Result<(), String> {
        crate::metrics::read_token(file).map(drop)
    }
    fn resource_sampling(&self) -> bool {
        crate::health::resources::SUPPORTED
    }
}

/// Reads a config file and checks it, on this host too ([`ThisHost`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    Config::load_checked(path, &ThisHost)
}

/// Parses config text and checks it, on this host too ([`ThisHost`]); `path` names the file
/// in messages and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::parse_checked(path, text, &ThisHost)
}

/// Checks a program built outside a config file (`stead run`): the binary resolves and the
/// user and group exist and can be switched to. Returns every problem, each with its fix.
///
/// ```
/// use stead_supervisor::config::{ProgramConfig, check_program};
/// assert!(check_program(&ProgramConfig::new("x", vec!["no-such-binary-here".into()])).is_err());
/// ```
pub fn check_program(p: &ProgramConfig) -> Result<(), Vec<(String, String)>> {
    let mut problems = Vec::new();
    if p.command.is_empty() {
        problems.push((
            "no command given".to_string(),
            "put the command after `--`: stead run -- ./server --port 8080".to_string(),
        ));
        return Err(problems);
    }
    let host = ThisHost;
    if let Err(msg) = host.program(&p.command[0], &p.cwd, p.env.get("PATH").map(String::as_str)) {
        problems.push((
            msg,
            "install it, fix the path, or give an absolute path".to_string(),
        ));
    }
    if let Some(u) = &p.user
        && let Err(e) = host.user(u)
    {
        problems.push(e);
    }
    if let Some(g) = &p.group_name
        && let Err(e) = host.group(g)
    {
        problems.push(e);
    }
    if (p.user.is_some() || p.group_name.is_some())
        && let Err(e) = host.can_switch_user()
    {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
