//! A Windows service's own folders and parameters key, made with the protected DACL the plan
//! gives them (`backend::windows::secured`), the SID of a named account, and the record of
//! what an install made, kept as a value of the service's parameters key so that it goes
//! with the service.

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;

use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    DACL_SECURITY_INFORMATION, LookupAccountNameW, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, SID_NAME_USE, SetFileSecurityW,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_SET_VALUE, REG_MULTI_SZ, REG_OPTION_NON_VOLATILE,
    RRF_RT_REG_MULTI_SZ, RegCloseKey, RegCreateKeyExW, RegGetValueW, RegSetKeySecurity,
    RegSetValueExW,
};

use super::wide;
use crate::ManagerError;
use crate::backend::windows::Secured;

/// The value of the parameters key that lists the folders the install made.
const RECORD: &str = "SteadMadeFolders";

/// An open registry key, closed when dropped.
pub(crate) struct Key(pub(crate) HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: a handle RegCreateKeyExW gave us.
        unsafe { RegCloseKey(self.0) };
    }
}

/// Opens `HKEY_LOCAL_MACHINE\key` with `access`, creating it (with `sd` as its security
/// descriptor, where the registry honours it) if missing. Errs with the Win32 code.
pub(crate) fn create_key(
    key: &str,
    access: u32,
    sd: Option<PSECURITY_DESCRIPTOR>,
) -> Result<Key, u32> {
    let name = wide(key);
    let attributes = sd.map(|sd| SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd,
        bInheritHandle: 0,
    });
    let mut h: HKEY = std::ptr::null_mut();
    // SAFETY: a NUL-terminated key name, security attributes alive for the call (or none),
    // and an out-pointer to a local; the handle is owned by the returned `Key`.
    let rc = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            name.as_ptr(),
            0,
            std::ptr::null(),
            REG_OPTION_NON_VOLATILE,
            access,
            attributes
                .as_ref()
                .map_or(std::ptr::null(), std::ptr::from_ref),
            &raw mut h,
            std::ptr::null_mut(),
        )
    };
    if rc != 0 {
        return Err(rc);
    }
    Ok(Key(h))
}

fn os_error(what: &str, target: &str, code: i32) -> ManagerError {
    ManagerError::Command {
        command: format!("{what} {target}"),
        output: std::io::Error::from_raw_os_error(code).to_string(),
    }
}

/// A security descriptor from SDDL, freed when dropped.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn from_sddl(sddl: &str) -> Result<Descriptor, ManagerError> {
        let text = wide(sddl);
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated string; the descriptor is LocalAlloc'ed by the call and
        // freed in `drop`.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                text.as_ptr(),
                SDDL_REVISION_1,
                &raw mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            let e = std::io::Error::last_os_error();
            return Err(os_error(
                "reading the DACL",
                sddl,
                e.raw_os_error().unwrap_or(0),
            ));
        }
        Ok(Descriptor(sd))
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

/// The string SID of `account` (`DOMAIN\user`, `.\user`, `user`).
pub(crate) fn sid_of(account: &str) -> Result<String, ManagerError> {
    let name = wide(account);
    let mut sid = vec![0u64; 16]; // 128 bytes: more than the largest SID (68)
    let mut sid_len = (sid.len() * 8) as u32;
    let mut domain = vec![0u16; 256];
    let mut domain_len = domain.len() as u32;
    let mut kind: SID_NAME_USE = 0;
    // SAFETY: live buffers with their sizes; the SID string is LocalAlloc'ed and freed.
    unsafe {
        if LookupAccountNameW(
            std::ptr::null(),
            name.as_ptr(),
            sid.as_mut_ptr().cast(),
            &raw mut sid_len,
            domain.as_mut_ptr(),
            &raw mut domain_len,
            &raw mut kind,
        ) == 0
        {
            let e = std::io::Error::last_os_error();
            return Err(ManagerError::Command {
                command: format!("LookupAccountNameW {account}"),
                output: format!("{e}; check the account name (DOMAIN\\user or .\\user)"),
            });
        }
        crate::path_safety::windows::sid_string(sid.as_mut_ptr().cast()).ok_or_else(|| {
            let e = std::io::Error::last_os_error();
            os_error(
                "ConvertSidToStringSidW",
                account,
                e.raw_os_error().unwrap_or(0),
            )
        })
    }
}

/// Makes the folder or key of `s` with the protected DACL `sddl`, unless it exists (a folder
/// that exists keeps its own ACL; the key, which belongs to the service just created, gets
/// `sddl` in any case). Returns whether it was made now.
pub(crate) fn secure(s: &Secured, sddl: &str) -> Result<bool, ManagerError> {
    let sd = Descriptor::from_sddl(sddl)?;
    if s.kind == "registry" {
        return secure_key(&s.path, &sd).map(|()| true);
    }
    let path = std::path::Path::new(&s.path);
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ManagerError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::create_dir(path).map_err(|source| ManagerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = wide(&s.path);
    // SAFETY: a NUL-terminated path and a descriptor alive for the call.
    let ok = unsafe {
        SetFileSecurityW(
            name.as_ptr(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            sd.0,
        )
    };
    if ok == 0 {
        let e = std::io::Error::last_os_error();
        let _ = std::fs::remove_dir(path);
        return Err(os_error(
            "setting the ACL of",
            &s.path,
            e.raw_os_error().unwrap_or(0),
        ));
    }
    Ok(true)
}

fn secure_key(key: &str, sd: &Descriptor) -> Result<(), ManagerError> {
    // WRITE_DAC, to set the DACL below.
    let h = create_key(key, KEY_SET_VALUE | 0x0004_0000, Some(sd.0))
        .map_err(|rc| os_error("creating the registry key", key, rc as i32))?;
    // Set again, new key or not: not every registry honours the creation's descriptor
    // (Wine's does not), and where it does this changes nothing.
    // SAFETY: our handle, opened with WRITE_DAC; the descriptor is alive.
    let rc = unsafe {
        RegSetKeySecurity(
            h.0,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            sd.0,
        )
    };
    if rc != 0 {
        return Err(os_error("setting the ACL of", key, rc as i32));
    }
    Ok(())
}

fn parameters_key(service: &str) -> String {
    format!(r"SYSTEM\CurrentControlSet\Services\{service}\Parameters")
}

/// Writes the list of folders the install of `service` made.
pub(crate) fn record(service: &str, made: &[String]) -> Result<(), ManagerError> {
    let h = create_key(&parameters_key(service), KEY_SET_VALUE, None)
        .map_err(|rc| os_error("opening the parameters key of", service, rc as i32))?;
    // REG_MULTI_SZ: each string NUL-terminated, then one more NUL.
    let mut data: Vec<u16> = Vec::new();
    for m in made {
        data.extend(OsStr::new(m).encode_wide());
        data.push(0);
    }
    data.push(0);
    let value = wide(RECORD);
    // SAFETY: our handle; the data buffer with its byte length.
    let rc = unsafe {
        RegSetValueExW(
            h.0,
            value.as_ptr(),
            0,
            REG_MULTI_SZ,
            data.as_ptr().cast(),
            (data.len() * 2) as u32,
        )
    };
    if rc != 0 {
        return Err(os_error(
            "recording the folders made for",
            service,
            rc as i32,
        ));
    }
    Ok(())
}

/// The string data of the value `value` of `HKEY_LOCAL_MACHINE\\key`, read as `flags` says
/// (`RRF_RT_*`), trailing NULs kept; `None` when there is no such value.
pub(crate) fn read_value(key: &str, value: &str, flags: u32) -> Option<String> {
    let key = wide(key);
    let value = wide(value);
    let mut buf = vec![0u16; 4096];
    let mut len = (buf.len() * 2) as u32;
    // SAFETY: a live output buffer with its byte length.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            flags,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &raw mut len,
        )
    };
    (rc == 0).then(|| String::from_utf16_lossy(&buf[..len as usize / 2]))
}

/// The folders the install of `service` recorded as made by it (none when it has no record:
/// an install by an older stead, or a service stead did not make).
pub(crate) fn recorded(service: &str) -> Vec<String> {
    read_value(&parameters_key(service), RECORD, RRF_RT_REG_MULTI_SZ)
        .unwrap_or_default()
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Removes a folder the install made, with its contents.
pub(crate) fn remove_folder(path: &str) -> Result<(), ManagerError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ManagerError::Io {
            path: path.into(),
            source,
        }),
    }
}
