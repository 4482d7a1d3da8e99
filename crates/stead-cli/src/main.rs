//! `stead`: keep any program running, on any OS.
//!
//! A thin binary over `stead-supervisor`: it parses arguments, renders answers for people
//! (or as JSON with `--json`), and maps failures to documented exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operation failed |
//! | 2 | usage or config error (nothing was changed) |
//! | 3 | permission denied |
//! | 4 | not found: no supervisor running, or no such program |
//! | 75 | temporary: the supervisor is busy or shutting down; retry |
//! | 100 | a supervised program went fatal and that ended stead |
//!
//! `stead run` exits with its program's own exit code (128 + signal for a signal).

// The doc comments on clap's items are the `--help` text, which clap prints as plain text:
// Markdown there (backticks) reaches the terminal as punctuation, and `cli::tests` refuses
// it. The binary has no rustdoc pages (`doc = false`), so clippy's Markdown lint is off.
#![allow(clippy::doc_markdown)]

mod cli;
mod ctl;
#[cfg(unix)]
mod daemon;
mod docs;
mod export;
mod host;
mod install;
mod logs;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod mathlib;
#[cfg(all(
    target_arch = "x86_64",
    any(test, all(target_env = "musl", not(debug_assertions)))
))]
mod memcpy;
mod render;
mod run;
mod top;

use std::process::ExitCode;

// musl's own allocator returns memory to the kernel page by page (an mmap/munmap pair per
// small burst), which makes a status round trip several times slower; dlmalloc keeps it.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

use clap::Parser;

/// An error on its way out, with the exit code it maps to.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_PERMISSION: u8 = 3;
pub(crate) const EXIT_NOT_FOUND: u8 = 4;
pub(crate) const EXIT_TEMPORARY: u8 = 75;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if !f.message.is_empty() {
                // It may quote a name from the command line or the supervisor's answer.
                eprintln!("{}", stead_supervisor::terminal::escape_message(&f.message));
            }
            ExitCode::from(f.code)
        }
    }
}
