//! The `stead.toml` that `stead install --wrap` generates is read by stead's own config
//! parser as exactly the program it wraps: argv (quotes, backslashes, tabs, non-ASCII),
//! environment, working directory, restart policy and stop timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stead_manager::{Backend, Restart, ServiceSpec, wrap};

#[test]
fn a_wrapped_config_is_what_stead_reads() {
    let mut program = ServiceSpec::new(
        "billing.api",
        "/opt/Billing App/bin/billing",
        &[
            "--motd",
            "100% \"ready\" for $USER ✓",
            "C:\\dir\\",
            "tab\there",
        ],
    );
    program
        .env
        .insert("GREETING".into(), "it's \"%p\" $HOME".into());
    program.env.insert("RUST_LOG".into(), "info".into());
    program.cwd = Some(PathBuf::from("/srv/billing data"));
    program.restart = Restart::Always;
    program.stop_timeout = Duration::from_millis(7500);
    let (host, w) = wrap::wrap(
        &program,
        Path::new("/usr/local/bin/stead"),
        Backend::Systemd,
        Path::new("/root"),
    );
    assert_eq!(host.args[2], w.config.path.display().to_string());
    assert!(wrap::is_unchanged(&w.config.text));

    let config = stead_config::Config::parse_portable(&w.config.path, &w.config.text)
        .unwrap_or_else(|e| panic!("{e}\n{}", w.config.text));
    assert_eq!(config.programs.len(), 1);
    let p = &config.programs[0];
    assert_eq!(p.name, "billing.api");
    assert_eq!(p.command, program.argv());
    assert_eq!(p.env, program.env);
    assert_eq!(p.cwd, Path::new("/srv/billing data"));
    assert_eq!(p.stop_timeout, Duration::from_millis(7500));
    assert_eq!(p.restart, stead_config::RestartPolicy::Always);
}
