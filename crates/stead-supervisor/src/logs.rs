//! Output capture: each program's stdout and stderr go, through pipes the supervisor owns,
//! to `<log dir>/<name>.out.log` and `.err.log`. The pipe is only read as fast as the file
//! takes the bytes, so a slow disk slows the writer down (backpressure) and nothing is
//! dropped. Rotation, timestamps and other sinks build on this in the log pipeline.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::spawn::{OutputPipe, pump};

/// The file name stem for an instance: `web`, or `web@1` for `web:1` (`:` is not allowed in
/// Windows file names).
pub(crate) fn file_stem(instance: &str) -> String {
    instance.replace(':', "@")
}

/// The two log files of an instance.
pub(crate) fn paths(log_dir: &Path, instance: &str) -> (PathBuf, PathBuf) {
    let stem = file_stem(instance);
    (
        log_dir.join(format!("{stem}.out.log")),
        log_dir.join(format!("{stem}.err.log")),
    )
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// How often a sink whose file cannot be opened tries again.
const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// Starts copying `pipe` into the file at `path`, appending. The pipe is always drained,
/// even when the file cannot be opened or written (a full disk, a deleted directory): the
/// program keeps running, the bytes that could not be written are counted and reported, and
/// writing resumes when the file works again.
pub(crate) fn capture(pipe: OutputPipe, path: &Path, program: &str) {
    let program = program.to_string();
    let path = path.to_path_buf();
    // Opened at the first output: a silent program costs the supervisor no file descriptor
    // (each one it holds is copied by every fork and closed by every exec).
    let mut file: Option<File> = None;
    let mut last_try: Option<Instant> = None;
    let mut lost: u64 = 0;
    pump(pipe, move |chunk| {
        if file.is_none() && last_try.is_none_or(|t| t.elapsed() >= REOPEN_EVERY) {
            last_try = Some(Instant::now());
            match open_append(&path) {
                Ok(f) => file = Some(f),
                Err(e) if lost == 0 => {
                    tracing::error!(program = %program, "cannot open {}: {e}; counting the output that cannot be kept", path.display());
                }
                Err(_) => {}
            }
        }
        let written = match &mut file {
            Some(f) => f.write_all(chunk).map_err(|e| e.to_string()),
            None => Err("the file cannot be opened".to_string()),
        };
        match written {
            Err(e) => {
                if lost == 0 {
                    tracing::error!(program = %program, "cannot write {}: {e}; output is being lost", path.display());
                }
                lost += chunk.len() as u64;
            }
            Ok(()) if lost > 0 => {
                tracing::warn!(program = %program, "writing {} again; {lost} bytes were lost", path.display());
                lost = 0;
            }
            Ok(()) => {}
        }
    });
}
