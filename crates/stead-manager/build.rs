//! Sets `has_root` when the package is built as root and `has_python3` when python3 runs, so
//! that tests that need them are reported as ignored with their reason, not as passes,
//! elsewhere (the convention of `crates/stead-cli/build.rs`). Under `CI=true` both are set,
//! and those tests fail when what they need is missing. `STEAD_TEST_PRETEND_MISSING=root,python3`
//! leaves them unset.
use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_root)");
    println!("cargo::rustc-check-cfg=cfg(has_python3)");
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["CI", "PATH", "STEAD_TEST_PRETEND_MISSING"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let pretend = std::env::var("STEAD_TEST_PRETEND_MISSING").unwrap_or_default();
    let pretend = |name: &str| pretend.split(',').any(|n| n.trim() == name);
    let unix = std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f.contains("unix"));
    let runs = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success() && (arg != "-u" || o.stdout.trim_ascii() == b"0"))
    };
    if ci || (unix && !pretend("root") && runs("id", "-u")) {
        println!("cargo::rustc-cfg=has_root");
    }
    if ci || (unix && !pretend("python3") && runs("python3", "-V")) {
        println!("cargo::rustc-cfg=has_python3");
    }
}
