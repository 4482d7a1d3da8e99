//! A worker pool with pause/continue and a reloadable configuration file.
//!
//! ```text
//! cargo run -p stead --example worker_pool -- pool.conf     # pool.conf holds e.g. "4"
//! ```
//!
//! Workers take jobs from a queue. Pause (Windows `sc pause`) stops them taking new jobs;
//! Continue resumes. Reload (SIGHUP, `sc paramchange`, `stead reload`) reads the worker
//! count again from the file and keeps the old one if the file is invalid. On stop, every
//! worker finishes the job in hand, then the pool closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, watch};

fn parse_workers(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n @ 1..=64) => Ok(n),
        _ => Err(format!(
            "expected a worker count 1–64, found {:?}",
            text.trim()
        )),
    }
}

fn main() -> stead::Exit {
    let config = std::env::args_os().nth(1);
    stead::Service::new("stead-example-worker-pool")
        .handles_pause()
        .handles_reload()
        .run(move |ctx| async move {
            let cfg = match config {
                Some(path) => Some(stead::ConfigFile::load(path, parse_workers)?),
                None => None,
            };
            let workers = cfg.as_ref().map_or(2, |c| *c.get());
            let (paused_tx, paused_rx) = watch::channel(false);
            let queue = Arc::new(Mutex::new(0u64));
            let done = Arc::new(AtomicU64::new(0));
            for id in 0..workers {
                let token = ctx.shutdown_token();
                let mut paused = paused_rx.clone();
                let queue = queue.clone();
                let done = done.clone();
                ctx.spawn(async move {
                    loop {
                        while *paused.borrow() {
                            tokio::select! {
                                () = token.cancelled() => return,
                                _ = paused.changed() => {}
                            }
                        }
                        if token.is_cancelled() {
                            return;
                        }
                        let job = {
                            let mut q = queue.lock().await;
                            *q += 1;
                            *q
                        };
                        // The job in hand is finished even during a stop.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        done.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("worker {id} finished job {job}");
                    }
                });
            }
            let d = done.clone();
            ctx.on_stop("pool", async move {
                tracing::info!("pool closed after {} jobs", d.load(Ordering::Relaxed));
            });
            tracing::info!("{workers} workers started");
            ctx.ready();

            let mut events = ctx.events();
            loop {
                tokio::select! {
                    () = ctx.shutdown() => break,
                    Some(event) = events.next() => match event {
                        stead::Event::Pause => {
                            let _ = paused_tx.send(true);
                            tracing::info!("paused after {} jobs", done.load(Ordering::Relaxed));
                        }
                        stead::Event::Continue => {
                            let _ = paused_tx.send(false);
                            tracing::info!("continuing");
                        }
                        stead::Event::Reload => {
                            if let Some(c) = &cfg {
                                match c.reload() {
                                    Ok(n) => tracing::info!("reloaded: {n} workers from the next start"),
                                    Err(e) => tracing::warn!("{e}"),
                                }
                            } else {
                                tracing::info!("reload: no configuration file");
                            }
                            ctx.ready();
                        }
                        other => tracing::info!("ignored {other:?}"),
                    },
                }
            }
            Ok(())
        })
}
