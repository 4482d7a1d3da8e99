//! No config text can take a running supervisor down: hostile files and random mutations of
//! a real one are each loaded twice through the production path (`stead reload`, and SIGHUP
//! every few), and after every one the supervisor still answers; a refused reload leaves the
//! running program untouched, and the good file, restored, reloads cleanly at the end.
#![cfg(unix)]
mod support;
use std::time::Duration;
use support::*;

const GOOD: &str = "[program.keeper]\ncommand = [\"{child}\", \"--sleep\", \"forever\"]\nstop_timeout = \"2s\"\n\
[program.pool]\ncommand = [\"{child}\", \"--sleep\", \"3s\", \"--exit\", \"{index}\"]\nnumprocs = 2\nrestart = \"on-failure\"\n\
backoff = { initial = \"100ms\", max = \"1s\" }\ndepends_on = [\"keeper\"]\n\
ready = { exec = [\"true\"] }\nhealth = { tcp = \"127.0.0.1:1\", interval = \"1s\", failures = 3 }\n\
[log]\nmax_size = \"1MB\"\n";

/// Files that broke (or could break) the loader: empty argvs, wrong types, cycles, huge
/// numbers, control bytes, duplicate tables.
const HOSTILE: &[&str] = &[
    "[program.w]\ncommand = []\n",
    "[program.w]\ncommand = [1, 2]\n",
    "[program.w]\ncommand = [[]]\n",
    "[program.w]\ncommand = \"\"\n",
    "[program.w]\ncommand = \"\"\nshell = true\n",
    "[program.w]\ncommand = \"'unbalanced\"\n",
    "[program.w]\ncommand = [\"\"]\n",
    "[program.w]\ncommand = [\"sh\"]\nnumprocs = 0\n",
    "[program.w]\ncommand = [\"sh\"]\nnumprocs = -1\n",
    "[program.w]\ncommand = [\"sh\"]\nnumprocs = 99999999999999999999\n",
    "[program.w]\ncommand = [\"sh\"]\nstop_timeout = \"99999999999999999999h\"\n",
    "[program.w]\ncommand = [\"sh\"]\nready = { exec = [] }\n",
    "[program.w]\ncommand = [\"sh\"]\non_fatal = []\n",
    "[program.w]\ncommand = [\"sh\"]\ndepends_on = [\"w\"]\n",
    "[program.a]\ncommand = [\"sh\"]\ndepends_on = [\"b\"]\n[program.b]\ncommand = [\"sh\"]\ndepends_on = [\"a\"]\n",
    "[program.\"\"]\ncommand = [\"sh\"]\n",
    "[program.\"a\\u0000b\"]\ncommand = [\"sh\"]\n",
    "[program.\"../../etc\"]\ncommand = [\"sh\"]\n",
    "[program.w]\ncommand = [\"sh\"]\n[program.w]\ncommand = [\"sh\"]\n",
    "[program.w]\ncommand = [\"sh\"]\nenv_file = \"/dev/zero\"\n",
    "[program.w]\ncommand = [\"sh\"]\ncwd = \"/dev/null\"\n",
    "[program]\n",
    "program = 1\n",
    "[program.w]\n",
    "",
    "\u{feff}",
    "[[program]]\ncommand = [\"sh\"]\n",
    "[program.w]\ncommand = [\"sh\"]\nlog = { max_size = \"0\", keep = -5 }\n",
    "[metrics]\nlisten = \"0.0.0.0:0\"\n",
];

/// Pieces spliced into the good file at random places.
const TOKENS: &[&str] = &[
    "[]",
    "\"\"",
    "0",
    "-1",
    "[",
    "]",
    "{",
    "}",
    "=",
    "\n",
    "\"",
    "'",
    "\\",
    "\u{0}",
    "\u{1b}[2J",
    "numprocs = 0\n",
    "command = []\n",
    "[program.x]\n",
    "depends_on = [\"nope\"]\n",
    "1e400",
    "\"1ns\"",
    "\"999999999999h\"",
];

/// A small deterministic generator: the same mutations on every run, so a failure repeats.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn mutate(base: &str, rng: &mut Lcg) -> String {
    let mut s: Vec<char> = base.chars().collect();
    for _ in 0..=rng.below(3) {
        match rng.below(4) {
            0 if !s.is_empty() => {
                let at = rng.below(s.len());
                let len = rng.below(12).min(s.len() - at);
                s.drain(at..at + len);
            }
            1 => {
                let at = rng.below(s.len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                for (i, c) in t.chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
            2 if !s.is_empty() => {
                let at = rng.below(s.len());
                s[at] = TOKENS[rng.below(TOKENS.len())]
                    .chars()
                    .next()
                    .unwrap_or('x');
            }
            _ => {
                // Duplicate a line (a duplicate key or table).
                let text: String = s.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                let line = lines[rng.below(lines.len())];
                let mut out = text.clone();
                out.push('\n');
                out.push_str(line);
                out.push('\n');
                s = out.chars().collect();
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn no_config_can_crash_a_running_supervisor() {
    let mut h = Harness::new("hostile-reloads");
    h.write_config(GOOD);
    h.up();
    h.wait_for("keeper running", Duration::from_secs(10), |h| {
        h.state_of("keeper") == "running"
    });
    let supervisor = h.supervisor_pid();
    let good = std::fs::read_to_string(&h.config).unwrap();
    let mut rng = Lcg(0x5eed_5eed);
    let mut files: Vec<String> = HOSTILE.iter().map(|s| (*s).to_string()).collect();
    files.extend((0..60).map(|_| mutate(&good, &mut rng)));
    let mut refused = 0;
    for (n, text) in files.iter().enumerate() {
        // The good file first each time, so a refused reload is judged against a known state.
        std::fs::write(&h.config, &good).unwrap();
        let o = h.stead(&["reload"]);
        assert!(
            o.status.success(),
            "the good file was refused: {}",
            text_of(&o)
        );
        // A mutation the loader accepted may have given keeper a command that fails; the
        // good file is back, so start it (at once, whatever its backoff) and go from there.
        if h.state_of("keeper") != "running" {
            let o = h.stead(&["start", "keeper"]);
            assert!(o.status.success(), "{}", text_of(&o));
        }
        let keeper = h.pid_of("keeper").expect("keeper runs before each reload");
        std::fs::write(&h.config, text).unwrap();
        for round in 0..2 {
            if (n + round) % 5 == 0 {
                // SAFETY: kill(2) with SIGHUP on the supervisor this test started.
                unsafe { libc::kill(supervisor as i32, libc::SIGHUP) };
                std::thread::sleep(Duration::from_millis(20));
            } else {
                let o = h.stead(&["reload"]);
                let code = o.status.code();
                assert!(
                    matches!(code, Some(0..=2)),
                    "reload of file #{n} ended with {code:?} (a crash?):\n{text:?}\n{}",
                    text_of(&o)
                );
                if code != Some(0) {
                    refused += 1;
                    assert_eq!(
                        h.pid_of("keeper"),
                        Some(keeper),
                        "a refused reload touched a running program:\n{text:?}"
                    );
                }
            }
            assert!(
                alive(supervisor),
                "the supervisor died on file #{n}:\n{text:?}\n{}",
                h.log()
            );
            assert!(
                h.try_status().is_some(),
                "the supervisor stopped answering after file #{n}:\n{text:?}"
            );
        }
    }
    assert!(refused >= HOSTILE.len(), "only {refused} reloads refused");
    std::fs::write(&h.config, &good).unwrap();
    let o = h.stead(&["reload"]);
    assert!(o.status.success(), "{}", text_of(&o));
    h.wait_for("keeper running again", Duration::from_secs(10), |h| {
        h.state_of("keeper") == "running"
    });
    assert_eq!(h.stead(&["shutdown"]).status.code(), Some(0));
    assert_eq!(h.wait_exit(Duration::from_secs(20)), 0);
}

fn text_of(o: &std::process::Output) -> String {
    text(o)
}
