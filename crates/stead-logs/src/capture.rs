//! One pipe of one process: frames its bytes and hands them to each destination.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::Stream;
use super::console::Console;
use super::file::FileLog;
use super::frame::{LineSplitter, Piece, TextFramer};
use super::stamp::Stamper;
use super::system::SystemLog;
use crate::LineWatch;
use stead_config::{LogFormat, LogMode, LogSettings, Timestamps};

/// Where the bytes read from an output pipe go: the supervisor reads each pipe of a program
/// and hands the bytes here, in order.
pub trait PipeSink: Send + 'static {
    /// The next bytes, in order.
    fn chunk(&mut self, data: &[u8]);
    /// The pipe reached end of file: every process holding its write end has gone.
    fn end(&mut self);
}

/// One output of one process on its way to the instance's destinations (made by
/// [`crate::InstanceLog::capture`]).
pub struct StreamCapture {
    file: Option<Arc<Mutex<FileLog>>>,
    raw: bool,
    stamper: Option<Stamper>,
    /// The timestamp of the current read and a space, when lines get one.
    prefix: String,
    /// For a text file (streaming: partial lines are written as they come).
    text: Option<TextFramer>,
    /// For whole-line destinations: JSON file, console, system log.
    splitter: Option<LineSplitter>,
    json: Option<JsonLines>,
    console: Option<Console>,
    system: Option<SystemLog>,
    /// Line patterns counted for `log` readiness and health checks.
    watches: Vec<Arc<LineWatch>>,
}

thread_local! {
    // Framed output of one read, reused by every pipe read on this thread (not one per pipe:
    // a hundred programs logging with timestamps would each keep a megabyte).
    static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl StreamCapture {
    pub(crate) fn new(
        name: &str,
        group: &str,
        stream: Stream,
        s: &LogSettings,
        file: Option<Arc<Mutex<FileLog>>>,
        console: bool,
        watches: Vec<Arc<LineWatch>>,
    ) -> Self {
        let raw = s.mode == LogMode::Raw;
        let json = (file.is_some() && s.format == LogFormat::Json)
            .then(|| JsonLines::new(name, stream, s.timestamps));
        let text = (file.is_some() && !raw && json.is_none()).then(|| TextFramer::new(s.max_line));
        let console = console.then(|| Console::new(name, group));
        let system = if s.journald || s.eventlog {
            match SystemLog::new(name, group, stream) {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::error!(program = %name, "cannot write to the system log: {e}; the output still goes to the other destinations");
                    None
                }
            }
        } else {
            None
        };
        let splitter =
            (json.is_some() || console.is_some() || system.is_some() || !watches.is_empty())
                .then(|| LineSplitter::new(s.max_line));
        super::pipe_opened();
        StreamCapture {
            file,
            raw,
            stamper: if text.is_some() {
                Stamper::new(s.timestamps)
            } else {
                None
            },
            prefix: String::new(),
            text,
            splitter,
            json,
            console,
            system,
            watches,
        }
    }

    fn each_line(&mut self, data: Option<&[u8]>) {
        let Some(splitter) = &mut self.splitter else {
            return;
        };
        let json = &mut self.json;
        let console = &mut self.console;
        let system = &mut self.system;
        let watches = &self.watches;
        if let Some(j) = json.as_mut() {
            j.start(crate::wall::now());
        }
        let mut emit = |line: &[u8], piece: Piece| {
            if let Some(j) = json.as_mut() {
                j.line(line, piece);
            }
            if let Some(c) = console.as_mut() {
                c.line(line, piece);
            }
            if let Some(s) = system.as_mut() {
                s.line(line, piece);
            }
            for w in watches {
                w.line(line);
            }
        };
        match data {
            Some(d) => splitter.push(d, &mut emit),
            None => splitter.finish(&mut emit),
        }
        if let Some(c) = console.as_mut() {
            c.flush();
        }
        if let (Some(j), Some(f)) = (json.as_mut(), &self.file)
            && !j.buf.is_empty()
        {
            f.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .write(&j.buf);
        }
    }
}

impl PipeSink for StreamCapture {
    fn chunk(&mut self, data: &[u8]) {
        if let Some(file) = &self.file {
            let mut f = file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if self.raw {
                f.write(data);
            } else if let Some(text) = &mut self.text {
                if let Some(st) = &self.stamper {
                    st.format(crate::wall::now(), &mut self.prefix);
                    self.prefix.push(' ');
                }
                OUT.with(|out| {
                    let mut out = out.borrow_mut();
                    let bytes = text.push(data, self.prefix.as_bytes(), &mut out);
                    f.write(bytes);
                    if out.capacity() > 4 * 1024 * 1024 {
                        *out = Vec::new();
                    }
                });
            }
        }
        self.each_line(Some(data));
    }

    fn end(&mut self) {
        if let (Some(file), Some(text)) = (&self.file, &mut self.text) {
            let tail = text.finish();
            if !tail.is_empty() {
                file.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .write(tail);
            }
        }
        self.each_line(None);
    }
}

impl Drop for StreamCapture {
    fn drop(&mut self) {
        super::pipe_closed();
    }
}

/// JSON lines: `{"ts":…,"program":…,"stream":…,"line":…}`, plus `"cut":"split"` on a piece
/// of a long line and `"cut":"eof"` on a last line that had no newline. Bytes that are not
/// UTF-8 are replaced (U+FFFD); use `mode = "raw"` for binary output.
struct JsonLines {
    /// `","program":"web","stream":"stdout","line":` after the timestamp.
    middle: String,
    stamper: Stamper,
    ts: String,
    /// `{"ts":"…` and `middle`: what every line of one read begins with, copied once a line.
    head: Vec<u8>,
    buf: Vec<u8>,
}

impl JsonLines {
    fn new(name: &str, stream: Stream, ts: Timestamps) -> Self {
        let program = serde_json::to_string(name).unwrap_or_default();
        JsonLines {
            middle: format!(
                "\",\"program\":{program},\"stream\":\"{}\",\"line\":",
                stream.name()
            ),
            stamper: Stamper::new(ts)
                .unwrap_or_else(|| Stamper::new(Timestamps::Utc).expect("utc")),
            ts: String::new(),
            head: Vec::new(),
            buf: Vec::new(),
        }
    }

    fn start(&mut self, now: Timestamp) {
        self.stamper.format(now, &mut self.ts);
        self.head.clear();
        self.head.extend_from_slice(b"{\"ts\":\"");
        self.head.extend_from_slice(self.ts.as_bytes());
        self.head.extend_from_slice(self.middle.as_bytes());
        self.buf.clear();
    }

    fn line(&mut self, line: &[u8], piece: Piece) {
        self.buf.extend_from_slice(&self.head);
        crate::json::push_string(&mut self.buf, line);
        match piece {
            Piece::Line => {}
            Piece::Split => self.buf.extend_from_slice(b",\"cut\":\"split\""),
            Piece::Unterminated => self.buf.extend_from_slice(b",\"cut\":\"eof\""),
        }
        self.buf.extend_from_slice(b"}\n");
    }
}
