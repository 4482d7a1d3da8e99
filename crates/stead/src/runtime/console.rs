//! Console and launchd: no readiness protocol; the lifecycle is told in the log.

use super::{Host, HostKind};
use crate::machine::Report;

pub(crate) struct Console {
    kind: HostKind,
    name: String,
}

impl Console {
    pub(crate) fn new(kind: HostKind, name: &str) -> Console {
        Console {
            kind,
            name: name.to_string(),
        }
    }
}

impl Host for Console {
    fn report(&mut self, report: &Report) {
        let name = &self.name;
        match report {
            Report::Starting { checkpoint: 1, .. } => {
                tracing::info!(host = self.kind.as_str(), "{name} starting");
            }
            Report::Starting { checkpoint, .. } => {
                tracing::debug!("{name} still starting (checkpoint {checkpoint})");
            }
            Report::Running => tracing::info!("{name} ready"),
            Report::Paused => tracing::info!("{name} paused"),
            Report::Reloading => tracing::info!("{name} reloading"),
            Report::Status(s) => tracing::info!("{name}: {s}"),
            Report::Stopping { checkpoint, .. } => {
                tracing::debug!("{name} stopping (checkpoint {checkpoint})");
            }
            Report::Stopped(exit) if exit.success() => {
                tracing::info!("{name} stopped: {}", exit.reason);
            }
            Report::Stopped(exit) => tracing::error!("{name} stopped: {}", exit.reason),
        }
    }
}
