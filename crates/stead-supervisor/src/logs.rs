//! The log pipeline ([`stead_logs`]), and how the supervisor feeds it: each output pipe of a
//! program is pumped, on the log threads, into the sink its [`InstanceLog`] gives.

use std::sync::Arc;

pub use stead_logs::*;

use crate::spawn::OutputPipe;

/// Starting the copy of a new process's pipes to its instance's destinations.
pub(crate) trait Attach {
    /// Pumps `stdout` and `stderr` (those the process has) into [`InstanceLog::capture`].
    fn attach(
        &self,
        stdout: Option<OutputPipe>,
        stderr: Option<OutputPipe>,
        watches: &[Arc<LineWatch>],
    );
}

impl Attach for InstanceLog {
    fn attach(
        &self,
        stdout: Option<OutputPipe>,
        stderr: Option<OutputPipe>,
        watches: &[Arc<LineWatch>],
    ) {
        for (pipe, stream) in [(stdout, Stream::Out), (stderr, Stream::Err)] {
            if let Some(pipe) = pipe {
                crate::spawn::pump(pipe, self.capture(stream, watches), runtime());
            }
        }
    }
}
