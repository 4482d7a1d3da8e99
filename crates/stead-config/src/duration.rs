//! Human durations for the config and the CLI: `"1.5s"`, `"250ms"`, `"2m"`, `"1h30m"`.
//!
//! Written here rather than taken from `humantime` because that crate rejects fractional
//! values (`"1.5s"`), which people write, and accepts units (months, years) that make no
//! sense for timeouts.

use std::fmt::Write;
use std::time::Duration;

/// The timeout that never ends: `"infinity"` in the config (`stop_timeout = "infinity"`:
/// after the stop signal, wait for the program however long it takes; never kill it).
/// Read only by [`parse_timeout`]; [`format_duration`] writes it back as `infinity`.
pub const INFINITY: Duration = Duration::MAX;

/// Parses a timeout: a human duration as [`parse_duration`] reads it, or `"infinity"`
/// ([`INFINITY`]: no timeout at all).
///
/// ```
/// use stead_config::{INFINITY, parse_timeout};
/// assert_eq!(parse_timeout("infinity").unwrap(), INFINITY);
/// assert_eq!(parse_timeout("5s").unwrap(), std::time::Duration::from_secs(5));
/// ```
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    if text.trim() == "infinity" {
        return Ok(INFINITY);
    }
    parse_duration(text).map_err(|e| format!("{e}, or \"infinity\" for no timeout"))
}

/// Parses a human duration: one or more `<number><unit>` parts, where the number may have a
/// fraction and the unit is `ms`, `s`, `m` or `h`. `"0"` alone is also accepted.
///
/// ```
/// use std::time::Duration;
/// use stead_config::parse_duration;
/// assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse_duration("10").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration; write for example \"5s\", \"250ms\" or \"1m30s\"".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let value: f64 = num.parse().map_err(|_| {
            format!("`{text}` is not a duration; write for example \"5s\", \"250ms\" or \"1m30s\"")
        })?;
        let scale = match unit.trim() {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hours" => 3600.0,
            "" => {
                return Err(format!(
                    "`{text}` has no unit; write \"{num}s\" for seconds or \"{num}ms\" for milliseconds"
                ));
            }
            other => {
                return Err(format!(
                    "`{other}` in `{text}` is not a time unit; use ms, s, m or h"
                ));
            }
        };
        total += value * scale;
        rest = next;
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way [`parse_duration`] reads it, shortest first: `1.5s`, `250ms`,
/// `2m`, `1h5m`; [`INFINITY`] as `infinity`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(stead_config::format_duration(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(stead_config::format_duration(Duration::from_secs(3900)), "1h5m");
/// ```
pub fn format_duration(d: Duration) -> String {
    if d == INFINITY {
        return "infinity".into();
    }
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = (ms % 1000) / 100;
        return if tenths == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenths}s")
        };
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 && h == 0 {
        let _ = write!(out, "{s}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_and_fractional_values() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0.1s").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "s", "5", "5 parsecs", "1.2.3s", "-1s", "1d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn infinity_is_a_timeout_but_not_a_duration() {
        assert_eq!(parse_timeout("infinity").unwrap(), INFINITY);
        assert_eq!(format_duration(INFINITY), "infinity");
        assert!(parse_duration("infinity").is_err());
        assert_eq!(parse_timeout("0").unwrap(), Duration::ZERO);
        let e = parse_timeout("forever").unwrap_err();
        assert!(e.contains("\"infinity\""), "{e}");
    }

    #[test]
    fn format_round_trips() {
        for text in ["250ms", "1.5s", "2m", "1h5m", "59s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
