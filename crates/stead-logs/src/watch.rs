//! Patterns counted in programs' output lines, for `log` readiness and health checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts output lines that match a pattern (fed by the log pipeline, read by the checks).
///
/// ```
/// let w = stead_logs::LineWatch::new("listening on").unwrap();
/// w.line(b"server listening on :8080");
/// w.line(b"other");
/// assert_eq!(w.count(), 1);
/// ```
#[derive(Debug)]
pub struct LineWatch {
    regex: regex::bytes::Regex,
    matches: AtomicU64,
}

impl LineWatch {
    /// A watch for `pattern` (a regular expression), or `None` when it does not compile
    /// (the config parser has already refused such a pattern).
    pub fn new(pattern: &str) -> Option<Arc<LineWatch>> {
        regex::bytes::Regex::new(pattern).ok().map(|regex| {
            Arc::new(LineWatch {
                regex,
                matches: AtomicU64::new(0),
            })
        })
    }

    /// One whole output line (without its newline).
    pub fn line(&self, line: &[u8]) {
        if self.regex.is_match(line) {
            self.matches.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The pattern, as written.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// How many lines matched so far.
    pub fn count(&self) -> u64 {
        self.matches.load(Ordering::Relaxed)
    }
}
