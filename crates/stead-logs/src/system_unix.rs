//! journald, through its native protocol: one datagram per line to
//! `/run/systemd/journal/socket`, with `SYSLOG_IDENTIFIER` (the program), `PRIORITY` (6, info,
//! for stdout; 3, err, for stderr) and `STEAD_PROGRAM` / `STEAD_STREAM` fields, so
//! `journalctl -t web` or `journalctl STEAD_PROGRAM=web:1` finds them.
//!
//! Written here rather than taken from `libsystemd` or `systemd-journal-logger`: those are
//! built for a program's own log records (a `log`/`tracing` facade); the protocol is a few
//! lines, and here it must send arbitrary bytes as MESSAGE (the binary-safe field form) and
//! block when journald is slow (backpressure) rather than drop.

use std::io;
use std::os::unix::net::UnixDatagram;

use super::Stream;
use super::frame::{Piece, SPLIT_MARKER};

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
/// journald splits longer messages itself (`LineMax=`); keeping each datagram smaller also
/// keeps it under the socket's datagram size limit.
const MAX_MESSAGE: usize = 48 * 1024;

pub(crate) struct SystemLog {
    socket: UnixDatagram,
    header: Vec<u8>,
    buf: Vec<u8>,
    failed: bool,
}

impl SystemLog {
    pub(crate) fn new(name: &str, group: &str, stream: Stream) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(JOURNAL_SOCKET).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("journald does not answer at {JOURNAL_SOCKET}: {e}"),
            )
        })?;
        let priority = match stream {
            Stream::Out => 6,
            Stream::Err => 3,
        };
        let header = format!(
            "PRIORITY={priority}\nSYSLOG_IDENTIFIER={group}\nSTEAD_PROGRAM={name}\nSTEAD_STREAM={}\n",
            stream.name()
        )
        .into_bytes();
        Ok(SystemLog {
            socket,
            header,
            buf: Vec::new(),
            failed: false,
        })
    }

    pub(crate) fn line(&mut self, line: &[u8], piece: Piece) {
        let marker = piece.marker();
        let mut chunks = line.chunks(MAX_MESSAGE).peekable();
        if line.is_empty() {
            self.send(b"", marker);
        }
        while let Some(c) = chunks.next() {
            let m = if chunks.peek().is_none() {
                marker
            } else {
                SPLIT_MARKER
            };
            self.send(c, m);
        }
    }

    fn send(&mut self, text: &[u8], marker: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(&self.header);
        // MESSAGE\n<little-endian u64 length><bytes>\n: any bytes, newlines included.
        self.buf.extend_from_slice(b"MESSAGE\n");
        self.buf
            .extend_from_slice(&((text.len() + marker.len()) as u64).to_le_bytes());
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(marker);
        self.buf.push(b'\n');
        if let Err(e) = self.socket.send(&self.buf) {
            if !self.failed {
                tracing::error!(
                    "cannot send a line to journald: {e}; lines are lost there until it answers again (files and console are unaffected)"
                );
            }
            self.failed = true;
            // journald restarted: the next line reconnects.
            let _ = self.socket.connect(JOURNAL_SOCKET);
        } else if self.failed {
            self.failed = false;
            tracing::warn!("journald answers again");
        }
    }
}

/// Lowers the calling thread's priority (the janitor's compression), so that gzip never
/// competes with the programs stead runs.
pub(crate) fn background_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on our own thread id; failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}
