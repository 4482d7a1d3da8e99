//! The `.deb`: the static binary, man pages, completions, and stead's own service running on
//! `/etc/stead/stead.toml` (a conffile) with `/etc/stead/conf.d/` for programs; maintainer
//! scripts that enable and start it on install, restart it on upgrade, stop it on removal
//! and remove its logs and state on purge, the way debhelper's do. Built with `dpkg-deb`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::archive::gzip;
use crate::{Release, file_name, man_pages, run_cmd};

pub(crate) const MAINTAINER: &str = "The stead developers <stead-rs@users.noreply.github.com>";

/// Debian's name for the architecture of `target`.
fn arch(target: &str) -> Result<&'static str> {
    Ok(match target.split('-').next() {
        Some("x86_64") => "amd64",
        Some("aarch64") => "arm64",
        _ => bail!("no Debian architecture for {target}"),
    })
}

pub(crate) fn build(rel: &Release, target: &str) -> Result<PathBuf> {
    let arch = arch(target)?;
    let stage = rel.out.join(format!("deb-{arch}"));
    let _ = std::fs::remove_dir_all(&stage);
    let put = |rel_path: &str, data: &[u8], mode: u32| -> Result<()> {
        let p = stage.join(rel_path);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, data)?;
        set_mode(&p, mode)
    };
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("read {}", p.display()));
    put("usr/bin/stead", &read(&rel.binary(target))?, 0o755)?;
    for page in man_pages(rel)? {
        put(
            &format!("usr/share/man/man1/{}.gz", file_name(&page)),
            &gzip(&read(&page)?)?,
            0o644,
        )?;
    }
    let comp = rel.docs.join("completions");
    put(
        "usr/share/bash-completion/completions/stead",
        &read(&comp.join("stead.bash"))?,
        0o644,
    )?;
    put(
        "usr/share/zsh/vendor-completions/_stead",
        &read(&comp.join("_stead"))?,
        0o644,
    )?;
    put(
        "usr/share/fish/vendor_completions.d/stead.fish",
        &read(&comp.join("stead.fish"))?,
        0o644,
    )?;
    let pkg = rel.root.join("packaging");
    put(
        "lib/systemd/system/stead.service",
        &read(&pkg.join("stead.service"))?,
        0o644,
    )?;
    put(
        "etc/stead/stead.toml",
        &read(&pkg.join("stead.toml"))?,
        0o644,
    )?;
    std::fs::create_dir_all(stage.join("etc/stead/conf.d"))?;
    put(
        "usr/share/doc/stead/copyright",
        &read(&pkg.join("debian/copyright"))?,
        0o644,
    )?;
    put(
        "usr/share/doc/stead/changelog.Debian.gz",
        &gzip(changelog(rel).as_bytes())?,
        0o644,
    )?;
    // The binary is static on purpose: it runs on any Linux, with no library to match.
    put(
        "usr/share/lintian/overrides/stead",
        b"stead: statically-linked-binary [usr/bin/stead]\n",
        0o644,
    )?;
    for script in ["postinst", "prerm", "postrm"] {
        put(
            &format!("DEBIAN/{script}"),
            &read(&pkg.join("debian").join(script))?,
            0o755,
        )?;
    }
    put("DEBIAN/conffiles", b"/etc/stead/stead.toml\n", 0o644)?;
    let size_kib = du_kib(&stage)?;
    let control = format!(
        "Package: stead\n\
         Version: {}-1\n\
         Architecture: {arch}\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {size_kib}\n\
         Section: admin\n\
         Priority: optional\n\
         Homepage: https://github.com/stead-rs/stead\n\
         Description: keep programs running: process supervisor and service installer\n \
         stead runs any program as a managed service: restarts with backoff and\n \
         crash-loop detection, whole-tree stop, log capture with rotation, readiness\n \
         and health checks, dependencies, and a control CLI with JSON output.\n \
         .\n \
         This package runs stead as a systemd service on /etc/stead/stead.toml;\n \
         programs go in /etc/stead/conf.d/, one or more per file.\n",
        rel.version
    );
    put("DEBIAN/control", control.as_bytes(), 0o644)?;
    let deb = rel.out.join(format!("stead_{}-1_{arch}.deb", rel.version));
    run_cmd(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    std::fs::remove_dir_all(&stage)?;
    Ok(deb)
}

/// The package's changelog entry, dated with the commit.
fn changelog(rel: &Release) -> String {
    let date = run_cmd(
        Command::new("git")
            .args(["log", "-1", "--format=%aD"])
            .current_dir(&rel.root),
    )
    .map_or_else(
        |_| "Thu, 01 Jan 1970 00:00:00 +0000".into(),
        |d| d.trim().to_string(),
    );
    format!(
        "stead ({}-1) unstable; urgency=medium\n\n  * Release {} (commit {}).\n\n -- {MAINTAINER}  {date}\n",
        rel.version, rel.version, rel.commit
    )
}

/// The installed size in KiB, as `Installed-Size` counts it (files rounded up to 1 KiB).
fn du_kib(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if entry.file_name() == "DEBIAN" {
            continue;
        }
        if meta.is_dir() {
            total += du_kib(&entry.path())? + 1;
        } else {
            total += meta.len().div_ceil(1024);
        }
    }
    Ok(total)
}

#[cfg(unix)]
pub(crate) fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)] // The same signature as the Unix one.
pub(crate) fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}
