//! `stead install` under real systemd (PID 1 in a sandbox): a program registered as a unit
//! runs as the account asked for, is active, is restarted after its main process is killed,
//! a second install of the same name is refused without `--force`, `stead service status`
//! tells running from not installed, and `stead uninstall` leaves no unit behind. The wrap
//! mode (`stead install -c stead.toml`) runs `stead up` as a notify service whose programs
//! answer `stead status`. `--wrap` runs a plain shell program under stead from a generated
//! config: stead restarts it after a kill (the unit's main pid unchanged), its output is
//! captured, `uninstall` removes the config while unchanged and keeps an edited one, which a
//! new `--wrap` then refuses to overwrite without `--force`. `--create-user` provisions a system account the service really runs
//! as, with its state directory owned by it (0750), and `uninstall --purge` removes the
//! account and the directories again.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;

use support::*;

#[test]
#[cfg_attr(
    not(has_systemd_sandbox),
    ignore = "needs root and ../shared/tools/systemd-sandbox beside the repository"
)]
fn install_registers_with_systemd() {
    let Some((h, sb)) = systemd_sandbox("install") else {
        return;
    };
    std::fs::write(
        h.dir.join("wrap.toml"),
        "[program.inner]\ncommand = [\"/opt/stead/bin/stead-testchild\", \"--sleep\", \"forever\"]\n",
    )
    .unwrap();
    let stead = "/opt/stead/bin/stead";
    let status_json = |name: &str| -> serde_json::Value {
        let o = sb.exec(&[
            stead,
            "service",
            "status",
            name,
            "--backend",
            "systemd",
            "--json",
        ]);
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };

    let install = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "guarded",
        "--account",
        "nobody",
        "--restart-delay",
        "200ms",
        "--",
        "/opt/stead/bin/stead-testchild",
        "--sleep",
        "forever",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    wait("active", Duration::from_secs(20), || {
        status_json("guarded")["state"] == "running"
    });
    let st = status_json("guarded");
    assert_eq!(st["start_mode"], "enabled", "{st}");
    let pid = st["pid"].as_u64().unwrap().to_string();
    let user = sb.exec(&["ps", "-o", "user=", "-p", &pid]);
    assert_eq!(
        String::from_utf8_lossy(&user.stdout).trim(),
        "nobody",
        "runs as the account asked"
    );
    let unit = sb.exec(&["cat", "/etc/systemd/system/guarded.service"]);
    let unit = String::from_utf8_lossy(&unit.stdout).into_owned();
    assert!(
        unit.contains("User=nobody") && unit.contains("NoNewPrivileges=yes"),
        "{unit}"
    );

    // Killed: systemd restarts it.
    assert!(sb.exec(&["kill", "-9", &pid]).status.success());
    wait("a new main pid", Duration::from_secs(20), || {
        let st = status_json("guarded");
        st["state"] == "running" && st["pid"].as_u64().map(|p| p.to_string()) != Some(pid.clone())
    });

    // The same name again: refused, nothing changed.
    let again = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "guarded",
        "--",
        "/bin/true",
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("already installed"),
        "{}",
        text(&again)
    );
    let unit_after = sb.exec(&["cat", "/etc/systemd/system/guarded.service"]);
    assert_eq!(String::from_utf8_lossy(&unit_after.stdout), unit);

    // --force replaces it: the new unit, and a new process running it.
    let before = status_json("guarded")["pid"].as_u64();
    let forced = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "guarded",
        "--force",
        "--account",
        "nobody",
        "--",
        "/opt/stead/bin/stead-testchild",
        "--stdout",
        "replaced",
        "--sleep",
        "forever",
    ]);
    assert!(forced.status.success(), "{}", text(&forced));
    wait("the replacement running", Duration::from_secs(20), || {
        let st = status_json("guarded");
        st["state"] == "running" && st["pid"].as_u64() != before
    });
    let unit_now = String::from_utf8_lossy(
        &sb.exec(&["cat", "/etc/systemd/system/guarded.service"])
            .stdout,
    )
    .into_owned();
    assert!(unit_now.contains("--stdout replaced"), "{unit_now}");

    // Uninstall: no unit, no file, status says so.
    let un = sb.exec(&[stead, "uninstall", "guarded", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));
    assert!(
        !sb.exec(&["test", "-e", "/etc/systemd/system/guarded.service"])
            .status
            .success()
    );
    assert_eq!(status_json("guarded")["state"], "not-installed");
    let gone = sb.exec(&[
        stead,
        "service",
        "status",
        "guarded",
        "--backend",
        "systemd",
    ]);
    assert_eq!(gone.status.code(), Some(4));
    let again = sb.exec(&[stead, "uninstall", "guarded", "--backend", "systemd"]);
    assert_eq!(again.status.code(), Some(4), "{}", text(&again));

    // Wrap mode: stead up as the service, its programs visible through its control socket.
    let wrap = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "stead-wrap",
        "-c",
        "/opt/stead/test/wrap.toml",
    ]);
    assert!(wrap.status.success(), "{}", text(&wrap));
    wait("the wrapper active", Duration::from_secs(20), || {
        status_json("stead-wrap")["state"] == "running"
    });
    let unit = String::from_utf8_lossy(
        &sb.exec(&["cat", "/etc/systemd/system/stead-wrap.service"])
            .stdout,
    )
    .into_owned();
    assert!(
        unit.contains("Type=notify") && unit.contains("StateDirectory=stead-wrap"),
        "{unit}"
    );
    wait("the inner program running", Duration::from_secs(20), || {
        let o = sb.exec(&[
            stead,
            "--state-dir",
            "/var/lib/stead-wrap",
            "status",
            "--json",
        ]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .is_ok_and(|v| v["programs"][0]["state"] == "running")
    });
    let un = sb.exec(&[stead, "uninstall", "stead-wrap", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));
    // The pattern must not match the pgrep command line itself.
    let left = sb.exec(&["pgrep", "-f", "stead-testchil[d]"]);
    assert!(
        !left.status.success(),
        "the wrapped program stopped with the service"
    );

    // --wrap: a plain shell program under stead, from a generated config. stead (the unit's
    // main process) restarts the program itself when it dies; systemd sees nothing.
    let wrap_install = |extra: &[&str]| {
        let mut args = vec![
            stead,
            "install",
            "--backend",
            "systemd",
            "--name",
            "shwrap",
            "--wrap",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/bin/sh", "-c", "echo started; exec sleep 1000"]);
        sb.exec(&args)
    };
    let w = wrap_install(&[]);
    assert!(w.status.success(), "{}", text(&w));
    let inner = || -> serde_json::Value {
        let o = sb.exec(&[stead, "--state-dir", "/var/lib/shwrap", "status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .map_or(serde_json::Value::Null, |v| v["programs"][0].clone())
    };
    wait("the wrapped shell running", Duration::from_secs(20), || {
        inner()["state"] == "running"
    });
    assert_eq!(inner()["name"], "shwrap");
    let host_pid = status_json("shwrap")["pid"].clone();
    let first = inner()["pid"].as_u64().unwrap().to_string();
    assert!(sb.exec(&["kill", "-KILL", &first]).status.success());
    wait(
        "stead restarting the program",
        Duration::from_secs(20),
        || {
            let p = inner();
            p["state"] == "running"
                && p["pid"].as_u64().map(|x| x.to_string()) != Some(first.clone())
        },
    );
    assert_eq!(
        status_json("shwrap")["pid"],
        host_pid,
        "stead, not systemd, restarted it"
    );
    let log = sb.exec(&["cat", "/var/lib/shwrap/logs/shwrap.out.log"]);
    assert_eq!(
        String::from_utf8_lossy(&log.stdout)
            .matches("started")
            .count(),
        2,
        "both runs' output captured: {}",
        text(&log)
    );
    let un = sb.exec(&[stead, "uninstall", "shwrap", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));
    assert!(
        !sb.exec(&["test", "-e", "/etc/shwrap/stead.toml"])
            .status
            .success(),
        "the generated config went with the service"
    );
    // A config someone edited is kept by uninstall, and a new --wrap does not overwrite it.
    let w = wrap_install(&[]);
    assert!(w.status.success(), "{}", text(&w));
    assert!(
        sb.exec(&["sh", "-c", "echo '# mine' >> /etc/shwrap/stead.toml"])
            .status
            .success()
    );
    let un = sb.exec(&[stead, "uninstall", "shwrap", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));
    assert!(text(&un).contains("edited"), "{}", text(&un));
    let kept = sb.exec(&["cat", "/etc/shwrap/stead.toml"]);
    assert!(String::from_utf8_lossy(&kept.stdout).contains("# mine"));
    let refused = wrap_install(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("exists already"),
        "{}",
        text(&refused)
    );
    assert_eq!(status_json("shwrap")["state"], "not-installed");
    let forced = wrap_install(&["--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    let un = sb.exec(&[stead, "uninstall", "shwrap", "--backend", "systemd"]);
    assert!(un.status.success(), "{}", text(&un));

    // A provisioned account and its directories, removed again by --purge.
    let inst = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "keeper",
        "--create-user",
        "keeperd",
        "--",
        "/opt/stead/bin/stead-testchild",
        "--sleep",
        "forever",
    ]);
    assert!(inst.status.success(), "{}", text(&inst));
    wait("keeper running", Duration::from_secs(20), || {
        status_json("keeper")["state"] == "running"
    });
    let pid = status_json("keeper")["pid"].as_u64().unwrap().to_string();
    let user = sb.exec(&["ps", "-o", "user=", "-p", &pid]);
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "keeperd");
    let shell = sb.exec(&["getent", "passwd", "keeperd"]);
    assert!(
        String::from_utf8_lossy(&shell.stdout)
            .trim()
            .ends_with("/usr/sbin/nologin"),
        "no login shell"
    );
    let dir = sb.exec(&["stat", "-c", "%U %a", "/var/lib/keeper"]);
    assert_eq!(String::from_utf8_lossy(&dir.stdout).trim(), "keeperd 750");
    // Its configuration directory: the account reads it, only root changes it.
    let conf = sb.exec(&["stat", "-c", "%U %G %a", "/etc/keeper"]);
    assert_eq!(text(&conf).trim(), "root keeperd 750");
    let reads = sb.exec(&[
        "setpriv",
        "--reuid=keeperd",
        "--regid=keeperd",
        "--clear-groups",
        "ls",
        "/etc/keeper",
    ]);
    assert!(reads.status.success(), "{}", text(&reads));
    let un = sb.exec(&[
        stead,
        "uninstall",
        "keeper",
        "--backend",
        "systemd",
        "--purge",
    ]);
    assert!(un.status.success(), "{}", text(&un));
    assert!(
        !sb.exec(&["id", "keeperd"]).status.success(),
        "the account is gone"
    );
    assert!(
        !sb.exec(&["test", "-e", "/var/lib/keeper"]).status.success(),
        "the state directory is gone"
    );
    assert!(
        !sb.exec(&["test", "-e", "/etc/keeper"]).status.success(),
        "the configuration directory is gone"
    );
    assert!(
        !sb.exec(&["test", "-e", "/var/lib/stead/installs/keeper.json"])
            .status
            .success()
    );

    // A binary that users other than root could replace is refused, and nothing is written.
    assert!(
        sb.exec(&[
            "sh",
            "-c",
            "mkdir -p /srv/open && chmod 777 /srv/open && cp /opt/stead/bin/stead-testchild /srv/open/"
        ])
        .status
        .success()
    );
    let unsafe_install = sb.exec(&[
        stead,
        "install",
        "--backend",
        "systemd",
        "--name",
        "hijackable",
        "--",
        "/srv/open/stead-testchild",
        "--sleep",
        "forever",
    ]);
    let said = text(&unsafe_install);
    assert!(!unsafe_install.status.success(), "{said}");
    assert!(
        said.contains("refusing to install")
            && said.contains("/srv/open")
            && said.contains("chmod go-w"),
        "{said}"
    );
    assert!(
        !sb.exec(&["test", "-e", "/etc/systemd/system/hijackable.service"])
            .status
            .success(),
        "a unit was written for a refused install"
    );
}
