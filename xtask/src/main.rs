//! `cargo xtask dist`: every artifact of a release, into `target/dist/`.
//!
//! - static Linux binaries (`x86_64-unknown-linux-musl`, `aarch64-unknown-linux-musl`) in
//!   tarballs with the man pages, shell completions, licenses and README;
//! - `stead.exe` (`x86_64-pc-windows-gnu`) in a zip;
//! - `.deb` and `.rpm` packages of the static binaries, with stead's own service;
//! - an `.msi` (built with msitools' `wixl`);
//! - a Homebrew formula, a Scoop manifest and winget manifests with the artifacts' hashes;
//! - `SHA256SUMS` over all of them, and a `.sha256` beside each.
//!
//! `cargo xtask dist --only deb,msi` builds a part; `--targets` picks the Linux targets.
//! What each package does to a machine is in docs/install.md.

mod archive;
mod deb;
mod manifests;
mod msi;
mod rpm;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The Linux targets of a release: static, so they run on any distribution.
const LINUX_TARGETS: &[&str] = &["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// Every part `--only` can name.
const PARTS: &[&str] = &["tar", "zip", "deb", "rpm", "msi", "manifests"];

/// What a release is made from: the version, the commit, where things are.
pub(crate) struct Release {
    pub version: String,
    pub commit: String,
    pub root: PathBuf,
    pub out: PathBuf,
    /// Man pages and completions, generated once by the host's build.
    pub docs: PathBuf,
}

impl Release {
    /// The binary built for `target` (the `ship` profile: release without symbols).
    pub fn binary(&self, target: &str) -> PathBuf {
        let exe = if target.contains("windows") {
            "stead.exe"
        } else {
            "stead"
        };
        self.root.join("target").join(target).join("ship").join(exe)
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo xtask dist [--only PART,...] [--targets TARGET,...] [--out DIR] [--no-build]\n\
         parts: {}\n\
         targets: {}",
        PARTS.join(", "),
        LINUX_TARGETS.join(", ")
    );
    std::process::exit(2);
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("dist") {
        usage();
    }
    let mut only: Vec<String> = PARTS.iter().map(ToString::to_string).collect();
    let mut targets: Vec<String> = LINUX_TARGETS.iter().map(ToString::to_string).collect();
    let mut out = None;
    let mut build = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--only" => only = list(args.next(), PARTS)?,
            "--targets" => targets = list(args.next(), LINUX_TARGETS)?,
            "--out" => out = Some(PathBuf::from(args.next().unwrap_or_else(|| usage()))),
            "--no-build" => build = false,
            _ => usage(),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the workspace root")?
        .to_path_buf();
    let out = out.unwrap_or_else(|| root.join("target/dist"));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let rel = Release {
        version: workspace_version(&root)?,
        commit: git(&root, &["rev-parse", "--short=12", "HEAD"])
            .unwrap_or_else(|_| "unknown".into()),
        docs: out.join("docs"),
        root,
        out,
    };
    let wants = |p: &str| only.iter().any(|o| o == p);
    let linux = wants("tar") || wants("deb") || wants("rpm") || wants("manifests");
    let windows = wants("zip") || wants("msi") || wants("manifests");
    if build {
        if linux {
            for t in &targets {
                cargo_build(&rel, t)?;
            }
        }
        if windows {
            cargo_build(&rel, WINDOWS_TARGET)?;
        }
    }
    generate_docs(&rel)?;
    let mut made = Vec::new();
    for t in &targets {
        if wants("tar") || wants("manifests") {
            made.push(archive::linux_tarball(&rel, t)?);
        }
        if wants("deb") {
            made.push(deb::build(&rel, t)?);
        }
        if wants("rpm") {
            made.push(rpm::build(&rel, t)?);
        }
    }
    if wants("zip") || wants("manifests") {
        made.push(archive::windows_zip(&rel)?);
    }
    if wants("msi") {
        made.push(msi::build(&rel)?);
    }
    if wants("manifests") {
        made.push(archive::source_tarball(&rel)?);
        made.extend(manifests::write(&rel, &made)?);
    }
    let mut sums = String::new();
    for f in &made {
        std::fs::write(
            f.with_file_name(format!("{}.sha256", file_name(f))),
            archive::sha256_line(f, f.parent().unwrap_or(&rel.out))?,
        )?;
        sums.push_str(&archive::sha256_line(f, &rel.out)?);
    }
    std::fs::write(rel.out.join("SHA256SUMS"), sums)?;
    for f in &made {
        let size = std::fs::metadata(f)?.len();
        println!("{:>10}  {}", size, f.display());
    }
    Ok(())
}

/// A comma-separated list whose items must be in `known`.
fn list(arg: Option<String>, known: &[&str]) -> Result<Vec<String>> {
    let arg = arg.unwrap_or_else(|| usage());
    let items: Vec<String> = arg.split(',').map(|s| s.trim().to_string()).collect();
    for i in &items {
        if !known.contains(&i.as_str()) {
            bail!("unknown `{i}`: choose from {}", known.join(", "));
        }
    }
    Ok(items)
}

pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `[workspace.package] version` of the root Cargo.toml.
fn workspace_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package
            && let Some(v) = line.strip_prefix("version")
            && let Some(v) = v.trim_start().strip_prefix('=')
        {
            return Ok(v.trim().trim_matches('"').to_string());
        }
    }
    bail!("no [workspace.package] version in Cargo.toml")
}

/// Runs `cmd`, failing with its output when it fails.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {shown} (is it installed? .ci/run installs it)"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git(root: &Path, args: &[&str]) -> Result<String> {
    Ok(run_cmd(Command::new("git").args(args).current_dir(root))?
        .trim()
        .to_string())
}

fn cargo_build(rel: &Release, target: &str) -> Result<()> {
    eprintln!("xtask: building {target}");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--locked",
            "--profile",
            "ship",
            "-p",
            "stead-cli",
            "--target",
        ])
        .arg(target)
        .current_dir(&rel.root)
        .status()
        .context("run cargo")?;
    if !status.success() {
        bail!(
            "building for {target} failed: is the target installed (rustup target add {target})?"
        );
    }
    Ok(())
}

/// Man pages and shell completions, from the host's own build of the same sources.
fn generate_docs(rel: &Release) -> Result<()> {
    let _ = std::fs::remove_dir_all(&rel.docs);
    std::fs::create_dir_all(rel.docs.join("completions"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let stead = |args: &[&str]| -> Result<String> {
        run_cmd(
            Command::new(&cargo)
                .args(["run", "--quiet", "--locked", "-p", "stead-cli", "--"])
                .args(args)
                .current_dir(&rel.root),
        )
    };
    let man = rel.docs.join("man");
    stead(&["__docs", "--man", &man.to_string_lossy()])?;
    for (shell, name) in [
        ("bash", "stead.bash"),
        ("zsh", "_stead"),
        ("fish", "stead.fish"),
    ] {
        std::fs::write(
            rel.docs.join("completions").join(name),
            stead(&["completions", shell])?,
        )?;
    }
    Ok(())
}

/// The man pages generated for this release, sorted.
pub(crate) fn man_pages(rel: &Release) -> Result<Vec<PathBuf>> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(rel.docs.join("man"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    Ok(pages)
}
