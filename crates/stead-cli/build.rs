//! Probes, when the package is built, what the end-to-end tests in `tests/` need from the
//! machine (root, the systemd and Wine sandboxes, tools such as tmux or libfaketime), and sets
//! `has_NAME` for each one present. A test that needs NAME carries
//! `#[cfg_attr(not(has_NAME), ignore = "needs …")]`, so `cargo test` reports it as ignored
//! with its reason instead of as a pass (see the top of `tests/support/mod.rs`).
//!
//! Under `CI=true` every flag is set: the tests run, and their own checks fail when what they
//! need is missing. `STEAD_TEST_PRETEND_MISSING=NAME,NAME` turns probes off, to see the
//! ignored view on a machine that has everything. The probes run again when `CI`, `PATH` or
//! that variable change, when a probed file changes or goes, and when dpkg installs or removes
//! a package; after installing something else, `touch crates/stead-cli/build.rs`.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every probe, by its flag without `has_`.
const PROBES: &[&str] = &[
    "root",
    "systemd_sandbox",
    "wine_sandbox",
    "openrc_container",
    "cgroup2",
    "faketime",
    "tmux",
    "python3",
    "nginx",
    "node",
    "systemd_analyze",
    "kubernetes_validate",
    "python_hcl2",
    "compose_schema",
    "prometheus_client",
    "gunicorn",
    "debian_units",
    "nofile_headroom",
    "dist",
];

/// Where the wall-clock test loads libfaketime from.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn main() {
    version();
    wrap_memcpy();
    for name in PROBES {
        println!("cargo::rustc-check-cfg=cfg(has_{name})");
    }
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "CI",
        "PATH",
        "STEAD_TEST_PRETEND_MISSING",
        "STEAD_COMPOSE_SCHEMA",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    // dpkg's status changes whenever a package is installed or removed.
    watch(Path::new("/var/lib/dpkg/status"));

    if std::env::var("CI").is_ok_and(|v| v == "true") {
        for name in PROBES {
            println!("cargo::rustc-cfg=has_{name}");
        }
        return;
    }
    let pretend = std::env::var("STEAD_TEST_PRETEND_MISSING").unwrap_or_default();
    let pretend: Vec<String> = pretend
        .split(',')
        .map(|n| n.trim().replace('-', "_"))
        .filter(|n| !n.is_empty())
        .collect();
    for p in pretend.iter().filter(|p| !PROBES.contains(&p.as_str())) {
        println!(
            "cargo::warning=STEAD_TEST_PRETEND_MISSING names {p}, which is not a probe (one of {})",
            PROBES.join(", ")
        );
    }
    for name in PROBES {
        if !pretend.iter().any(|p| p == name) && present(name) {
            println!("cargo::rustc-cfg=has_{name}");
        }
    }
}

/// Whether the machine has what `name` stands for. Everything probed is Linux-only: for any
/// other target (a cross build run on this host) all of it counts as missing.
fn present(name: &str) -> bool {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return false;
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let shared_tool = |tool: &str| watch(&manifest.join("../../../shared/tools").join(tool));
    match name {
        "root" => is_root(),
        "systemd_sandbox" => is_root() && shared_tool("systemd-sandbox"),
        "wine_sandbox" => is_root() && shared_tool("wine-sandbox"),
        "openrc_container" => is_root() && on_path("debootstrap") && on_path("systemd-nspawn"),
        "cgroup2" => is_root() && cgroup2_writable(),
        "faketime" => watch(Path::new(FAKETIME)),
        "tmux" => on_path("tmux"),
        "python3" => on_path("python3"),
        "nginx" => watch(Path::new("/usr/sbin/nginx")),
        "node" => on_path("node"),
        "systemd_analyze" => on_path("systemd-analyze"),
        "kubernetes_validate" => on_path("kubernetes-validate"),
        "python_hcl2" => python_imports("hcl2"),
        "compose_schema" => {
            let schema = std::env::var_os("STEAD_COMPOSE_SCHEMA").map_or_else(
                || manifest.join("../../target/export-tools/compose-spec.json"),
                PathBuf::from,
            );
            watch(&schema) && python_imports("jsonschema, yaml")
        }
        "prometheus_client" => python_imports("prometheus_client"),
        "gunicorn" => python_imports("gunicorn"),
        "debian_units" => watch(&manifest.join("../../target/debian-units/complete")),
        "nofile_headroom" => nofile_hard_above(512),
        // `cargo xtask dist` has written the release artifacts (packages, installers).
        "dist" => watch(&manifest.join("../../target/dist/SHA256SUMS")),
        _ => unreachable!("no probe for {name}"),
    }
}

/// Whether `path` exists; when it does, a change to it or its removal runs the probes again.
/// (A path that does not exist is not watched: cargo would run the script on every build.)
fn watch(path: &Path) -> bool {
    let exists = path.exists();
    if exists {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    exists
}

/// Whether the build runs as root (the effective uid in /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| watch(&dir.join(tool))))
}

/// A cgroup2 hierarchy mounted read-write.
fn cgroup2_writable() -> bool {
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2] == "cgroup2" && f[3].split(',').any(|o| o == "rw")
        })
    })
}

/// Whether the hard "Max open files" limit (inherited by the tests from the same shell) is
/// above `n`.
fn nofile_hard_above(n: u64) -> bool {
    std::fs::read_to_string("/proc/self/limits").is_ok_and(|l| {
        l.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(4))
            .is_some_and(|hard| hard == "unlimited" || hard.parse::<u64>().is_ok_and(|h| h > n))
    })
}

fn python_imports(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `STEAD_VERSION` for `stead --version`: the package version, the commit it was built from
/// and the target, `0.1.0 (3f2a9c1e07b4 x86_64-unknown-linux-musl)`. The commit comes from
/// `STEAD_COMMIT` when set (a build from a source tarball), else from git, else `unknown`.
fn version() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo::rerun-if-env-changed=STEAD_COMMIT");
    let commit = std::env::var("STEAD_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(&manifest)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        // Rebuild when HEAD moves: the file HEAD, and the branch file it names.
        // (In a worktree the branch file is in the common directory.)
        let git = |arg: &str| {
            Command::new("git")
                .args(["rev-parse", arg])
                .current_dir(&manifest)
                .output()
                .ok()
                .map(|o| manifest.join(String::from_utf8_lossy(&o.stdout).trim()))
        };
        if let (Some(git_dir), Some(common)) = (git("--git-dir"), git("--git-common-dir")) {
            let head = git_dir.join("HEAD");
            watch(&head);
            if let Ok(text) = std::fs::read_to_string(&head)
                && let Some(branch) = text.trim().strip_prefix("ref: ")
            {
                watch(&common.join(branch));
                watch(&common.join("packed-refs"));
            }
        }
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|c| !c.is_empty())
    });
    println!(
        "cargo::rustc-env=STEAD_VERSION={} ({} {})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        commit.as_deref().unwrap_or("unknown"),
        std::env::var("TARGET").unwrap_or_default()
    );
}

/// The static x86-64 build takes `memcpy` from `src/memcpy.rs` instead of musl's (why is
/// there): `--wrap` points every call, musl's own included, at `__wrap_memcpy`. Only where that
/// module defines it: musl on x86-64, without debug assertions (release builds).
fn wrap_memcpy() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_ENV") == "musl"
        && var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_none()
    {
        println!("cargo::rustc-link-arg-bins=-Wl,--wrap=memcpy");
    }
}
