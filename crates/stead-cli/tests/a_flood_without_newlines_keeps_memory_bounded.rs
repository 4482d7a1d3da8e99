//! A program that writes 200 MB without a single newline: stead's memory stays bounded (the
//! text framer streams partial lines to the file; nothing waits for a newline in memory),
//! the line is split every `max_line` bytes with a marker, and no byte is lost. The console
//! destination holds at most one `max_line` piece.
#![cfg(target_os = "linux")]
mod support;
use std::time::Duration;
use support::*;

#[test]
#[allow(clippy::naive_bytecount)] // one pass over 200 MB in a test; no extra dependency
fn a_flood_without_newlines_keeps_memory_bounded() {
    let mut h = Harness::new("flood-no-newline");
    h.write_config(
        r#"
[supervisor]
log_dir = "{dir}/logs"
[log]
timestamps = false
max_size = "0"
[program.flood]
command = ["sh", "-c", "head -c 200000000 /dev/zero | tr '\\000' x; exec sleep 1000"]
restart = "never"
log = { console = true }
"#,
    );
    h.up();
    let live = h.dir.join("logs/flood.out.log");
    let expected = 200_000_000u64;
    let marker = " [stead: line continues]\n".len() as u64;
    let pieces = expected / (64 * 1024);
    h.wait_for(
        "the whole flood in the file",
        Duration::from_secs(120),
        |_| std::fs::metadata(&live).is_ok_and(|m| m.len() >= expected + pieces * marker),
    );
    // Peak resident memory of the supervisor over the whole run.
    let peak = status_kib(h.supervisor_pid(), "VmHWM:");
    assert!(
        peak < 40 * 1024,
        "stead's peak RSS was {peak} KiB for a 200 MB line"
    );
    let text = std::fs::read(&live).unwrap();
    let x = text.iter().filter(|b| **b == b'x').count() as u64;
    assert_eq!(x, expected, "every byte is in the file");
    let first = text.split(|b| *b == b'\n').next().unwrap();
    assert_eq!(
        first.len(),
        64 * 1024 + marker as usize - 1,
        "pieces of max_line bytes"
    );
}
