//! What `stead export` writes is accepted by each ecosystem's own checker: systemd units by
//! `systemd-analyze verify` (nothing on stderr), Kubernetes manifests by
//! `kubernetes-validate --strict` (the published schemas), the Compose file by the
//! compose-spec JSON schema, Nomad jobs by an HCL2 parser. The input includes awkward values
//! (quotes, `$`, `%`, spaces, `{index}`, odd environment names) to exercise the escaping, and
//! held sockets (socket units; container ports and a Service).
#![cfg(target_os = "linux")]
mod support;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const TRICKY: &str = r#"
[program.web]
command = ["sh", "-c", "echo \"100% of $HOME\" 'single' \\back; exec sleep 100", "arg with spaces"]
env = { GREETING = "it's \"quoted\" $NOT_EXPANDED %p", "ODD.NAME" = "x" }
stop_signal = "INT"
stop_timeout = "2.5s"
depends_on = ["once", "pool"]
exit_codes = [0, 3]
ready = { http = "http://127.0.0.1:8080/healthz", timeout = "20s" }
health = { tcp = "127.0.0.1:8080", interval = "10s", failures = 2, grace = "5s" }
limits = { max_memory = "512MB", max_cpu = 150 }
sockets = ["tcp://0.0.0.0:8443", { listen = "unix:/run/web/admin 100%.sock", name = "admin", mode = 0o660, owner = "www-data", group = "www-data" }, { listen = "udp://[::]:5353", name = "mdns", ipv6_only = true }]
[program.pool]
command = ["sh", "-c", "exec sleep {index}00"]
numprocs = 3
ready = "notify"
health = { watchdog = "30s" }
restart = "on-failure"
env = { SLOT = "slot-{index}" }
sockets = [{ listen = "tcp://127.0.0.1:9000", backlog = 128 }]
[program.once]
command = "sh -c 'echo done'"
restart = "never"
kill_tree = false
[program.cache]
command = ["/usr/bin/env", "$OPTS", "--name=${NAME} x", "sleep", "100"]
env = { OPTS = "-u UNWANTED -i", NAME = "c" }
env_file = { path = "/etc/default/cache", optional = true }
cwd = "./run/.."
ready = { exec = ["sh", "-c", "test -e /tmp/ready"], timeout = "15s" }
health = { exec = ["true"], interval = "5s" }
"#;

fn export(h: &Harness, format: &str, extra: &[&str]) -> PathBuf {
    let out = h.dir.join(format);
    let o = h.stead(
        &[
            &[
                "export",
                format,
                "-c",
                h.config.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            extra,
        ]
        .concat(),
    );
    assert!(
        o.status.success(),
        "export {format}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
#[cfg_attr(
    not(has_systemd_analyze),
    ignore = "needs systemd-analyze (apt install systemd)"
)]
fn systemd_units_pass_systemd_analyze_verify() {
    if skip_unless(
        have("systemd-analyze", &["--version"]),
        "systemd-analyze is not installed",
    ) {
        return;
    }
    for config in [TRICKY, include_str!("../../../examples/stead.toml")] {
        let h = Harness::new("export-systemd");
        h.write_config(config);
        let dir = export(&h, "systemd", &["--systemd-version", "252"]);
        let units = files(&dir);
        assert!(units.iter().any(|u| u.ends_with("stead.target")));
        if config == TRICKY {
            for socket in [
                "web.socket",
                "web-admin.socket",
                "web-mdns.socket",
                "pool.socket",
            ] {
                assert!(units.iter().any(|u| u.ends_with(socket)), "{units:?}");
            }
        }
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .args(&units)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn python(script: &str, args: &[&Path]) -> std::process::Output {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(
    not(has_kubernetes_validate),
    ignore = "needs kubernetes-validate (pip install kubernetes-validate)"
)]
fn kubernetes_manifests_pass_the_published_schemas() {
    if skip_unless(
        have("kubernetes-validate", &["--version"]),
        "kubernetes-validate is not installed (pip install kubernetes-validate)",
    ) {
        return;
    }
    let h = Harness::new("export-k8s");
    h.write_config(TRICKY);
    let dir = export(&h, "kubernetes", &["--image", "registry.example/app:1"]);
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(files(&dir))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for kind in ["deployment/web", "service/web", "job/pool", "job/once"] {
        assert!(
            text.contains(&format!("passed for resource {kind}")),
            "{text}"
        );
    }
}

fn compose_schema() -> Option<PathBuf> {
    let p = std::env::var_os("STEAD_COMPOSE_SCHEMA").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/export-tools/compose-spec.json")
        },
        PathBuf::from,
    );
    p.exists().then_some(p)
}

#[test]
#[cfg_attr(
    not(has_compose_schema),
    ignore = "needs the compose-spec schema in target/export-tools (.ci/run fetches it) and python jsonschema and yaml"
)]
fn the_compose_file_passes_the_compose_spec_schema() {
    let schema = compose_schema();
    let ok = schema.is_some() && python("import jsonschema, yaml", &[]).status.success();
    if skip_unless(
        ok,
        "the compose-spec schema (target/export-tools, see .ci/run) or python jsonschema/yaml is missing",
    ) {
        return;
    }
    let h = Harness::new("export-compose");
    h.write_config(TRICKY);
    let dir = export(&h, "compose", &["--image", "registry.example/app:1"]);
    let out = python(
        "import json, sys, yaml, jsonschema\nschema = json.load(open(sys.argv[1]))\ndoc = yaml.safe_load(open(sys.argv[2]))\njsonschema.validate(doc, schema)\nprint(sorted(doc['services']))",
        &[&schema.unwrap(), &dir.join("compose.yaml")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "['cache', 'once', 'pool', 'web']"
    );
}

#[test]
#[cfg_attr(
    not(has_python_hcl2),
    ignore = "needs python-hcl2 (pip install python-hcl2)"
)]
fn nomad_jobs_parse_as_hcl2() {
    if skip_unless(
        python("import hcl2", &[]).status.success(),
        "python-hcl2 is not installed (pip install python-hcl2)",
    ) {
        return;
    }
    let h = Harness::new("export-nomad");
    h.write_config(TRICKY);
    let dir = export(&h, "nomad", &[]);
    let jobs = files(&dir);
    assert_eq!(jobs.len(), 2, "a service job and a batch job: {jobs:?}");
    for job in &jobs {
        let out = python(
            "import sys, hcl2\nd = hcl2.load(open(sys.argv[1]))\nprint(d['job'][0].keys())",
            &[job],
        );
        assert!(
            out.status.success(),
            "{}: {}",
            job.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
