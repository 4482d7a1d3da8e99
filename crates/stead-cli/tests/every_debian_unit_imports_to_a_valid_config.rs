//! Every service unit that a set of Debian packages ships (nginx, redis, postgresql, ssh, cron,
//! rsyslog, prometheus, memcached, haproxy, apache2, bind9, …; fetched by `.ci/run` with
//! `apt-get download` and unpacked, never installed, into target/debian-units/units) imports
//! to a config stead's own parser accepts, or is refused with a reason: never a panic, never
//! invalid output, and every directive of the unit is mapped or listed as not mapped.
#![cfg(unix)]
mod support;
use std::path::{Path, PathBuf};

use stead_export::import::{systemd, write};
use stead_export::unit::Unit;
use support::*;

/// Where `.ci/run` unpacks the units (beside the build's own target directory).
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debian-units/units")
}

fn units(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            units(&path, out);
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "service") {
            // Symlinks are aliases of another unit of the set.
            out.push(path);
        }
    }
}

#[test]
#[cfg_attr(
    not(has_debian_units),
    ignore = "needs the Debian units in target/debian-units (.ci/run fetches them)"
)]
fn every_debian_unit_imports_to_a_valid_config() {
    let mut found = Vec::new();
    units(&corpus(), &mut found);
    found.sort();
    if skip_unless(
        !found.is_empty(),
        "no Debian units in target/debian-units/units (.ci/run fetches them)",
    ) {
        return;
    }
    let mut failures = Vec::new();
    let mut imported = 0;
    for path in &found {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = std::panic::catch_unwind(|| systemd::import_units(std::slice::from_ref(path)));
        let drafts = match result {
            Err(_) => {
                failures.push(format!("{name}: the import panicked"));
                continue;
            }
            Ok(Err(reason)) => {
                // A refusal is fine when it says why.
                if reason.trim().is_empty() {
                    failures.push(format!("{name}: refused without a reason"));
                }
                continue;
            }
            Ok(Ok(drafts)) => drafts,
        };
        imported += 1;
        let out = write(&drafts, &name);
        if let Err(e) = out.validate(Path::new("/etc/stead/stead.toml")) {
            failures.push(format!("{name}: invalid output: {e}\n{}", out.toml));
            continue;
        }
        let notes: Vec<&String> = drafts.iter().flat_map(|d| &d.unmapped).collect();
        let unit = Unit::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (section, key, value) in unit.entries() {
            let mapped = systemd::MAPPED.contains(&(section, key));
            let noted = notes.iter().any(|n| n.contains(&format!("{key}=")));
            if !mapped && !noted {
                failures.push(format!(
                    "{name}: [{section}] {key}={value} is neither mapped nor noted"
                ));
            }
        }
    }
    eprintln!(
        "{} Debian units: {imported} imported, {} refused with a reason",
        found.len(),
        found.len() - imported
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(imported >= found.len() / 2, "most units import");
}
