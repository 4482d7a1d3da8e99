//! Windows: sockets handed by the stead supervisor. Descriptors cannot be passed by number
//! as systemd does on Unix: the supervisor duplicates each held socket for this process
//! (`WSADuplicateSocketW`) and sends the results down an inherited pipe, in the format of the
//! `stead-handover` crate; the pipe's handle is in `STEAD_SOCKETS_HANDLE`. The SCM hands no
//! sockets; without a hand-over the service binds what it declared.

use std::fs::File;
use std::io::{self, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::windows::io::{FromRawHandle, FromRawSocket, OwnedHandle, RawSocket};
use std::path::Path;

use stead_handover::{HANDLE_VAR, Handed, Message, PARENT_VAR};
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, FROM_PROTOCOL_INFO, INVALID_SOCKET, SOCK_DGRAM, SOCK_STREAM,
    WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSADATA, WSAGetLastError, WSAPROTOCOL_INFOW,
    WSASocketW, WSAStartup, closesocket,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};

use super::{Listen, Listener};

/// Sockets by name, as taken.
type Named = Vec<(String, Listener)>;

/// Takes the sockets the stead supervisor handed, if it handed any to this process. Called
/// as the service starts; the read waits only until the supervisor has written them, which
/// it does as soon as the process exists. The variables are removed either way, so the
/// service's own children do not take them for theirs. Called once.
pub(super) fn take() -> (Named, Vec<String>) {
    let handle = std::env::var(HANDLE_VAR).ok();
    let parent = std::env::var(PARENT_VAR).ok();
    if handle.is_none() && parent.is_none() {
        return (Vec::new(), Vec::new());
    }
    // SAFETY: Windows keeps the environment behind the process's own lock
    // (SetEnvironmentVariableW), so a removal cannot race a reader on another thread; this
    // runs once, as the service starts.
    unsafe {
        std::env::remove_var(HANDLE_VAR);
        std::env::remove_var(PARENT_VAR);
    }
    let mut notes = Vec::new();
    let sockets = match take_announced(handle.as_deref(), parent.as_deref()) {
        Ok((sockets, more)) => {
            notes.extend(more);
            sockets
        }
        Err(note) => {
            notes.push(note);
            Vec::new()
        }
    };
    (sockets, notes)
}

/// Windows has no by-name hand-over (launchd's): none.
pub(super) fn by_name(_declared: &[(String, Listen)]) -> Named {
    Vec::new()
}

/// The sockets of the hand-over announced by the two variables, and notes on any that could
/// not be taken; or why the hand-over as a whole was not taken.
fn take_announced(
    handle: Option<&str>,
    parent: Option<&str>,
) -> Result<(Named, Vec<String>), String> {
    let (Some(handle), Some(parent)) = (handle, parent) else {
        return Err(format!(
            "{HANDLE_VAR} and {PARENT_VAR} come together, and only one is set: no sockets taken from the host"
        ));
    };
    let (Ok(handle), Ok(parent)) = (handle.trim().parse::<usize>(), parent.trim().parse::<u32>())
    else {
        return Err(format!(
            "{HANDLE_VAR}=`{handle}` or {PARENT_VAR}=`{parent}` is not a number: no sockets taken from the host"
        ));
    };
    let ours = parent_pid().map_err(|e| {
        format!("cannot tell which process started this one ({e}): the sockets handed by process {parent} are left alone")
    })?;
    if ours != parent {
        // The handle is the one a child of `parent` inherited: here it may be anything.
        return Err(format!(
            "the sockets in {HANDLE_VAR} were handed to a child of process {parent}, and this process was started by {ours}: a program between stead and this service (a script, cmd.exe) took them and cannot pass them on; start the service directly"
        ));
    }
    // SAFETY: the supervisor that started this process (checked above) made this handle
    // inheritable for it alone and named it here; nothing else in the process owns it.
    let pipe = unsafe { OwnedHandle::from_raw_handle(handle as HANDLE) };
    let mut bytes = Vec::new();
    File::from(pipe)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the sockets handed by the host ({e})"))?;
    let message =
        Message::decode(&bytes).map_err(|e| format!("no sockets taken from the host: {e}"))?;
    if message.pid != std::process::id() {
        return Err(format!(
            "the handed sockets were made for process {}, not this one ({}): none taken",
            message.pid,
            std::process::id()
        ));
    }
    startup().map_err(|e| format!("cannot start Windows sockets ({e}): no sockets taken"))?;
    let mut out = Vec::with_capacity(message.sockets.len());
    let mut notes = Vec::new();
    for handed in message.sockets {
        match socket(&handed) {
            Ok(l) => out.push((handed.name, l)),
            Err(e) => notes.push(format!("socket `{}` handed by the host: {e}", handed.name)),
        }
    }
    Ok((out, notes))
}

/// The socket a `WSAPROTOCOL_INFOW` describes, made in this process; a TCP or UDP socket, or
/// nothing.
fn socket(handed: &Handed) -> Result<Listener, String> {
    if handed.info.len() != size_of::<WSAPROTOCOL_INFOW>() {
        return Err(format!(
            "its protocol information is {} bytes, not the {} of this Windows: ignored",
            handed.info.len(),
            size_of::<WSAPROTOCOL_INFOW>()
        ));
    }
    // SAFETY: an all-zero WSAPROTOCOL_INFOW is valid (integers and arrays of them).
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    // SAFETY: the source has exactly the structure's size (checked above), the destination is
    // a live local, and every bit pattern is a valid WSAPROTOCOL_INFOW (plain integers).
    unsafe {
        std::ptr::copy_nonoverlapping(
            handed.info.as_ptr(),
            (&raw mut info).cast::<u8>(),
            handed.info.len(),
        );
    }
    let inet =
        info.iAddressFamily == i32::from(AF_INET) || info.iAddressFamily == i32::from(AF_INET6);
    let kind = info.iSocketType;
    // SAFETY: the structure is the one WSADuplicateSocketW filled for this process; the
    // result is checked.
    let raw = unsafe {
        WSASocketW(
            FROM_PROTOCOL_INFO,
            FROM_PROTOCOL_INFO,
            FROM_PROTOCOL_INFO,
            &raw const info,
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        // SAFETY: plain call, no pointers.
        let e = io::Error::from_raw_os_error(unsafe { WSAGetLastError() });
        return Err(format!("WSASocketW refused it ({e})"));
    }
    let raw = raw as RawSocket;
    if inet && kind == SOCK_STREAM {
        // SAFETY: a socket just made for this process, owned by nothing else.
        return Ok(Listener::Tcp(unsafe { TcpListener::from_raw_socket(raw) }));
    }
    if inet && kind == SOCK_DGRAM {
        // SAFETY: as above.
        return Ok(Listener::Udp(unsafe { UdpSocket::from_raw_socket(raw) }));
    }
    // SAFETY: the socket just made, closed once.
    unsafe { closesocket(raw as usize) };
    Err(format!(
        "not a TCP or UDP socket (family {}, type {kind}): closed",
        info.iAddressFamily
    ))
}

/// Windows sockets, started for this process (reference-counted, so a second start by the
/// standard library or the runtime is harmless; never cleaned up, since the sockets live as
/// long as the process).
fn startup() -> io::Result<()> {
    // SAFETY: an all-zero WSADATA is valid; WSAStartup fills it.
    let mut data: WSADATA = unsafe { std::mem::zeroed() };
    // SAFETY: version 2.2 and a live out-pointer.
    let code = unsafe { WSAStartup(0x0202, &raw mut data) };
    if code != 0 {
        return Err(io::Error::from_raw_os_error(code));
    }
    Ok(())
}

/// The id of the process that created this one, from a snapshot of the processes.
fn parent_pid() -> io::Result<u32> {
    // SAFETY: flags only; the result is checked.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle just made, owned here alone (closed on drop).
    let snapshot = unsafe { OwnedHandle::from_raw_handle(snapshot) };
    let raw = std::os::windows::io::AsRawHandle::as_raw_handle(&snapshot);
    // SAFETY: an all-zero PROCESSENTRY32W is valid; dwSize is set before use.
    let mut entry: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
    entry.dwSize = size_of::<PROCESSENTRY32W>() as u32;
    let me = std::process::id();
    // SAFETY: the snapshot handle is live; the entry is a live local with its size set.
    let mut more = unsafe { Process32FirstW(raw, &raw mut entry) } != 0;
    while more {
        if entry.th32ProcessID == me {
            return Ok(entry.th32ParentProcessID);
        }
        // SAFETY: as above.
        more = unsafe { Process32NextW(raw, &raw mut entry) } != 0;
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        "this process is not in the process list",
    ))
}

pub(super) fn bind_unix(path: &Path) -> io::Result<Listener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "unix socket `{}`: not supported on Windows; declare a TCP address",
            path.display()
        ),
    ))
}
