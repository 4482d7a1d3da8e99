//! Handing held sockets to a new Windows process (`stead-handover` describes the protocol).
//!
//! Before the spawn, [`Pipe::new`] makes an anonymous pipe whose buffer holds the whole
//! message, so writing it never waits for the program (one that never reads it cannot hold
//! up the supervisor). Its read end is inheritable only while the program's process is
//! created ([`Pipe::inheritable`], under the spawn lock, so no other process the spawn layer
//! starts can inherit it), and its handle value goes into the program's environment
//! ([`HANDLE_VAR`](stead_handover::HANDLE_VAR)). Once the process exists, [`Pipe::send`]
//! duplicates each socket for its process id (`WSADuplicateSocketW`), writes the message and
//! closes the write end: the program reads to the end of the pipe and has every socket.
//!
//! `std::process::Command` creates every process with `bInheritHandles = TRUE` and offers
//! no handle list on stable Rust, so a process created at that moment by code outside the
//! spawn layer (none in stead itself) could inherit the read end too. It would gain
//! nothing: it is not told the handle, the sockets in the message are duplicated for the
//! program's process alone, and the write does not wait for any reader.

use std::fs::File;
use std::io::{self, Write};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use stead_handover::{Handed, Message};
use windows_sys::Win32::Foundation::{HANDLE, HANDLE_FLAG_INHERIT, SetHandleInformation};
use windows_sys::Win32::Networking::WinSock::{
    SOCKET, WSADuplicateSocketW, WSAGetLastError, WSAPROTOCOL_INFOW,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::System::Pipes::CreatePipe;

/// An anonymous pipe for one spawn's sockets.
pub(super) struct Pipe {
    read: OwnedHandle,
    write: OwnedHandle,
}

impl Pipe {
    /// A pipe whose buffer holds the message for `sockets`; neither end inheritable yet.
    pub(super) fn new(sockets: &[(crate::sockets::Raw, String)]) -> io::Result<Pipe> {
        let len = stead_handover::encoded_len(
            sockets
                .iter()
                .map(|(_, name)| (name.as_str(), size_of::<WSAPROTOCOL_INFOW>())),
        );
        let attributes = SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: std::ptr::null_mut(),
            bInheritHandle: 0,
        };
        let mut read: HANDLE = std::ptr::null_mut();
        let mut write: HANDLE = std::ptr::null_mut();
        // Some room above the message: the size is the buffer's quota, and the pipe's own
        // bookkeeping may count against it.
        let size = u32::try_from(len + 4096).unwrap_or(u32::MAX);
        // SAFETY: out-pointers to live locals; the attributes outlive the call.
        if unsafe { CreatePipe(&raw mut read, &raw mut write, &raw const attributes, size) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both handles were just created and are owned here alone.
        let (read, write) = unsafe {
            (
                OwnedHandle::from_raw_handle(read),
                OwnedHandle::from_raw_handle(write),
            )
        };
        Ok(Pipe { read, write })
    }

    /// The read end's handle value, for the program's environment: an inherited handle has
    /// the same value in the child.
    pub(super) fn child_handle(&self) -> String {
        (self.read.as_raw_handle() as usize).to_string()
    }

    /// Makes the read end inheritable until the guard is dropped: hold it across the
    /// process's creation only, under the spawn lock.
    pub(super) fn inheritable(&self) -> io::Result<Inheritable<'_>> {
        set_inherit(&self.read, true)?;
        Ok(Inheritable(&self.read))
    }

    /// Closes the supervisor's read end, duplicates each socket for process `pid`, writes
    /// the message and closes the write end. The error names the socket that could not be
    /// duplicated, or says that the message could not be written.
    pub(super) fn send(
        self,
        pid: u32,
        sockets: &[(crate::sockets::Raw, String)],
    ) -> io::Result<()> {
        let Pipe { read, write } = self;
        // The program holds its own copy; ours would only keep the pipe open if it died.
        drop(read);
        let mut message = Message {
            pid,
            sockets: Vec::with_capacity(sockets.len()),
        };
        for (raw, name) in sockets {
            // SAFETY: an all-zero WSAPROTOCOL_INFOW is valid (integers and arrays of them).
            let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
            // SAFETY: the socket is held by the table for the spawn's duration; the info
            // pointer is a live local of the right type.
            if unsafe { WSADuplicateSocketW(*raw as SOCKET, pid, &raw mut info) } != 0 {
                // SAFETY: plain call, no pointers.
                let code = unsafe { WSAGetLastError() };
                let e = io::Error::from_raw_os_error(code);
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "could not hand held socket `{name}` to process {pid} (WSADuplicateSocketW: {e}); the process was stopped"
                    ),
                ));
            }
            message.sockets.push(Handed {
                name: name.clone(),
                info: info_bytes(&info).to_vec(),
            });
        }
        let bytes = message.encode().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("could not hand the held sockets to process {pid}: {e}"),
            )
        })?;
        let mut file = File::from(write);
        file.write_all(&bytes).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "could not hand the held sockets to process {pid}: writing to its pipe failed ({e}); the process was stopped"
                ),
            )
        })
        // `file` is dropped here: the end of the pipe for the program.
    }
}

/// The read end, inheritable while this lives.
pub(super) struct Inheritable<'a>(&'a OwnedHandle);

impl Drop for Inheritable<'_> {
    fn drop(&mut self) {
        let _ = set_inherit(self.0, false);
    }
}

fn set_inherit(handle: &OwnedHandle, on: bool) -> io::Result<()> {
    // SAFETY: a handle we own; flags only.
    let ok = unsafe {
        SetHandleInformation(
            handle.as_raw_handle(),
            HANDLE_FLAG_INHERIT,
            if on { HANDLE_FLAG_INHERIT } else { 0 },
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The structure's bytes as they lie in memory, which is what the program gives back to
/// `WSASocketW`.
fn info_bytes(info: &WSAPROTOCOL_INFOW) -> &[u8] {
    // SAFETY: WSAPROTOCOL_INFOW is plain data without padding (integers, a GUID, arrays of
    // u32 and u16; 628 bytes, a multiple of its alignment), so every byte is initialised;
    // the slice borrows `info` and cannot outlive it.
    unsafe {
        std::slice::from_raw_parts(
            (&raw const *info).cast::<u8>(),
            size_of::<WSAPROTOCOL_INFOW>(),
        )
    }
}
