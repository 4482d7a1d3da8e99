//! Turning a stream of bytes into log lines: pure code, no I/O, so every edge (a line split
//! across reads, a line longer than the limit, output that ends mid-line) is unit-tested.
//!
//! Two framers share the same rules:
//! - `TextFramer` streams: a partial line is written at once (so `stead logs -f` shows a
//!   prompt or a progress line as it appears) and the rest follows when it arrives. It only
//!   adds a prefix at each line start and a marker where a line is split or left unfinished.
//!   Without a prefix and without a split, it hands back the input slice untouched (no copy).
//! - [`LineSplitter`] holds a partial line until its end, for destinations that take whole
//!   records (JSON lines, the console, journald, the Event Log).

use memchr::memchr;

/// Ends the piece of a line that was longer than `max_line`; the line goes on in the next.
pub const SPLIT_MARKER: &[u8] = b" [stead: line continues]";
/// Ends a last line that had no newline when the output ended (the program exited or was
/// killed mid-line).
pub const EOF_MARKER: &[u8] = EOF_LINE.split_at(EOF_LINE.len() - 1).0;
/// [`EOF_MARKER`] and the newline that ends the line it closes.
const EOF_LINE: &[u8] = b" [stead: no newline at end]\n";

/// How a piece of a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// With a newline (not included in the piece).
    Line,
    /// Cut at `max_line`; the line continues.
    Split,
    /// The output ended before a newline.
    Unterminated,
}

impl Piece {
    /// What a text destination puts after the piece: nothing, or the marker that says how
    /// it ended.
    pub fn marker(self) -> &'static [u8] {
        match self {
            Piece::Line => b"",
            Piece::Split => SPLIT_MARKER,
            Piece::Unterminated => EOF_MARKER,
        }
    }
}

/// Streaming framer for text log files.
#[derive(Debug)]
pub(crate) struct TextFramer {
    max_line: usize,
    /// The last byte handed out was not a newline.
    mid_line: bool,
    /// Bytes of the current line handed out so far.
    line_len: usize,
}

impl TextFramer {
    pub(crate) fn new(max_line: usize) -> Self {
        TextFramer {
            max_line: max_line.max(1),
            mid_line: false,
            line_len: 0,
        }
    }

    /// Frames `chunk`, putting `prefix` before each line that starts in it. Returns the bytes
    /// to write: `chunk` itself when nothing had to be added, else `out` (cleared first).
    pub(crate) fn push<'a>(
        &mut self,
        chunk: &'a [u8],
        prefix: &[u8],
        out: &'a mut Vec<u8>,
    ) -> &'a [u8] {
        if prefix.is_empty() && self.fits(chunk) {
            self.advance_unchanged(chunk);
            return chunk;
        }
        out.clear();
        let mut i = 0;
        while i < chunk.len() {
            if !self.mid_line {
                out.extend_from_slice(prefix);
                self.mid_line = true;
                self.line_len = 0;
            }
            let room = self.max_line - self.line_len;
            let window_end = chunk.len().min(i + room + 1);
            match memchr(b'\n', &chunk[i..window_end]) {
                Some(off) => {
                    out.extend_from_slice(&chunk[i..=i + off]);
                    self.mid_line = false;
                    i += off + 1;
                }
                None if window_end - i > room => {
                    out.extend_from_slice(&chunk[i..i + room]);
                    out.extend_from_slice(SPLIT_MARKER);
                    out.push(b'\n');
                    self.mid_line = false;
                    i += room;
                }
                None => {
                    out.extend_from_slice(&chunk[i..]);
                    self.line_len += chunk.len() - i;
                    i = chunk.len();
                }
            }
        }
        out
    }

    /// The output ended: closes an unfinished line with [`EOF_MARKER`]. Returns what to write.
    pub(crate) fn finish(&mut self) -> &'static [u8] {
        if std::mem::replace(&mut self.mid_line, false) {
            self.line_len = 0;
            EOF_LINE
        } else {
            b""
        }
    }

    /// Whether `chunk` needs no split (every line in it within `max_line`). Looks for the
    /// last newline in each window of `max_line + 1` bytes, so it costs a few searches per
    /// read instead of one per line: a window that holds a newline ends every line in it.
    fn fits(&self, chunk: &[u8]) -> bool {
        let mut pos = 0;
        let mut carried = if self.mid_line { self.line_len } else { 0 };
        loop {
            // The longest stretch without a newline that is still allowed, plus its newline.
            let room = self.max_line - carried.min(self.max_line) + 1;
            let end = chunk.len().min(pos + room);
            match memchr::memrchr(b'\n', &chunk[pos..end]) {
                Some(nl) => {
                    pos += nl + 1;
                    carried = 0;
                }
                None => return end - pos < room,
            }
            if pos == chunk.len() {
                return true;
            }
        }
    }

    fn advance_unchanged(&mut self, chunk: &[u8]) {
        match memchr::memrchr(b'\n', chunk) {
            Some(nl) => {
                self.line_len = chunk.len() - nl - 1;
                self.mid_line = self.line_len > 0;
            }
            None if chunk.is_empty() => {}
            None => {
                self.line_len = if self.mid_line { self.line_len } else { 0 } + chunk.len();
                self.mid_line = true;
            }
        }
    }
}

/// Holding framer: hands out whole lines (without the newline), pieces of lines longer than
/// `max_line`, and at the end the unfinished last line.
#[derive(Debug)]
pub struct LineSplitter {
    max_line: usize,
    partial: Vec<u8>,
}

impl LineSplitter {
    /// A splitter that cuts lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            max_line: max_line.max(1),
            partial: Vec::new(),
        }
    }

    /// Feeds `chunk`; `emit` gets each whole line or piece it completes.
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(&[u8], Piece)) {
        while !chunk.is_empty() {
            let room = self.max_line - self.partial.len();
            let window = &chunk[..chunk.len().min(room + 1)];
            match memchr(b'\n', window) {
                Some(nl) => {
                    if self.partial.is_empty() {
                        emit(&chunk[..nl], Piece::Line);
                    } else {
                        self.partial.extend_from_slice(&chunk[..nl]);
                        emit(&self.partial, Piece::Line);
                        self.partial.clear();
                    }
                    chunk = &chunk[nl + 1..];
                }
                None if window.len() > room => {
                    if self.partial.is_empty() {
                        emit(&chunk[..room], Piece::Split);
                    } else {
                        self.partial.extend_from_slice(&chunk[..room]);
                        emit(&self.partial, Piece::Split);
                        self.partial.clear();
                    }
                    chunk = &chunk[room..];
                }
                None => {
                    self.partial.extend_from_slice(chunk);
                    chunk = &[];
                }
            }
        }
        if self.partial.is_empty() && self.partial.capacity() > 64 * 1024 {
            // A long line passed; do not keep its buffer for the life of the program.
            self.partial = Vec::new();
        }
    }

    /// The output ended: `emit` gets the unfinished last line, if any.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8], Piece)) {
        if !self.partial.is_empty() {
            emit(&self.partial, Piece::Unterminated);
            self.partial = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(max: usize, prefix: &[u8], chunks: &[&[u8]], end: bool) -> String {
        let mut f = TextFramer::new(max);
        let mut all = Vec::new();
        for c in chunks {
            let mut out = Vec::new();
            let got = f.push(c, prefix, &mut out).to_vec();
            all.extend(got);
        }
        if end {
            all.extend_from_slice(f.finish());
        }
        String::from_utf8(all).unwrap()
    }

    #[test]
    fn plain_text_passes_through_unchanged() {
        let mut f = TextFramer::new(10);
        let mut out = Vec::new();
        let chunk = b"ab\ncd\nef";
        let got = f.push(chunk, b"", &mut out);
        assert!(
            std::ptr::eq(got, chunk.as_slice()),
            "no copy without changes"
        );
        assert_eq!(text(10, b"", &[b"ab\nc", b"d\n"], true), "ab\ncd\n");
    }

    #[test]
    fn prefixes_go_before_each_line_start_even_across_reads() {
        assert_eq!(
            text(100, b"T ", &[b"one\ntw", b"o\nthree"], false),
            "T one\nT two\nT three"
        );
        assert_eq!(
            text(100, b"T ", &[b"x"], true),
            "T x [stead: no newline at end]\n"
        );
    }

    #[test]
    fn long_lines_are_split_with_a_marker_never_truncated() {
        let got = text(4, b"", &[b"abcdefghij\nxy\n"], true);
        assert_eq!(
            got,
            "abcd [stead: line continues]\nefgh [stead: line continues]\nij\nxy\n"
        );
        // Exactly max_line bytes is not split; the split is carried across reads.
        assert_eq!(text(4, b"", &[b"abcd\n"], true), "abcd\n");
        assert_eq!(
            text(4, b"", &[b"ab", b"cd", b"e\n"], true),
            "abcd [stead: line continues]\ne\n"
        );
        assert_eq!(
            text(4, b"> ", &[b"abcdef\n"], true),
            "> abcd [stead: line continues]\n> ef\n"
        );
    }

    #[test]
    fn unfinished_output_is_closed_with_a_marker() {
        assert_eq!(
            text(100, b"", &[b"done\npart"], true),
            "done\npart [stead: no newline at end]\n"
        );
        assert_eq!(text(100, b"", &[b"done\n"], true), "done\n");
        assert_eq!(text(100, b"", &[], true), "");
    }

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<(String, Piece)> {
        let mut s = LineSplitter::new(max);
        let mut got = Vec::new();
        for c in chunks {
            s.push(c, |l, p| {
                got.push((String::from_utf8_lossy(l).into_owned(), p))
            });
        }
        s.finish(|l, p| got.push((String::from_utf8_lossy(l).into_owned(), p)));
        got
    }

    #[test]
    fn the_splitter_hands_out_whole_lines_pieces_and_the_rest() {
        use Piece::*;
        assert_eq!(
            split(4, &[b"a\nbc", b"d\nefghij", b"k"]),
            vec![
                ("a".into(), Line),
                ("bcd".into(), Line),
                ("efgh".into(), Split),
                ("ijk".into(), Unterminated)
            ]
        );
        assert_eq!(split(4, &[b"abcd\n"]), vec![("abcd".into(), Line)]);
        assert_eq!(
            split(4, &[b"ab", b"cdef\n"]),
            vec![("abcd".into(), Split), ("ef".into(), Line)]
        );
    }

    #[test]
    fn framing_never_loses_or_reorders_bytes() {
        // Whatever the read boundaries, removing prefixes and markers gives the input back.
        let input: Vec<u8> = (0..2000u32)
            .flat_map(|i| {
                let mut l = format!("{i}:").into_bytes();
                l.extend(std::iter::repeat_n(b'x', (i as usize * 7) % 23));
                if i % 5 != 0 {
                    l.push(b'\n');
                }
                l
            })
            .collect();
        for step in [1usize, 3, 7, 64, 1000, 5000] {
            let chunks: Vec<&[u8]> = input.chunks(step).collect();
            let got = text(16, b"", &chunks, false);
            for l in got.split('\n') {
                let body = l.strip_suffix(" [stead: line continues]").unwrap_or(l);
                assert!(
                    body.len() <= 16,
                    "step {step}: line of {} bytes: {l:?}",
                    body.len()
                );
            }
            let cleaned = got.replace(" [stead: line continues]\n", "");
            assert_eq!(cleaned.as_bytes(), &input[..], "step {step}");
            let mut joined = Vec::new();
            for (l, p) in split(16, &chunks) {
                joined.extend(l.as_bytes());
                if p == Piece::Line {
                    joined.push(b'\n');
                }
            }
            assert_eq!(joined, input, "splitter, step {step}");
        }
    }
}
