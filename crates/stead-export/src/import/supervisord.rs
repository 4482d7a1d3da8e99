//! `stead import supervisord FILE`: `[program:x]` sections to programs.
//!
//! Mapped: `command` (continued on indented lines; split without a shell; `$` is literal, so
//! written `$$`), `directory`, `environment`, `user`,
//! `autostart`, `autorestart` (`true` → always, `false` → never, `unexpected` → on-failure),
//! `startretries` → `max_restarts`, `stopsignal`, `stopwaitsecs` → `stop_timeout`,
//! `exitcodes`, `numprocs` with `%(process_num)d` → `{index}`, `killasgroup`/`stopasgroup`
//! (stead stops the whole tree unless `kill_tree = false`), `redirect_stderr` → merged
//! stderr, `stdout_logfile_maxbytes`/`_backups` → `max_size`/`keep`. supervisord's expansions:
//! `%(here)s` (the file's directory, absolute), `%(program_name)s`, `%(group_name)s`,
//! `%(numprocs)d`, `%(process_num)d` → `{index}` (a width is noted), `%(host_node_name)s` →
//! this host's name (noted), `%(ENV_X)s` → `${X}` in `command` (an `environment` entry that
//! only passes it on is left out: the program inherits it), `%%` → `%`; anything else is kept
//! as written and noted. Everything else is listed as not mapped.

use std::fmt::Write;
use std::path::Path;

use super::{Draft, program_name, toml_array, toml_str, toml_table};

/// One `key = value` of a section, with its line number.
type Setting = (usize, String, String);

/// Reads a supervisord config into drafts, one per `[program:x]`.
pub fn import_file(path: &Path) -> Result<Vec<Draft>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut drafts = Vec::new();
    let mut current: Option<(Draft, Vec<Setting>)> = None;
    let mut pending_key: Option<Setting> = None;
    let flush =
        |cur: Option<(Draft, Vec<Setting>)>, drafts: &mut Vec<Draft>| -> Result<(), String> {
            if let Some((mut d, keys)) = cur {
                map_program(&mut d, &keys, path)?;
                drafts.push(d);
            }
            Ok(())
        };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        // Continuation lines are indented.
        if line.starts_with([' ', '\t'])
            && !line.trim().is_empty()
            && let Some((_, _, v)) = pending_key.as_mut()
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        if let Some(p) = pending_key.take()
            && let Some((_, keys)) = current.as_mut()
        {
            keys.push(p);
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            flush(current.take(), &mut drafts)?;
            if let Some(name) = section.strip_prefix("program:") {
                current = Some((Draft::new(&program_name(name.trim())), Vec::new()));
            }
            continue;
        }
        let Some((k, v)) = t.split_once(['=', ':']) else {
            return Err(format!(
                "{}:{}: expected key = value, found `{t}`",
                path.display(),
                n + 1
            ));
        };
        // Inline comments start with " ;".
        let v = v.split(" ;").next().unwrap_or("").trim();
        pending_key = Some((n + 1, k.trim().to_string(), v.to_string()));
    }
    if let Some(p) = pending_key.take()
        && let Some((_, keys)) = current.as_mut()
    {
        keys.push(p);
    }
    flush(current.take(), &mut drafts)?;
    if drafts.is_empty() {
        return Err(format!("{}: no [program:x] section", path.display()));
    }
    Ok(drafts)
}

fn map_program(d: &mut Draft, keys: &[Setting], path: &Path) -> Result<(), String> {
    let mut numprocs = 1u32;
    for (_, k, v) in keys {
        if k == "numprocs" {
            numprocs = v.parse().unwrap_or(1);
        }
    }
    let here = crate::normalize(
        &std::path::absolute(path.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|_| path.parent().unwrap_or(Path::new(".")).to_path_buf()),
    );
    let ctx = Context {
        name: d.name.clone(),
        here: here.display().to_string(),
        numprocs,
    };
    for (line, k, raw) in keys {
        // supervisord's `%(name)s` expansions, with stead's meaning or a note; in `command`,
        // `$` is literal under supervisord, so it is escaped first (`$$`), and `%(ENV_X)s`
        // becomes stead's `${X}`.
        let in_command = k == "command";
        let escaped = if in_command {
            raw.replace('$', "$$")
        } else {
            raw.clone()
        };
        let (v, notes, env_refs) = expand(&escaped, &ctx);
        let v = &v;
        if k == "process_name" {
            if numprocs > 1 {
                d.unmapped(format!(
                    "process_name={raw} (line {line}): stead names the instances {}:0, {}:1, …",
                    d.name, d.name
                ));
            }
            continue;
        }
        for n in notes {
            d.unmapped(format!("{k}= (line {line}): {n}"));
        }
        if !env_refs.is_empty() && !in_command && k != "environment" {
            d.unmapped(format!(
                "{k}={raw} (line {line}: %(ENV_…)s, supervisord's own environment, is expanded by stead only in `command`)"
            ));
            continue;
        }
        match k.as_str() {
            "command" => match shlex::split(v) {
                Some(argv) if !argv.is_empty() => d.set("command", toml_array(&argv)),
                _ => return Err(format!("{}:{line}: cannot split command `{v}`", path.display())),
            },
            "directory" => d.set("cwd", toml_str(v)),
            "environment" => {
                let pairs = parse_environment(v)
                    .into_iter()
                    .filter(|(name, value)| {
                        if !value.contains("${") {
                            return true;
                        }
                        let inherited = *value == format!("${{{name}}}");
                        d.unmapped(if inherited {
                            format!("environment {name}=%(ENV_{name})s (line {line}): left out, the program inherits {name} from stead's environment as it did from supervisord's")
                        } else {
                            format!("environment {name}={value} (line {line}): stead's `env` values are literal; set it in stead's environment or an env_file")
                        });
                        false
                    })
                    .collect::<Vec<_>>();
                if !pairs.is_empty() {
                    d.set("env", toml_table(&pairs));
                }
            }
            "user" => d.set("user", toml_str(v)),
            "autostart" => d.set("autostart", bool_of(v).to_string()),
            "autorestart" => {
                let policy = match v.to_ascii_lowercase().as_str() {
                    "true" => "always",
                    "false" => "never",
                    _ => "on-failure",
                };
                d.set("restart", toml_str(policy));
            }
            "startretries" => d.set("max_restarts", v.parse::<u32>().unwrap_or(3).to_string()),
            "stopsignal" => d.set("stop_signal", toml_str(v.trim_start_matches("SIG"))),
            "stopwaitsecs" => d.set("stop_timeout", toml_str(&format!("{}s", v.parse::<u64>().unwrap_or(10)))),
            "exitcodes" => {
                let codes: Vec<&str> = v.split(',').map(str::trim).filter(|c| c.parse::<u8>().is_ok()).collect();
                d.set("exit_codes", format!("[{}]", codes.join(", ")));
            }
            "numprocs" if numprocs > 1 => d.set("numprocs", numprocs.to_string()),
            "numprocs_start" if v.trim() != "0" => d.unmapped(format!(
                "numprocs_start={v} (stead's `{{index}}` starts at 0; add the offset in the command)"
            )),
            "numprocs" | "numprocs_start" => {}
            "stopasgroup" | "killasgroup" => {
                if !bool_of(v) {
                    d.unmapped(format!("{k}=false (stead stops the whole tree; set kill_tree = false to signal only the main process)"));
                }
            }
            "redirect_stderr" => {
                if bool_of(v) {
                    d.log.push(("stderr".into(), toml_str("merge")));
                }
            }
            "stdout_logfile_maxbytes" => {
                let size = v.trim();
                if size != "0" {
                    d.log.push(("max_size".into(), toml_str(size)));
                }
            }
            "stdout_logfile_backups" => d.log.push(("keep".into(), v.parse::<u32>().unwrap_or(10).to_string())),
            "startsecs" => d.unmapped(format!("startsecs={v} (a program counts as started when spawned; readiness checks come with `ready`)")),
            other => d.unmapped(format!("{other}={v}")),
        }
    }
    if !d.keys.iter().any(|(k, _)| k == "command") {
        return Err(format!(
            "{}: [program:{}] has no command",
            path.display(),
            d.name
        ));
    }
    Ok(())
}

/// What supervisord's expansions of a `[program:x]` stand for.
struct Context {
    name: String,
    /// The config file's directory, absolute.
    here: String,
    numprocs: u32,
}

/// Expands supervisord's `%(name)s` in `value`: `%(here)s`, `%(program_name)s`,
/// `%(group_name)s`, `%(numprocs)d`, `%(process_num)d` (→ `{index}`), `%(host_node_name)s`
/// (this host's name, noted), `%(ENV_X)s` (→ `${X}`, returned), `%%` (→ `%`). Returns the
/// text, notes (a format stead cannot honour, an unknown name, kept as written), and the
/// `ENV_` names met.
fn expand(value: &str, ctx: &Context) -> (String, Vec<String>, Vec<String>) {
    let mut out = String::new();
    let mut notes = Vec::new();
    let mut env = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        let Some(spec) = after.strip_prefix('(').and_then(|r| {
            let close = r.find(')')?;
            let name = &r[..close];
            let tail = &r[close + 1..];
            // Python's %-format: flags, width, precision, then the conversion.
            let flags = tail
                .find(|c: char| !matches!(c, '-' | '+' | ' ' | '#' | '0'..='9' | '.'))
                .unwrap_or(tail.len());
            let conv = tail[flags..].chars().next()?;
            conv.is_ascii_alphabetic().then(|| {
                let used = close + 2 + flags + conv.len_utf8();
                (name, &tail[..flags], used)
            })
        }) else {
            notes.push(format!(
                "a `%` that is not a supervisord expansion in `{value}`, kept as written"
            ));
            out.push('%');
            rest = after;
            continue;
        };
        let (name, format, used) = spec;
        let whole = &rest[at..at + 1 + used];
        match name {
            "here" => out.push_str(&ctx.here),
            "program_name" | "group_name" => out.push_str(&ctx.name),
            "numprocs" => out.push_str(&ctx.numprocs.to_string()),
            "process_num" => {
                out.push_str("{index}");
                if !format.is_empty() {
                    notes.push(format!(
                        "`{whole}` is stead's `{{index}}`, without the format `{format}` (0, 1, … not zero-padded)"
                    ));
                }
            }
            "host_node_name" => {
                let host = hostname();
                notes.push(format!(
                    "`{whole}` became this host's name at import, `{host}`: change it where the programs run elsewhere"
                ));
                out.push_str(&host);
            }
            n if n.starts_with("ENV_") && stead_config::vars::is_name(&n[4..]) => {
                // The caller decides where `${X}` can stand (`command`, `environment`).
                env.push(n[4..].to_string());
                let _ = write!(out, "${{{}}}", &n[4..]);
            }
            _ => {
                notes.push(format!(
                    "`{whole}` is not an expansion stead knows, kept as written"
                ));
                out.push_str(whole);
            }
        }
        rest = &rest[at + 1 + used..];
    }
    out.push_str(rest);
    (out, notes, env)
}

/// This host's name, for `%(host_node_name)s`.
fn hostname() -> String {
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn bool_of(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")
}

/// `KEY="val",KEY2=val2` (values may be quoted and contain commas inside quotes).
fn parse_environment(v: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = v.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let (value, after) =
            if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let end = rest[1..].find(q).map_or(rest.len(), |i| i + 1);
                (rest[1..end].to_string(), rest.get(end + 1..).unwrap_or(""))
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                (rest[..end].trim().to_string(), &rest[end..])
            };
        out.push((key, value));
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_may_be_quoted_with_commas() {
        assert_eq!(
            parse_environment("A=\"1,2\",B=x, C='y z'"),
            vec![
                ("A".into(), "1,2".into()),
                ("B".into(), "x".into()),
                ("C".into(), "y z".into())
            ]
        );
    }
}
