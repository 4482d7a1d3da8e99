//! A deterministic child process for stead's tests: it does exactly what its flags say.
//!
//! ```text
//! stead-testchild [--print N] [--pace DURATION] [--stdout TEXT] [--stderr TEXT]
//!                 [--partial TEXT] [--ignore-term]
//!                 [--spawn-grandchild N] [--double-fork] [--write-pids FILE]
//!                 [--list-fds FILE] [--hold-mb N] [--spin] [--sleep DURATION|forever]
//!                 [--exit CODE]
//! ```
//!
//! `--print N` writes `line 0000000001` … `line N` (16 bytes each), as fast as it can, or one
//! every `--pace`; `--partial` writes text without a newline (a line cut short).
//! `--list-fds FILE` writes the open file descriptors (Linux, `/proc/self/fd`), one per line
//! as `FD -> TARGET`, before anything else. Actions run in this order: fd list, output,
//! signal disposition, grandchildren, pid file, memory and spinning, sleep, exit.
//! `--hold-mb N` allocates N MiB and touches every page (resident memory); `--spin` keeps a
//! thread busy (a core's CPU time). Durations are `250ms`, `2s`, or `forever`. Grandchildren inherit `--ignore-term`
//! and sleep forever; `--double-fork` makes one that forks again, calls `setsid`, and so
//! leaves the process group (a daemon escaping its supervisor).

#[cfg(windows)]
mod scm;

use std::io::Write;
use std::time::Duration;

#[derive(Default, Clone, Copy)]
enum Sleep {
    #[default]
    No,
    For(Duration),
    Forever,
}

#[derive(Default)]
struct Plan {
    print: u64,
    pace: Option<Duration>,
    partial: Option<String>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    ignore_term: bool,
    grandchildren: u32,
    double_fork: bool,
    write_pids: Option<String>,
    list_fds: Option<String>,
    hold_mb: usize,
    spin: bool,
    sleep: Sleep,
    exit: i32,
}

fn usage(msg: &str) -> ! {
    eprintln!("stead-testchild: {msg}");
    eprintln!(
        "usage: stead-testchild [--print N] [--pace D] [--partial T] [--stdout T] [--stderr T] [--ignore-term] [--spawn-grandchild N] [--double-fork] [--write-pids FILE] [--list-fds FILE] [--hold-mb N] [--spin] [--sleep D|forever] [--exit CODE]"
    );
    std::process::exit(64);
}

fn duration(s: &str) -> Sleep {
    if s == "forever" {
        return Sleep::Forever;
    }
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        usage(&format!("bad duration `{s}`"));
    };
    let n: f64 = num
        .parse()
        .unwrap_or_else(|_| usage(&format!("bad duration `{s}`")));
    Sleep::For(Duration::from_secs_f64(n * scale))
}

fn parse() -> Plan {
    let mut plan = Plan::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--print" => {
                plan.print = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--print takes a count"))
            }
            "--stdout" => plan.stdout.push(value()),
            "--partial" => plan.partial = Some(value()),
            "--pace" => match duration(&value()) {
                Sleep::For(d) => plan.pace = Some(d),
                _ => usage("--pace takes a duration"),
            },
            "--stderr" => plan.stderr.push(value()),
            "--ignore-term" => plan.ignore_term = true,
            "--spawn-grandchild" => {
                plan.grandchildren = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--spawn-grandchild takes a count"))
            }
            "--double-fork" => plan.double_fork = true,
            "--write-pids" => plan.write_pids = Some(value()),
            "--list-fds" => plan.list_fds = Some(value()),
            "--sleep" => plan.sleep = duration(&value()),
            "--hold-mb" => {
                plan.hold_mb = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--hold-mb takes a count"));
            }
            "--spin" => plan.spin = true,
            "--exit" => {
                plan.exit = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--exit takes a code"))
            }
            other => usage(&format!("unknown flag `{other}`")),
        }
    }
    plan
}

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_hours(1));
    }
}

fn main() {
    #[cfg(windows)]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.first().map(String::as_str) == Some("--scm") {
            scm::main(&args[1..]);
        }
        if args.first().map(String::as_str) == Some("--sddl") {
            scm::print_sddl(args.get(1).map_or("", String::as_str));
        }
        if args.first().map(String::as_str) == Some("--key-sddl") {
            scm::print_key_sddl(args.get(1).map_or("", String::as_str));
        }
    }
    let plan = parse();
    if let Some(path) = &plan.list_fds {
        list_fds(path);
    }
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        for i in 1..=plan.print {
            writeln!(out, "line {i:010}").expect("stdout");
            if let Some(pace) = plan.pace {
                out.flush().expect("stdout");
                std::thread::sleep(pace);
            }
        }
        for s in &plan.stdout {
            writeln!(out, "{s}").expect("stdout");
        }
        if let Some(p) = &plan.partial {
            write!(out, "{p}").expect("stdout");
        }
        out.flush().expect("stdout");
    }
    for s in &plan.stderr {
        eprintln!("{s}");
    }
    let pids = family(&plan);
    if let Some(path) = &plan.write_pids {
        let text: String = pids.iter().fold(String::new(), |mut t, p| {
            t.push_str(&p.to_string());
            t.push('\n');
            t
        });
        let tmp = format!("{path}.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .expect("write pids");
    }
    // After any fork: a second thread would make forking unsafe.
    let held = vec![1u8; plan.hold_mb << 20];
    if plan.spin {
        std::thread::spawn(|| {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        });
    }
    match plan.sleep {
        Sleep::For(d) => std::thread::sleep(d),
        Sleep::Forever => sleep_forever(),
        Sleep::No => {}
    }
    drop(std::hint::black_box(held));
    std::process::exit(plan.exit);
}

/// Writes `FD -> TARGET` for each open descriptor, atomically (a rename), read before this
/// process opens anything of its own (the directory handle itself is left out).
fn list_fds(path: &str) {
    let mut lines = Vec::new();
    let dir = std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd");
    for entry in dir.flatten() {
        let target = std::fs::read_link(entry.path())
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        if target.starts_with("/proc/") && target.ends_with("/fd") {
            continue;
        }
        lines.push(format!(
            "{} -> {target}",
            entry.file_name().to_string_lossy()
        ));
    }
    lines.sort_by_key(|l| l.split(' ').next().and_then(|n| n.parse::<u32>().ok()));
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, lines.join("\n") + "\n")
        .and_then(|()| std::fs::rename(&tmp, path))
        .expect("write the fd list");
}

/// Sets the signal disposition and starts the grandchildren; returns our pid and theirs.
#[cfg(unix)]
fn family(plan: &Plan) -> Vec<u32> {
    let mut pids = vec![std::process::id()];
    if plan.ignore_term {
        // SAFETY: installing SIG_IGN for two signals; no handler code runs.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
        }
    }
    for _ in 0..plan.grandchildren {
        pids.push(fork_sleeper(false));
    }
    if plan.double_fork {
        pids.push(fork_sleeper(true));
    }
    pids
}

#[cfg(not(unix))]
fn family(plan: &Plan) -> Vec<u32> {
    if plan.grandchildren > 0 || plan.double_fork || plan.ignore_term {
        usage("--spawn-grandchild, --double-fork and --ignore-term are Unix-only");
    }
    vec![std::process::id()]
}

/// Forks a process that sleeps forever; with `escape`, it forks again and calls `setsid` so
/// that the sleeper leaves the process group. Returns the sleeper's pid.
#[cfg(unix)]
fn fork_sleeper(escape: bool) -> u32 {
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two fds into a live array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: this program is single-threaded; the child only makes system calls.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: system calls on our own fds in the forked child.
        unsafe {
            libc::close(fds[0]);
            if escape {
                libc::setsid();
                let inner = libc::fork();
                if inner != 0 {
                    libc::_exit(0);
                }
            }
            let me = libc::getpid();
            libc::write(
                fds[1],
                (&raw const me).cast(),
                std::mem::size_of::<libc::pid_t>(),
            );
            libc::close(fds[1]);
        }
        sleep_forever();
    }
    let mut got: libc::pid_t = 0;
    // SAFETY: reading one pid_t from our pipe into a live local.
    unsafe {
        libc::close(fds[1]);
        libc::read(
            fds[0],
            (&raw mut got).cast(),
            std::mem::size_of::<libc::pid_t>(),
        );
        libc::close(fds[0]);
        if escape {
            // Reap the intermediate process so the sleeper is reparented at once.
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    got as u32
}
