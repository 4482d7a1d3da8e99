//! A small harness that drives the real `stead` binary and the test child.
//!
//! Tests that need something a machine may lack. `build.rs` probes, when the package is
//! built, for root, `../shared/tools/systemd-sandbox` and `wine-sandbox` beside the
//! repository, debootstrap, libfaketime, tmux, python3, nginx, a writable cgroup2 mount, the
//! Debian unit corpus and the export validators, and sets `has_NAME` for each one present
//! (every one under `CI=true`). A test that needs NAME says so, so that `cargo test` reports
//! it as `ignored, needs …` rather than as a pass:
//!
//! ```ignore
//! #[test]
//! #[cfg_attr(not(has_tmux), ignore = "needs tmux (apt install tmux)")]
//! fn top_shows_programs_and_restarts_one() {
//!     if skip_unless(have_tmux(), "tmux is not installed") {
//!         return;
//!     }
//! ```
//!
//! and keeps its runtime check ([`skip_unless`], [`shared_tool`]): under `CI=true` that check
//! fails the test when the thing is really missing. A new need gets a probe in `build.rs`
//! (its name in `PROBES`); a part of a test that needs more than the rest is a `#[test]` of its
//! own. `STEAD_TEST_PRETEND_MISSING=NAME,NAME` turns probes off to see the ignored view.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `stead` binary under test.
pub fn stead_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stead"))
}

/// The `stead-testchild` binary, built next to `stead` (built on demand when a single
/// package's tests run alone).
pub fn testchild() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = stead_bin().parent().unwrap().to_path_buf();
        let path = dir.join(format!("stead-testchild{}", std::env::consts::EXE_SUFFIX));
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "stead-testchild"])
                .status()
                .expect("run cargo");
            assert!(status.success(), "building stead-testchild failed");
        }
        assert!(path.exists(), "{} missing", path.display());
        path
    })
    .clone()
}

/// Whether the test runs as root (needed for uid switching tests).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Skips a test with a printed reason, unless CI requires it.
pub fn skip_unless(cond: bool, reason: &str) -> bool {
    if cond {
        return false;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "required in CI but cannot run: {reason}"
    );
    eprintln!("SKIPPED: {reason}");
    true
}

/// The sandbox tool `name` from `../shared/tools` beside the repository, when this test can
/// use it; `None` (after printing why) when the tool or root is missing. Under `CI=true`
/// their absence fails the test instead.
pub fn shared_tool(name: &str, why_root: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/tools")
        .join(name);
    let missing = format!("../shared/tools/{name} is not beside the repository");
    if skip_unless(path.exists(), &missing) || skip_unless(is_root(), why_root) {
        return None;
    }
    Some(path)
}

/// A scratch state directory and config, and a supervisor started on them.
pub struct Harness {
    pub dir: PathBuf,
    pub state: PathBuf,
    pub config: PathBuf,
    pub supervisor: Option<Child>,
    /// The `stead` binary this harness runs (a copy, for tests that run it as another user).
    pub bin: PathBuf,
}

impl Harness {
    pub fn new(name: &str) -> Harness {
        let dir = std::env::temp_dir().join(format!("stead-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state");
        let config = dir.join("stead.toml");
        Harness {
            dir,
            state,
            config,
            supervisor: None,
            bin: stead_bin(),
        }
    }

    /// Writes the config; `{child}` becomes the test child's path, `{dir}` the scratch dir.
    pub fn write_config(&self, text: &str) {
        let text = text
            .replace("{child}", &testchild().display().to_string())
            .replace("{dir}", &self.dir.display().to_string());
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("STEAD_STATE_DIR", &self.state)
            .env_remove("NOTIFY_SOCKET")
            .env("STEAD_LOG", "info");
        c
    }

    /// Runs `stead ARGS` to completion.
    pub fn stead(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run stead")
    }

    /// Starts `stead up` in the foreground and waits until its control socket answers.
    pub fn up(&mut self) {
        self.up_with(|_| {});
    }

    /// [`Harness::up`], with `tweak` applied to the command first (limits, environment).
    pub fn up_with(&mut self, tweak: impl FnOnce(&mut Command)) {
        let log = std::fs::File::create(self.dir.join("supervisor.log")).unwrap();
        let mut command = self.command();
        tweak(&mut command);
        let child = command
            .arg("up")
            .arg("-c")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start stead up");
        self.supervisor = Some(child);
        self.wait_for(
            "the control socket to answer",
            Duration::from_secs(10),
            |h| h.try_status().is_some(),
        );
    }

    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("supervisor.log")).unwrap_or_default()
    }

    /// `stead status --json`, or None when no supervisor answers.
    pub fn try_status(&self) -> Option<Value> {
        let out = self.stead(&["status", "--json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    pub fn status(&self) -> Value {
        self.try_status()
            .unwrap_or_else(|| panic!("status failed; supervisor log:\n{}", self.log()))
    }

    /// One program's status object.
    pub fn program(&self, name: &str) -> Value {
        let s = self.status();
        s["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no program {name} in {s}"))
    }

    pub fn pid_of(&self, name: &str) -> Option<u32> {
        self.program(name)["pid"].as_u64().map(|p| p as u32)
    }

    pub fn state_of(&self, name: &str) -> String {
        self.program(name)["state"].as_str().unwrap().to_string()
    }

    /// Polls `cond` every 10 ms until it holds, or panics after `limit` naming `what`.
    pub fn wait_for(&self, what: &str, limit: Duration, mut cond: impl FnMut(&Harness) -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "timed out after {limit:?} waiting for {what}; supervisor log:\n{}",
            self.log()
        );
    }

    /// Waits for the supervisor process to exit; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> i32 {
        let child = self.supervisor.as_mut().expect("no supervisor");
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.supervisor = None;
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < limit,
                "supervisor did not exit within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mut child) = self.supervisor.take() {
            // SAFETY: plain kill(2) on a pid we spawned.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits until `cond` holds, polling every 100 ms; fails the test naming `what` after `limit`.
pub fn wait(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A command's stdout and stderr, as text, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Whether a process has SIGTERM ignored (`SigIgn` in `/proc/PID/status`): a test child
/// started with `--ignore-term` has got that far.
pub fn ignores_term(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
}

/// Whether a process exists at all, zombie or not.
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Children of `pid` that are zombies.
pub fn zombie_children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] == "Z" && fields[1].parse::<u32>().ok() == Some(pid) {
            out.push(p);
        }
    }
    out
}

pub fn sigkill(pid: u32) {
    // SAFETY: plain kill(2).
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

pub fn read_pids(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A scratch harness and a real systemd booted with the test binaries at `/opt/stead/bin` and
/// the harness's directory at `/opt/stead/test` (a bind mount: files written there later are
/// seen inside); `None`, after saying why, where the sandbox cannot run (a failure under
/// `CI=true`).
pub fn systemd_sandbox(name: &str) -> Option<(Harness, Sandbox)> {
    let tool = shared_tool("systemd-sandbox", "booting systemd in a sandbox needs root")?;
    let h = Harness::new(name);
    let bin_dir = stead_bin().parent().unwrap().to_path_buf();
    let _ = testchild();
    let sb = Sandbox::up(tool, &bin_dir, &h.dir);
    Some((h, sb))
}

/// A real systemd booted by `../shared/tools/systemd-sandbox`, with the test binaries at
/// `/opt/stead/bin` and the test's directory at `/opt/stead/test`; taken down on drop.
pub struct Sandbox {
    tool: PathBuf,
    name: String,
}

impl Sandbox {
    pub fn up(tool: PathBuf, bin_dir: &Path, test_dir: &Path) -> Sandbox {
        let sb = Sandbox {
            tool,
            name: format!("stead-{}", std::process::id()),
        };
        let up = sb
            .cmd()
            .arg("up")
            .arg("--bind")
            .arg(format!("{}:/opt/stead/bin", bin_dir.display()))
            .arg("--bind")
            .arg(format!("{}:/opt/stead/test", test_dir.display()))
            .output()
            .expect("systemd-sandbox up");
        assert!(
            up.status.success(),
            "sandbox up failed: {}",
            String::from_utf8_lossy(&up.stderr)
        );
        sb
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.tool);
        c.arg("--name").arg(&self.name);
        c
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        self.cmd()
            .arg("exec")
            .arg("--")
            .args(args)
            .output()
            .expect("run systemd-sandbox exec")
    }

    /// Runs a command as `user` (with that user's `XDG_RUNTIME_DIR` and session bus).
    pub fn exec_as(&self, user: &str, args: &[&str]) -> Output {
        self.cmd()
            .arg("exec")
            .arg("--user")
            .arg(user)
            .arg("--")
            .args(args)
            .output()
            .expect("run systemd-sandbox exec --user")
    }

    /// Installs unit files from `/opt/stead/test/<dir>` into /etc/systemd/system and reloads.
    pub fn install_units(&self, dir: &str, units: &[&str]) {
        for u in units {
            let out = self.exec(&[
                "install",
                "-m644",
                &format!("/opt/stead/test/{dir}{u}"),
                "/etc/systemd/system/",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(self.exec(&["systemctl", "daemon-reload"]).status.success());
    }

    pub fn show(&self, unit: &str, props: &str) -> String {
        let out = self.exec(&["systemctl", "show", "-p", props, unit]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.cmd().arg("down").output();
    }
}

/// Cross-compiles for `x86_64-pc-windows-gnu` (`cargo build` with `args`), returning the
/// directory of the Windows binaries.
pub fn windows_build(args: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--target", "x86_64-pc-windows-gnu"])
        .args(args)
        .status()
        .unwrap();
    assert!(
        built.success(),
        "cross-compiling {args:?} for x86_64-pc-windows-gnu failed"
    );
    stead_bin()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("x86_64-pc-windows-gnu/debug")
}

/// A Wine prefix with a live SCM, from `../shared/tools/wine-sandbox`; taken down on drop.
pub struct Wine {
    pub tool: PathBuf,
    pub state: PathBuf,
    pub drive_c: PathBuf,
    pub out: PathBuf,
}

impl Wine {
    /// Boots a fresh prefix; its files live under `dir`.
    pub fn up(tool: PathBuf, dir: &Path) -> Wine {
        let state = dir.join("wine.state");
        // The persistent wineserver inherits whatever the tool's output goes to: a file, so
        // that nothing waits for a pipe that never closes.
        let up_out = dir.join("wine-up.out");
        let f = std::fs::File::create(&up_out).unwrap();
        let up = Command::new(&tool)
            .env("WINE_SANDBOX_STATE", &state)
            .arg("up")
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .status()
            .unwrap();
        assert!(
            up.success(),
            "wine-sandbox up: {}",
            std::fs::read_to_string(&up_out).unwrap_or_default()
        );
        let prefix = std::fs::read_to_string(&state).unwrap().trim().to_string();
        Wine {
            tool,
            state,
            drive_c: Path::new(&prefix).join("drive_c"),
            out: dir.join("wine.out"),
        }
    }

    /// Copies Windows binaries into C:\.
    pub fn put(&self, files: &[&Path]) {
        let put = self.tool().arg("put").args(files).output().unwrap();
        assert!(
            put.status.success(),
            "{}",
            String::from_utf8_lossy(&put.stderr)
        );
    }

    pub fn tool(&self) -> Command {
        let mut c = Command::new(&self.tool);
        c.env("WINE_SANDBOX_STATE", &self.state);
        c
    }

    /// Starts `wine ARGS` in C:\ in the background, its output to the file `log` (wine
    /// helpers may keep pipes open, so never a pipe).
    pub fn spawn(&self, args: &[&str], log: &Path) -> Child {
        let out = std::fs::File::create(log).unwrap();
        self.tool()
            .args(["exec", "--", "wine"])
            .args(args)
            .current_dir(&self.drive_c)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap()
    }

    /// Runs `wine ARGS` in C:\ to its end (killed after `limit`): its exit code and output.
    pub fn run(&self, args: &[&str], limit: Duration) -> (Option<i32>, String) {
        let mut child = self.spawn(args, &self.out);
        let code = wait_within(&mut child, limit);
        (code, std::fs::read_to_string(&self.out).unwrap_or_default())
    }
}

/// Waits for `child` to end: its exit code, or `None` when it was killed after `limit` (or
/// died of a signal).
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self
            .tool()
            .arg("down")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A localhost TCP port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A size field of `/proc/PID/status` in KiB (`"VmRSS:"`, `"VmHWM:"`); 0 when unreadable.
#[cfg(target_os = "linux")]
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A tmpfs of `size` (`"1m"`) mounted on `dir` (created first); unmounted when dropped.
#[cfg(target_os = "linux")]
pub struct Tmpfs(PathBuf);

#[cfg(target_os = "linux")]
impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "stead-test"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount a tmpfs on {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }
}

#[cfg(target_os = "linux")]
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A Debian bookworm with `OpenRC` (no systemd) in a container: `systemd-nspawn` runs a
/// placeholder as PID 2 over a read-only root with a tmpfs overlay, `openrc default` brings
/// up the runlevel, and commands run inside through `nsenter`. The test binaries are at
/// `/opt/stead/bin`. The root file system is built once with `debootstrap` into
/// `$XDG_CACHE_HOME/stead-openrc/rootfs` (about 50 s and 210 MB) and reused.
pub struct OpenrcBox {
    nspawn: std::process::Child,
    leader: u32,
}

impl OpenrcBox {
    /// `None` (after printing why) without root, `debootstrap` or `systemd-nspawn`; under
    /// `CI=true` their absence fails the test instead.
    pub fn up(bin_dir: &Path) -> Option<OpenrcBox> {
        let has = |tool: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if skip_unless(is_root(), "an OpenRC container needs root")
            || skip_unless(has("debootstrap"), "debootstrap is not installed")
            || skip_unless(
                has("systemd-nspawn"),
                "systemd-nspawn (systemd-container) is not installed",
            )
        {
            return None;
        }
        let rootfs = Self::rootfs();
        let nspawn = Command::new("systemd-nspawn")
            .args(["-q", "-D"])
            .arg(&rootfs)
            .args([
                "--volatile=overlay",
                "--register=no",
                "--keep-unit",
                "--private-network",
                "--as-pid2",
            ])
            .arg(format!("--bind-ro={}:/opt/stead/bin", bin_dir.display()))
            .args(["/bin/sleep", "infinity"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start systemd-nspawn");
        let mut b = OpenrcBox { nspawn, leader: 0 };
        let start = std::time::Instant::now();
        while b.leader == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the OpenRC container did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
            let children = std::fs::read_dir(format!("/proc/{}/task", b.nspawn.id()))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .collect::<String>();
            if let Some(pid) = children.split_whitespace().next() {
                let pid: u32 = pid.parse().unwrap();
                // Ready once its init runs the placeholder.
                if std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .is_ok_and(|c| !c.trim().is_empty())
                {
                    b.leader = pid;
                }
            }
        }
        let rc = b.exec(&["openrc", "default"]);
        assert!(
            rc.status.success(),
            "openrc default: {}",
            String::from_utf8_lossy(&rc.stderr)
        );
        Some(b)
    }

    fn rootfs() -> PathBuf {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("/var/cache"))
            .join("stead-openrc");
        let rootfs = cache.join("rootfs");
        if rootfs.join("sbin/supervise-daemon").exists() {
            return rootfs;
        }
        std::fs::create_dir_all(&cache).unwrap();
        let tmp = cache.join(format!("rootfs.tmp.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let out = Command::new("debootstrap")
            .args(["--variant=minbase", "--include=openrc,procps", "bookworm"])
            .arg(&tmp)
            .arg("http://deb.debian.org/debian")
            .output()
            .expect("run debootstrap");
        assert!(
            out.status.success(),
            "debootstrap of the OpenRC root failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::fs::rename(&tmp, &rootfs).unwrap();
        rootfs
    }

    /// Runs a command inside, as root, with a plain environment.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg("-t")
            .arg(self.leader.to_string())
            .args([
                "-a",
                "env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root",
            ])
            .args(args)
            .output()
            .expect("run nsenter")
    }
}

impl Drop for OpenrcBox {
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(self.nspawn.id() as i32, libc::SIGTERM) };
        let _ = self.nspawn.wait();
    }
}

/// The release artifact in `target/dist` (written by `cargo xtask dist`) whose file name ends
/// with `suffix`; a test that needs it fails here, naming the command, when it is missing.
pub fn dist_artifact(suffix: &str) -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dist");
    std::fs::read_dir(&dist)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}: run cargo xtask dist", dist.display()))
}

/// What a client that kept connecting to a socket saw (see [`hammer`]).
#[derive(Default, Debug)]
pub struct Tally {
    pub ok: u32,
    pub refused: u32,
    /// Every other failure: resets, connections closed without an answer, timeouts.
    pub other: Vec<String>,
    /// The last line of each answer (a pid, a body), once each.
    pub answers: std::collections::BTreeSet<String>,
}

impl Tally {
    pub fn merge(&mut self, o: Tally) {
        self.ok += o.ok;
        self.refused += o.refused;
        self.other.extend(o.other);
        self.answers.extend(o.answers);
    }
}

/// Connects to 127.0.0.1:`port` without pause until `stop`, each time sending `request` and
/// reading the answer to its end.
pub fn hammer(
    port: u16,
    request: &'static [u8],
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Tally> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut t = Tally::default();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let addr = ([127, 0, 0, 1], port).into();
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                Ok(mut c) => {
                    let mut answer = String::new();
                    let got = c
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .and_then(|()| c.write_all(request))
                        .and_then(|()| c.read_to_string(&mut answer));
                    match got {
                        Ok(_) if !answer.is_empty() => {
                            t.ok += 1;
                            t.answers
                                .insert(answer.lines().last().unwrap_or("").to_string());
                        }
                        Ok(_) => t.other.push("closed without an answer".into()),
                        Err(e) => t.other.push(e.to_string()),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => t.refused += 1,
                Err(e) => t.other.push(e.to_string()),
            }
        }
        t
    })
}

/// Whether `python3` can import `module`: a test's own check where its build probe
/// (`has_…` in build.rs) may be stale.
pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs gunicorn from the Python package index (two sync workers; a WSGI app that answers with its master's pid)
/// as `[program.web]` on a socket stead holds at 127.0.0.1:`port`, with `extra` appended to
/// the program's table, and waits until gunicorn says `READY=1`. Returns false, having said
/// why, where gunicorn is missing (a test that calls it is `cfg_attr(not(has_gunicorn),
/// ignore)`, so under `CI=true` a missing gunicorn fails instead).
pub fn up_gunicorn(h: &mut Harness, port: u16, extra: &str) -> bool {
    if skip_unless(
        python_has("gunicorn"),
        "gunicorn is not installed (python3 -m pip install gunicorn)",
    ) {
        return false;
    }
    std::fs::write(
        h.dir.join("app.py"),
        "import os\ndef app(env, start):\n    start('200 OK', [('Content-Type', 'text/plain')])\n    return [str(os.getppid()).encode()]\n",
    )
    .unwrap();
    h.write_config(&format!(
        r#"
[program.web]
command = ["python3", "-m", "gunicorn", "--workers", "2", "app:app"]
sockets = ["tcp://127.0.0.1:{port}"]
ready = {{ notify = true, timeout = "60s" }}
stop_timeout = "20s"
{extra}
"#
    ));
    h.up();
    // Not a connect: the held socket takes connections before gunicorn is up.
    h.wait_for("gunicorn ready", Duration::from_secs(60), |h| {
        h.program("web")["ready"] == true
    });
    true
}
