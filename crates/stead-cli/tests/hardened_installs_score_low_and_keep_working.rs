//! Under real systemd, every unit `stead install` and `stead export systemd` write is measured
//! with `systemd-analyze security` at each `--harden` level, next to Debian's own nginx and
//! openssh units: a service with its own account scores at most 4.0 by default and 2.0 with
//! `--harden strict`, and at every level it still works — the program binds the port it is
//! given and writes in its working directory, stead as the service keeps each program in a
//! cgroup of its own (`containment` in `stead status --json`), and stead as root still runs a
//! notify program as another account. Run with `--nocapture` for the table in
//! `docs/install.md`.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

/// Binds 127.0.0.1:PORT, says READY=1 when asked for readiness, writes a file in its working
/// directory, and answers each connection with its uid.
const SERVE: &str = r#"use IO::Socket::INET; use IO::Socket::UNIX; use Socket;
my $port = shift;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port", Listen => 5, ReuseAddr => 1) or die "bind $port: $!";
open(my $f, ">", "written-here") or die "write in cwd: $!"; print $f "ok\n"; close $f;
if ($ENV{NOTIFY_SOCKET}) {
  my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Peer => $ENV{NOTIFY_SOCKET}) or die "notify: $!";
  $s->send("READY=1");
}
$| = 1; print "serving $port\n";
while (my $c = $l->accept) { print $c "uid $>\n"; close $c; }
"#;

const LEVELS: [&str; 3] = ["none", "default", "strict"];

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn hardened_installs_score_low_and_keep_working() {
    let Some((h, sb)) = systemd_sandbox("harden") else {
        return;
    };
    std::fs::write(h.dir.join("serve.pl"), SERVE).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stead-export/tests/fixtures/debian");
    std::fs::create_dir_all(h.dir.join("debian")).unwrap();
    for u in ["nginx.service", "ssh.service"] {
        std::fs::copy(fixtures.join(u), h.dir.join("debian").join(u)).unwrap();
    }
    for (i, lvl) in LEVELS.iter().enumerate() {
        // stead as root, its program as nobody with notify readiness.
        std::fs::write(
            h.dir.join(format!("root-{lvl}.toml")),
            format!(
                "[program.web]\ncommand = [\"/usr/bin/perl\", \"/opt/stead/test/serve.pl\", \"{}\"]\nuser = \"nobody\"\ncwd = \"/tmp\"\nready = {{ notify = true, timeout = \"10s\" }}\n",
                8200 + i
            ),
        )
        .unwrap();
        std::fs::write(
            h.dir.join(format!("export-{lvl}.toml")),
            format!(
                "[program.ex-{lvl}]\ncommand = [\"/usr/bin/perl\", \"/opt/stead/test/serve.pl\", \"{}\"]\nuser = \"nobody\"\ncwd = \"/tmp\"\n",
                8300 + i
            ),
        )
        .unwrap();
    }
    let stead = "/opt/stead/bin/stead";
    let score = |unit: &str| -> f64 {
        let o = sb.exec(&["systemd-analyze", "security", "--no-pager", unit]);
        let said = text(&o);
        said.lines()
            .find_map(|l| {
                l.split_once("Overall exposure level for ")?
                    .1
                    .split_once(": ")
            })
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level for {unit}: {said}"))
    };
    let answers = |port: u16| -> Option<String> {
        let o = sb.exec(&[
            "perl",
            "-MIO::Socket::INET",
            "-e",
            &format!(
                "my $c = IO::Socket::INET->new('127.0.0.1:{port}') or exit 1; print $c->getline"
            ),
        ]);
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let program = |state: &str| -> serde_json::Value {
        let o = sb.exec(&[stead, "--state-dir", state, "status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .map_or(serde_json::Value::Null, |v| v["programs"][0].clone())
    };
    let install = |name: &str, args: &[&str]| {
        let mut all = vec![stead, "install", "--backend", "systemd", "--name", name];
        all.extend_from_slice(args);
        let o = sb.exec(&all);
        assert!(o.status.success(), "{name}: {}", text(&o));
    };
    let unified = sb
        .exec(&["test", "-e", "/sys/fs/cgroup/unified/cgroup.procs"])
        .status
        .success()
        || sb
            .exec(&["test", "-e", "/sys/fs/cgroup/cgroup.controllers"])
            .status
            .success();

    let mut table = vec![];
    for (i, lvl) in LEVELS.iter().enumerate() {
        let harden = ["--harden", lvl];
        // A program under stead (--wrap) with an account of its own.
        let port = 8000 + u16::try_from(i).unwrap();
        let name = format!("hw-{lvl}");
        let p = port.to_string();
        install(
            &name,
            &[
                &harden[..],
                &["--create-user", &name, "--cwd", &format!("/var/lib/{name}")],
                &[
                    "--wrap",
                    "--",
                    "/usr/bin/perl",
                    "/opt/stead/test/serve.pl",
                    &p,
                ],
            ]
            .concat(),
        );
        wait(
            &format!("{name} answering"),
            Duration::from_secs(30),
            || answers(port).is_some_and(|a| a != "uid 0"),
        );
        let st = program(&format!("/var/lib/{name}"));
        if unified {
            assert_eq!(st["containment"], "cgroup", "{name}: {st}");
        }
        table.push((
            format!("`--wrap`, own account, `--harden {lvl}`"),
            score(&format!("{name}.service")),
        ));

        // The program itself as the service, with an account of its own.
        let port = 8100 + u16::try_from(i).unwrap();
        let name = format!("hp-{lvl}");
        install(
            &name,
            &[
                &harden[..],
                &["--create-user", &name, "--cwd", &format!("/var/lib/{name}")],
                &[
                    "--",
                    "/usr/bin/perl",
                    "/opt/stead/test/serve.pl",
                    &port.to_string(),
                ],
            ]
            .concat(),
        );
        wait(
            &format!("{name} answering"),
            Duration::from_secs(30),
            || answers(port).is_some_and(|a| a != "uid 0"),
        );
        table.push((
            format!("a program, own account, `--harden {lvl}`"),
            score(&format!("{name}.service")),
        ));

        // stead as root (-c), its program as nobody, ready by notify.
        let port = 8200 + u16::try_from(i).unwrap();
        let name = format!("hr-{lvl}");
        let cfg = format!("/opt/stead/test/root-{lvl}.toml");
        install(&name, &[&harden[..], &["-c", &cfg]].concat());
        wait(&format!("{name} ready"), Duration::from_secs(30), || {
            program(&format!("/var/lib/{name}"))["ready"] == true
        });
        assert_eq!(answers(port).as_deref(), Some("uid 65534"), "{name}");
        let st = program(&format!("/var/lib/{name}"));
        if unified {
            assert_eq!(st["containment"], "cgroup", "{name}: {st}");
        }
        table.push((
            format!("`-c`, stead as root, programs as nobody, `--harden {lvl}`"),
            score(&format!("{name}.service")),
        ));

        // An exported unit, its program as nobody.
        let port = 8300 + u16::try_from(i).unwrap();
        let out = sb.exec(&[
            stead,
            "export",
            "systemd",
            "-c",
            &format!("/opt/stead/test/export-{lvl}.toml"),
            "--harden",
            lvl,
            "-o",
            "/etc/systemd/system",
            "--name",
            &format!("ex-{lvl}-all"),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(sb.exec(&["systemctl", "daemon-reload"]).status.success());
        let unit = format!("ex-{lvl}.service");
        let o = sb.exec(&["systemctl", "start", &unit]);
        assert!(o.status.success(), "{}", text(&o));
        wait(
            &format!("{unit} answering"),
            Duration::from_secs(30),
            || answers(port).is_some_and(|a| a == "uid 65534"),
        );
        table.push((
            format!("`stead export systemd`, `user = \"nobody\"`, `--harden {lvl}`"),
            score(&unit),
        ));
    }
    sb.install_units("debian/", &["nginx.service", "ssh.service"]);
    table.push(("Debian 12 `nginx.service`".into(), score("nginx.service")));
    table.push(("Debian 12 `ssh.service`".into(), score("ssh.service")));
    eprintln!("| unit | exposure |\n|---|---|");
    for (what, s) in &table {
        eprintln!("| {what} | {s:.1} |");
    }
    let of = |what: &str| {
        table
            .iter()
            .find(|(w, _)| w.starts_with(what))
            .map(|(_, s)| *s)
            .unwrap()
    };
    for (kind, limit) in [
        ("`--wrap`, own account, `--harden default`", 4.0),
        ("a program, own account, `--harden default`", 4.0),
        ("`--wrap`, own account, `--harden strict`", 2.0),
        ("a program, own account, `--harden strict`", 2.0),
        (
            "`stead export systemd`, `user = \"nobody\"`, `--harden default`",
            4.0,
        ),
        (
            "`stead export systemd`, `user = \"nobody\"`, `--harden strict`",
            2.0,
        ),
    ] {
        assert!(of(kind) <= limit, "{kind}: {} > {limit}", of(kind));
    }
    assert!(
        of("`-c`, stead as root, programs as nobody, `--harden strict`")
            < of("`-c`, stead as root, programs as nobody, `--harden none`")
    );
}
