//! Each format, exported from the bundled `examples/stead.toml`, matches the reviewed file
//! in `tests/golden/` (the example's directory written as `{dir}`). After an intended change:
//! `UPDATE_GOLDEN=1 cargo test -p stead-export --test golden_files_from_the_example`.

use std::path::{Path, PathBuf};

use stead_config::Config;
use stead_export::{Format, Options, export};

fn example() -> (Config, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/stead.toml");
    let config = Config::load_portable(&path).expect("the example config loads");
    // As exports write it: normalized (`crates/stead-export/../../examples` is `examples`).
    let dir = stead_export::normalize(&config.programs[0].cwd)
        .display()
        .to_string();
    (config, dir)
}

fn golden(format: Format, sub: &str) {
    let (config, dir) = example();
    let options = Options {
        image: Some("registry.example/app:1.0".into()),
        systemd_version: 254,
        ..Options::default()
    };
    let out = export(&config, format, &options).expect("export");
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(sub);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        let _ = std::fs::remove_dir_all(&golden_dir);
        std::fs::create_dir_all(&golden_dir).unwrap();
    }
    let mut names = Vec::new();
    for f in &out.files {
        let text = f.text.replace(&dir, "{dir}");
        let path = golden_dir.join(&f.name);
        names.push(f.name.clone());
        if update {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(text, want, "{} differs from the golden file", f.name);
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&golden_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    names.sort();
    assert_eq!(names, on_disk, "the export makes exactly the golden files");
}

#[test]
fn systemd_units() {
    golden(Format::Systemd, "systemd");
}

#[test]
fn kubernetes_manifests() {
    golden(Format::Kubernetes, "kubernetes");
}

#[test]
fn nomad_jobs() {
    golden(Format::Nomad, "nomad");
}

#[test]
fn compose_file() {
    golden(Format::Compose, "compose");
}

#[test]
fn container_formats_refuse_programs_without_an_image() {
    let (config, _) = example();
    for format in [Format::Kubernetes, Format::Compose] {
        let err = export(&config, format, &Options::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("web: no image to run `/bin/sh` in; set image"),
            "{err}"
        );
    }
}

#[test]
fn strict_turns_warnings_into_an_error_and_names_each_setting() {
    let (config, _) = example();
    let options = Options {
        strict: true,
        systemd_version: 252,
        ..Options::default()
    };
    let err = export(&config, Format::Systemd, &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("worker: `backoff` grows exponentially; systemd 252"),
        "{err}"
    );
    let lenient = export(
        &config,
        Format::Systemd,
        &Options {
            strict: false,
            ..options
        },
    )
    .unwrap();
    assert!(lenient.warnings.iter().any(|w| w.program == "worker"));
}

#[test]
fn only_the_named_programs_are_exported() {
    let (config, _) = example();
    let options = Options {
        programs: vec!["web".into()],
        ..Options::default()
    };
    let out = export(&config, Format::Systemd, &options).unwrap();
    let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["web.service", "stead.target"]);
    let bad = Options {
        programs: vec!["nope".into()],
        ..Options::default()
    };
    assert!(export(&config, Format::Systemd, &bad).is_err());
}
