//! Whether a Windows DACL lets someone other than an administrator change what a service
//! runs: pure, so it is tested on every OS; `windows.rs` reads the owner and the ACEs.
//!
//! What counts as a change depends on where the object sits on the path:
//! - the file itself: writing its data, appending, deleting (or renaming) it;
//! - the program's own directory: adding a file (a DLL planted beside the program is loaded
//!   before the system's) or deleting a child;
//! - any directory above: deleting (renaming) a child or the directory itself;
//!
//! and everywhere: changing the DACL or the owner, `GENERIC_WRITE`, `GENERIC_ALL`, or owning
//! it (an owner may always rewrite the DACL). Creating a new folder in `C:\` — which
//! Authenticated Users may — replaces nothing, and is allowed.

/// `GENERIC_ALL`.
const GENERIC_ALL: u32 = 0x1000_0000;
/// `GENERIC_WRITE`.
const GENERIC_WRITE: u32 = 0x4000_0000;
/// `WRITE_DAC`.
const WRITE_DAC: u32 = 0x0004_0000;
/// `WRITE_OWNER`.
const WRITE_OWNER: u32 = 0x0008_0000;
/// `DELETE`.
const DELETE: u32 = 0x0001_0000;
/// `FILE_WRITE_DATA` on a file, `FILE_ADD_FILE` on a directory.
const WRITE_DATA_OR_ADD_FILE: u32 = 0x2;
/// `FILE_APPEND_DATA` on a file.
const APPEND_DATA: u32 = 0x4;
/// `FILE_DELETE_CHILD`.
const DELETE_CHILD: u32 = 0x40;

/// `INHERIT_ONLY_ACE`: applies to children only, not to this object.
pub const INHERIT_ONLY: u8 = 0x08;

/// Where an object sits on the path being judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The program or config file itself.
    File,
    /// The program's own directory.
    ProgramDir,
    /// A directory further up.
    Above,
}

/// One access-control entry, as read from the DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// `ACCESS_ALLOWED_ACE` (true) or `ACCESS_DENIED_ACE` (false).
    pub allow: bool,
    /// The ACE flags (`INHERIT_ONLY` and others).
    pub flags: u8,
    /// The access mask.
    pub mask: u32,
    /// The trustee, as a string SID (`S-1-5-32-545`).
    pub sid: String,
}

/// SYSTEM, Administrators, `TrustedInstaller`, and CREATOR OWNER (which only ever matters for
/// objects created later, by whoever creates them).
const TRUSTED: [&str; 4] = [
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
    "S-1-3-0",
];

/// A readable name for a well-known SID, else the SID.
pub fn name_of(sid: &str) -> String {
    match sid {
        "S-1-1-0" => "Everyone".into(),
        "S-1-5-11" => "Authenticated Users".into(),
        "S-1-5-32-545" => "Users".into(),
        "S-1-5-4" => "INTERACTIVE".into(),
        "S-1-5-32-547" => "Power Users".into(),
        "S-1-5-7" => "ANONYMOUS LOGON".into(),
        "S-1-5-32-546" => "Guests".into(),
        other => other.into(),
    }
}

/// The rights in `mask` that let a holder change what the service runs, for `role`.
fn dangerous(mask: u32, role: Role) -> u32 {
    let always = GENERIC_ALL | GENERIC_WRITE | WRITE_DAC | WRITE_OWNER;
    let here = match role {
        Role::File => WRITE_DATA_OR_ADD_FILE | APPEND_DATA | DELETE,
        Role::ProgramDir => WRITE_DATA_OR_ADD_FILE | DELETE_CHILD | DELETE,
        Role::Above => DELETE_CHILD | DELETE,
    };
    mask & (always | here)
}

/// Why the object at `path` (with `role`, owned by `owner`, with `dacl`, `None` for a null
/// DACL) lets someone other than an administrator change what the service runs, if it does.
/// `installer` is the SID of the administrator running the install, trusted like the
/// Administrators group.
///
/// ```
/// use stead_manager::path_safety::acl::{judge, Ace, Role};
/// let users_modify = Ace { allow: true, flags: 0, mask: 0x0013_01bf, sid: "S-1-5-32-545".into() };
/// let why = judge(r"C:\Tools\app.exe", Role::File, "S-1-5-32-544", Some(&[users_modify]), None);
/// assert!(why.unwrap().contains("Users"));
/// ```
pub fn judge(
    path: &str,
    role: Role,
    owner: &str,
    dacl: Option<&[Ace]>,
    installer: Option<&str>,
) -> Option<String> {
    let trusted = |sid: &str| TRUSTED.contains(&sid) || installer == Some(sid);
    let what = match role {
        Role::File => "",
        Role::ProgramDir => " (the program's directory)",
        Role::Above => " (a directory above it)",
    };
    if !trusted(owner) {
        return Some(format!(
            "{path}{what} is owned by {}, who could change what the service runs",
            name_of(owner)
        ));
    }
    let Some(aces) = dacl else {
        return Some(format!("{path}{what} has no DACL: everyone may change it"));
    };
    for ace in aces {
        if !ace.allow || ace.flags & INHERIT_ONLY != 0 || trusted(&ace.sid) {
            continue;
        }
        let bad = dangerous(ace.mask, role);
        if bad != 0 {
            return Some(format!(
                "{path}{what} can be changed by {} (access mask {:#x})",
                name_of(&ace.sid),
                ace.mask
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ace(mask: u32, sid: &str) -> Ace {
        Ace {
            allow: true,
            flags: 0,
            mask,
            sid: sid.into(),
        }
    }

    const ADMINS: &str = "S-1-5-32-544";
    /// What Windows gives `C:\Program Files\X\x.exe`: full control to SYSTEM,
    /// Administrators and `TrustedInstaller`, read and execute to Users.
    fn program_files() -> Vec<Ace> {
        vec![
            ace(0x001f_01ff, "S-1-5-18"),
            ace(0x001f_01ff, ADMINS),
            ace(0x0012_00a9, "S-1-5-32-545"),
            ace(
                0x001f_01ff,
                "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
            ),
        ]
    }

    #[test]
    fn program_files_is_safe_at_every_level() {
        for role in [Role::File, Role::ProgramDir, Role::Above] {
            assert_eq!(
                judge(
                    "C:\\Program Files\\X",
                    role,
                    ADMINS,
                    Some(&program_files()),
                    None
                ),
                None
            );
        }
    }

    #[test]
    fn the_root_of_c_lets_users_make_folders_which_replaces_nothing() {
        // C:\ : Authenticated Users may create folders (this folder only) and modify
        // subfolders and files (inherit-only).
        let root = vec![
            ace(0x001f_01ff, ADMINS),
            ace(0x0000_0004, "S-1-5-11"),
            Ace {
                allow: true,
                flags: INHERIT_ONLY | 0x3,
                mask: 0xe001_0000,
                sid: "S-1-5-11".into(),
            },
            ace(0x0012_00a9, "S-1-5-32-545"),
        ];
        assert_eq!(judge("C:\\", Role::Above, ADMINS, Some(&root), None), None);
        // As the program's own directory, "append data" there is "create folders", still
        // no file: safe too.
        assert_eq!(
            judge("C:\\", Role::ProgramDir, ADMINS, Some(&root), None),
            None
        );
    }

    #[test]
    fn users_who_can_write_the_file_or_plant_beside_it_are_named() {
        let mut aces = program_files();
        aces.push(ace(0x0013_01bf, "S-1-5-11")); // Modify
        let why = judge("C:\\Tools\\app.exe", Role::File, ADMINS, Some(&aces), None).unwrap();
        assert!(
            why.contains("Authenticated Users") && why.contains("0x1301bf"),
            "{why}"
        );

        let add_file = vec![ace(0x0000_0002, "S-1-1-0")];
        let why = judge("C:\\Tools", Role::ProgramDir, ADMINS, Some(&add_file), None).unwrap();
        assert!(
            why.contains("Everyone") && why.contains("program's directory"),
            "{why}"
        );
        // Further up, adding a file replaces nothing.
        assert_eq!(
            judge("C:\\", Role::Above, ADMINS, Some(&add_file), None),
            None
        );

        let delete_child = vec![ace(0x0000_0040, "S-1-5-32-545")];
        assert!(judge("C:\\Tools", Role::Above, ADMINS, Some(&delete_child), None).is_some());
        let write_dac = vec![ace(WRITE_DAC, "S-1-5-32-545")];
        assert!(judge("C:\\Tools", Role::Above, ADMINS, Some(&write_dac), None).is_some());
        let generic = vec![ace(GENERIC_WRITE, "S-1-5-32-545")];
        assert!(
            judge(
                "C:\\Tools\\app.exe",
                Role::File,
                ADMINS,
                Some(&generic),
                None
            )
            .is_some()
        );
    }

    #[test]
    fn owners_null_dacls_denies_and_inherit_only_entries() {
        let user = "S-1-5-21-1-2-3-1001";
        let why = judge(
            "C:\\Tools\\app.exe",
            Role::File,
            user,
            Some(&program_files()),
            None,
        );
        assert!(why.unwrap().contains("owned by S-1-5-21-1-2-3-1001"));
        // The administrator running the install is trusted like Administrators.
        assert_eq!(
            judge(
                "C:\\Tools\\app.exe",
                Role::File,
                user,
                Some(&program_files()),
                Some(user)
            ),
            None
        );
        assert!(
            judge("C:\\x.exe", Role::File, ADMINS, None, None)
                .unwrap()
                .contains("no DACL")
        );
        let deny = vec![Ace {
            allow: false,
            flags: 0,
            mask: GENERIC_ALL,
            sid: "S-1-1-0".into(),
        }];
        assert_eq!(
            judge("C:\\x.exe", Role::File, ADMINS, Some(&deny), None),
            None
        );
        let inherit_only = vec![Ace {
            allow: true,
            flags: INHERIT_ONLY,
            mask: GENERIC_ALL,
            sid: "S-1-1-0".into(),
        }];
        assert_eq!(
            judge("C:\\Tools", Role::Above, ADMINS, Some(&inherit_only), None),
            None
        );
    }
}
