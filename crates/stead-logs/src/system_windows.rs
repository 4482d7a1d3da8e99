//! The Windows Event Log: one event per line in the Application log, source `stead`
//! (registered by `stead install`; an unregistered source still records the text), type
//! Information for stdout and Error for stderr, the program's name in front of the line.

use std::io;

use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, REPORT_EVENT_TYPE,
    RegisterEventSourceW, ReportEventW,
};

use super::Stream;
use super::frame::{Piece, SPLIT_MARKER};

/// Event IDs: 1 for a line of stdout, 2 for stderr.
const EVENT_STDOUT: u32 = 1;
const EVENT_STDERR: u32 = 2;
/// An event's strings are limited to 31,839 characters.
const MAX_MESSAGE: usize = 30_000;

pub(crate) struct SystemLog {
    handle: windows_sys::Win32::Foundation::HANDLE,
    name: String,
    kind: REPORT_EVENT_TYPE,
    id: u32,
    failed: bool,
}

// SAFETY: an event source handle may be used from any thread.
unsafe impl Send for SystemLog {}

impl SystemLog {
    pub(crate) fn new(name: &str, _group: &str, stream: Stream) -> io::Result<Self> {
        let source: Vec<u16> = "stead".encode_utf16().chain(Some(0)).collect();
        // SAFETY: a NUL-terminated UTF-16 name; a null server means this machine.
        let handle = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        let (kind, id) = match stream {
            Stream::Out => (EVENTLOG_INFORMATION_TYPE, EVENT_STDOUT),
            Stream::Err => (EVENTLOG_ERROR_TYPE, EVENT_STDERR),
        };
        Ok(SystemLog {
            handle,
            name: name.to_string(),
            kind,
            id,
            failed: false,
        })
    }

    pub(crate) fn line(&mut self, line: &[u8], piece: Piece) {
        let marker = piece.marker();
        let text = String::from_utf8_lossy(line);
        let mut rest: &str = &text;
        loop {
            let mut cut = rest.len().min(MAX_MESSAGE);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (now, later) = rest.split_at(cut);
            let end: &[u8] = if later.is_empty() {
                marker
            } else {
                SPLIT_MARKER
            };
            let message = format!("{}: {now}{}", self.name, String::from_utf8_lossy(end));
            self.report(&message);
            if later.is_empty() {
                break;
            }
            rest = later;
        }
    }

    fn report(&mut self, message: &str) {
        let wide: Vec<u16> = message.encode_utf16().chain(Some(0)).collect();
        let strings = [wide.as_ptr()];
        // SAFETY: one valid NUL-terminated string, no SID, no raw data.
        let ok = unsafe {
            ReportEventW(
                self.handle,
                self.kind,
                0,
                self.id,
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            )
        };
        if ok == 0 && !self.failed {
            self.failed = true;
            tracing::error!(
                "cannot write to the Event Log: {}; files and console are unaffected",
                io::Error::last_os_error()
            );
        }
    }
}

impl Drop for SystemLog {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegisterEventSourceW and is released once.
        unsafe { DeregisterEventSource(self.handle) };
    }
}

/// Lowers the calling thread's priority (the janitor's compression), so that gzip never
/// competes with the programs stead runs.
pub(crate) fn background_priority() {
    use windows_sys::Win32::System::Threading::{
        GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
    };
    // SAFETY: the pseudo-handle of the calling thread; failure leaves the priority as it was.
    unsafe { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL) };
}
