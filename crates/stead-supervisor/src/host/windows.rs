//! Windows host: the default state directory and private folders; named pipes live in
//! their own namespace.

use std::io;
use std::path::{Path, PathBuf};

/// `%LOCALAPPDATA%\stead`, or `%ProgramData%\stead` where there is no user profile (services).
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("LOCALAPPDATA")
        .or_else(|| std::env::var_os("ProgramData"))
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("stead")
}

/// `\\.\pipe\stead-<directory>`, with the directory's separators and colons made safe.
pub(crate) fn control_endpoint(state_dir: &Path) -> PathBuf {
    let flat: String = state_dir
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!(r"\\.\pipe\stead-{flat}"))
}

/// Creates `dir` (and its parents) and gives it a protected DACL: full control for `SYSTEM`,
/// Administrators and the account stead runs as (a service's virtual account), nothing
/// inherited from above — the Windows counterpart of mode 0700. `C:\ProgramData` lets every
/// user create and read; without this another user could read programs' logs or plant files
/// where stead keeps its state.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let sid = current_user_sid()?;
    // A folder made private already (by `stead install`, or an earlier start) is left alone:
    // the service's account may lack the right to rewrite its ACL there.
    if dacl_sddl(dir).is_some_and(|d| super::is_private_sddl(&d, &sid)) {
        return Ok(());
    }
    set_dacl(
        dir,
        &format!("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{sid})"),
    )
}

/// The string SID (`S-1-5-…`) of the account this process runs as.
fn current_user_sid() -> io::Result<String> {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    // SAFETY: every pointer refers to a live local buffer of the size passed; the token
    // handle and the string from ConvertSidToStringSidW are released here.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw mut token) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u64; 64]; // 512 bytes, aligned for TOKEN_USER
        let mut len = 0u32;
        let ok = GetTokenInformation(
            token,
            TokenUser,
            buf.as_mut_ptr().cast(),
            (buf.len() * 8) as u32,
            &raw mut len,
        );
        CloseHandle(token);
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        let user = &*buf.as_ptr().cast::<TOKEN_USER>();
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &raw mut text) == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(take_local_string(text))
    }
}

/// The NUL-terminated UTF-16 string at `text`, which a Win32 call `LocalAlloc`'ed; frees it.
///
/// # Safety
/// `text` must be a live, NUL-terminated string from `LocalAlloc`, not used afterwards.
unsafe fn take_local_string(text: *mut u16) -> String {
    use windows_sys::Win32::Foundation::LocalFree;
    // SAFETY: the caller's promise: readable up to its NUL, ours to free.
    unsafe {
        let mut n = 0;
        while *text.add(n) != 0 {
            n += 1;
        }
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, n));
        LocalFree(text.cast());
        s
    }
}

/// The DACL of `path` in SDDL, if it can be read.
fn dacl_sddl(path: &Path) -> Option<String> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetNamedSecurityInfoW,
        SDDL_REVISION_1, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};
    let wide_path: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: a NUL-terminated path; the descriptor and the string the calls allocate are
    // freed here.
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        let rc = GetNamedSecurityInfoW(
            wide_path.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &raw mut sd,
        );
        if rc != 0 {
            return None;
        }
        let mut text: *mut u16 = std::ptr::null_mut();
        let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &raw mut text,
            std::ptr::null_mut(),
        );
        LocalFree(sd);
        if ok == 0 {
            return None;
        }
        Some(take_local_string(text))
    }
}

/// Replaces the DACL of `path` with the one in `sddl`, protected from inheritance.
fn set_dacl(path: &Path, sddl: &str) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::{
        DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
        SetFileSecurityW,
    };
    let wide_sddl: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
    let wide_path: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: null-terminated strings; the descriptor the conversion allocates is freed.
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wide_sddl.as_ptr(),
            SDDL_REVISION_1,
            &raw mut sd,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(io::Error::last_os_error());
        }
        let ok = SetFileSecurityW(
            wide_path.as_ptr(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            sd,
        );
        let err = io::Error::last_os_error();
        LocalFree(sd.cast());
        if ok == 0 {
            return Err(io::Error::new(
                err.kind(),
                format!("cannot make {} private (its ACL): {err}", path.display()),
            ));
        }
    }
    Ok(())
}

/// Unix-only concern: on Windows stead gives its directories a protected ACL of its own
/// (`create_private_dir`).
pub(crate) fn shared_dir_warning(_dir: &Path) -> Option<String> {
    None
}

/// Unix-only concern (creating symlinks is a privilege on Windows): nothing to refuse.
pub(crate) fn judge_path(_dir: &Path, _what: &str) -> super::PathVerdict {
    super::PathVerdict::default()
}

/// Windows has no descriptor limit to raise (handles are limited per process by memory).
pub(crate) fn raise_fd_limit() {}

/// Windows reports no descriptor shortage of its own (handles are limited by memory).
pub(crate) fn fd_shortage(_e: &io::Error) -> Option<String> {
    None
}
