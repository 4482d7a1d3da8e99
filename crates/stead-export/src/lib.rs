//! # stead-export
//!
//! The same `stead.toml` on a fleet: each program rendered for the engines that already
//! schedule many machines — systemd units ([`systemd`]), Kubernetes manifests
//! ([`kubernetes`]), a Nomad job ([`nomad`]), a Compose file ([`compose`]) — and existing
//! setups brought in ([`import`]: systemd units, supervisord configs).
//!
//! Nothing is dropped silently: whatever a target cannot express is listed per program in
//! [`Export::warnings`], and `strict` turns those into an error. A file that would be invalid
//! (a container format without an image) is refused.
//!
//! ```
//! use std::path::Path;
//! use stead_export::{Format, Options, export};
//! use stead_config::Config;
//!
//! let config = Config::parse_portable(Path::new("/srv/stead.toml"),
//!     "[program.web]\ncommand = ['/bin/sh', '-c', 'exec sleep 100']\nstop_timeout = '5s'\n").unwrap();
//! let out = export(&config, Format::Systemd, &Options::default()).unwrap();
//! let unit = &out.files.iter().find(|f| f.name == "web.service").unwrap().text;
//! assert!(unit.contains("TimeoutStopSec=5s"));
//! ```

pub mod compose;
pub mod import;
pub mod kubernetes;
pub mod nomad;
mod ports;
pub mod systemd;
pub mod unit;
mod yaml;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stead_config::Config;
use stead_config::ProgramConfig;

/// What to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One unit per program, template units for `numprocs`, and a `.target`.
    Systemd,
    /// Deployments (and Jobs for programs that run to completion), as YAML.
    Kubernetes,
    /// A Nomad job (HCL), one group per program.
    Nomad,
    /// A Compose file.
    Compose,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "systemd" => Ok(Format::Systemd),
            "kubernetes" | "k8s" => Ok(Format::Kubernetes),
            "nomad" => Ok(Format::Nomad),
            "compose" => Ok(Format::Compose),
            other => Err(format!(
                "unknown format `{other}`; use systemd, kubernetes, nomad or compose"
            )),
        }
    }
}

/// How to export.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these programs (names of `[program.NAME]`); all when empty.
    pub programs: Vec<String>,
    /// The image of programs that have no `image` (containers formats).
    pub image: Option<String>,
    /// Fail instead of warning when something does not translate.
    pub strict: bool,
    /// The systemd version the units are for: exponential restart backoff
    /// (`RestartSteps=`, `RestartMaxDelaySec=`) needs 254.
    pub systemd_version: u32,
    /// The name of the group: the `.target`, the Nomad job, the Compose project.
    pub name: String,
    /// How far systemd units confine each program (`--harden`).
    pub harden: systemd::Harden,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            programs: Vec::new(),
            image: None,
            strict: false,
            systemd_version: 254,
            name: "stead".to_string(),
            harden: systemd::Harden::Default,
        }
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// File name (no directory).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// What does not translate, for one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The `[program.NAME]`.
    pub program: String,
    /// Each setting that was dropped or changed, with why and what to do.
    pub dropped: Vec<String>,
}

/// The files, and the warnings.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// The files to write.
    pub files: Vec<File>,
    /// What did not translate, per program.
    pub warnings: Vec<Warning>,
}

/// Why nothing was exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `--program` named a program the config does not have.
    #[error("no program `{0}` in the config")]
    UnknownProgram(String),
    /// Programs that cannot be expressed at all (no image for a container format).
    #[error("cannot export:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// `strict` and something did not translate.
    #[error("--strict: some settings do not translate:\n{}", render_warnings(.0))]
    Strict(Vec<Warning>),
}

/// The warnings as lines for people.
pub fn render_warnings(w: &[Warning]) -> String {
    let mut out = String::new();
    for w in w {
        for d in &w.dropped {
            let _ = writeln!(out, "  {}: {d}", w.program);
        }
    }
    out
}

/// A program as written: its first instance stands for all `numprocs` of them.
pub(crate) struct Program<'a> {
    pub name: &'a str,
    pub cfg: &'a ProgramConfig,
    pub notes: Vec<String>,
}

impl Program<'_> {
    pub(crate) fn drop(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }

    /// Whether the argv or env use `{index}`.
    pub(crate) fn uses_index(&self) -> bool {
        let t = &self.cfg.template;
        t.command.iter().any(|a| a.contains("{index}"))
            || t.env.values().any(|v| v.contains("{index}"))
    }

    /// The argv for a format that runs it without stead's variable expansion (containers):
    /// `$NAME`, `${NAME}` and `$$` resolved from the program's `env` table, `{index}` left for
    /// the format. A variable `env` does not set (it comes from the `env_file` or stead's own
    /// environment) cannot be resolved here: its argument is kept as written, with a warning.
    pub(crate) fn resolved_command(&mut self, format: &str) -> Vec<String> {
        use stead_config::vars::{Piece, expand_argv, parse_arg};
        let t = &self.cfg.template;
        if t.shell {
            return t.command.clone();
        }
        let mut out = Vec::new();
        let mut notes = Vec::new();
        for a in &t.command {
            let unset: Vec<String> = parse_arg(a, 0)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| match p {
                    Piece::Braced(n) | Piece::Words(n) if !t.env.contains_key(&n) => Some(n),
                    _ => None,
                })
                .collect();
            if unset.is_empty() {
                out.extend(
                    expand_argv(std::slice::from_ref(a), |n| t.env.get(n).cloned())
                        .unwrap_or_else(|_| vec![a.clone()]),
                );
            } else {
                notes.push(format!(
                    "`{a}` in `command`: {} set by no `env` entry (an env_file or stead's own environment), so {format} cannot be given its value; kept as written",
                    unset.join(", ")
                ));
                out.push(a.clone());
            }
        }
        for n in notes {
            self.drop(n);
        }
        out
    }

    /// `stop_timeout` for a format whose timeout cannot be infinite (`field` names it):
    /// `"infinity"` becomes [`LONGEST_STOP`], with a warning.
    pub(crate) fn finite_stop_timeout(&mut self, format: &str, field: &str) -> Duration {
        if self.cfg.stop_timeout == stead_config::INFINITY {
            self.drop(format!(
                "`stop_timeout = \"infinity\"`: {format}'s {field} cannot be infinite; exported as {} (one year), after which the program is killed",
                duration(LONGEST_STOP)
            ));
            LONGEST_STOP
        } else {
            self.cfg.stop_timeout
        }
    }

    /// `ready` (unless `mapped_ready`), `health` (unless `mapped_health`), `limits` and hooks:
    /// noted. `then` says what dependents wait for without `ready`.
    pub(crate) fn note_checks(
        &mut self,
        format: &str,
        mapped_ready: bool,
        mapped_health: bool,
        then: &str,
    ) {
        let c = self.cfg;
        if c.ready.is_some() && !mapped_ready {
            self.drop(format!("`ready`: not exported to {format}; {then}"));
        }
        if c.health.is_some() && !mapped_health {
            self.drop(format!(
                "`health`: not exported to {format}; add the engine's own check"
            ));
        }
        if c.limits.is_some() {
            self.drop(format!(
                "`limits`: not exported to {format}; set the engine's resource limits"
            ));
        }
        if c.on_fatal.is_some() || c.on_unhealthy.is_some() {
            self.drop("`on_fatal`/`on_unhealthy`: alert from the engine's monitoring instead");
        }
    }

    /// The settings every container format drops (the host-only ones), noted.
    pub(crate) fn note_host_settings(&mut self) {
        let c = self.cfg;
        if c.user.is_some() || c.group_name.is_some() {
            self.drop("`user`/`group` name host accounts; set the user in the image (USER) or a security context");
        }
        if c.template.env_file.is_some() {
            self.drop("`env_file` is not copied into the file (it may hold secrets); load it on the target (a Secret, an env file, a template)");
        }
        if !c.kill_tree {
            self.drop("`kill_tree = false` has no equivalent: the whole container is stopped");
        }
        let default_log = stead_config::LogSettings::default();
        if c.log.max_size != default_log.max_size
            || c.log.keep != default_log.keep
            || c.log.rotate != default_log.rotate
            || c.log.max_total != default_log.max_total
            || c.log.journald
        {
            self.drop(
                "`[log]` settings: output goes to the platform's log collection (stdout/stderr)",
            );
        }
    }
}

/// Renders `config` as `format`.
pub fn export(config: &Config, format: Format, options: &Options) -> Result<Export, ExportError> {
    for name in &options.programs {
        if !config.programs.iter().any(|p| &p.group == name) {
            return Err(ExportError::UnknownProgram(name.clone()));
        }
    }
    let mut programs: Vec<Program<'_>> = Vec::new();
    for p in &config.programs {
        if programs.iter().any(|g| g.name == p.group) {
            continue;
        }
        if options.programs.is_empty() || options.programs.contains(&p.group) {
            programs.push(Program {
                name: &p.group,
                cfg: p,
                notes: Vec::new(),
            });
        }
    }
    let files = match format {
        Format::Systemd => systemd::render(&mut programs, options),
        Format::Kubernetes => kubernetes::render(&mut programs, options)?,
        Format::Nomad => nomad::render(&mut programs, options),
        Format::Compose => compose::render(&mut programs, options)?,
    };
    let warnings: Vec<Warning> = programs
        .into_iter()
        .filter(|p| !p.notes.is_empty())
        .map(|p| Warning {
            program: p.name.to_string(),
            dropped: p.notes,
        })
        .collect();
    if options.strict && !warnings.is_empty() {
        return Err(ExportError::Strict(warnings));
    }
    Ok(Export { files, warnings })
}

/// What `stop_timeout = "infinity"` becomes where a timeout cannot be infinite (Kubernetes,
/// Nomad, Compose): one year.
pub const LONGEST_STOP: Duration = Duration::from_secs(365 * 24 * 3600);

/// `"1.5s"`-style text that systemd, Nomad and Compose all read.
pub(crate) fn duration(d: Duration) -> String {
    stead_config::format_duration(d)
}

/// `path` without `.` and with each `..` taking back the component before it, lexically
/// (systemd refuses `/srv/app/..`; the file system is not asked).
///
/// ```
/// # use std::path::Path;
/// assert_eq!(stead_export::normalize(Path::new("/srv/app/../stead.toml")), Path::new("/srv/stead.toml"));
/// assert_eq!(stead_export::normalize(Path::new("/srv/./app/..")), Path::new("/srv"));
/// assert_eq!(stead_export::normalize(Path::new("/..")), Path::new("/"));
/// ```
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `..` of the root is the root.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// Whole seconds, rounded up (Kubernetes fields).
pub(crate) fn seconds_ceil(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The image of every program (container formats), or the error naming each program that
/// has none: an export without them would be invalid.
pub(crate) fn images(
    programs: &[Program<'_>],
    options: &Options,
) -> Result<Vec<String>, ExportError> {
    let (ok, invalid): (Vec<_>, Vec<_>) = programs
        .iter()
        .map(|p| image_of(p, options))
        .partition(Result::is_ok);
    if invalid.is_empty() {
        Ok(ok.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(ExportError::Invalid(
            invalid.into_iter().filter_map(Result::err).collect(),
        ))
    }
}

/// The image of a program for container formats, or the error that refuses the export.
fn image_of(p: &Program<'_>, options: &Options) -> Result<String, String> {
    p.cfg
        .image
        .clone()
        .or_else(|| options.image.clone())
        .ok_or_else(|| {
            format!(
                "  {}: no image to run `{}` in; set image = \"…\" in [program.{}] or pass --image",
                p.name,
                p.cfg.template.command.first().map_or("", String::as_str),
                p.name
            )
        })
}

/// A DNS-1123 name (Kubernetes, Compose services): lowercase letters, digits and `-`.
pub(crate) fn dns_name(name: &str) -> String {
    let s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.trim_matches('-').to_string()
}

/// The env as written (explicit `env` only), with `{index}` replaced by `index`.
pub(crate) fn env_with(p: &Program<'_>, index: &str) -> BTreeMap<String, String> {
    p.cfg
        .template
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{index}", index)))
        .collect()
}
