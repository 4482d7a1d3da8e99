//! Rate limiting for stead's own warnings: a flood (another user connecting ten thousand
//! times a second, a log file that fails on every retry) must not turn into a flood of log
//! lines. Per key, the first occurrence is logged; the others within the interval are only
//! counted, and the count is told with the next line logged, or by [`Limiter::due`] once the
//! interval is over.
//!
//! Time is passed in, so every rule is tested with a fake clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one window lasts: at most one line per key per interval.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// What to do with one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `suppressed` occurrences of the previous window went unlogged.
    Log {
        /// How many were only counted before this one.
        suppressed: u64,
    },
    /// Only counted. `first` is true for the first one counted in this window: the moment
    /// to arrange for [`Limiter::due`] to be called once the window ends.
    Counted {
        /// The first occurrence counted in this window.
        first: bool,
        /// When this window ends.
        ends: Instant,
    },
}

impl Verdict {
    /// The text to append to the line logged: `""` or `" (N more like this in the last 10 s)"`.
    pub fn suffix(self) -> String {
        match self {
            Verdict::Log { suppressed } if suppressed > 0 => more(suppressed),
            _ => String::new(),
        }
    }
}

/// `" (N more like this in the last 10 s)"`.
pub fn more(n: u64) -> String {
    format!(" ({n} more like this in the last {} s)", INTERVAL.as_secs())
}

#[derive(Debug)]
struct Window {
    started: Instant,
    suppressed: u64,
}

/// Per-key windows. Keys should be few (a kind of event, a file): a window is dropped once
/// it is over and told.
#[derive(Debug)]
pub struct Limiter<K> {
    interval: Duration,
    windows: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter allowing one line per key per `interval`.
    pub fn new(interval: Duration) -> Self {
        Limiter {
            interval,
            windows: HashMap::new(),
        }
    }

    /// One occurrence of `key` at `now`.
    pub fn hit(&mut self, key: &K, now: Instant) -> Verdict {
        if let Some(w) = self.windows.get_mut(key) {
            if now.saturating_duration_since(w.started) < self.interval {
                w.suppressed += 1;
                return Verdict::Counted {
                    first: w.suppressed == 1,
                    ends: w.started + self.interval,
                };
            }
            let suppressed = w.suppressed;
            *w = Window {
                started: now,
                suppressed: 0,
            };
            return Verdict::Log { suppressed };
        }
        self.windows.insert(
            key.clone(),
            Window {
                started: now,
                suppressed: 0,
            },
        );
        Verdict::Log { suppressed: 0 }
    }

    /// The windows over at `now` that counted occurrences, with their counts; every window
    /// that is over is forgotten (the next occurrence is logged at once).
    pub fn due(&mut self, now: Instant) -> Vec<(K, u64)> {
        let mut out = Vec::new();
        let interval = self.interval;
        self.windows.retain(|k, w| {
            if now.saturating_duration_since(w.started) < interval {
                return true;
            }
            if w.suppressed > 0 {
                out.push((k.clone(), w.suppressed));
            }
            false
        });
        out
    }
}

/// A limiter shared by threads, for warnings raised where no task can be spawned to tell
/// the count later (the log writer): the count comes with the next line of that key.
pub struct Shared(Mutex<Option<Limiter<String>>>);

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// An empty limiter; `const`, for a `static`.
    pub const fn new() -> Self {
        Shared(Mutex::new(None))
    }

    /// Whether to log this occurrence of `key` now, and the suffix to add to the line.
    pub fn check(&self, key: &str) -> Option<String> {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let limiter = guard.get_or_insert_with(|| Limiter::new(INTERVAL));
        let now = Instant::now();
        // Forget old windows so that the map holds only keys seen in the last interval,
        // telling what they counted.
        let mut owed = 0;
        for (k, n) in limiter.due(now) {
            if k == key {
                owed = n;
            } else {
                tracing::warn!(
                    "{k}: {n} more like the last warning about it in the last {} s",
                    INTERVAL.as_secs()
                );
            }
        }
        match limiter.hit(&key.to_string(), now) {
            Verdict::Log { suppressed } => Some(
                Verdict::Log {
                    suppressed: suppressed + owed,
                }
                .suffix(),
            ),
            Verdict::Counted { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_is_logged_the_rest_counted_and_told_with_the_next_line() {
        let t0 = Instant::now();
        let mut l = Limiter::new(INTERVAL);
        assert_eq!(l.hit(&"refused", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(
            l.hit(&"refused", t0 + S),
            Verdict::Counted {
                first: true,
                ends: t0 + INTERVAL
            }
        );
        for i in 2..=5 {
            assert!(matches!(
                l.hit(&"refused", t0 + i * S),
                Verdict::Counted { first: false, .. }
            ));
        }
        let next = l.hit(&"refused", t0 + INTERVAL);
        assert_eq!(next, Verdict::Log { suppressed: 5 });
        assert_eq!(next.suffix(), " (5 more like this in the last 10 s)");
        // A new window began with that line.
        assert!(matches!(
            l.hit(&"refused", t0 + INTERVAL + S),
            Verdict::Counted { first: true, .. }
        ));
    }

    #[test]
    fn keys_are_limited_apart() {
        let t0 = Instant::now();
        let mut l = Limiter::new(INTERVAL);
        assert_eq!(l.hit(&"a", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(l.hit(&"b", t0), Verdict::Log { suppressed: 0 });
        assert!(matches!(l.hit(&"a", t0), Verdict::Counted { .. }));
    }

    #[test]
    fn due_tells_each_count_once_and_forgets_quiet_windows() {
        let t0 = Instant::now();
        let mut l = Limiter::new(INTERVAL);
        l.hit(&"a", t0);
        l.hit(&"a", t0 + S);
        l.hit(&"a", t0 + 2 * S);
        l.hit(&"quiet", t0);
        assert!(l.due(t0 + 9 * S).is_empty(), "windows not over yet");
        assert_eq!(l.due(t0 + INTERVAL), vec![("a", 2)]);
        assert!(l.due(t0 + 2 * INTERVAL).is_empty(), "told once");
        assert!(l.windows.is_empty(), "over windows are forgotten");
        // After a told window, the next occurrence is logged at once, with nothing owed.
        assert_eq!(
            l.hit(&"a", t0 + 2 * INTERVAL),
            Verdict::Log { suppressed: 0 }
        );
    }

    #[test]
    fn ten_thousand_occurrences_make_one_line_and_one_count() {
        let t0 = Instant::now();
        let mut l = Limiter::new(INTERVAL);
        let logged = (0..10_000u32)
            .filter(|i| {
                matches!(
                    l.hit(&"flood", t0 + Duration::from_micros(u64::from(*i) * 100)),
                    Verdict::Log { .. }
                )
            })
            .count();
        assert_eq!(logged, 1);
        assert_eq!(l.due(t0 + INTERVAL), vec![("flood", 9_999)]);
    }
}
