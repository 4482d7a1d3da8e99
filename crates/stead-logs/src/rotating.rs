//! [`RotatingLog`]: the supervisor's file destination — rotation by size and time, gzip and
//! retention in the background, a bounded hold while the disk refuses writes — as a plain
//! `io::Write`, for programs that write their own log (the `stead` library's file logging).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::file::FileLog;
use super::{LogStats, Stream};
use stead_config::LogSettings;

/// A log file at `DIR/NAME.log`, rotated to `DIR/NAME.<UTC time>.log[.gz]`. Cheap to clone;
/// clones write to the same file.
///
/// ```
/// use std::io::Write;
/// let dir = std::env::temp_dir().join(format!("stead-rotating-doc-{}", std::process::id()));
/// let mut log = stead_logs::RotatingLog::open(&dir, "app", Default::default());
/// writeln!(log, "hello").unwrap();
/// assert_eq!(std::fs::read_to_string(log.path()).unwrap(), "hello\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone)]
pub struct RotatingLog {
    file: Arc<Mutex<FileLog>>,
    path: PathBuf,
}

impl RotatingLog {
    /// Opens (creating `dir` as needed) with these settings: `max_size`, `rotate`, `keep`,
    /// `compress`, `max_total` and `buffer` apply; the rest is for program output.
    pub fn open(dir: &Path, name: &str, settings: LogSettings) -> RotatingLog {
        let _ = std::fs::create_dir_all(dir);
        let stats = Arc::new(LogStats::new(dir, name, true));
        let file = FileLog::new(
            dir,
            name.to_string(),
            Arc::new(settings),
            stats,
            Stream::Out,
        );
        RotatingLog {
            file,
            path: dir.join(format!("{name}.log")),
        }
    }

    /// The live file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits (at most `limit`) for background compression and retention to finish, e.g.
    /// before the process exits.
    pub fn settle(limit: Duration) {
        super::janitor::flush_within(limit);
    }
}

impl io::Write for RotatingLog {
    /// Never fails: what the disk refuses is held (up to `buffer`) and retried, the rest is
    /// counted and marked in the file when writing works again.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
