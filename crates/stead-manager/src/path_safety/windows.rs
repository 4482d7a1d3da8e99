//! Windows: the owner and DACL of the file and of each folder above it, read with
//! `GetNamedSecurityInfoW` and judged by `acl::judge`.

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_SIZE_INFORMATION, AclSizeInformation,
    DACL_SECURITY_INFORMATION, GetAce, GetAclInformation, GetTokenInformation,
    OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::acl::{Ace, Role, judge};

/// `ACCESS_ALLOWED_ACE_TYPE` and `ACCESS_DENIED_ACE_TYPE`.
const ALLOWED: u8 = 0;
const DENIED: u8 = 1;

/// A SID as a string (`S-1-5-…`).
pub(crate) fn sid_string(sid: PSID) -> Option<String> {
    let mut out: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` points into a live security descriptor or token buffer; the string is
    // LocalAlloc'ed by the call and freed below.
    unsafe {
        if ConvertSidToStringSidW(sid, &raw mut out) == 0 {
            return None;
        }
        let mut n = 0;
        while *out.add(n) != 0 {
            n += 1;
        }
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(out, n));
        LocalFree(out.cast());
        Some(s)
    }
}

/// The SID of the account running this process: the administrator installing.
fn installer_sid() -> Option<String> {
    // SAFETY: a token handle of our own process, queried into a buffer of the size asked
    // for, and closed.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw mut token) == 0 {
            return None;
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &raw mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &raw mut len);
        CloseHandle(token);
        if ok == 0 {
            return None;
        }
        let user = &*buf.as_ptr().cast::<TOKEN_USER>();
        sid_string(user.User.Sid)
    }
}

/// The owner and the ACEs (`None`: a null DACL) of `path`.
fn security(path: &Path) -> Result<(String, Option<Vec<Ace>>), String> {
    let wide: Vec<u16> = OsStr::new(path).encode_wide().chain(Some(0)).collect();
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path; the out-pointers point into `sd`, which the call
    // allocates and we free after reading.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &raw mut owner,
            std::ptr::null_mut(),
            &raw mut dacl,
            std::ptr::null_mut(),
            &raw mut sd,
        )
    };
    if rc != 0 {
        return Err(format!(
            "{}: cannot read its security: {}",
            path.display(),
            std::io::Error::from_raw_os_error(rc as i32)
        ));
    }
    let result = (|| {
        let owner = sid_string(owner).unwrap_or_default();
        if dacl.is_null() {
            return (owner, None);
        }
        let mut aces = Vec::new();
        // SAFETY: `dacl` is a valid ACL inside `sd`; each ACE pointer comes from GetAce
        // and is read as the header its type says.
        unsafe {
            let mut info: ACL_SIZE_INFORMATION = std::mem::zeroed();
            if GetAclInformation(
                dacl,
                (&raw mut info).cast(),
                std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32,
                AclSizeInformation,
            ) == 0
            {
                return (owner, Some(aces));
            }
            for i in 0..info.AceCount {
                let mut p: *mut core::ffi::c_void = std::ptr::null_mut();
                if GetAce(dacl, i, &raw mut p) == 0 {
                    continue;
                }
                let header = &*p.cast::<ACE_HEADER>();
                if header.AceType != ALLOWED && header.AceType != DENIED {
                    continue;
                }
                // Allowed and denied ACEs have the same layout.
                let ace = &*p.cast::<ACCESS_ALLOWED_ACE>();
                let sid =
                    sid_string((&raw const ace.SidStart).cast_mut().cast()).unwrap_or_default();
                aces.push(Ace {
                    allow: header.AceType == ALLOWED,
                    flags: header.AceFlags,
                    mask: ace.Mask,
                    sid,
                });
            }
        }
        (owner, Some(aces))
    })();
    // SAFETY: allocated by GetNamedSecurityInfoW.
    unsafe { LocalFree(sd) };
    Ok(result)
}

/// Why `path` is not safe for a system service to run or read, if it is not: judged at the
/// file, at its folder (where a DLL planted beside a program would load first, when
/// `is_program`) and at every folder above.
pub fn unsafe_reason(path: &Path, is_program: bool) -> Option<String> {
    let real = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let installer = installer_sid();
    let mut at: Option<&Path> = Some(&real);
    let mut level = 0;
    while let Some(p) = at {
        let role = match level {
            0 => Role::File,
            1 if is_program => Role::ProgramDir,
            _ => Role::Above,
        };
        let shown = p.display().to_string();
        let shown = shown.strip_prefix(r"\\?\").unwrap_or(&shown);
        let (owner, aces) = match security(p) {
            Ok(s) => s,
            Err(e) => return Some(e),
        };
        if let Some(why) = judge(shown, role, &owner, aces.as_deref(), installer.as_deref()) {
            return Some(why);
        }
        level += 1;
        at = p.parent();
    }
    None
}
