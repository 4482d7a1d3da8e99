//! Debian's own unit files (tests/fixtures/debian in stead-export) imported as they ship:
//! redis keeps its "wait for the final save" stop (`TimeoutStopSec=0` is no timeout, not an
//! immediate kill) and its notify readiness, postgresql's unit and template both arrive under
//! distinct names, and nothing is written that stead would refuse.
#![cfg(unix)]
mod support;
use support::*;

fn fixture(name: &str) -> String {
    format!(
        "{}/../stead-export/tests/fixtures/debian/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn import(h: &Harness, out: &str, units: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let path = h.dir.join(out);
    let mut args = vec!["import", "systemd"];
    let files: Vec<String> = units.iter().map(|u| fixture(u)).collect();
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", path.to_str().unwrap()]);
    (h.stead(&args), path)
}

#[test]
fn debian_units_import_with_their_meaning() {
    let h = Harness::new("debian-units");

    let (out, path) = import(&h, "redis.toml", &["redis-server.service"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("PIDFile="), "{err}");
    let c = stead_supervisor::Config::load_portable(&path).unwrap();
    let redis = &c.programs[0];
    assert_eq!(
        redis.stop_timeout,
        stead_supervisor::INFINITY,
        "TimeoutStopSec=0 is no timeout"
    );
    let ready = redis
        .ready
        .as_ref()
        .expect("Type=notify is notify readiness");
    assert_eq!(ready.probe, stead_supervisor::config::Probe::Notify);
    assert_eq!(
        ready.timeout.as_secs(),
        90,
        "systemd's default start timeout"
    );

    // …and out again: systemd's own infinity, the other engines a year, with a warning.
    let out = h.stead(&["export", "systemd", "-c", path.to_str().unwrap()]);
    let unit = String::from_utf8_lossy(&out.stdout);
    assert!(unit.contains("TimeoutStopSec=infinity\n"), "{unit}");
    assert!(unit.contains("Type=notify\n"), "{unit}");
    for (format, field) in [
        ("kubernetes", "terminationGracePeriodSeconds: 31536000"),
        ("nomad", "kill_timeout = \"8760h\""),
        ("compose", "stop_grace_period: \"8760h\""),
    ] {
        let out = h.stead(&[
            "export",
            format,
            "-c",
            path.to_str().unwrap(),
            "--image",
            "redis:7",
        ]);
        let (text, err) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{format}: {err}");
        assert!(text.contains(field), "{format}: {text}");
        assert!(err.contains("cannot be infinite"), "{format}: {err}");
    }

    // A unit and its template side by side: two programs, a valid file.
    let (out, path) = import(
        &h,
        "pg.toml",
        &["postgresql.service", "postgresql@.service"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Type=forking"), "the fix is named: {err}");
    let c = stead_supervisor::Config::load_portable(&path).unwrap();
    let names: Vec<&str> = c.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["postgresql", "postgresql-template"]);
    assert_eq!(c.programs[1].stop_timeout.as_secs(), 3600);

    // The same unit twice is refused, and nothing is written.
    let (out, path) = import(&h, "twice.toml", &["nginx.service", "nginx.service"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a second unit named `nginx`"));
    assert!(!path.exists());
}
