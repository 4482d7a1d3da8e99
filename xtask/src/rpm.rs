//! The `.rpm`: the layout of the `.deb` under Fedora's paths, the configuration marked
//! `%config(noreplace)`, and scriptlets that apply the system's preset on install, stop and
//! disable on erase, and restart on upgrade. Built with `rpmbuild` from a staged tree of the
//! static binary (no compilation inside rpmbuild).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::archive::gzip;
use crate::deb::set_mode;
use crate::{Release, file_name, man_pages, run_cmd};

pub(crate) fn build(rel: &Release, target: &str) -> Result<PathBuf> {
    let Some(arch @ ("x86_64" | "aarch64")) = target.split('-').next() else {
        bail!("no rpm architecture for {target}")
    };
    let top = rel.out.join(format!("rpm-{arch}"));
    let _ = std::fs::remove_dir_all(&top);
    let root = top.join("root");
    let put = |path: &str, data: &[u8], mode: u32| -> Result<()> {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, data)?;
        set_mode(&p, mode)
    };
    let read = |p: PathBuf| std::fs::read(&p).with_context(|| format!("read {}", p.display()));
    put("usr/bin/stead", &read(rel.binary(target))?, 0o755)?;
    let mut pages = Vec::new();
    for page in man_pages(rel)? {
        let name = format!("usr/share/man/man1/{}.gz", file_name(&page));
        put(&name, &gzip(&read(page)?)?, 0o644)?;
        pages.push(format!("/{name}"));
    }
    let comp = rel.docs.join("completions");
    put(
        "usr/share/bash-completion/completions/stead",
        &read(comp.join("stead.bash"))?,
        0o644,
    )?;
    put(
        "usr/share/zsh/site-functions/_stead",
        &read(comp.join("_stead"))?,
        0o644,
    )?;
    put(
        "usr/share/fish/vendor_completions.d/stead.fish",
        &read(comp.join("stead.fish"))?,
        0o644,
    )?;
    let pkg = rel.root.join("packaging");
    put(
        "usr/lib/systemd/system/stead.service",
        &read(pkg.join("stead.service"))?,
        0o644,
    )?;
    put(
        "etc/stead/stead.toml",
        &read(pkg.join("stead.toml"))?,
        0o644,
    )?;
    std::fs::create_dir_all(root.join("etc/stead/conf.d"))?;
    for f in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        put(
            &format!("usr/share/doc/stead/{f}"),
            &read(rel.root.join(f))?,
            0o644,
        )?;
    }
    let spec = format!(
        r"%global debug_package %{{nil}}
%global __os_install_post %{{nil}}
%global _build_id_links none
Name: stead
Version: {version}
Release: 1
Summary: Keep programs running: process supervisor and service installer
License: MIT OR Apache-2.0
URL: https://github.com/stead-rs/stead

%description
stead runs any program as a managed service: restarts with backoff and crash-loop
detection, whole-tree stop, log capture with rotation, readiness and health checks,
dependencies, and a control CLI with JSON output. This package runs stead as a systemd
service on /etc/stead/stead.toml; programs go in /etc/stead/conf.d/.

%install
cp -a {root}/. %{{buildroot}}/

%post
if [ $1 -eq 1 ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  systemctl preset stead.service >/dev/null 2>&1 || :
fi

%preun
if [ $1 -eq 0 ]; then
  systemctl --no-reload disable --now stead.service >/dev/null 2>&1 || :
fi

%postun
systemctl daemon-reload >/dev/null 2>&1 || :
if [ $1 -ge 1 ]; then
  systemctl try-restart stead.service >/dev/null 2>&1 || :
fi

%files
/usr/bin/stead
{pages}
/usr/share/bash-completion/completions/stead
/usr/share/zsh/site-functions/_stead
/usr/share/fish/vendor_completions.d/stead.fish
/usr/lib/systemd/system/stead.service
%dir /etc/stead
%dir /etc/stead/conf.d
%config(noreplace) /etc/stead/stead.toml
%doc /usr/share/doc/stead/README.md
%license /usr/share/doc/stead/LICENSE-MIT
%license /usr/share/doc/stead/LICENSE-APACHE
",
        version = rel.version,
        root = root.display(),
        pages = pages.join("\n"),
    );
    let spec_path = top.join("stead.spec");
    std::fs::write(&spec_path, spec)?;
    run_cmd(
        Command::new("rpmbuild")
            .arg("-bb")
            .arg("--target")
            .arg(arch)
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("--define")
            .arg(format!("_rpmdir {}", top.join("out").display()))
            .arg("--define")
            .arg("_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm")
            .arg(&spec_path),
    )?;
    let built = top
        .join("out")
        .join(format!("stead-{}-1.{arch}.rpm", rel.version));
    let out = rel.out.join(file_name(&built));
    std::fs::rename(&built, &out)
        .with_context(|| format!("rpmbuild made no {}", built.display()))?;
    std::fs::remove_dir_all(&top)?;
    Ok(out)
}
