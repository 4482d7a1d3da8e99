//! `[supervisor] include`: more files of `[program.NAME]` sections, named by paths whose last
//! part may hold `*` and `?` (`/etc/stead/conf.d/*.toml`), so that a package or a deployment
//! tool can drop a program in a directory instead of editing one shared file.

use std::path::{Path, PathBuf};

/// The files a pattern names, sorted: the pattern itself when it has no wildcard (which must
/// then exist), else the regular files of its directory whose names match (none is fine; a
/// name starting with `.` is matched only by a pattern that starts with one).
///
/// ```ignore
/// // conf.d holds b.toml, a.toml, .hidden.toml, notes.txt
/// assert_eq!(expand(Path::new("conf.d/*.toml"))?, ["conf.d/a.toml", "conf.d/b.toml"]);
/// ```
pub(crate) fn expand(pattern: &Path) -> Result<Vec<PathBuf>, (String, String)> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = pattern.parent().unwrap_or(Path::new("."));
    if dir.to_string_lossy().contains(['*', '?']) {
        return Err((
            format!(
                "`include` pattern `{}` has a wildcard in a directory",
                pattern.display()
            ),
            "wildcards (* and ?) may only be in the file name: include = [\"conf.d/*.toml\"]"
                .into(),
        ));
    }
    if !name.contains(['*', '?']) {
        return match std::fs::metadata(pattern) {
            Ok(m) if m.is_file() => Ok(vec![pattern.to_path_buf()]),
            Ok(_) => Err((
                format!("included `{}` is not a regular file", pattern.display()),
                "include files, or a directory's files with a pattern: include = [\"conf.d/*.toml\"]".into(),
            )),
            Err(e) => Err((
                format!("cannot read included `{}`: {e}", pattern.display()),
                "fix the path (relative paths start at the config file's directory)".into(),
            )),
        };
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // An empty drop-in directory may as well be absent.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err((
                format!("cannot list `{}` for `include`: {e}", dir.display()),
                "make the directory readable by the user running stead".into(),
            ));
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if (file.starts_with('.') && !name.starts_with('.'))
            || !matches(name.as_bytes(), file.as_bytes())
        {
            continue;
        }
        // A directory or a device that happens to match is not a config file; following
        // a symlink to a regular file is fine (as for the main file).
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            out.push(dir.join(&file));
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `name` matches `pattern`: `*` any run of bytes, `?` one byte, the rest literally.
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative with one backtrack point: linear enough for file names, no recursion.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_a_shell() {
        for (p, n, want) in [
            ("*.toml", "web.toml", true),
            ("*.toml", "web.toml.bak", false),
            ("*.toml", ".toml", true),
            ("w?b.toml", "web.toml", true),
            ("w?b.toml", "weeb.toml", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("**", "x", true),
        ] {
            assert_eq!(matches(p.as_bytes(), n.as_bytes()), want, "{p} {n}");
        }
    }

    #[test]
    fn a_pattern_names_the_regular_files_that_match_sorted() {
        let dir = std::env::temp_dir().join(format!("stead-include-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.toml")).unwrap();
        for f in ["b.toml", "a.toml", ".hidden.toml", "notes.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        assert_eq!(
            expand(&dir.join("*.toml")).unwrap(),
            [dir.join("a.toml"), dir.join("b.toml")]
        );
        assert_eq!(
            expand(&dir.join("nowhere/*.toml")).unwrap(),
            Vec::<PathBuf>::new()
        );
        assert!(expand(&dir.join("missing.toml")).is_err());
        assert!(expand(&dir.join("sub.toml")).is_err());
        assert!(expand(&dir.join("*/x.toml")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
