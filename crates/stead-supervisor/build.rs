//! Sets `has_root` when the package is built as root, so that unit tests that need root are
//! reported as ignored with their reason, not as passes, elsewhere (the convention of
//! `crates/stead-cli/build.rs`). Under `CI=true` it is always set, and those tests fail when
//! not run as root. `STEAD_TEST_PRETEND_MISSING=root` leaves it unset.
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_root)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=STEAD_TEST_PRETEND_MISSING");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let pretend = std::env::var("STEAD_TEST_PRETEND_MISSING")
        .is_ok_and(|p| p.split(',').any(|n| n.trim() == "root"));
    let unix = std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f.contains("unix"));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0");
    if ci || (unix && root && !pretend) {
        println!("cargo::rustc-cfg=has_root");
    }
}
