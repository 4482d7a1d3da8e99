//! How a run ended: the process exit code, the code the host is told, and why.

use std::time::Duration;

use crate::machine::human;

/// The service's start function returned `Ok` or was stopped and drained in time.
pub const OK: u32 = 0;
/// The start function returned an error without a code of its own.
pub const FAILURE: u32 = 1;
/// The drain did not finish within the stop timeout; the process exits without waiting.
pub const STOP_TIMEOUT: u32 = 124;
/// `ready()` was not called within the start timeout.
pub const START_TIMEOUT: u32 = 125;
/// A second Ctrl-C (console) while draining: exit at once.
pub const FORCED: u32 = 130;

/// How a run ended. [`Exit::code`] becomes the process exit code, the SCM's
/// service-specific exit code, and is named in systemd's `STATUS=`.
///
/// ```
/// let exit = stead::Exit::clean("stopped");
/// assert_eq!(exit.code, 0);
/// assert_eq!(std::process::ExitCode::from(&exit), std::process::ExitCode::SUCCESS);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// 0 when clean; see the constants in this module for the codes stead itself uses.
    pub code: u32,
    /// One line for people: why the run ended.
    pub reason: String,
}

impl Exit {
    /// A clean end.
    pub fn clean(reason: impl Into<String>) -> Exit {
        Exit {
            code: OK,
            reason: reason.into(),
        }
    }

    pub(crate) fn failed(f: &crate::Failure, before_ready: bool) -> Exit {
        let when = if before_ready {
            "start failed"
        } else {
            "the service failed"
        };
        Exit {
            code: f.code(),
            reason: format!("{when}: {f} (exit code {})", f.code()),
        }
    }

    pub(crate) fn stop_timeout(limit: Duration) -> Exit {
        Exit {
            code: STOP_TIMEOUT,
            reason: format!(
                "the service did not finish within its stop timeout of {}; exiting with code {STOP_TIMEOUT} without waiting (raise it with Context::set_stop_timeout or Service::stop_timeout)",
                human(limit)
            ),
        }
    }

    pub(crate) fn start_timeout() -> Exit {
        Exit {
            code: START_TIMEOUT,
            reason: format!("start timed out (exit code {START_TIMEOUT})"),
        }
    }

    pub(crate) fn forced() -> Exit {
        Exit {
            code: FORCED,
            reason: format!("interrupted twice (exit code {FORCED})"),
        }
    }

    /// Whether the run ended well.
    pub fn success(&self) -> bool {
        self.code == OK
    }
}

impl From<&Exit> for std::process::ExitCode {
    fn from(e: &Exit) -> Self {
        // Exit codes above 255 are cut by Unix; keep "failed" visible as 1 then.
        match u8::try_from(e.code) {
            Ok(c) => std::process::ExitCode::from(c),
            Err(_) => std::process::ExitCode::FAILURE,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        (&e).into()
    }
}

impl std::process::Termination for Exit {
    fn report(self) -> std::process::ExitCode {
        self.into()
    }
}
