//! A `tracing` layer writing to the Windows Event Log: source = the service name, event
//! type and id by level (see [`event_id`](super::event_id)). Registering the source in the
//! registry (so the Event Viewer shows the text without a "description not found" note) is
//! the installer's job; the records are written either way.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    RegisterEventSourceW, ReportEventW,
};

use super::{BoxLayer, event_id};

/// The Event Log takes at most 31,839 characters per string.
const MAX_MESSAGE: usize = 30_000;

struct EventLog {
    handle: windows_sys::Win32::Foundation::HANDLE,
}

// SAFETY: an event source handle may be used from any thread (ReportEventW is thread-safe).
unsafe impl Send for EventLog {}
// SAFETY: as above; the handle is never mutated after creation.
unsafe impl Sync for EventLog {}

impl Drop for EventLog {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegisterEventSourceW and is released once.
        unsafe { DeregisterEventSource(self.handle) };
    }
}

pub(crate) fn layer(name: &str) -> Option<BoxLayer> {
    let source: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
    // SAFETY: `source` is a NUL-terminated UTF-16 string that outlives the call.
    let handle = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
    if handle.is_null() {
        return None;
    }
    Some(Box::new(EventLog { handle }))
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for EventLog {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let kind = match level {
            tracing::Level::ERROR => EVENTLOG_ERROR_TYPE,
            tracing::Level::WARN => EVENTLOG_WARNING_TYPE,
            _ => EVENTLOG_INFORMATION_TYPE,
        };
        let mut m = Message(String::new());
        event.record(&mut m);
        let mut text = m.0;
        if text.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [cut]");
        }
        let wide: Vec<u16> = text.encode_utf16().chain(Some(0)).collect();
        let strings = [wide.as_ptr()];
        // SAFETY: the handle is live; `strings` holds one NUL-terminated string that
        // outlives the call.
        unsafe {
            ReportEventW(
                self.handle,
                kind,
                0,
                event_id(level),
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            )
        };
    }
}
