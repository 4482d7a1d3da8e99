//! For specs full of traps — spaces, quotes, `$`, `%`, backslashes, non-ASCII, an empty
//! argument — each rendered form parses back to the same argv and environment, read by the
//! format's own parser where one runs here: a POSIX shell for the `OpenRC` script, Python's
//! `plistlib` for launchd, an XML parser plus the `CommandLineToArgvW` rules for the SCM
//! image path and the Task Scheduler XML, stead's unit parser and `systemd-analyze verify`
//! for systemd.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use stead_manager::ServiceSpec;
use stead_manager::backend::{launchd, openrc, systemd, task_scheduler, windows};

const TRAPS: &[&str] = &[
    "plain",
    "two words",
    "it's",
    "say \"hi\"",
    "$HOME and ${PATH}",
    "100% %PATH% %i",
    r"C:\dir\ ",
    r"back\\slash\",
    "tab\there",
    "ünïcödé ✓",
    "",
    "`uname`; rm -rf /",
    "&<>",
];

fn spec() -> ServiceSpec {
    let mut s = ServiceSpec::new("trap-box", "/opt/my app/bin/serve", TRAPS);
    s.env
        .insert("GREETING".into(), "it's \"quoted\" $NOT %p \\ end".into());
    s.env.insert("EMPTY".into(), String::new());
    s.cwd = Some(PathBuf::from("/srv/with space"));
    s
}

fn argv() -> Vec<String> {
    spec().argv()
}

use stead_manager::backend::windows::split_command_line as parse_windows;

#[test]
fn the_scm_image_path_parses_back() {
    let p = windows::scm_params(&spec());
    assert!(
        p.image_path.starts_with("\"/opt/my app/bin/serve\""),
        "always quoted"
    );
    assert_eq!(parse_windows(&p.image_path), argv());
    for a in TRAPS {
        assert_eq!(
            parse_windows(&windows::quote_arg(a)),
            vec![(*a).to_string()],
            "{a:?}"
        );
    }
}

#[test]
fn the_systemd_unit_parses_back_and_verifies() {
    let text = systemd::unit(&spec()).render();
    let unit = stead_export::unit::Unit::parse(&text).unwrap();
    let exec = unit.get("Service", "ExecStart").next().unwrap().to_string();
    let parsed = stead_export::unit::split_exec(&exec).unwrap();
    assert_eq!(parsed, argv());
    let envs: Vec<&str> = unit.get("Service", "Environment").collect();
    assert_eq!(envs.len(), 2, "{text}");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dir = std::env::temp_dir().join(format!("stead-mgr-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The program must exist for verify: point it at /bin/sh, keep the arguments.
        let mut s = spec();
        s.program = PathBuf::from("/bin/sh");
        s.cwd = None;
        let path = dir.join("trap-box.service");
        std::fs::write(&path, systemd::unit(&s).render()).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let relevant: Vec<&str> = stderr.lines().filter(|l| l.contains("trap-box")).collect();
        assert!(relevant.is_empty(), "systemd-analyze verify: {stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_openrc_script_parses_back_in_a_shell() {
    let script = openrc::script(&spec());
    let dir = std::env::temp_dir().join(format!("stead-mgr-openrc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trap-box");
    std::fs::write(&path, &script).unwrap();
    // What openrc-run does with these variables: source the script, `eval` the arguments.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#". "$1"; eval "set -- \"\$command\" $command_args"; for a in "$@"; do printf '%s\0' "$a"; done"#)
        .arg("sh")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut want = argv();
    want.push(String::new()); // the split after the last NUL
    assert_eq!(got, want, "{script}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn python(code: &str, input: &str) -> Option<String> {
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
#[cfg_attr(not(has_python3), ignore = "needs python3")]
fn the_launchd_plist_parses_back_with_plistlib() {
    let text = launchd::plist(&spec());
    let Some(json) = python(
        "import plistlib, json, sys; d = plistlib.loads(sys.stdin.buffer.read()); print(json.dumps(d))",
        &text,
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "required in CI but cannot run: python3 is not installed"
        );
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let args: Vec<String> = v["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(args, argv());
    assert_eq!(
        v["EnvironmentVariables"]["GREETING"],
        "it's \"quoted\" $NOT %p \\ end"
    );
    assert_eq!(
        v["KeepAlive"]["SuccessfulExit"], false,
        "restart on failure only"
    );
    assert_eq!(v["Label"], "stead.trap-box");
}

#[test]
#[cfg_attr(not(has_python3), ignore = "needs python3")]
fn the_task_scheduler_xml_parses_back() {
    let text = task_scheduler::task_xml(&spec(), r"PC\alice & bob");
    let Some(out) = python(
        "import sys, xml.etree.ElementTree as E\nns={'t':'http://schemas.microsoft.com/windows/2004/02/mit/task'}\nr=E.fromstring(sys.stdin.read().replace('encoding=\"UTF-16\"',''))\nprint(r.find('.//t:Command',ns).text)\nprint(r.find('.//t:Arguments',ns).text)\nprint(r.find('.//t:UserId',ns).text)",
        &text,
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "required in CI but cannot run: python3 is not installed"
        );
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    let mut lines = out.lines();
    let command = lines.next().unwrap().to_string();
    let arguments = lines.next().unwrap();
    let mut got = vec![command];
    got.extend(parse_windows(arguments));
    assert_eq!(got, argv());
    assert_eq!(lines.next().unwrap(), r"PC\alice & bob");
}

#[test]
fn names_and_values_that_would_inject_are_refused() {
    for bad in ["", "../x", "-x", ".hidden", "a b", "a/b", &"x".repeat(81)] {
        let mut s = spec();
        s.name = bad.to_string();
        assert!(s.validate().is_err(), "{bad:?}");
    }
    let mut s = spec();
    s.args
        .push("line\n[Service]\nExecStartPre=/bin/evil".into());
    assert!(s.validate().unwrap_err().to_string().contains("newline"));
    let mut s = spec();
    s.env.insert("A".into(), "x\ny".into());
    assert!(s.validate().is_err());
    let mut s = spec();
    s.program = PathBuf::from("relative/serve");
    assert!(s.validate().unwrap_err().to_string().contains("absolute"));
}
