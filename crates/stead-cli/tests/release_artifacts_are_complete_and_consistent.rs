//! What `cargo xtask dist` writes to `target/dist`, checked as a user and a packager would:
//! every artifact's SHA-256 matches `SHA256SUMS` (read by `sha256sum -c`); each Linux tarball
//! holds the binary, the man pages, the three completions, the licenses and the README; the
//! Linux binaries are static (no ELF interpreter) for their architecture and under 8 MB;
//! the `.rpm` has the `.deb`'s layout with the configuration marked `%config(noreplace)` and
//! scriptlets that stop the service on erase; the Homebrew, Scoop and winget manifests name
//! the artifacts' real hashes. The static `x86_64` binary runs in an empty root (no libc, no
//! NSS, no /etc): `--version`, and a config checked there.
#![cfg(target_os = "linux")]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dist")
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(file: &Path) -> String {
    run(Command::new("sha256sum").arg(file))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The ELF machine of a binary, and whether it asks for an interpreter (is dynamic).
fn elf(file: &Path) -> (u16, bool) {
    let data = std::fs::read(file).unwrap();
    assert_eq!(&data[..4], b"\x7fELF", "{} is not ELF", file.display());
    let machine = u16::from_le_bytes([data[18], data[19]]);
    let phoff = u64::from_le_bytes(data[32..40].try_into().unwrap()) as usize;
    let phentsize = u16::from_le_bytes([data[54], data[55]]) as usize;
    let phnum = u16::from_le_bytes([data[56], data[57]]) as usize;
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    });
    (machine, interp)
}

#[test]
#[cfg_attr(
    not(has_dist),
    ignore = "needs the release artifacts: cargo xtask dist"
)]
fn release_artifacts_are_complete_and_consistent() {
    let dist = dist();
    run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist));

    let scratch = support::Harness::new("dist-check");
    for (target, machine) in [
        ("x86_64-unknown-linux-musl", 62u16),
        ("aarch64-unknown-linux-musl", 183),
    ] {
        let name = format!("stead-{}-{target}", version());
        let tarball = dist.join(format!("{name}.tar.gz"));
        let listing = run(Command::new("tar").arg("tzf").arg(&tarball));
        for want in [
            "stead",
            "README.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "man/stead.1",
            "man/stead-up.1",
            "completions/stead.bash",
            "completions/_stead",
            "completions/stead.fish",
        ] {
            assert!(
                listing.lines().any(|l| l == format!("{name}/{want}")),
                "{want} missing from {}:\n{listing}",
                tarball.display()
            );
        }
        run(Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&scratch.dir));
        let bin = scratch.dir.join(&name).join("stead");
        let (m, dynamic) = elf(&bin);
        assert_eq!(m, machine, "{target}: wrong ELF machine");
        assert!(!dynamic, "{target}: the binary asks for a dynamic loader");
        let size = std::fs::metadata(&bin).unwrap().len();
        assert!(size < 8_000_000, "{target}: {size} bytes, over 8 MB");
    }

    // The static binary in an empty root: no libc, no /etc/nsswitch.conf, no /etc at all.
    if support::is_root() {
        let root = scratch.dir.join("empty-root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::copy(
            scratch.dir.join(format!(
                "stead-{}-x86_64-unknown-linux-musl/stead",
                version()
            )),
            root.join("stead"),
        )
        .unwrap();
        std::fs::write(
            root.join("stead.toml"),
            "[program.web]\ncommand = ['/stead', '--version']\n",
        )
        .unwrap();
        let version = run(Command::new("chroot")
            .arg(&root)
            .args(["/stead", "--version"]));
        assert!(version.contains("x86_64-unknown-linux-musl"), "{version}");
        run(Command::new("chroot")
            .arg(&root)
            .args(["/stead", "validate", "-c", "/stead.toml"]));
        // Users come from /etc/passwd alone (musl has no NSS): with none, a clear error.
        std::fs::write(
            root.join("user.toml"),
            "[program.web]\ncommand = ['/stead']\nuser = 'www-data'\n",
        )
        .unwrap();
        let out = Command::new("chroot")
            .arg(&root)
            .args(["/stead", "validate", "-c", "/user.toml"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && text.contains("www-data"), "{text}");
    }

    let rpm = dist.join(format!("stead-{}-1.x86_64.rpm", version()));
    let files = run(Command::new("rpm").arg("-qlp").arg(&rpm));
    for want in [
        "/usr/bin/stead",
        "/usr/lib/systemd/system/stead.service",
        "/etc/stead/stead.toml",
        "/etc/stead/conf.d",
        "/usr/share/man/man1/stead-up.1.gz",
        "/usr/share/bash-completion/completions/stead",
    ] {
        assert!(
            files.lines().any(|l| l == want),
            "{want} missing from the rpm:\n{files}"
        );
    }
    let config = run(Command::new("rpm").arg("-qcp").arg(&rpm));
    assert_eq!(config.trim(), "/etc/stead/stead.toml");
    let scripts = run(Command::new("rpm").arg("-qp").arg("--scripts").arg(&rpm));
    assert!(scripts.contains("disable --now stead.service"), "{scripts}");
    assert!(scripts.contains("try-restart stead.service"), "{scripts}");

    let zip = dist.join(format!("stead-{}-x86_64-pc-windows-gnu.zip", version()));
    let source = dist.join(format!("stead-{}.tar.gz", version()));
    let msi = dist.join(format!("stead-{}-x86_64.msi", version()));
    let formula = std::fs::read_to_string(dist.join("stead.rb")).unwrap();
    assert!(
        formula.contains(&format!("sha256 \"{}\"", sha256(&source))),
        "{formula}"
    );
    let scoop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dist.join("stead.json")).unwrap()).unwrap();
    assert_eq!(scoop["version"], version());
    assert_eq!(scoop["architecture"]["64bit"]["hash"], sha256(&zip));
    assert!(
        scoop["architecture"]["64bit"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!(
                "/v{}/stead-{}-x86_64-pc-windows-gnu.zip",
                version(),
                version()
            ))
    );
    let winget =
        std::fs::read_to_string(dist.join("winget/stead-rs.stead.installer.yaml")).unwrap();
    assert!(
        winget.contains(&format!("InstallerSha256: {}", sha256(&msi).to_uppercase())),
        "{winget}"
    );
}
