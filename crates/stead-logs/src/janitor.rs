//! The one background thread of the log pipeline: it retries files the disk refused, gzips
//! rotated files and applies retention, so that none of that ever waits in the path from a
//! program's pipe to its live file. It sleeps in `recv` while there is nothing to do (no
//! timer wakes an idle supervisor), ticks once a second while some file is failing, and
//! compresses a rotated file once its program's output has been quiet for a second (at most
//! 30 s after the rotation), so that a burst is written at full speed first.

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::file::{FileLog, RETRY_EVERY};
use super::{LogStats, RotatedFile, rotated_files};
use stead_config::LogSettings;

pub(crate) enum Job {
    /// This file failed; retry it until it works.
    Retry(Weak<Mutex<FileLog>>),
    /// A file of `instance` in `dir` was rotated: compress, then apply retention.
    Rotated {
        dir: PathBuf,
        instance: String,
        settings: Arc<LogSettings>,
        stats: Arc<LogStats>,
        live: Vec<PathBuf>,
    },
    /// Answer once every job sent before has been done (shutdown).
    Flush(mpsc::Sender<()>),
}

static JANITOR: OnceLock<Sender<Job>> = OnceLock::new();

pub(crate) fn send(job: Job) {
    let tx = JANITOR.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("stead-log-janitor".into())
            .spawn(move || run(&rx))
            .expect("cannot start the log janitor thread");
        tx
    });
    let _ = tx.send(job);
}

/// Waits until the janitor has done every job sent so far, or `limit` passed.
pub(crate) fn flush_within(limit: std::time::Duration) {
    if JANITOR.get().is_none() {
        return;
    }
    let (tx, rx) = mpsc::channel();
    send(Job::Flush(tx));
    let _ = rx.recv_timeout(limit);
}

/// Compression waits until a program's output has been quiet this long…
const QUIET: Duration = Duration::from_secs(1);
/// …but never longer than this after the rotation.
const MAX_DEFER: Duration = Duration::from_secs(30);

/// A rotation whose compression waits for a quiet moment: a burst of output is written at
/// full speed, and the CPU work of gzip comes after it.
struct Deferred {
    dir: PathBuf,
    instance: String,
    settings: Arc<LogSettings>,
    stats: Arc<LogStats>,
    live: Vec<PathBuf>,
    rotated_at: Instant,
    due: Instant,
    written: u64,
}

impl Deferred {
    fn written_now(&self) -> u64 {
        self.stats.out.written.load(Ordering::Relaxed)
            + self.stats.err.written.load(Ordering::Relaxed)
    }

    fn finish(&self) {
        compress_all(&self.dir, &self.instance);
        prune(
            &self.dir,
            &self.instance,
            &self.settings,
            &self.stats,
            &self.live,
        );
    }
}

fn run(rx: &mpsc::Receiver<Job>) {
    crate::system::background_priority();
    let mut failing: Vec<Weak<Mutex<FileLog>>> = Vec::new();
    let mut deferred: Vec<Deferred> = Vec::new();
    let mut next_retry = Instant::now() + RETRY_EVERY;
    loop {
        let wake = deferred
            .iter()
            .map(|d| d.due)
            .chain((!failing.is_empty()).then_some(next_retry))
            .min();
        let job = match wake {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
        };
        match job {
            Ok(Job::Retry(w)) => {
                if failing.is_empty() {
                    next_retry = Instant::now() + RETRY_EVERY;
                }
                if !failing.iter().any(|f| f.ptr_eq(&w)) {
                    failing.push(w);
                }
            }
            Ok(Job::Rotated {
                dir,
                instance,
                settings,
                stats,
                live,
            }) => {
                // Retention at once (the disk budget must hold), compression when quiet.
                prune(&dir, &instance, &settings, &stats, &live);
                if settings.compress
                    && !deferred
                        .iter()
                        .any(|d| d.dir == dir && d.instance == instance)
                {
                    let now = Instant::now();
                    let mut d = Deferred {
                        dir,
                        instance,
                        settings,
                        stats,
                        live,
                        rotated_at: now,
                        due: now + QUIET,
                        written: 0,
                    };
                    d.written = d.written_now();
                    deferred.push(d);
                }
            }
            Ok(Job::Flush(done)) => {
                for d in deferred.drain(..) {
                    d.finish();
                }
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        deferred.retain_mut(|d| {
            if now < d.due {
                return true;
            }
            let written = d.written_now();
            if written != d.written && now.duration_since(d.rotated_at) < MAX_DEFER {
                d.written = written;
                d.due = now + QUIET;
                return true;
            }
            d.finish();
            false
        });
        if !failing.is_empty() && Instant::now() >= next_retry {
            failing.retain(|w| {
                let Some(f) = w.upgrade() else { return false };
                // A writer busy on the disk right now will retry by itself on its next write.
                let Ok(mut f) = f.try_lock() else { return true };
                f.retry();
                f.needs_retry()
            });
            next_retry = Instant::now() + RETRY_EVERY;
        }
    }
}

/// Gzips every rotated, uncompressed file of `instance`. A file is replaced only once its
/// compressed copy is complete and synced; on any error the plain file stays.
fn compress_all(dir: &Path, instance: &str) {
    for stream in ["out", "err"] {
        for f in rotated_files(dir, &format!("{instance}.{stream}")) {
            if f.compressed {
                continue;
            }
            if let Err(e) = compress(&f.path) {
                tracing::warn!(
                    "cannot compress {}: {e}; it stays uncompressed",
                    f.path.display()
                );
            }
        }
    }
}

fn compress(path: &Path) -> io::Result<()> {
    let gz = path.with_extension("log.gz");
    let tmp = path.with_extension("log.gz.tmp");
    let result = (|| {
        let mut input = super::open::read(path)?;
        // A temporary file left by a crash is removed first; a symlink in its place too.
        let _ = std::fs::remove_file(&tmp);
        let out = super::open::create_new(&tmp)?;
        let mut enc =
            flate2::write::GzEncoder::new(BufWriter::new(out), flate2::Compression::fast());
        io::copy(&mut input, &mut enc)?;
        let out = enc
            .finish()?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        out.sync_all()?;
        std::fs::rename(&tmp, &gz)
    })();
    match result {
        Ok(()) => std::fs::remove_file(path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Applies `keep` per stream and `max_total` over the instance, oldest first, and says so.
fn prune(dir: &Path, instance: &str, s: &LogSettings, stats: &LogStats, live: &[PathBuf]) {
    let mut all: Vec<(RotatedFile, u64, super::Stream)> = Vec::new();
    for (stream, name) in [(super::Stream::Out, "out"), (super::Stream::Err, "err")] {
        let mut files = rotated_files(dir, &format!("{instance}.{name}"));
        // Newest first.
        files.reverse();
        for (i, f) in files.into_iter().enumerate() {
            let size = std::fs::metadata(&f.path).map_or(0, |m| m.len());
            if i >= s.keep as usize {
                remove(&f, size, stats, stream, &format!("keep = {}", s.keep));
            } else {
                all.push((f, size, stream));
            }
        }
    }
    if s.max_total == 0 {
        return;
    }
    let mut total: u64 = live
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum::<u64>()
        + all.iter().map(|(_, size, _)| size).sum::<u64>();
    // Oldest first across both streams.
    all.sort_by(|a, b| a.0.stamp.cmp(&b.0.stamp));
    for (f, size, stream) in all {
        if total <= s.max_total {
            break;
        }
        remove(
            &f,
            size,
            stats,
            stream,
            &format!("max_total = {} bytes", s.max_total),
        );
        total -= size;
    }
}

fn remove(f: &RotatedFile, size: u64, stats: &LogStats, stream: super::Stream, why: &str) {
    match std::fs::remove_file(&f.path) {
        Ok(()) => {
            tracing::warn!(
                "log retention ({why}) deleted {} ({size} bytes, rotated {}); raise `keep` or `max_total` under [log] to keep more",
                f.path.display(),
                f.stamp
            );
            let st = stats.stream(stream);
            st.deleted_bytes.fetch_add(size, Ordering::Relaxed);
            st.deleted_files.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!("cannot delete old log {}: {e}", f.path.display()),
    }
}
