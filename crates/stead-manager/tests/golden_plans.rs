//! The plan of every backend for one spec full of traps (spaces, quotes, `%`, `$`, non-ASCII)
//! matches the reviewed file in `tests/golden/`. After an intended change:
//! `UPDATE_GOLDEN=1 cargo test -p stead-manager --test golden_plans`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use stead_manager::{Account, Backend, Readiness, ServiceSpec, StartMode, plan};

fn spec() -> ServiceSpec {
    let mut s = ServiceSpec::new(
        "billing-api",
        "/opt/Billing App/bin/billing",
        &[
            "--listen",
            "0.0.0.0:8080",
            "--motd",
            "100% \"ready\" for $USER ✓",
        ],
    );
    s.description = "Billing API & invoices <prod>".into();
    s.cwd = Some(PathBuf::from("/srv/billing data"));
    s.env.insert("RUST_LOG".into(), "info,billing=debug".into());
    s.env.insert("GREETING".into(), "it's %p $HOME".into());
    s.account = Account::User("billing".into());
    s.start = StartMode::DelayedAuto;
    s.dependencies = vec!["postgresql".into()];
    s.readiness = Readiness::Notify;
    s.watchdog = Some(std::time::Duration::from_secs(30));
    s
}

/// The same spec with the paths a Windows service has (a Windows backend judges paths by
/// Windows rules, wherever the plan is made).
fn windows_spec() -> ServiceSpec {
    let mut s = spec();
    s.program = PathBuf::from(r"C:\Program Files\Billing App\billing.exe");
    s.cwd = Some(PathBuf::from(r"D:\billing data"));
    s
}

fn check(backend: Backend) {
    let spec = if backend.is_windows() {
        windows_spec()
    } else {
        spec()
    };
    check_spec(backend, &spec, backend.as_str());
}

fn check_spec(backend: Backend, spec: &ServiceSpec, golden: &str) {
    let p = plan(spec, backend, Path::new("/home/alice")).unwrap();
    let text = serde_json::to_string_pretty(&p).unwrap() + "\n";
    let mut rendered = String::new();
    for f in &p.files {
        let _ = write!(
            rendered,
            "==> {} (mode {:o})
{}",
            f.path.display(),
            f.mode,
            f.text
        );
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{golden}.txt"));
    let all = format!("{rendered}==> plan\n{text}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &all).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        all,
        want,
        "{} changed; review, then UPDATE_GOLDEN=1",
        path.display()
    );
}

#[test]
fn systemd() {
    check(Backend::Systemd);
}

/// A per-user service runs as whoever installs it: no account.
fn user_spec() -> ServiceSpec {
    let mut s = spec();
    s.account = Account::Default;
    s
}

#[test]
fn systemd_user() {
    check_spec(Backend::SystemdUser, &user_spec(), "systemd-user");
}

#[test]
fn launchd_agent() {
    let mut s = user_spec();
    s.user_mode = true;
    check_spec(Backend::Launchd, &s, "launchd-agent");
}

#[test]
fn a_per_user_service_cannot_take_another_account() {
    for backend in [Backend::SystemdUser, Backend::Launchd] {
        let mut s = spec();
        s.user_mode = true;
        let e = plan(&s, backend, Path::new("/home/alice")).unwrap_err();
        assert!(e.to_string().contains("drop --account"), "{e}");
    }
}

#[test]
fn launchd() {
    check(Backend::Launchd);
}

/// A daemon as root: launchd's default, so no `UserName` key (and a warning that names the
/// least-privileged choice); `--account root` renders the same file.
#[test]
fn launchd_root() {
    let s = user_spec();
    check_spec(Backend::Launchd, &s, "launchd-root");
    let p = plan(&s, Backend::Launchd, Path::new("/var/root")).unwrap();
    assert!(!p.files[0].text.contains("UserName"), "{}", p.files[0].text);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("--create-user _billing-api")),
        "{:?}",
        p.warnings
    );
    let mut explicit = s.clone();
    explicit.account = Account::User("root".into());
    let q = plan(&explicit, Backend::Launchd, Path::new("/var/root")).unwrap();
    assert_eq!(q.files, p.files);
}

#[test]
fn openrc() {
    check(Backend::Openrc);
}

#[test]
fn windows() {
    check(Backend::Windows);
}

/// `--harden strict` with the virtual account: a restricted service SID and only the
/// privileges asked for.
#[test]
fn windows_strict() {
    let mut s = windows_spec();
    s.account = Account::Default;
    s.hardening = stead_manager::Harden::Strict;
    s.capabilities = vec!["SeBackupPrivilege".into()];
    check_spec(Backend::Windows, &s, "windows-strict");
}

#[test]
fn capabilities_are_named_as_the_backend_names_them() {
    let mut s = windows_spec();
    s.capabilities = vec!["CAP_NET_BIND_SERVICE".into()];
    let e = plan(&s, Backend::Windows, Path::new("/home/alice")).unwrap_err();
    assert!(e.to_string().contains("SeBackupPrivilege"), "{e}");
    let mut s = spec();
    s.capabilities = vec!["SeBackupPrivilege".into()];
    let e = plan(&s, Backend::Systemd, Path::new("/home/alice")).unwrap_err();
    assert!(e.to_string().contains("CAP_NET_BIND_SERVICE"), "{e}");
    s.capabilities = vec!["SeNonsense".into()];
    let e = plan(&s, Backend::Systemd, Path::new("/home/alice")).unwrap_err();
    assert!(e.to_string().contains("bad capability `SeNonsense`"), "{e}");
}

#[test]
fn task_scheduler() {
    check(Backend::TaskScheduler);
}

#[test]
fn create_user_provisions_on_unix_and_is_refused_on_windows() {
    let mut s = spec();
    s.create_user = Some("_billing".into());
    let p = plan(&s, Backend::Launchd, Path::new("/home/alice")).unwrap();
    let prov = p.provision.expect("launchd provisions the account");
    assert!(prov.create_user && prov.user == "_billing");
    assert_eq!(
        prov.directories,
        [
            PathBuf::from("/var/db/billing-api"),
            PathBuf::from("/var/log/billing-api")
        ]
    );
    assert!(p.files[0].text.contains("<string>_billing</string>"));
    let mut s = windows_spec();
    s.create_user = Some("_billing".into());
    for backend in [Backend::Windows, Backend::TaskScheduler] {
        let e = plan(&s, backend, Path::new("/home/alice")).unwrap_err();
        assert!(e.to_string().contains(r"NT SERVICE\billing-api"), "{e}");
    }
}
