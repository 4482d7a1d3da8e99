//! The foreman view: every program's lines on the supervisor's stderr as `NAME | line`, the
//! names aligned and colored when stderr is a terminal. There, a line's control characters
//! are shown escaped ([`stead_config::terminal`]): a program cannot retitle, clear or write the
//! clipboard of the operator's terminal. Elsewhere (`log.console = true` into a journal or a
//! file) the bytes go as they are.

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
    escape: bool,
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
            escape: is_terminal(),
        }
    }

    pub(crate) fn line(&mut self, line: &[u8], piece: Piece) {
        self.buf.extend_from_slice(&self.prefix);
        if self.escape {
            // A CR before the newline only ends a CRLF line: nothing follows it to overwrite.
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            stead_config::terminal::escape_into(line, &mut self.buf);
        } else {
            self.buf.extend_from_slice(line);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn console(escape: bool) -> Console {
        Console {
            prefix: b"\x1b[36mweb |\x1b[0m ".to_vec(),
            buf: Vec::new(),
            escape,
        }
    }

    #[test]
    fn on_a_terminal_a_programs_controls_are_shown_and_stead_colours_stay() {
        let mut c = console(true);
        c.line(b"\x1b]0;title\x07 text\rFAKE\r", Piece::Line);
        c.line(b"\x1b[2J", Piece::Unterminated);
        let mut want = b"\x1b[36mweb |\x1b[0m \\e]0;title\\x07 text\\rFAKE\n".to_vec();
        want.extend_from_slice(b"\x1b[36mweb |\x1b[0m \\e[2J");
        want.extend_from_slice(Piece::Unterminated.marker());
        want.push(b'\n');
        assert_eq!(
            String::from_utf8_lossy(&c.buf),
            String::from_utf8_lossy(&want)
        );
    }

    #[test]
    fn elsewhere_the_bytes_go_as_they_are() {
        let mut c = console(false);
        c.line(b"\x1b[2J\r", Piece::Line);
        assert_eq!(c.buf, b"\x1b[36mweb |\x1b[0m \x1b[2J\r\n");
    }
}
