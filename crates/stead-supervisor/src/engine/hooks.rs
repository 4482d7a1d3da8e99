//! Hooks: the `on_fatal` and `on_unhealthy` commands a program's config names, run as
//! helper processes whose exit the reaper hands back.

use std::collections::BTreeMap;

use super::Engine;
use crate::spawn;

impl Engine {
    /// Runs a hook command, detached: its exit is reaped and logged, never waited for.
    pub(super) fn run_hook(&mut self, argv: &[String], program: &str, event: &str, reason: &str) {
        let mut env = BTreeMap::new();
        env.insert("STEAD_PROGRAM".to_string(), program.to_string());
        env.insert("STEAD_EVENT".to_string(), event.to_string());
        env.insert("STEAD_REASON".to_string(), reason.to_string());
        let cwd = self
            .config
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || std::path::PathBuf::from("."),
                std::path::Path::to_path_buf,
            );
        // A hook is the operator's alert: it runs as stead does.
        match spawn::spawn_aux(argv, &cwd, &BTreeMap::new(), &env, (None, None)) {
            Ok(mut child) => {
                tracing::info!(
                    program,
                    "ran the {event} hook `{}` (pid {})",
                    argv[0],
                    child.pid
                );
                if let Some(tx) = child.register.take() {
                    self.aux.insert(child.pid, tx);
                }
                let name = argv[0].clone();
                let program = program.to_string();
                tokio::spawn(async move {
                    drop(child.stderr.take());
                    if let Ok(status) = child.exit.await
                        && status != crate::program::ExitStatus::Code(0)
                    {
                        tracing::warn!(program, "hook `{name}` {status}");
                    }
                });
            }
            Err(e) => tracing::error!(program, "cannot run the {event} hook `{}`: {e}", argv[0]),
        }
    }
}
