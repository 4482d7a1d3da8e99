//! Starting, signalling, containing and reaping processes: the one place that talks to the
//! OS about children. The backend is chosen once, here; `unix.rs` and `windows.rs` define the
//! same items.
//!
//! - Unix: each program leads its own process group; on Linux stead is a child subreaper, so
//!   descendants that escape the group (double fork + `setsid`) are reparented to stead and
//!   reaped by it. Every spawned process carries `STEAD_INSTANCE_ID` in its environment, which
//!   its descendants inherit; at stop time one scan of `/proc` finds the ones that left the
//!   group. One reaper (`waitpid(-1)` on `SIGCHLD`) owns every exit status, so reparented
//!   grandchildren are reaped without ever stealing a managed child's status.
//! - Windows: each program runs in a Job Object (kill on close) and its own console process
//!   group; a graceful stop is `CTRL_BREAK_EVENT` to that group, a kill terminates the job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::ProgramConfig;

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(target_os = "linux")]
pub(crate) use imp::cgroup;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub(crate) use imp::{
    ExitSource, OutputPipe, ProcessTree, STATE_VAR, check_can_switch_user, check_group, check_user,
    end_leftovers, finish_supervisor, init_supervisor, kill_aux, owner_of, pump, spawn, spawn_aux,
    sweep,
};

/// A helper process (an `exec` probe, a hook) and how its exit status will arrive.
pub(crate) struct AuxChild {
    pub pid: u32,
    /// Unix: to register with the engine under `pid`, so the reaper hands the status over.
    pub register: Option<tokio::sync::oneshot::Sender<crate::program::ExitStatus>>,
    pub exit: tokio::sync::oneshot::Receiver<crate::program::ExitStatus>,
    pub stderr: Option<std::process::ChildStderr>,
}

/// What to do with a child's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// Pipes read by the supervisor (log capture); with `merge_stderr`, one pipe for both
    /// (like `2>&1`), returned as `stdout`.
    Capture { merge_stderr: bool },
    /// The supervisor's own stdout/stderr (`stead run` in a terminal).
    Inherit,
}

pub(crate) use stead_logs::PipeSink;

/// Everything needed to start one instance.
pub(crate) struct SpawnRequest<'a> {
    pub config: &'a ProgramConfig,
    /// `config.command[0]` resolved to a file (see [`resolve_program`]).
    pub program: &'a Path,
    /// Unique per spawn; inherited by descendants, found again at stop time.
    pub instance_id: String,
    pub output: Output,
    /// Extra environment set by the supervisor (after the program's own).
    pub extra_env: BTreeMap<String, String>,
    /// Held sockets to hand over (descriptors from 3, `LISTEN_FDS`), with their names.
    pub sockets: Vec<(crate::sockets::Raw, String)>,
}

/// A spawned process and the ends of its output pipes, if captured.
pub(crate) struct Spawned {
    pub child: ProcessTree,
    pub stdout: Option<OutputPipe>,
    pub stderr: Option<OutputPipe>,
}

/// Finds the file `program` names: a path (relative to `cwd`) or a name looked up in `PATH`.
/// The error says what was searched.
pub(crate) fn resolve_program(
    program: &str,
    cwd: &Path,
    path_var: Option<&str>,
) -> Result<PathBuf, String> {
    let has_sep = program.contains('/') || (cfg!(windows) && program.contains('\\'));
    if has_sep {
        let p = Path::new(program);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        return if imp::is_executable(&full) {
            Ok(full)
        } else if full.exists() {
            Err(format!("`{}` is not an executable file", full.display()))
        } else {
            Err(format!("program `{}` not found", full.display()))
        };
    }
    let path_var = path_var
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let dir = if dir.is_absolute() {
            dir
        } else {
            cwd.join(dir)
        };
        for candidate in imp::candidates(&dir, program) {
            if imp::is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(format!(
        "program `{program}` not found in PATH ({})",
        path_var.to_string_lossy()
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_in_path_and_relative_paths() {
        let sh = resolve_program("sh", Path::new("/"), None).unwrap();
        assert!(sh.ends_with("sh"));
        assert!(resolve_program("./sh", Path::new("/bin"), None).is_ok());
        assert!(resolve_program("sh", Path::new("/"), Some("/nonexistent")).is_err());
        let plain = std::env::temp_dir().join(format!("stead-not-exec-{}", std::process::id()));
        std::fs::write(&plain, "data").unwrap();
        let err = resolve_program(plain.to_str().unwrap(), Path::new("/"), None).unwrap_err();
        std::fs::remove_file(&plain).unwrap();
        assert!(err.contains("not an executable"), "{err}");
    }
}
