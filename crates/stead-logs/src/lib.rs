//! The log pipeline: each program's stdout and stderr, through pipes the supervisor owns,
//! to files (rotated, compressed, within a disk budget), the supervisor's console, journald
//! or the Windows Event Log.
//!
//! ```text
//! child ──pipe──▶ pump (log threads) ──▶ StreamCapture ──▶ FileLog ──▶ NAME.out.log
//!                                            │                 └─ rotate ─▶ janitor: gzip, retention
//!                                            ├──▶ console (NAME | line)
//!                                            └──▶ journald / Event Log
//! ```
//!
//! Nothing is dropped on the way: a pipe is read only as fast as its destinations take the
//! bytes, so a slow disk slows the program (backpressure). The one exception is a file the
//! disk refuses (full, gone, unwritable): then the program keeps running, a bounded amount is
//! held for the retry, the rest is counted, shown in `status`, and marked in the file. Only
//! regular files are opened (`open.rs`), so a FIFO or device planted where a log goes is such
//! a refusal, never a wait.
//!
//! Reading the files back (`stead logs`) is [`read`].
//!
//! The supervisor owns the pipes and copies each one into the [`PipeSink`] that
//! [`InstanceLog::capture`] gives; the `stead` library writes its own rotating file through
//! [`RotatingLog`]:
//!
//! ```
//! use stead_config::LogSettings;
//! use stead_logs::RotatingLog;
//!
//! let dir = std::env::temp_dir().join(format!("stead-logs-doc-{}", std::process::id()));
//! let mut log = RotatingLog::open(&dir, "myservice", LogSettings::default());
//! std::io::Write::write_all(&mut log, b"started\n").unwrap();
//! assert_eq!(std::fs::read_to_string(log.path()).unwrap(), "started\n");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod capture;
mod console;
mod file;
pub mod frame;
mod janitor;
mod json;
mod open;
pub mod ratelimit;
pub mod read;
mod rotating;
mod stamp;
#[cfg(unix)]
#[path = "system_unix.rs"]
mod system;
#[cfg(windows)]
#[path = "system_windows.rs"]
mod system;
pub mod wall;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use stead_config::LogSettings;
pub use stead_config::{NAME_MAX, file_stem, longest_file_name};

pub use capture::{PipeSink, StreamCapture};
pub use frame::{EOF_MARKER, SPLIT_MARKER};
pub use rotating::RotatingLog;
pub use watch::LineWatch;

/// Which output of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    /// Standard output (and standard error when merged).
    Out,
    /// Standard error.
    Err,
}

impl Stream {
    /// `stdout` or `stderr`, as JSON and `status` name it.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Out => "stdout",
            Stream::Err => "stderr",
        }
    }

    /// `out` or `err`, as in file names.
    pub fn short(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
        }
    }
}

/// Counters of one stream's log file, read by `status`.
#[derive(Debug, Default)]
pub(crate) struct StreamStats {
    pub written: AtomicU64,
    pub lost: AtomicU64,
    pub deleted_bytes: AtomicU64,
    pub deleted_files: AtomicU64,
    pub error: Mutex<Option<String>>,
}

/// The log counters of one program instance, kept across its restarts.
#[derive(Debug)]
pub(crate) struct LogStats {
    pub out: StreamStats,
    pub err: StreamStats,
    pub out_path: PathBuf,
    pub err_path: Option<PathBuf>,
}

impl LogStats {
    pub(crate) fn new(dir: &Path, stem: &str, merged: bool) -> Self {
        LogStats {
            out: StreamStats::default(),
            err: StreamStats::default(),
            out_path: dir.join(format!("{stem}.out.log")),
            err_path: (!merged).then(|| dir.join(format!("{stem}.err.log"))),
        }
    }

    pub(crate) fn stream(&self, s: Stream) -> &StreamStats {
        match s {
            Stream::Out => &self.out,
            Stream::Err => &self.err,
        }
    }

    pub(crate) fn live_paths(&self) -> Vec<PathBuf> {
        std::iter::once(self.out_path.clone())
            .chain(self.err_path.clone())
            .collect()
    }
}

/// A rotated file: `<stem>.<stamp>.log` or `.log.gz`, `stamp` the rotation time in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedFile {
    /// Its path.
    pub path: PathBuf,
    /// `20261123T153439.123456Z`: sorts by time.
    pub stamp: String,
    /// Gzipped.
    pub compressed: bool,
}

/// The rotated files of `stem` (`web.out`) in `dir`, oldest first.
pub fn rotated_files(dir: &Path, stem: &str) -> Vec<RotatedFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = format!("{stem}.");
    let mut files: Vec<RotatedFile> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix(&prefix)?;
            let (stamp, compressed) = match rest.strip_suffix(".log.gz") {
                Some(s) => (s, true),
                None => (rest.strip_suffix(".log")?, false),
            };
            stamp::is_file_stamp(stamp).then(|| RotatedFile {
                path: e.path(),
                stamp: stamp.to_string(),
                compressed,
            })
        })
        .collect();
    files.sort_by(|a, b| a.stamp.cmp(&b.stamp).then(b.compressed.cmp(&a.compressed)));
    // A crash between writing the .gz and removing the plain file leaves both: keep one.
    files.dedup_by(|later, earlier| later.stamp == earlier.stamp);
    files
}

/// Pipes being read, and a way to wait for them to end.
static ACTIVE: (Mutex<usize>, std::sync::Condvar) = (Mutex::new(0), std::sync::Condvar::new());

fn pipe_opened() {
    *ACTIVE
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
}

fn pipe_closed() {
    let mut n = ACTIVE
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *n = n.saturating_sub(1);
    ACTIVE.1.notify_all();
}

/// At exit, once every program has stopped: waits (up to `limit`) until every pipe has been
/// read to its end and written, then for the janitor's compressions, so that the last lines
/// of a program are on disk before stead exits. A pipe still held open by a process that
/// escaped (it would keep it open forever) is given up on after `limit`, with a warning.
pub fn drain(limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    let mut n = ACTIVE
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while *n > 0 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            tracing::warn!(
                "{} output pipe(s) still open at exit (held by a process outside stead's control); their unread output is lost",
                *n
            );
            return;
        }
        n = ACTIVE
            .1
            .wait_timeout(n, left)
            .map_or_else(|e| e.into_inner().0, |r| r.0);
    }
    drop(n);
    janitor::flush_within(deadline.saturating_duration_since(std::time::Instant::now()));
}

/// Asks every log file to be reopened before its next write (`SIGUSR1`, after an external
/// `logrotate` moved the files).
pub fn reopen_all() {
    file::REOPEN.fetch_add(1, Ordering::Relaxed);
}

/// The threads that read programs' pipes and write their logs, apart from the engine's own,
/// so that copying output at disk speed never delays a restart or a control request.
pub fn runtime() -> &'static tokio::runtime::Handle {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stead-log")
            .enable_io()
            .build()
            .expect("cannot start the log threads")
    })
    .handle()
}

pub(crate) fn system_zone() -> jiff::tz::TimeZone {
    static ZONE: OnceLock<jiff::tz::TimeZone> = OnceLock::new();
    ZONE.get_or_init(jiff::tz::TimeZone::system).clone()
}

/// The log files of a program instance and their counters (since the supervisor started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStatus {
    /// The live stdout file (stdout and stderr when merged), if output goes to files.
    pub stdout: Option<String>,
    /// The live stderr file, if separate.
    pub stderr: Option<String>,
    /// Bytes written to the files.
    pub written_bytes: u64,
    /// Bytes that could not be written or held (disk full, file unwritable).
    pub lost_bytes: u64,
    /// Bytes of rotated files removed by retention (`keep`, `max_total`).
    pub deleted_bytes: u64,
    /// Why the files cannot be written right now, while that lasts.
    pub error: Option<String>,
}

/// The output destinations of one program instance; kept across its restarts so that
/// counters add up and one writer owns each file.
///
/// ```
/// use stead_config::LogSettings;
/// use stead_logs::{InstanceLog, Stream};
///
/// let dir = std::env::temp_dir().join(format!("stead-logs-inst-{}", std::process::id()));
/// let log = InstanceLog::new(&dir, "web:1", "web", &LogSettings::default(), false);
/// assert!(log.captures());
/// assert!(log.status().stdout.unwrap().ends_with("web@1.out.log"));
/// let _sink = log.capture(Stream::Out, &[]);
/// ```
///
/// A clone writes to the same files, under the same locks and counters: two processes of
/// one instance (a rolling restart's overlap) share one log.
#[derive(Clone)]
pub struct InstanceLog {
    name: Arc<str>,
    group: Arc<str>,
    settings: Arc<LogSettings>,
    console: bool,
    out: Option<Arc<Mutex<file::FileLog>>>,
    err: Option<Arc<Mutex<file::FileLog>>>,
    stats: Arc<LogStats>,
}

impl InstanceLog {
    /// The destinations of instance `name` of `group`: files in `dir` as `settings` say,
    /// and the console when `foreground` and stderr is a terminal (unless `settings` decide).
    pub fn new(
        dir: &Path,
        name: &str,
        group: &str,
        settings: &LogSettings,
        foreground: bool,
    ) -> Self {
        let settings = Arc::new(settings.clone());
        let stem = file_stem(name);
        let stats = Arc::new(LogStats::new(dir, &stem, settings.merge_stderr));
        let file = |stream: Stream| {
            file::FileLog::new(
                dir,
                format!("{stem}.{}", stream.short()),
                settings.clone(),
                stats.clone(),
                stream,
            )
        };
        let console = settings
            .console
            .unwrap_or(foreground && console::is_terminal() && !settings.journald);
        if console {
            console::widen(name.len());
        }
        InstanceLog {
            name: name.into(),
            group: group.into(),
            out: settings.file.then(|| file(Stream::Out)),
            err: (settings.file && !settings.merge_stderr).then(|| file(Stream::Err)),
            console,
            stats,
            settings,
        }
    }

    /// Whether this was made for `config`'s name and log settings.
    pub fn is_for(&self, config: &stead_config::ProgramConfig) -> bool {
        *self.name == *config.name && *self.settings == config.log
    }

    /// Whether the program's output is read by stead (else it inherits stead's own).
    pub fn captures(&self) -> bool {
        self.settings.file || self.console || self.settings.journald || self.settings.eventlog
    }

    /// Whether stderr goes where stdout goes (one pipe for both).
    pub fn merge_stderr(&self) -> bool {
        self.settings.merge_stderr
    }

    /// The sink that copies one output of a new process to this instance's destinations,
    /// counting the lines that match `watches` on the way. The supervisor pumps the
    /// process's pipe into it on [`runtime`].
    pub fn capture(&self, stream: Stream, watches: &[Arc<LineWatch>]) -> StreamCapture {
        let file = match stream {
            Stream::Out => &self.out,
            Stream::Err => &self.err,
        };
        StreamCapture::new(
            &self.name,
            &self.group,
            stream,
            &self.settings,
            file.clone(),
            self.console,
            watches.to_vec(),
        )
    }

    /// The files and counters of this instance, for `status`.
    pub fn status(&self) -> LogStatus {
        let s = &self.stats;
        let sum = |f: fn(&StreamStats) -> u64| f(&s.out) + f(&s.err);
        let error = s
            .out
            .error
            .lock()
            .unwrap()
            .clone()
            .or_else(|| s.err.error.lock().unwrap().clone());
        LogStatus {
            // From the counters, never the writer: the engine must not wait for a busy disk.
            stdout: self.out.as_ref().map(|_| s.out_path.display().to_string()),
            stderr: self
                .err
                .as_ref()
                .and(s.err_path.as_ref())
                .map(|p| p.display().to_string()),
            written_bytes: sum(|x| x.written.load(Ordering::Relaxed)),
            lost_bytes: sum(|x| x.lost.load(Ordering::Relaxed)),
            deleted_bytes: sum(|x| x.deleted_bytes.load(Ordering::Relaxed)),
            error,
        }
    }
}

/// A scratch directory for one unit test, removed when the test passes (kept to look at
/// when it fails).
#[cfg(test)]
pub(crate) struct TestDir(PathBuf);

#[cfg(test)]
impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!("stead-logs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TestDir(dir)
}
