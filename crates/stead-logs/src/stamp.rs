//! Timestamps on log lines (RFC 3339 with microseconds), and reading them back.
//!
//! `jiff` does the calendar and time-zone work (the system zone on every OS), the same crate
//! ripgrep's author keeps; one timestamp is formatted per read from a pipe, not per line:
//! the lines of one read arrived together.

use std::fmt::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use stead_config::Timestamps;

/// Formats "now" for the line prefix.
#[derive(Debug, Clone)]
pub(crate) struct Stamper {
    zone: Option<TimeZone>,
}

impl Stamper {
    /// `None` when lines get no timestamp.
    pub(crate) fn new(kind: Timestamps) -> Option<Self> {
        match kind {
            Timestamps::None => None,
            Timestamps::Utc => Some(Stamper { zone: None }),
            Timestamps::Local => Some(Stamper {
                zone: Some(TimeZone::system()),
            }),
        }
    }

    /// Writes the timestamp of `now` into `buf` (cleared first).
    pub(crate) fn format(&self, now: Timestamp, buf: &mut String) {
        buf.clear();
        match &self.zone {
            None => {
                let _ = write!(buf, "{}", now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"));
            }
            Some(tz) => {
                let zoned = now.to_zoned(tz.clone());
                let _ = write!(buf, "{}", zoned.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z"));
            }
        }
    }
}

/// Formats `now` in UTC for the line prefix (what [`Stamper`] writes by default).
#[cfg(test)]
pub(crate) fn utc(now: Timestamp) -> String {
    let mut s = String::new();
    Stamper { zone: None }.format(now, &mut s);
    s
}

/// The timestamp at the start of a log line written with timestamps, and the rest of it.
pub(crate) fn leading_timestamp(line: &[u8]) -> Option<(Timestamp, &[u8])> {
    // The shortest RFC 3339 stamp is 20 bytes (`2026-11-23T15:34:39Z`).
    if line.len() < 20 || !line[0].is_ascii_digit() || line.get(4) != Some(&b'-') {
        return None;
    }
    let end = memchr::memchr(b' ', &line[..line.len().min(40)])?;
    let text = std::str::from_utf8(&line[..end]).ok()?;
    let ts: Timestamp = text.parse().ok()?;
    Some((ts, &line[end + 1..]))
}

/// The name suffix of a rotated file: the rotation time in UTC, sortable as text.
pub(crate) fn file_stamp(now: Timestamp) -> String {
    now.strftime("%Y%m%dT%H%M%S%.6fZ").to_string()
}

/// Whether `s` is a [`file_stamp`].
pub(crate) fn is_file_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 23
        && b[8] == b'T'
        && b[15] == b'.'
        && b[22] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 15 | 22) || c.is_ascii_digit())
}

/// Reads a [`file_stamp`] back.
#[cfg(test)]
pub(crate) fn parse_file_stamp(s: &str) -> Option<Timestamp> {
    if !is_file_stamp(s) {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..22]
    );
    iso.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_round_trip() {
        let t: Timestamp = "2026-11-23T15:34:39.123456Z".parse().unwrap();
        let s = utc(t);
        assert_eq!(s, "2026-11-23T15:34:39.123456Z");
        let line = format!("{s} hello world");
        let (back, rest) = leading_timestamp(line.as_bytes()).unwrap();
        assert_eq!((back, rest), (t, &b"hello world"[..]));
        assert!(leading_timestamp(b"hello world, this is no timestamp").is_none());
    }

    #[test]
    fn local_stamps_carry_their_offset_and_parse_back() {
        let t: Timestamp = "2026-11-23T15:34:39.5Z".parse().unwrap();
        let mut s = String::new();
        Stamper::new(Timestamps::Local).unwrap().format(t, &mut s);
        let line = format!("{s} x");
        assert_eq!(leading_timestamp(line.as_bytes()).unwrap().0, t, "{s}");
    }

    #[test]
    fn file_stamps_sort_and_parse() {
        let a: Timestamp = "2026-11-23T09:00:00.000001Z".parse().unwrap();
        let b: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let (sa, sb) = (file_stamp(a), file_stamp(b));
        assert!(sa < sb && is_file_stamp(&sa), "{sa} {sb}");
        assert_eq!(parse_file_stamp(&sa), Some(a));
        assert!(!is_file_stamp("20261123T100000Z"));
    }
}
