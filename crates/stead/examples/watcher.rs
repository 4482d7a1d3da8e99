//! A file-change watcher service (notify crate): logs every change in a directory until it
//! is stopped.
//!
//! ```text
//! cargo run -p stead --example watcher -- /tmp/inbox
//! ```
//!
//! A directory that does not exist is a start failure (exit code 2) with a clear log line.

use std::path::PathBuf;

use notify::{RecursiveMode, Watcher};

fn main() -> stead::Exit {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    stead::Service::new("stead-example-watcher").run(move |ctx| async move {
        if !dir.is_dir() {
            return Err(stead::Failure::new(format!(
                "{} is not a directory; create it or pass another",
                dir.display()
            ))
            .with_code(2));
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res| {
            let _ = tx.send(res);
        })?;
        watcher.watch(&dir, RecursiveMode::Recursive)?;
        tracing::info!("watching {}", dir.display());
        ctx.ready();
        loop {
            tokio::select! {
                () = ctx.shutdown() => break,
                Some(res) = rx.recv() => match res {
                    Ok(event) => {
                        for path in &event.paths {
                            tracing::info!(kind = ?event.kind, "changed: {}", path.display());
                        }
                    }
                    Err(e) => tracing::warn!("watch error: {e}"),
                },
            }
        }
        drop(watcher);
        tracing::info!("stopped watching {}", dir.display());
        Ok(())
    })
}
