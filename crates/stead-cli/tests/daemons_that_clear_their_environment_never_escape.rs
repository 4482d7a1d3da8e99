//! A process that leaves its program's process group *and* drops the instance marker from its
//! environment (`setsid env -i …`, or nginx with `daemon on;`, which calls `setsid` and clears
//! its environment) is still in the instance's cgroup: `stead stop`, `stead shutdown` and the
//! sweep after a killed supervisor end it, and `status --json` says the tree is held by a
//! cgroup. Needs a writable cgroup2 hierarchy (required in CI) and, for the nginx case,
//! Debian's nginx (installed by `.ci/run`).
#![cfg(target_os = "linux")]
mod support;
use std::path::Path;
use std::time::Duration;
use support::*;

/// A shell that starts an escapee in a new session with an empty environment, records its
/// pid, and goes on as the program's main process.
const ESCAPER: &str = r#"
[program.escaper]
command = ["sh", "-c", "setsid env -i sleep 1000 & echo $! > {dir}/escapee; exec sleep 1000"]
stop_timeout = "2s"
"#;

/// Whether stead can give programs cgroups here (a cgroup2 mount it may create in).
fn cgroups_usable(h: &Harness) -> bool {
    let status = h.program("escaper");
    status["containment"].as_str() == Some("cgroup")
}

fn escapee(h: &Harness) -> u32 {
    let file = h.dir.join("escapee");
    h.wait_for("the escapee's pid", Duration::from_secs(10), |_| {
        read_pids(&file).len() == 1
    });
    let pid = read_pids(&file)[0];
    h.wait_for("the escapee to exec sleep", Duration::from_secs(5), |_| {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
    });
    pid
}

/// The escapee really left: another session and group than the main process, and no
/// `STEAD_INSTANCE_ID` in its environment.
fn assert_escaped(pid: u32, main: u32) {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        !env.windows(17).any(|w| w == b"STEAD_INSTANCE_ID"),
        "the escapee still carries the marker"
    );
    assert_ne!(pgid(pid), main, "the escapee left the program's group");
}

fn pgid(pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

fn started(name: &str) -> Option<Harness> {
    started_with(name, |_| {})
}

fn started_with(name: &str, tweak: impl FnOnce(&mut std::process::Command)) -> Option<Harness> {
    let mut h = Harness::new(name);
    h.write_config(ESCAPER);
    h.up_with(tweak);
    h.wait_for("escaper running", Duration::from_secs(10), |h| {
        h.state_of("escaper") == "running"
    });
    if skip_unless(
        cgroups_usable(&h),
        "stead cannot make cgroups here (no writable cgroup2 mount)",
    ) {
        return None;
    }
    Some(h)
}

#[test]
#[cfg_attr(not(has_cgroup2), ignore = "needs root and a writable cgroup2 mount")]
fn stop_ends_an_escapee_without_group_or_marker() {
    let Some(h) = started("escape-stop") else {
        return;
    };
    stop_ends_the_escapee(&h);
    assert_eq!(h.state_of("escaper"), "stopped");
}

/// `stead stop` of the escaper ends its escapee, which left the group and the marker.
fn stop_ends_the_escapee(h: &Harness) {
    let pid = escapee(h);
    assert_escaped(pid, h.pid_of("escaper").unwrap());
    let o = h.stead(&["stop", "escaper"]);
    assert!(o.status.success(), "{}", text(&o));
    wait("the escapee to be gone", Duration::from_secs(5), || {
        !alive(pid)
    });
}

/// Where a program cannot be born in its cgroup (Linux before 5.7, or a seccomp filter that
/// refuses `clone3`, as container runtimes' default profiles did), the child moves itself in
/// before `exec`: forced here with `STEAD_FORK_AND_MOVE=1`, the escapee is contained the same.
#[test]
#[cfg_attr(not(has_cgroup2), ignore = "needs root and a writable cgroup2 mount")]
fn a_child_that_moves_itself_into_its_cgroup_is_contained_the_same() {
    let Some(h) = started_with("escape-moved", |c| {
        c.env("STEAD_FORK_AND_MOVE", "1");
    }) else {
        return;
    };
    stop_ends_the_escapee(&h);
}

#[test]
#[cfg_attr(not(has_cgroup2), ignore = "needs root and a writable cgroup2 mount")]
fn shutdown_ends_an_escapee_without_group_or_marker() {
    let Some(mut h) = started("escape-shutdown") else {
        return;
    };
    let pid = escapee(&h);
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(15)), 0);
    assert!(!alive(pid), "the escapee outlived the shutdown");
}

#[test]
#[cfg_attr(not(has_cgroup2), ignore = "needs root and a writable cgroup2 mount")]
fn the_next_supervisor_ends_what_a_killed_one_left_in_its_cgroup() {
    let Some(mut h) = started("escape-killed") else {
        return;
    };
    let pid = escapee(&h);
    let main = h.pid_of("escaper").unwrap();
    sigkill(h.supervisor_pid());
    let _ = h.wait_exit(Duration::from_secs(5));
    wait(
        "the main process's parent-death signal",
        Duration::from_secs(10),
        || !alive(main),
    );
    assert!(
        alive(pid),
        "nothing but the next supervisor ends the escapee"
    );
    std::fs::remove_file(h.dir.join("escapee")).unwrap();
    h.up();
    assert!(
        !alive(pid),
        "the next supervisor started its programs with the old escapee still running"
    );
    assert!(
        h.log().contains("left running by an earlier stead"),
        "{}",
        h.log()
    );
    let fresh = escapee(&h);
    assert_ne!(fresh, pid);
}

/// Debian's nginx with `daemon on;`: the process stead starts forks a master that calls
/// `setsid` and clears its environment, then exits. Once the program has ended, nothing of
/// it holds the port, and a start binds it again; a stop leaves no nginx behind.
#[test]
#[cfg_attr(not(has_nginx), ignore = "needs Debian's nginx (apt install nginx)")]
fn nginx_daemon_on_leaves_nothing_and_binds_again() {
    if skip_unless(
        Path::new("/usr/sbin/nginx").exists(),
        "Debian's nginx is not installed (apt-get install nginx)",
    ) {
        return;
    }
    let mut h = Harness::new("nginx-daemon");
    let port = free_port();
    let conf = h.dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon on;\nmaster_process on;\nworker_processes 2;\npid {dir}/nginx.pid;\n\
             error_log {dir}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{ access_log off; client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; \
             fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp; \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 'ok'; }} }} }}\n",
            dir = h.dir.display()
        ),
    )
    .unwrap();
    h.write_config(&format!(
        "[program.nginx]\ncommand = [\"/usr/sbin/nginx\", \"-c\", \"{}\"]\nrestart = \"never\"\nstop_timeout = \"3s\"\n",
        conf.display()
    ));
    h.up();
    let ours = |h: &Harness| -> Vec<u32> {
        let needle = conf.display().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| alive(*p))
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                    String::from_utf8_lossy(&c).contains(&needle)
                        || std::fs::read_link(format!("/proc/{p}/exe"))
                            .is_ok_and(|e| e == Path::new("/usr/sbin/nginx"))
                            && read_pids(&h.dir.join("nginx.pid")).contains(&ppid(*p))
                })
            })
            .collect()
    };
    let pid_file = h.dir.join("nginx.pid");
    for round in 0..2 {
        // The master writes its pid once it has bound the port and daemonized.
        h.wait_for("nginx's master to start", Duration::from_secs(10), |_| {
            read_pids(&pid_file).len() == 1
        });
        h.wait_for("nginx's launcher to exit", Duration::from_secs(10), |h| {
            h.state_of("nginx") == "exited"
        });
        let exit = h.program("nginx")["last_exit"]["code"].as_i64();
        assert_eq!(
            exit,
            Some(0),
            "round {round}: nginx could not start (the port still held?): {}",
            std::fs::read_to_string(h.dir.join("error.log")).unwrap_or_default()
        );
        h.wait_for(
            "the daemonized master and its workers to be ended",
            Duration::from_secs(10),
            |h| ours(h).is_empty(),
        );
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "round {round}: the port is still held after nginx's tree was ended"
        );
        std::fs::remove_file(&pid_file).unwrap();
        let o = h.stead(&["start", "nginx"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    h.wait_for(
        "nginx's master to start again",
        Duration::from_secs(10),
        |_| read_pids(&pid_file).len() == 1,
    );
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(15)), 0);
    assert!(ours(&h).is_empty(), "nginx outlived the supervisor");
}

fn ppid(pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
