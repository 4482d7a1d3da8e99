//! `stead import supervisord FILE`: `[program:x]` sections to programs.
//!
//! Mapped: `command` (split without a shell), `directory`, `environment`, `user`,
//! `autostart`, `autorestart` (`true` → always, `false` → never, `unexpected` → on-failure),
//! `startretries` → `max_restarts`, `stopsignal`, `stopwaitsecs` → `stop_timeout`,
//! `exitcodes`, `numprocs` with `%(process_num)d` → `{index}`, `killasgroup`/`stopasgroup`
//! (stead stops the whole tree unless `kill_tree = false`), `redirect_stderr` → merged
//! stderr, `stdout_logfile_maxbytes`/`_backups` → `max_size`/`keep`. Everything else is listed
//! as not mapped.

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
    let name = d.name.clone();
    let index = |s: &str| {
        s.replace("%(process_num)d", "{index}")
            .replace("%(process_num)s", "{index}")
            .replace("%(program_name)s", &name)
            .replace(
                "%(here)s",
                &path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .display()
                    .to_string(),
            )
    };
    for (line, k, v) in keys {
        if v.contains("%(")
            && !v.contains("%(process_num)")
            && !v.contains("%(program_name)")
            && !v.contains("%(here)")
        {
            d.unmapped(format!("{k}={v} (line {line}: supervisord expansion)"));
            continue;
        }
        match k.as_str() {
            "command" => match shlex::split(&index(v)) {
                Some(argv) if !argv.is_empty() => d.set("command", toml_array(&argv)),
                _ => return Err(format!("{}:{line}: cannot split command `{v}`", path.display())),
            },
            "directory" => d.set("cwd", toml_str(&index(v))),
            "environment" => {
                let pairs = parse_environment(&index(v));
                d.set("env", toml_table(&pairs));
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
            "numprocs" | "process_name" | "numprocs_start" => {}
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
