//! The `.deb` that `cargo xtask dist` builds, installed with `dpkg -i` on a real Debian
//! with systemd as PID 1: the service is enabled and active at once (with no program yet),
//! runs a program dropped in `/etc/stead/conf.d/` after `systemctl reload stead`, and
//! `stead status` works for root without `--state-dir`. Installing a newer build over it
//! keeps the admin's edits to `/etc/stead/stead.toml` and the drop-in, and restarts the
//! service (a new supervisor, the program running again). `apt-get purge` stops the program,
//! and removes the binary, the unit, the configuration, the logs and the state, but not a
//! file the admin made in `conf.d/`.
#![cfg(target_os = "linux")]
mod support;

use std::time::{Duration, Instant};

use support::*;

fn ok(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.exec(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `stead status --json` (as root, default state directory) shows `web`
/// running, and returns its pid.
fn web_running(sb: &Sandbox) -> u64 {
    let start = Instant::now();
    loop {
        let out = sb.exec(&["stead", "status", "--json"]);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && let Some(p) = v["programs"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["name"] == "web"))
            && p["state"] == "running"
        {
            return p["pid"].as_u64().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "web never ran: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
#[cfg_attr(
    not(has_dist),
    ignore = "needs the release artifacts: cargo xtask dist"
)]
fn the_deb_installs_runs_upgrades_and_purges() {
    let deb = dist_artifact("_amd64.deb");
    let Some((h, sb)) = systemd_sandbox("deb") else {
        return;
    };
    std::fs::copy(&deb, h.dir.join("stead.deb")).unwrap();
    ok(&sb, &["dpkg", "-i", "/opt/stead/test/stead.deb"]);
    assert_eq!(
        ok(&sb, &["systemctl", "is-enabled", "stead"]).trim(),
        "enabled"
    );
    assert_eq!(
        ok(&sb, &["systemctl", "is-active", "stead"]).trim(),
        "active"
    );
    let version = ok(&sb, &["stead", "--version"]);
    assert!(
        version.contains("x86_64-unknown-linux-musl"),
        "the package holds the static build: {version}"
    );

    ok(
        &sb,
        &[
            "sh",
            "-c",
            "printf '[program.web]\\ncommand = [\"sleep\", \"600\"]\\n' > /etc/stead/conf.d/web.toml",
        ],
    );
    ok(&sb, &["systemctl", "reload", "stead"]);
    let first = web_running(&sb);
    let main_pid = sb.show("stead", "MainPID");

    // A newer build of the same package: the admin's edit and drop-in stay, stead restarts.
    ok(
        &sb,
        &[
            "sh",
            "-c",
            "echo '# edited by the admin' >> /etc/stead/stead.toml",
        ],
    );
    ok(
        &sb,
        &[
            "sh",
            "-c",
            "cd /tmp && dpkg-deb -R /opt/stead/test/stead.deb new \
             && sed -i 's/^Version: \\(.*\\)-1$/Version: \\1-2/' new/DEBIAN/control \
             && dpkg-deb --root-owner-group -b new newer.deb >/dev/null && dpkg -i newer.deb",
        ],
    );
    assert!(
        ok(&sb, &["dpkg-query", "-W", "stead"])
            .trim()
            .ends_with("-2")
    );
    assert!(ok(&sb, &["cat", "/etc/stead/stead.toml"]).contains("# edited by the admin"));
    assert_eq!(
        ok(&sb, &["systemctl", "is-active", "stead"]).trim(),
        "active"
    );
    assert_ne!(
        sb.show("stead", "MainPID"),
        main_pid,
        "the upgrade did not restart stead"
    );
    let second = web_running(&sb);
    assert_ne!(first, second, "web was not restarted with stead");

    ok(&sb, &["apt-get", "purge", "-y", "stead"]);
    let left = sb.exec(&[
        "sh",
        "-c",
        "ls -d /usr/bin/stead /lib/systemd/system/stead.service /etc/stead/stead.toml \
         /var/log/stead /run/stead 2>/dev/null; true",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&left.stdout),
        "",
        "left after purge"
    );
    assert!(
        sb.exec(&["kill", "-0", &second.to_string()]).status.code() != Some(0),
        "web survived the purge"
    );
    // The admin's own file is not the package's to delete.
    ok(&sb, &["test", "-f", "/etc/stead/conf.d/web.toml"]);
}
