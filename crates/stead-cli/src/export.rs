//! `stead export` and `stead import`: the config to and from other engines' formats.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use stead_export::{Format, Options, export, import, render_warnings};

use crate::cli::ConfigArg;
use crate::{EXIT_FAILED, EXIT_USAGE, Failure};

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// systemd, kubernetes, nomad or compose.
    #[arg(value_parser = parse_format)]
    pub format: Format,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Write the files into this directory (created if needed) instead of printing them.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Only this program (repeatable); all when none.
    #[arg(long = "program", value_name = "NAME")]
    pub programs: Vec<String>,
    /// The image for programs without image (kubernetes, nomad's docker driver, compose).
    #[arg(long)]
    pub image: Option<String>,
    /// Fail instead of warning when a setting does not translate.
    #[arg(long)]
    pub strict: bool,
    /// The systemd version the units are for (254 adds exponential restart backoff)
    /// [default: this machine's, else 252].
    #[arg(long, value_name = "N")]
    pub systemd_version: Option<u32>,
    /// The name of the group: the .target, the Nomad job, the Compose project.
    #[arg(long, default_value = "stead")]
    pub name: String,
    /// systemd sandboxing of each program: none, default or strict (see docs/install.md for
    /// what each sets and its systemd-analyze security score).
    #[arg(long, default_value = "default", value_parser = parse_harden)]
    pub harden: stead_export::systemd::Harden,
}

fn parse_harden(s: &str) -> Result<stead_export::systemd::Harden, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// systemd service units, with their socket units: stead import systemd web.service web.socket …
    ///
    /// A service's socket units (its own name's, those in its Sockets=, those whose
    /// Service= names it) become its sockets = [...]; they are looked for among the files
    /// given, then beside the service.
    Systemd {
        /// The unit files (.service, and .socket).
        #[arg(required = true)]
        units: Vec<PathBuf>,
        /// Write the config here instead of printing it (never over an existing file).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// A PM2 ecosystem file (JSON, or .js read with node): stead import pm2 ecosystem.config.js
    Pm2 {
        /// The ecosystem file.
        file: PathBuf,
        /// Write the config here instead of printing it (never over an existing file).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// A supervisord config: stead import supervisord /etc/supervisor/supervisord.conf
    Supervisord {
        /// The config file (its [program:x] sections).
        file: PathBuf,
        /// Write the config here instead of printing it (never over an existing file).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub(crate) fn run_export(args: &ExportArgs) -> Result<u8, Failure> {
    let config = stead_supervisor::Config::load_portable(&args.config.config)
        .map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
    let options = Options {
        programs: args.programs.clone(),
        image: args.image.clone(),
        strict: args.strict,
        systemd_version: args.systemd_version.unwrap_or_else(local_systemd_version),
        name: args.name.clone(),
        harden: args.harden,
    };
    let out = export(&config, args.format, &options)
        .map_err(|e| Failure::new(EXIT_USAGE, format!("stead export: {e}")))?;
    if !out.warnings.is_empty() {
        eprint!(
            "stead export: these settings do not translate (use --strict to fail on them):\n{}",
            render_warnings(&out.warnings)
        );
    }
    let Some(dir) = &args.output else {
        let many = out.files.len() > 1;
        for f in &out.files {
            if many {
                println!("# ==> {} <==", f.name);
            }
            print!("{}", f.text);
        }
        return Ok(0);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::new(
            EXIT_FAILED,
            format!("stead export: cannot create {}: {e}", dir.display()),
        )
    })?;
    for f in &out.files {
        let path = dir.join(&f.name);
        write_atomically(&path, &f.text).map_err(|e| {
            Failure::new(
                EXIT_FAILED,
                format!("stead export: cannot write {}: {e}", path.display()),
            )
        })?;
        println!("{}", path.display());
    }
    Ok(0)
}

/// The version of this machine's systemd (`systemctl --version`), else 252 (Debian 12,
/// RHEL 9): units for a fleet are most often written where they run.
fn local_systemd_version() -> u32 {
    std::process::Command::new("systemctl")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(252)
}

/// Writes beside, then renames: a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("stead-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

pub(crate) fn run_import(cmd: &ImportCommand) -> Result<u8, Failure> {
    let (imported, output) = match cmd {
        ImportCommand::Systemd { units, output } => {
            let drafts = import::systemd::import_units(units)
                .map_err(|e| Failure::new(EXIT_USAGE, format!("stead import: {e}")))?;
            let source = units
                .iter()
                .map(|u| u.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            (import::write(&drafts, &source), output)
        }
        ImportCommand::Pm2 { file, output } => {
            let drafts = import::pm2::import_file(file)
                .map_err(|e| Failure::new(EXIT_USAGE, format!("stead import: {e}")))?;
            (import::write(&drafts, &file.display().to_string()), output)
        }
        ImportCommand::Supervisord { file, output } => {
            let drafts = import::supervisord::import_file(file)
                .map_err(|e| Failure::new(EXIT_USAGE, format!("stead import: {e}")))?;
            (import::write(&drafts, &file.display().to_string()), output)
        }
    };
    for (program, items) in &imported.unmapped {
        for i in items {
            eprintln!("stead import: {program}: not mapped: {i}");
        }
    }
    let target = output
        .clone()
        .unwrap_or_else(|| PathBuf::from("stead.toml"));
    imported.validate(&target).map_err(|e| {
        Failure::new(
            EXIT_USAGE,
            format!(
                "stead import: the imported config would not be valid, so nothing was written:\n{e}\nThis is a gap in the import: edit the source (or report it), then import again."
            ),
        )
    })?;
    match output {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    Failure::new(EXIT_FAILED, format!("stead import: cannot create {}: {e} (it is never overwritten; choose another name)", path.display()))
                })?;
            std::io::Write::write_all(&mut f, imported.toml.as_bytes()).map_err(|e| {
                Failure::new(
                    EXIT_FAILED,
                    format!("stead import: cannot write {}: {e}", path.display()),
                )
            })?;
            eprintln!(
                "stead import: wrote {}; check it with `stead validate -c {}`",
                path.display(),
                path.display()
            );
        }
        None => print!("{}", imported.toml),
    }
    Ok(0)
}
