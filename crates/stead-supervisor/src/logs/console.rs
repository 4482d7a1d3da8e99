//! The foreman view: every program's lines on the supervisor's stderr as `NAME | line`, the
//! names aligned and colored when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::frame::Piece;

static WIDTH: AtomicUsize = AtomicUsize::new(0);

/// Makes room for a name this long in the aligned prefix.
pub(crate) fn widen(len: usize) {
    WIDTH.fetch_max(len, Ordering::Relaxed);
}

/// Whether stead's stderr is a terminal: the default for echoing lines there. Elsewhere (a
/// systemd journal, a file) the echo would keep every line twice.
pub(crate) fn is_terminal() -> bool {
    static TTY: OnceLock<bool> = OnceLock::new();
    *TTY.get_or_init(|| std::io::stderr().is_terminal())
}

fn colored() -> bool {
    is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) struct Console {
    prefix: Vec<u8>,
    buf: Vec<u8>,
}

impl Console {
    pub(crate) fn new(name: &str, group: &str) -> Self {
        let width = WIDTH.load(Ordering::Relaxed).max(name.len());
        let prefix = if colored() {
            // The same color for every instance of a program.
            const COLORS: [u8; 6] = [36, 33, 32, 35, 34, 96];
            let hash = group
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            let c = COLORS[hash % COLORS.len()];
            format!("\x1b[{c}m{name:<width$} |\x1b[0m ")
        } else {
            format!("{name:<width$} | ")
        };
        Console {
            prefix: prefix.into_bytes(),
            buf: Vec::new(),
        }
    }

    pub(crate) fn line(&mut self, line: &[u8], piece: Piece) {
        self.buf.extend_from_slice(&self.prefix);
        self.buf.extend_from_slice(line);
        self.buf.extend_from_slice(piece.marker());
        self.buf.push(b'\n');
    }

    /// Writes the lines of one read in one go, so that programs' lines never interleave
    /// mid-line. A closed stderr is not an error worth stopping for.
    pub(crate) fn flush(&mut self) {
        if !self.buf.is_empty() {
            let _ = std::io::stderr().lock().write_all(&self.buf);
            self.buf.clear();
            if self.buf.capacity() > 1024 * 1024 {
                self.buf = Vec::new();
            }
        }
    }
}
