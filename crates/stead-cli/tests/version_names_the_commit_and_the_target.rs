//! `stead --version` says which build it is: the version, the commit it was built from and
//! the target, so a bug report or a package can be traced to its source.

use std::process::Command;

#[test]
fn version_names_the_commit_and_the_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_stead"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim()
        .strip_prefix(&format!("stead {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("no version: {text}"));
    let (commit, target) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(' '))
        .unwrap_or_else(|| panic!("no commit and target: {text}"));
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .to_string();
    assert_eq!(target, host, "{text}");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(h) if h.status.success() => {
            assert_eq!(
                commit,
                String::from_utf8(h.stdout).unwrap().trim(),
                "{text}"
            );
        }
        // A build from a source tarball, without git.
        _ => assert!(commit == "unknown" || commit.len() == 12, "{text}"),
    }
}
