//! Entry points for the fuzz targets in `fuzz/` — not an API. Each one feeds untrusted
//! input to the code that reads it in production and checks the promises that must hold
//! for any input; a broken promise panics, which is what the fuzzer looks for.

use std::path::Path;

use crate::logs::frame::{LineSplitter, Piece};

/// A config file's text: parsed and checked (never against this host); an error must say
/// where (a line and column inside the text, or the whole file).
pub fn config(text: &str) {
    if let Err(e) = crate::Config::parse_portable(Path::new("fuzz.toml"), text) {
        let shown = e.to_string();
        assert!(
            shown.contains("fuzz.toml"),
            "an error that does not name the file: {shown}"
        );
    }
}

/// A notify datagram: parsed or ignored, never a panic; a status is one line, bounded.
pub fn notify_datagram(data: &[u8]) {
    if let Some(m) = crate::health::NotifyMessage::parse(data)
        && let Some(s) = m.status
    {
        assert!(s.chars().count() <= 256 && !s.contains('\n'));
    }
}

/// Output in chunks, as pipe reads bring it: the line splitter gives every byte back, in
/// order, in pieces no longer than `max_line`.
pub fn line_splitter(chunks: &[&[u8]], max_line: usize) {
    let max_line = max_line.clamp(1, 1 << 16);
    let mut s = LineSplitter::new(max_line);
    let mut joined = Vec::new();
    let mut emit = |piece: &[u8], how: Piece| {
        assert!(
            piece.len() <= max_line,
            "a piece of {} bytes over {max_line}",
            piece.len()
        );
        joined.extend_from_slice(piece);
        if how == Piece::Line {
            joined.push(b'\n');
        }
    };
    for c in chunks {
        s.push(c, &mut emit);
    }
    s.finish(&mut emit);
    let input: Vec<u8> = chunks.concat();
    assert_eq!(joined, input, "bytes lost, added or reordered");
}

/// A control API query string: accepted or refused with a 400, never a panic.
pub fn control_query(query: &str) {
    if let Err(e) = crate::control::server::names_from_query(Some(query)) {
        assert_eq!(e.status, 400);
    }
    if let Err(e) = crate::control::server::events_query(Some(query)) {
        assert_eq!(e.status, 400);
    } else if let Ok((_, wait)) = crate::control::server::events_query(Some(query)) {
        assert!(
            wait <= std::time::Duration::from_secs(60),
            "an unbounded wait"
        );
    }
}
