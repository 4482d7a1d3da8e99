//! One log file: appends, rotation at line boundaries, reopening, and what happens when the
//! disk refuses a write.
//!
//! Written here rather than taken from a crate: the rotating writers on crates.io
//! (`tracing-appender`, `file-rotate`, `rolling-file`, `logroller`) rotate between whole
//! `write` calls, not at the line boundaries of a byte stream that may end mid-line; they
//! drop or panic on a full disk instead of holding a bounded amount and marking the gap;
//! and none compresses in the background with a disk budget across two streams. The naming
//! and retention rules are small (`janitor.rs`); the hard part, cutting the stream, is here.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use jiff::{Timestamp, ToSpan};
use memchr::{memchr, memrchr};

use super::janitor::{self, Job};
use super::stamp::file_stamp;
use super::{LogStats, Stream};
use stead_config::{LogMode, LogSettings, RotateEvery};

/// Bumped by `SIGUSR1` (`reopen_all`): every file is reopened before its next write, for
/// an external `logrotate` that moved it away.
pub(crate) static REOPEN: AtomicU64 = AtomicU64::new(0);

/// How often a file that cannot be opened or written is tried again.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Write failures, rate-limited per file (a failure is retried every [`RETRY_EVERY`]).
static FAILURES: crate::ratelimit::Shared = crate::ratelimit::Shared::new();

/// After a rotation failed (a rename refused), how long to write on without rotating.
const ROTATION_PAUSE: Duration = Duration::from_secs(60);

pub(crate) struct FileLog {
    /// The live file.
    path: PathBuf,
    /// `web.out`: rotated files are `<dir>/web.out.<stamp>.log[.gz]`.
    stem: String,
    settings: Arc<LogSettings>,
    stats: Arc<LogStats>,
    stream: Stream,
    me: Weak<Mutex<FileLog>>,
    file: Option<File>,
    size: u64,
    /// The file is empty or ends with a newline: a rotation now splits no line.
    at_boundary: bool,
    rotate_at: Option<Timestamp>,
    rotation_failed: Option<Instant>,
    generation: u64,
    /// Output not yet written because the file refused it, oldest first.
    pending: Vec<u8>,
    /// Bytes dropped since the file last worked.
    lost: u64,
    /// Why the file does not work, while it does not.
    failing: Option<String>,
    last_open_try: Option<Instant>,
}

impl FileLog {
    pub(crate) fn new(
        dir: &Path,
        stem: String,
        settings: Arc<LogSettings>,
        stats: Arc<LogStats>,
        stream: Stream,
    ) -> Arc<Mutex<FileLog>> {
        let path = dir.join(format!("{stem}.log"));
        Arc::new_cyclic(|me| {
            Mutex::new(FileLog {
                path,
                stem,
                settings,
                stats,
                stream,
                me: me.clone(),
                file: None,
                size: 0,
                at_boundary: true,
                rotate_at: None,
                rotation_failed: None,
                generation: 0,
                pending: Vec::new(),
                lost: 0,
                failing: None,
                last_open_try: None,
            })
        })
    }

    fn raw(&self) -> bool {
        self.settings.mode == LogMode::Raw
    }

    /// Appends `data`. Never blocks on anything but the disk; never fails: what cannot be
    /// written is held (up to `buffer` bytes) and retried, and what does not fit is counted.
    pub(crate) fn write(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if !self.pending.is_empty() || self.failing.is_some() {
            self.retry();
            if !self.pending.is_empty() || self.failing.is_some() {
                self.hold(data, None);
                return;
            }
        }
        self.write_through(data);
    }

    /// Whether held output or a failure is waiting for a retry.
    pub(crate) fn needs_retry(&self) -> bool {
        !self.pending.is_empty() || self.failing.is_some()
    }

    /// Tries the file again: reopens it, writes what was held, and marks the gap left by
    /// what could not be held.
    pub(crate) fn retry(&mut self) {
        if self.file.is_none()
            && self
                .last_open_try
                .is_some_and(|t| t.elapsed() < RETRY_EVERY)
        {
            return;
        }
        let held = std::mem::take(&mut self.pending);
        let failure = self.failing.take();
        self.write_through(&held);
        if self.failing.is_some() {
            if let Some(f) = failure {
                // Still failing: keep the first reason, it is the one that was reported.
                self.failing = Some(f);
            }
            return;
        }
        let lost = std::mem::take(&mut self.lost);
        if lost > 0 && !self.raw() {
            let sep = if self.at_boundary { "" } else { "\n" };
            let reason = failure
                .as_deref()
                .unwrap_or("the file could not be written");
            let marker = format!("{sep}[stead: {lost} bytes of output were lost here: {reason}]\n");
            self.write_through(marker.as_bytes());
        }
        if let Some(reason) = failure {
            tracing::warn!(
                "writing {} again after: {reason}; {lost} bytes could not be kept",
                self.path.display()
            );
            *self.stats.stream(self.stream).error.lock().unwrap() = None;
        }
    }

    fn write_through(&mut self, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.file.is_none() || self.generation != REOPEN.load(Ordering::Relaxed) {
            self.last_open_try = Some(Instant::now());
            if let Err(e) = self.open() {
                let msg = format!("cannot open {}: {e}", self.path.display());
                self.hold(data, Some(msg));
                return;
            }
        }
        while !data.is_empty() {
            let cut = self.rotation_cut(data);
            let (now, rest) = match cut {
                Some(c) => data.split_at(c),
                None => (data, &[][..]),
            };
            if let Err((done, e)) = self.put(now) {
                let msg = format!("cannot write {}: {e}", self.path.display());
                self.file = None;
                self.hold(&data[done..], Some(msg));
                return;
            }
            if cut.is_some() {
                self.rotate();
            }
            data = rest;
        }
    }

    /// Where in `data` to rotate, if a rotation is due: always just after a newline (or at
    /// 0 when the file ends with one), except in raw mode.
    fn rotation_cut(&mut self, data: &[u8]) -> Option<usize> {
        if self
            .rotation_failed
            .is_some_and(|t| t.elapsed() < ROTATION_PAUSE)
        {
            return None;
        }
        let mut time_due = self.rotate_at.is_some_and(|t| crate::wall::now() >= t);
        if time_due && self.size == 0 {
            self.rotate_at = next_rotation(self.settings.rotate, crate::wall::now());
            time_due = false;
        }
        let max = self.settings.max_size;
        let over = max > 0 && self.size + data.len() as u64 > max;
        if !time_due && !over {
            return None;
        }
        if self.raw() {
            return Some(if time_due {
                0
            } else {
                max.saturating_sub(self.size) as usize
            });
        }
        if time_due {
            return if self.at_boundary {
                Some(0)
            } else {
                memchr(b'\n', data).map(|i| i + 1)
            };
        }
        let room = (max.saturating_sub(self.size) as usize).min(data.len());
        if let Some(i) = memrchr(b'\n', &data[..room]) {
            return Some(i + 1);
        }
        if self.at_boundary && self.size > 0 {
            return Some(0);
        }
        memchr(b'\n', &data[room..]).map(|i| room + i + 1)
    }

    /// Writes all of `bytes`, or says how many went out before the error.
    fn put(&mut self, bytes: &[u8]) -> Result<(), (usize, io::Error)> {
        let Some(file) = self.file.as_mut() else {
            return Err((0, io::Error::other("the file is not open")));
        };
        let mut done = 0;
        let result = loop {
            if done == bytes.len() {
                break Ok(());
            }
            match file.write(&bytes[done..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if done > 0 {
            self.size += done as u64;
            self.at_boundary = bytes[done - 1] == b'\n';
            self.stats
                .stream(self.stream)
                .written
                .fetch_add(done as u64, Ordering::Relaxed);
        }
        result.map_err(|e| (done, e))
    }

    /// Keeps `data` for later, up to the buffer; counts the rest as lost. `error` is set when
    /// the file just failed.
    fn hold(&mut self, data: &[u8], error: Option<String>) {
        if let Some(e) = error {
            if self.failing.is_none() {
                // Retried every second while it lasts: one line per 10 s, with the count.
                if let Some(more) = FAILURES.check(&self.path.display().to_string()) {
                    tracing::error!(
                        "{e}; the program keeps running, up to {} bytes of its output are held, and what does not fit is counted as lost{more}",
                        self.settings.buffer
                    );
                }
                *self.stats.stream(self.stream).error.lock().unwrap() = Some(e.clone());
                janitor::send(Job::Retry(self.me.clone()));
            }
            self.failing = Some(e);
        }
        let room = self.settings.buffer.saturating_sub(self.pending.len());
        let keep = room.min(data.len());
        self.pending.extend_from_slice(&data[..keep]);
        let lost = (data.len() - keep) as u64;
        if lost > 0 {
            self.lost += lost;
            self.stats
                .stream(self.stream)
                .lost
                .fetch_add(lost, Ordering::Relaxed);
        }
    }

    fn open(&mut self) -> io::Result<()> {
        self.generation = REOPEN.load(Ordering::Relaxed);
        self.file = None;
        let mut file = super::open::append(&self.path)?;
        let meta = file.metadata()?;
        self.size = meta.len();
        self.at_boundary = self.size == 0 || last_byte(&mut file, self.size) == Some(b'\n');
        let since = if self.size == 0 {
            crate::wall::now()
        } else {
            meta.modified()
                .ok()
                .and_then(|m| Timestamp::try_from(m).ok())
                .unwrap_or_else(crate::wall::now)
        };
        self.rotate_at = next_rotation(self.settings.rotate, since);
        self.file = Some(file);
        Ok(())
    }

    fn rotate(&mut self) {
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut now = crate::wall::now();
        let mut target = dir.join(format!("{}.{}.log", self.stem, file_stamp(now)));
        while target.exists() || target.with_extension("log.gz").exists() {
            now = now.checked_add(1.microsecond()).unwrap_or(now);
            target = dir.join(format!("{}.{}.log", self.stem, file_stamp(now)));
        }
        // Closed first: Windows cannot rename an open file.
        self.file = None;
        if let Err(e) = std::fs::rename(&self.path, &target) {
            tracing::error!(
                "cannot rotate {} to {}: {e}; writing on to the same file, trying again in {}s",
                self.path.display(),
                target.display(),
                ROTATION_PAUSE.as_secs()
            );
            self.rotation_failed = Some(Instant::now());
        } else {
            self.rotation_failed = None;
            janitor::send(Job::Rotated {
                dir,
                instance: self
                    .stem
                    .rsplit_once('.')
                    .map_or(self.stem.clone(), |(i, _)| i.to_string()),
                settings: self.settings.clone(),
                stats: self.stats.clone(),
                live: self.stats.live_paths(),
            });
        }
        if let Err(e) = self.open() {
            // The next write holds its data and retries.
            tracing::debug!("cannot reopen {} after rotation: {e}", self.path.display());
        }
    }
}

/// The byte at `size - 1` (reads move the offset; appends still go to the end).
fn last_byte(f: &mut File, size: u64) -> Option<u8> {
    f.seek(SeekFrom::Start(size - 1)).ok()?;
    let mut b = [0u8];
    f.read_exact(&mut b).ok()?;
    Some(b[0])
}

/// The next time-based rotation after `from`, at the start of the next local hour or day.
pub(crate) fn next_rotation(every: RotateEvery, from: Timestamp) -> Option<Timestamp> {
    let zoned = from.to_zoned(super::system_zone());
    let next = match every {
        RotateEvery::Never => return None,
        RotateEvery::Hourly => zoned
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.hour())
            .ok()?,
        RotateEvery::Daily => zoned.tomorrow().ok()?.start_of_day().ok()?,
    };
    Some(next.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir;

    fn log(dir: &Path, settings: LogSettings) -> (Arc<Mutex<FileLog>>, Arc<LogStats>) {
        let stats = Arc::new(LogStats::new(dir, "t", false));
        let f = FileLog::new(
            dir,
            "t.out".into(),
            Arc::new(settings),
            stats.clone(),
            Stream::Out,
        );
        (f, stats)
    }

    fn rotated(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("t.out.2")
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn size_rotation_cuts_only_after_a_newline() {
        let dir = test_dir("rotate-lines");
        let settings = LogSettings {
            max_size: 10,
            compress: false,
            keep: 100,
            ..LogSettings::default()
        };
        let (f, _) = log(&dir, settings);
        let mut f = f.lock().unwrap();
        f.write(b"aaaa\nbbbb\ncc");
        f.write(b"cc\ndddddddddddddd\ne\n");
        drop(f);
        let mut all = String::new();
        for p in rotated(&dir) {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.ends_with('\n'), "{text:?} in {}", p.display());
            all.push_str(&text);
        }
        all.push_str(&std::fs::read_to_string(dir.join("t.out.log")).unwrap());
        assert_eq!(all, "aaaa\nbbbb\ncccc\ndddddddddddddd\ne\n");
        assert!(rotated(&dir).len() >= 2);
    }

    #[test]
    fn raw_rotation_cuts_at_the_size_exactly() {
        let dir = test_dir("rotate-raw");
        let settings = LogSettings {
            max_size: 4,
            compress: false,
            keep: 100,
            mode: LogMode::Raw,
            ..LogSettings::default()
        };
        let (f, _) = log(&dir, settings);
        f.lock().unwrap().write(b"0123456789");
        let sizes: Vec<u64> = rotated(&dir)
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .collect();
        assert_eq!(sizes, [4, 4]);
        assert_eq!(std::fs::read(dir.join("t.out.log")).unwrap(), b"89");
    }

    #[test]
    fn an_unwritable_file_holds_then_counts_and_marks_the_gap() {
        let dir = test_dir("unwritable");
        let settings = LogSettings {
            buffer: 8,
            ..LogSettings::default()
        };
        let (f, stats) = log(&dir, settings);
        // A directory where the file should be: every open fails.
        std::fs::create_dir(dir.join("t.out.log")).unwrap();
        let mut g = f.lock().unwrap();
        g.write(b"12345\n");
        g.write(b"678\nabcdef\n");
        assert!(g.needs_retry());
        assert_eq!(stats.out.lost.load(Ordering::Relaxed), 9);
        assert!(stats.out.error.lock().unwrap().is_some());
        std::fs::remove_dir(dir.join("t.out.log")).unwrap();
        g.last_open_try = None;
        g.retry();
        assert!(!g.needs_retry());
        assert!(stats.out.error.lock().unwrap().is_none());
        g.write(b"after\n");
        drop(g);
        let text = std::fs::read_to_string(dir.join("t.out.log")).unwrap();
        assert!(
            text.starts_with("12345\n67\n[stead: 9 bytes of output were lost here: cannot open"),
            "{text}"
        );
        assert!(text.ends_with("]\nafter\n"), "{text}");
    }

    #[test]
    fn hourly_and_daily_rotation_times_are_at_the_next_boundary() {
        let t: Timestamp = "2026-11-23T15:34:39Z".parse().unwrap();
        let h = next_rotation(RotateEvery::Hourly, t).unwrap();
        assert!(h > t && h.duration_since(t).as_secs() <= 3600);
        let d = next_rotation(RotateEvery::Daily, t).unwrap();
        assert!(d > t && d.duration_since(t).as_secs() <= 25 * 3600);
        assert!(next_rotation(RotateEvery::Never, t).is_none());
    }
}
