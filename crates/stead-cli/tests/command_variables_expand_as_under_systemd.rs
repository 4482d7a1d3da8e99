//! `$NAME` and `${NAME}` in `command` mean what they mean in a systemd unit: Debian's ssh
//! unit (`ExecStart=/usr/sbin/sshd -D $SSHD_OPTS`, `EnvironmentFile=-/etc/default/ssh`)
//! imports with its variable and its optional file, a running program gets the expanded argv
//! (and `status` shows it), and `stead export systemd` writes the variables back as variables.
#![cfg(unix)]
mod support;
use std::time::Duration;

use support::*;

#[test]
fn command_variables_expand_as_under_systemd() {
    let mut h = Harness::new("command-vars");

    // Import: the variable stays a variable, the `-` an optional env_file, nothing noted.
    let unit = format!(
        "{}/../stead-export/tests/fixtures/debian/ssh.service",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = h.dir.join("ssh.toml");
    let out = h.stead(&["import", "systemd", &unit, "-o", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let toml = std::fs::read_to_string(&path).unwrap();
    assert!(
        toml.contains(r#"command = ["/usr/sbin/sshd", "-D", "$SSHD_OPTS"]"#),
        "{toml}"
    );
    assert!(
        toml.contains(r#"env_file = { path = "/etc/default/ssh", optional = true }"#),
        "{toml}"
    );
    assert!(
        !err.contains("SSHD_OPTS") && !toml.contains("as is"),
        "{err}\n{toml}"
    );

    // Run: the env_file's words, a braced value as one argument, a missing optional file.
    let seen = h.dir.join("argv");
    std::fs::write(h.dir.join("app.env"), "OPTS=--one 'two words'\n").unwrap();
    h.write_config(&format!(
        "[program.w]\ncommand = ['sh', '-c', 'printf \"%s\\n\" \"$@\" > {seen}; exec sleep 60', 'sh', '$OPTS', '--name=${{NAME}}', '$$HOME']\n\
         env_file = 'app.env'\nenv = {{ NAME = 'a b' }}\n\
         [program.o]\ncommand = ['sleep', '$MAYBE', '60']\n\
         env_file = {{ path = '/nonexistent/stead-default', optional = true }}\n",
        seen = seen.display(),
    ));
    let config = h.config.display().to_string();
    let out = h.stead(&["validate", "-c", &config]);
    assert!(out.status.success(), "{}", text(&out));
    h.up();
    wait("the argv written", Duration::from_secs(20), || {
        std::fs::read_to_string(&seen).is_ok_and(|s| s.ends_with('\n'))
    });
    let argv = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        ["--one", "two words", "--name=a b", "$HOME"],
        "{argv}"
    );
    h.wait_for("o running", Duration::from_secs(20), |h| {
        h.pid_of("o").is_some()
    });
    let pid = h.pid_of("o").unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0060\x00", "an unset $MAYBE is no word");

    // Export: the variables are systemd's own again, the optional file keeps its `-`.
    let out = h.stead(&["export", "systemd", "-c", &config]);
    let units = String::from_utf8_lossy(&out.stdout);
    assert!(
        units.contains(" sh $OPTS --name=${NAME} $$HOME\n"),
        "{units}"
    );
    assert!(units.contains("ExecStart=sleep $MAYBE 60\n"), "{units}");
    assert!(
        units.contains("EnvironmentFile=-/nonexistent/stead-default\n"),
        "{units}"
    );
}
