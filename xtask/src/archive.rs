//! Tarballs, the Windows zip, the source tarball and SHA-256 sums.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::{Release, file_name, man_pages, run_cmd};

/// `stead-VERSION-TARGET.tar.gz`: the binary, man pages, completions, licenses and README
/// under one directory of that name.
pub(crate) fn linux_tarball(rel: &Release, target: &str) -> Result<PathBuf> {
    let name = format!("stead-{}-{target}", rel.version);
    let path = rel.out.join(format!("{name}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).with_context(|| format!("create {}", path.display()))?,
        flate2::Compression::best(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    add(
        &mut tar,
        &rel.binary(target),
        &format!("{name}/stead"),
        0o755,
    )?;
    for f in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        add(&mut tar, &rel.root.join(f), &format!("{name}/{f}"), 0o644)?;
    }
    for page in man_pages(rel)? {
        add(
            &mut tar,
            &page,
            &format!("{name}/man/{}", file_name(&page)),
            0o644,
        )?;
    }
    for c in ["stead.bash", "_stead", "stead.fish"] {
        add(
            &mut tar,
            &rel.docs.join("completions").join(c),
            &format!("{name}/completions/{c}"),
            0o644,
        )?;
    }
    tar.into_inner()?.finish()?.flush()?;
    Ok(path)
}

fn add<W: Write>(tar: &mut tar::Builder<W>, file: &Path, name: &str, mode: u32) -> Result<()> {
    let data = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_cksum();
    tar.append_data(&mut h, name, data.as_slice())?;
    Ok(())
}

/// `stead-VERSION-x86_64-pc-windows-gnu.zip`: `stead.exe`, licenses and README.
pub(crate) fn windows_zip(rel: &Release) -> Result<PathBuf> {
    let path = rel.out.join(format!(
        "stead-{}-{}.zip",
        rel.version,
        crate::WINDOWS_TARGET
    ));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (src, name) in [
        (rel.binary(crate::WINDOWS_TARGET), "stead.exe"),
        (rel.root.join("README.md"), "README.md"),
        (rel.root.join("LICENSE-MIT"), "LICENSE-MIT.txt"),
        (rel.root.join("LICENSE-APACHE"), "LICENSE-APACHE.txt"),
    ] {
        zip.start_file(name, opts)?;
        zip.write_all(&std::fs::read(&src).with_context(|| format!("read {}", src.display()))?)?;
    }
    zip.finish()?;
    Ok(path)
}

/// `stead-VERSION.tar.gz`: the sources of this commit (`git archive`), for builds from
/// source such as Homebrew's.
pub(crate) fn source_tarball(rel: &Release) -> Result<PathBuf> {
    let path = rel.out.join(format!("stead-{}.tar.gz", rel.version));
    run_cmd(
        Command::new("git")
            .args(["archive", "--format=tar.gz"])
            .arg(format!("--prefix=stead-{}/", rel.version))
            .arg("-o")
            .arg(&path)
            .arg("HEAD")
            .current_dir(&rel.root),
    )?;
    Ok(path)
}

/// The SHA-256 of a file in hex.
pub(crate) fn sha256(file: &Path) -> Result<String> {
    let data = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(&data) {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// `HASH  NAME\n`, as `sha256sum` writes it (and `sha256sum -c` reads it in `base`).
pub(crate) fn sha256_line(file: &Path, base: &Path) -> Result<String> {
    let name = file.strip_prefix(base).unwrap_or(file);
    Ok(format!("{}  {}\n", sha256(file)?, name.display()))
}

/// `data` gzipped (for man pages and changelogs in packages), without a timestamp.
pub(crate) fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(data)?;
    Ok(gz.finish()?)
}
