//! `stead logs -f` prints every line exactly once while the file rotates under it; rotated
//! files are valid gzip; `stead logs -n` reads back across them; SIGUSR1 reopens the files
//! after an external logrotate moved them.
#![cfg(unix)]
mod support;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

#[test]
fn logs_follow_across_rotation_and_reopen() {
    let mut h = Harness::new("follow");
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[log]
max_size = "4KB"
keep = 1000
[program.slow]
command = ["{child}", "--print", "1500", "--pace", "1ms", "--stdout", "done", "--sleep", "forever"]
autostart = false
"#,
    );
    h.up();
    let out = std::fs::File::create(h.dir.join("follow.out")).unwrap();
    let mut follow = h
        .command()
        .args(["logs", "-f", "-n", "0", "--stdout", "slow"])
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(h.stead(&["start", "slow"]).status.success());
    h.wait_for(
        "the follower to see the end",
        Duration::from_secs(60),
        |h| std::fs::read_to_string(h.dir.join("follow.out")).is_ok_and(|t| t.contains("done")),
    );
    let _ = follow.kill();
    let _ = follow.wait();
    let text = std::fs::read_to_string(h.dir.join("follow.out")).unwrap();
    let bodies: Vec<&str> = text
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect();
    let expected: Vec<String> = (1..=1500)
        .map(|i| format!("line {i:010}"))
        .chain(Some("done".to_string()))
        .collect();
    if bodies != expected {
        let missing: Vec<_> = expected
            .iter()
            .filter(|e| !bodies.contains(&e.as_str()))
            .take(5)
            .collect();
        panic!(
            "stead logs -f printed {} lines for {}; first missing: {missing:?}",
            bodies.len(),
            expected.len()
        );
    }

    let logs = h.dir.join("logs");
    let gz_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "gz"))
            .collect()
    };
    // Compression waits for the output to be quiet for a second.
    h.wait_for("rotated files compressed", Duration::from_secs(30), |_| {
        gz_files().len() >= 3
    });
    let gz = gz_files();
    for p in &gz {
        let t = Command::new("gzip").arg("-t").arg(p).output().unwrap();
        assert!(t.status.success(), "{} is not valid gzip", p.display());
    }
    // Reading back across rotated, compressed files.
    let out = h.stead(&["logs", "-n", "1200", "slow"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1200);
    assert!(
        text.lines().next().unwrap().ends_with("line 0000000302"),
        "{}",
        text.lines().next().unwrap()
    );
    let json = h.stead(&["logs", "-n", "1", "--json", "slow"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (
            v["program"].as_str(),
            v["line"].as_str(),
            v["stream"].as_str()
        ),
        (Some("slow"), Some("done"), Some("stdout"))
    );

    // An external logrotate moves the file; SIGUSR1 makes stead write a new one.
    std::fs::rename(logs.join("slow.out.log"), logs.join("moved.log")).unwrap();
    let pid = h.supervisor_pid();
    assert!(
        Command::new("kill")
            .args(["-USR1", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(h.stead(&["restart", "slow"]).status.success());
    h.wait_for("a new live file", Duration::from_secs(30), |_| {
        std::fs::read_to_string(logs.join("slow.out.log"))
            .is_ok_and(|t| t.contains("line 0000000001"))
    });
}
