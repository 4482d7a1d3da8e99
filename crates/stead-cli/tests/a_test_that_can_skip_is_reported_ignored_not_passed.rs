//! Every test here that may skip for want of something (a call to `skip_unless`,
//! `shared_tool` or `OpenrcBox::up`, in its body or in a helper of its file that it calls)
//! carries `#[cfg_attr(not(has_NAME), ignore = "needs …")]`, so that `cargo test` reports it
//! as ignored with its reason rather than as a pass; every `has_NAME` is one that `build.rs`
//! probes; and no test is ignored unconditionally.
#![cfg(unix)]
use std::path::Path;

/// A function of a test file: its name, the attribute lines above it, and its body.
struct Function {
    name: String,
    attrs: String,
    body: String,
}

fn functions(src: &str) -> Vec<Function> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find("\nfn ") {
        // The attribute lines right above (`#[...]`, possibly spread over lines by rustfmt).
        let attrs: Vec<&str> = rest[..at]
            .lines()
            .rev()
            .take_while(|l| l.starts_with("#[") || l.starts_with("    ") || l.starts_with(")]"))
            .collect();
        let attrs = attrs.join("\n");
        let after = &rest[at + 4..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = after.find("\n}\n").map_or(after.len(), |e| e + 3);
        out.push(Function {
            name,
            attrs,
            body: after[..end].to_string(),
        });
        rest = &after[end..];
    }
    out
}

const SKIPS: [&str; 3] = ["skip_unless(", "shared_tool(", "OpenrcBox::up("];

#[test]
fn a_test_that_can_skip_is_reported_ignored_not_passed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = std::fs::read_to_string(dir.join("build.rs")).unwrap();
    let mut wrong = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "{files:?}");
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let fns = functions(&src);
        let skipping: Vec<&str> = fns
            .iter()
            .filter(|f| !f.attrs.contains("#[test]") && SKIPS.iter().any(|s| f.body.contains(s)))
            .map(|f| f.name.as_str())
            .collect();
        for f in fns.iter().filter(|f| f.attrs.contains("#[test]")) {
            let skips = SKIPS.iter().any(|s| f.body.contains(s))
                || skipping.iter().any(|h| f.body.contains(&format!("{h}(")));
            let marked = f.attrs.contains("cfg_attr(") && f.attrs.contains("ignore = \"needs ");
            if skips && !marked {
                wrong.push(format!(
                    "{file}: {} may skip but is not marked `#[cfg_attr(not(has_NAME), ignore = \"needs …\")]`",
                    f.name
                ));
            }
            if f.attrs.contains("#[ignore") {
                wrong.push(format!(
                    "{file}: {} is ignored everywhere, CI included",
                    f.name
                ));
            }
        }
        for (i, _) in src.match_indices("has_") {
            let name: String = src[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let cfg = src[..i].ends_with('(') || src[..i].ends_with(", ");
            if cfg && !name.is_empty() && !build.contains(&format!("\"{name}\"")) {
                wrong.push(format!("{file}: has_{name} is not probed by build.rs"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
