//! Users arrive from supervisord and systemd: `stead import` turns a real supervisord config
//! and a set of unit files into a stead.toml that validates, reports what it could not map,
//! and keeps every mapped field through `stead export systemd` and back, the sockets of a
//! service's socket units included.
#![cfg(unix)]
mod support;
use support::*;

const SUPERVISORD: &str = r#"; a typical supervisord.conf
[unix_http_server]
file=/tmp/supervisor.sock

[supervisord]
logfile=/tmp/supervisord.log

[program:api]
command=/bin/sh -c "exec sleep 1000" --label api
directory=/tmp
environment=APP_ENV="production",WORKERS="4",QUOTED="a,b"
autostart=true
autorestart=unexpected
startretries=5
exitcodes=0,2
stopsignal=QUIT
stopwaitsecs=20
redirect_stderr=true
stdout_logfile=/var/log/api.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=7
priority=10

[program:queue]
command=/bin/sleep 10%(process_num)d
process_name=%(program_name)s_%(process_num)d
numprocs=3
autorestart=true
stopasgroup=true
killasgroup=true
"#;

const DB_UNIT: &str = "[Service]\nExecStart=/bin/sleep 1000\n";

const UNIT: &str = r#"[Unit]
Description=Web frontend
After=network.target db.service
Requires=db.service

[Service]
Type=simple
ExecStart=/bin/sh -c "exec sleep 1000" "two words"
WorkingDirectory=/tmp
Environment="PORT=8080" "NAME=web front"
Restart=on-failure
RestartSec=2s
StartLimitBurst=6
StartLimitIntervalSec=120
KillSignal=SIGINT
TimeoutStopSec=15
KillMode=process
SuccessExitStatus=3 SIGUSR1
ProtectSystem=strict
Sockets=web-admin.socket

[Install]
WantedBy=multi-user.target
"#;

/// The socket unit of the service's own name, found beside it; no `FileDescriptorName=`, so
/// systemd names its descriptors `web.socket`.
const SOCKET: &str = "[Socket]\nListenStream=8080\nListenStream=127.0.0.1:8081\nListenDatagram=[::1]:5353\nBacklog=64\nBindIPv6Only=ipv6-only\nFreeBind=yes\n\n[Install]\nWantedBy=sockets.target\n";

/// A socket unit named in `Sockets=`.
const ADMIN_SOCKET: &str = "[Socket]\nListenStream=/run/web/admin.sock\nFileDescriptorName=admin\nSocketMode=0660\nSocketUser=nobody\nSocketGroup=nogroup\nService=web.service\n";

#[test]
fn import_then_export_keeps_every_mapped_field() {
    let h = Harness::new("import");
    let sup = h.dir.join("supervisord.conf");
    std::fs::write(&sup, SUPERVISORD).unwrap();
    let unit = h.dir.join("web.service");
    std::fs::write(&unit, UNIT).unwrap();
    let db_unit = h.dir.join("db.service");
    std::fs::write(&db_unit, DB_UNIT).unwrap();
    std::fs::write(h.dir.join("web.socket"), SOCKET).unwrap();
    std::fs::write(h.dir.join("web-admin.socket"), ADMIN_SOCKET).unwrap();

    // supervisord
    let from_sup = h.dir.join("from-supervisord.toml");
    let out = h.stead(&[
        "import",
        "supervisord",
        sup.to_str().unwrap(),
        "-o",
        from_sup.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("api: not mapped: stdout_logfile=/var/log/api.log"),
        "{err}"
    );
    assert!(err.contains("api: not mapped: priority=10"), "{err}");
    // Never over an existing file.
    let again = h.stead(&[
        "import",
        "supervisord",
        sup.to_str().unwrap(),
        "-o",
        from_sup.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    let c = stead_config(&from_sup);
    let api = c.programs.iter().find(|p| p.name == "api").unwrap();
    assert_eq!(
        api.command,
        ["/bin/sh", "-c", "exec sleep 1000", "--label", "api"]
    );
    assert_eq!(api.cwd, std::path::Path::new("/tmp"));
    assert_eq!(api.env["APP_ENV"], "production");
    assert_eq!(api.env["QUOTED"], "a,b");
    assert_eq!(format!("{:?}", api.restart), "OnFailure");
    assert_eq!(api.max_restarts, 5);
    assert_eq!(api.exit_codes, [0, 2]);
    assert_eq!(api.stop_signal.name(), "QUIT");
    assert_eq!(api.stop_timeout.as_secs(), 20);
    assert!(api.log.merge_stderr);
    assert_eq!((api.log.max_size, api.log.keep), (50_000_000, 7));
    let queue: Vec<_> = c.programs.iter().filter(|p| p.group == "queue").collect();
    assert_eq!(queue.len(), 3);
    assert_eq!(queue[2].command, ["/bin/sleep", "102"]);

    // systemd
    let from_unit = h.dir.join("from-systemd.toml");
    let out = h.stead(&[
        "import",
        "systemd",
        unit.to_str().unwrap(),
        db_unit.to_str().unwrap(),
        "-o",
        from_unit.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("web: not mapped: [Service] ProtectSystem=strict"),
        "{err}"
    );
    assert!(
        err.contains("web: not mapped: [Unit] After=network.target"),
        "{err}"
    );
    assert!(err.contains("SuccessExitStatus SIGUSR1"), "{err}");
    assert!(
        err.contains("web: not mapped: web.socket: [Socket] FreeBind=yes"),
        "{err}"
    );
    assert!(!err.contains("Sockets="), "{err}");
    let c = stead_config(&from_unit);
    let web = &c.programs[0];
    assert_eq!(
        web.depends_on,
        ["db"],
        "After=/Requires= between imported units"
    );
    assert_eq!(
        web.command,
        ["/bin/sh", "-c", "exec sleep 1000", "two words"]
    );
    assert_eq!(
        (web.env["PORT"].as_str(), web.env["NAME"].as_str()),
        ("8080", "web front")
    );
    assert_eq!(format!("{:?}", web.restart), "OnFailure");
    assert_eq!(web.backoff.initial.as_secs(), 2);
    assert_eq!((web.max_restarts, web.restart_window.as_secs()), (5, 120));
    assert_eq!(web.stop_signal.name(), "INT");
    assert_eq!(web.stop_timeout.as_secs(), 15);
    assert!(!web.kill_tree);
    assert_eq!(web.exit_codes, [0, 3]);
    // The socket units' sockets, with every option that has a key in stead.
    let sockets: Vec<String> = web
        .sockets
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {:o} {:?} {:?} {:?}",
                s.listen, s.name, s.backlog, s.mode, s.owner, s.group, s.ipv6_only
            )
        })
        .collect();
    assert_eq!(
        sockets,
        [
            "unix:/run/web/admin.sock admin 4096 660 Some(\"nobody\") Some(\"nogroup\") None",
            "tcp://[::]:8080 web.socket 64 666 None None Some(true)",
            "tcp://127.0.0.1:8081 web.socket 64 666 None None None",
            "udp://[::1]:5353 web.socket 4096 666 None None Some(true)",
        ]
    );

    // …and back: export the imported config, import the exported unit, same fields.
    let units = h.dir.join("units");
    let out = h.stead(&[
        "export",
        "systemd",
        "-c",
        from_unit.to_str().unwrap(),
        "-o",
        units.to_str().unwrap(),
        "--systemd-version",
        "252",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = h.dir.join("back.toml");
    let out = h.stead(&[
        "import",
        "systemd",
        units.join("web.service").to_str().unwrap(),
        units.join("db.service").to_str().unwrap(),
        "-o",
        back.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = stead_config(&back);
    let w2 = &again.programs[0];
    assert_eq!(w2.command, web.command);
    assert_eq!(w2.env, web.env);
    assert_eq!(w2.cwd, web.cwd);
    assert_eq!(
        (w2.restart, w2.max_restarts, w2.restart_window),
        (web.restart, web.max_restarts, web.restart_window)
    );
    assert_eq!(w2.backoff.initial, web.backoff.initial);
    assert_eq!(
        (w2.stop_signal, w2.stop_timeout, w2.kill_tree),
        (web.stop_signal, web.stop_timeout, web.kill_tree)
    );
    assert_eq!(w2.exit_codes, web.exit_codes);
    assert_eq!(w2.depends_on, web.depends_on);
    // The socket units were written beside the service, under their own names again.
    assert!(units.join("web.socket").is_file() && units.join("web-admin.socket").is_file());
    assert_eq!(w2.sockets, web.sockets);
}

fn stead_config(path: &std::path::Path) -> stead_supervisor::Config {
    stead_supervisor::config::load(path).unwrap_or_else(|e| {
        panic!(
            "{e}\n--- {}:\n{}",
            path.display(),
            std::fs::read_to_string(path).unwrap()
        )
    })
}

#[test]
#[cfg_attr(
    not(has_node),
    ignore = "needs node (PM2's .js ecosystem files are read with it)"
)]
fn a_pm2_ecosystem_file_is_imported_through_node() {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if skip_unless(
        node,
        "node is not installed (PM2's .js ecosystem files are read with it)",
    ) {
        return;
    }
    let h = Harness::new("import-pm2");
    let eco = h.dir.join("ecosystem.config.js");
    std::fs::write(
        &eco,
        "// a typical PM2 file\nconst port = 3000;\nmodule.exports = {\n  apps: [{\n    name: 'api',\n    script: 'server.js',\n    args: `--port ${port}`,\n    instances: 2,\n    exec_mode: 'cluster',\n    env: { NODE_ENV: 'production' },\n    max_restarts: 7,\n    exp_backoff_restart_delay: 100,\n    kill_timeout: 3000,\n    merge_logs: true,\n  }, {\n    name: 'job',\n    script: '/bin/true',\n    interpreter: 'none',\n    autorestart: false,\n  }],\n};\n",
    )
    .unwrap();
    let toml = h.dir.join("from-pm2.toml");
    let out = h.stead(&[
        "import",
        "pm2",
        eco.to_str().unwrap(),
        "-o",
        toml.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("api: not mapped: exec_mode=\"cluster\""),
        "{err}"
    );
    let c = stead_config(&toml);
    let api: Vec<_> = c.programs.iter().filter(|p| p.group == "api").collect();
    assert_eq!(api.len(), 2);
    assert_eq!(api[0].command, ["node", "server.js", "--port", "3000"]);
    assert_eq!(api[0].env["NODE_ENV"], "production");
    assert_eq!(api[0].max_restarts, 7);
    assert_eq!(api[0].backoff.initial.as_millis(), 100);
    assert_eq!(api[0].stop_timeout.as_millis(), 3000);
    assert!(api[0].log.merge_stderr);
    let job = c.programs.iter().find(|p| p.name == "job").unwrap();
    assert_eq!(job.command, ["/bin/true"]);
    assert_eq!(format!("{:?}", job.restart), "Never");
}
