//! `stead import pm2 FILE`: a PM2 ecosystem file (`ecosystem.config.js`, `.cjs`, or JSON) to
//! programs. A JavaScript file is evaluated by `node` (which every PM2 installation has) and
//! read as the JSON it exports; nothing else of it runs.
//!
//! Mapped: `name`, `script` (or `cmd`, `command`; split into words when it has spaces) +
//! `args` (with `interpreter`, or `node` for `.js` scripts) → `command`, `cwd`, `env`,
//! `instances` (numbers, numeric strings, `"max"`/-N: this machine's CPUs) → `numprocs`,
//! `max_memory_restart` → `limits.max_memory`, `autorestart` → `restart`,
//! `max_restarts`, `restart_delay` → `backoff.initial`, `exp_backoff_restart_delay` →
//! exponential `backoff`, `kill_timeout` → `stop_timeout`, `stop_exit_codes` → `exit_codes`,
//! `merge_logs` / `out_file` = `error_file` → merged stderr. Everything else is listed as not
//! mapped.

use std::path::Path;

use serde_json::Value;

use super::{Draft, program_name, toml_array, toml_str, toml_table};

/// Reads an ecosystem file into drafts, one per app.
pub fn import_file(path: &Path) -> Result<Vec<Draft>, String> {
    let json = load(path)?;
    let apps = match &json {
        Value::Object(o) if o.contains_key("apps") => o["apps"].clone(),
        Value::Array(_) => json.clone(),
        Value::Object(_) => Value::Array(vec![json.clone()]),
        _ => Value::Null,
    };
    let Value::Array(apps) = apps else {
        return Err(format!("{}: no `apps` list", path.display()));
    };
    let base = path.parent().unwrap_or(Path::new("."));
    apps.iter()
        .enumerate()
        .map(|(i, app)| map_app(i, app, base))
        .collect()
}

fn load(path: &Path) -> Result<Value, String> {
    let js = is_js(path);
    let text = if js {
        let abs = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = std::process::Command::new("node")
            .arg("-e")
            .arg("process.stdout.write(JSON.stringify(require(process.argv[1])))")
            .arg(&abs)
            .output()
            .map_err(|e| {
                format!(
                    "{}: reading a JavaScript ecosystem file needs `node` ({e}); or export it as JSON",
                    path.display()
                )
            })?;
        if !out.status.success() {
            return Err(format!(
                "{}: node could not load it: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// A JavaScript file, by its extension (any case).
fn is_js(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["js", "cjs", "mjs"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn map_app(i: usize, app: &Value, base: &Path) -> Result<Draft, String> {
    let Value::Object(o) = app else {
        return Err(format!("app {i} is not an object"));
    };
    let name = o.get("name").and_then(Value::as_str).unwrap_or("app");
    let mut d = Draft::new(&program_name(name));
    // `cmd` and `command` are PM2's other names for `script`.
    let Some((script_key, script)) = ["script", "cmd", "command"]
        .into_iter()
        .find_map(|k| o.get(k).and_then(Value::as_str).map(|s| (k, s)))
    else {
        return Err(format!(
            "app `{name}` has no `script` (nor `cmd`/`command`): name the program to run"
        ));
    };
    // PM2 runs a script with spaces (`node index`) through a shell: the words are the argv.
    let words = if script.trim().contains(char::is_whitespace) {
        let words = shlex::split(script).filter(|w| !w.is_empty()).ok_or_else(|| {
            format!("app `{name}`: cannot split {script_key} `{script}` into arguments (unbalanced quotes)")
        })?;
        d.unmapped(format!(
            "{script_key}={script:?} was split into arguments (PM2 runs it through a shell; add shell = true if it needs one)"
        ));
        words
    } else {
        vec![script.to_string()]
    };
    let script = words[0].as_str();
    let mut argv: Vec<String> = Vec::new();
    match o.get("interpreter").and_then(Value::as_str) {
        Some("none") => {}
        Some(interp) => argv.push(interp.to_string()),
        None if is_js(Path::new(script)) => {
            argv.push("node".into());
        }
        None => {}
    }
    argv.extend(words.iter().cloned());
    match o.get("args") {
        Some(Value::String(s)) => argv.extend(shlex::split(s).unwrap_or_default()),
        Some(Value::Array(a)) => argv.extend(a.iter().filter_map(string_of)),
        _ => {}
    }
    // PM2 passes `$` through as it is; stead's `command` would expand `$NAME` and `${NAME}`.
    let argv: Vec<String> = argv.iter().map(|a| a.replace('$', "$$")).collect();
    d.set("command", toml_array(&argv));
    let mut merged = false;
    let mut backoff: Vec<String> = Vec::new();
    for (k, v) in o {
        match k.as_str() {
            "name" | "script" | "cmd" | "command" | "args" | "interpreter" => {}
            "cwd" => {
                if let Some(c) = v.as_str() {
                    d.set("cwd", toml_str(&base.join(c).display().to_string()));
                }
            }
            "env" => {
                if let Value::Object(env) = v {
                    let pairs: Vec<(String, String)> = env
                        .iter()
                        .filter_map(|(k, v)| string_of(v).map(|v| (k.clone(), v)))
                        .collect();
                    d.set("env", toml_table(&pairs));
                }
            }
            "instances" => match instances(v) {
                Some(Instances::Count(n)) if n > 1 => d.set("numprocs", n.to_string()),
                Some(Instances::Count(_)) => {}
                Some(Instances::Cpus(less)) => {
                    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
                    let n = cpus.saturating_sub(less).max(1);
                    d.set("numprocs", n.to_string());
                    d.unmapped(format!(
                        "instances={v} (PM2 counts this machine's CPUs at start: {n} here; set numprocs for the machines it runs on)"
                    ));
                }
                None => d.unmapped(format!("instances={v} (give a number of instances)")),
            },
            "max_memory_restart" => match memory(v) {
                Some(size) => d.set(
                    "limits",
                    format!(
                        "{{ max_memory = {}, action = \"restart\" }}",
                        toml_str(&size)
                    ),
                ),
                None => d.unmapped(format!(
                    "max_memory_restart={v} (write it as 150M, 1G or bytes)"
                )),
            },
            "autorestart" => {
                let policy = if v.as_bool() == Some(false) {
                    "never"
                } else {
                    "always"
                };
                d.set("restart", toml_str(policy));
            }
            "max_restarts" => {
                if let Some(n) = v.as_u64() {
                    d.set("max_restarts", n.to_string());
                }
            }
            "restart_delay" if o.contains_key("exp_backoff_restart_delay") => d.unmapped(format!(
                "restart_delay={v} (PM2 uses exp_backoff_restart_delay when both are set)"
            )),
            "restart_delay" => {
                if let Some(ms) = v.as_u64() {
                    backoff.push(format!("initial = \"{ms}ms\""));
                    backoff.push("multiplier = 1.0".into());
                }
            }
            "exp_backoff_restart_delay" => {
                if let Some(ms) = v.as_u64() {
                    backoff.push(format!("initial = \"{ms}ms\""));
                    backoff.push("multiplier = 1.5".into());
                    backoff.push("max = \"15s\"".into());
                }
            }
            "kill_timeout" => {
                if let Some(ms) = v.as_u64() {
                    d.set("stop_timeout", toml_str(&format!("{ms}ms")));
                }
            }
            "stop_exit_codes" => {
                let codes: Vec<String> = match v {
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_u64)
                        .map(|c| c.to_string())
                        .collect(),
                    other => other
                        .as_u64()
                        .map(|c| vec![c.to_string()])
                        .unwrap_or_default(),
                };
                let mut all = vec!["0".to_string()];
                all.extend(codes.into_iter().filter(|c| c != "0"));
                d.set("exit_codes", format!("[{}]", all.join(", ")));
            }
            "merge_logs" => {
                if v.as_bool() == Some(true) {
                    merged = true;
                }
            }
            "exec_mode" if v.as_str() == Some("fork") || v.as_str() == Some("fork_mode") => {}
            "watch" if v.as_bool() == Some(false) => {}
            "autostart" => d.set("autostart", (v.as_bool() != Some(false)).to_string()),
            other => d.unmapped(format!("{other}={v}")),
        }
    }
    if let (Some(out), Some(err)) = (o.get("out_file"), o.get("error_file"))
        && out == err
    {
        merged = true;
    }
    if merged {
        d.log.push(("stderr".into(), toml_str("merge")));
    }
    if !backoff.is_empty() {
        d.set("backoff", format!("{{ {} }}", backoff.join(", ")));
    }
    Ok(d)
}

/// PM2's `instances`: a count (a number or a numeric string), or the CPUs less some
/// (`"max"` and 0: all of them; -N: all but N).
enum Instances {
    Count(u64),
    Cpus(usize),
}

fn instances(v: &Value) -> Option<Instances> {
    let n: i64 = match v {
        Value::String(s) if s.trim() == "max" => return Some(Instances::Cpus(0)),
        Value::String(s) => s.trim().parse().ok()?,
        other => other.as_i64()?,
    };
    Some(match n {
        0 => Instances::Cpus(0),
        n if n < 0 => Instances::Cpus(usize::try_from(n.unsigned_abs()).ok()?),
        n => Instances::Count(n.unsigned_abs()),
    })
}

/// PM2's `max_memory_restart` (`150M`, `1G`, `512K`, bytes; PM2 counts in powers of 1024) as
/// a stead size.
fn memory(v: &Value) -> Option<String> {
    let text = string_of(v)?;
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    num.parse::<u64>().ok()?;
    let unit = match unit.to_ascii_uppercase().as_str() {
        "" => "",
        "K" | "KB" => "KiB",
        "M" | "MB" => "MiB",
        "G" | "GB" => "GiB",
        _ => return None,
    };
    Some(format!("{num}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(json: &str) -> crate::import::Imported {
        let dir = std::env::temp_dir().join(format!("stead-pm2-{}", fastrand_name()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ecosystem.json");
        std::fs::write(&file, json).unwrap();
        let drafts = import_file(&file).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        crate::import::write(&drafts, "ecosystem.json")
    }

    fn fastrand_name() -> String {
        format!("{}-{:?}", std::process::id(), std::thread::current().id())
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    }

    #[test]
    fn a_dollar_in_the_arguments_stays_literal() {
        let out =
            import(r#"{"apps":[{"name":"api","script":"/bin/api","args":["$HOME","${X}"]}]}"#);
        out.validate(Path::new("/srv/stead.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
        assert!(
            out.toml
                .contains(r#"command = ["/bin/api", "$$HOME", "$${X}"]"#),
            "{}",
            out.toml
        );
    }

    #[test]
    fn both_restart_delays_give_one_valid_backoff() {
        let out = import(
            r#"{"apps":[{"name":"api","script":"/bin/api","restart_delay":3000,"exp_backoff_restart_delay":100}]}"#,
        );
        out.validate(Path::new("/srv/stead.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
        assert!(
            out.toml.contains("initial = \"100ms\", multiplier = 1.5"),
            "{}",
            out.toml
        );
        assert!(out.unmapped[0].1[0].contains("restart_delay=3000"));
    }

    #[test]
    fn real_world_apps_keep_their_meaning() {
        let out = import(
            r#"{"apps":[
                {"name":"web","script":"node index --port 3000","instances":"4","max_memory_restart":"150M"},
                {"name":"worker","cmd":"/usr/bin/worker","instances":"max"},
                {"name":"cron","command":"/usr/bin/cron-job","instances":-1}
            ]}"#,
        );
        out.validate(Path::new("/srv/stead.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
        let c =
            stead_config::Config::parse_portable(Path::new("/srv/stead.toml"), &out.toml).unwrap();
        let web: Vec<_> = c.programs.iter().filter(|p| p.group == "web").collect();
        assert_eq!(web.len(), 4, "a numeric string is a count");
        assert_eq!(web[0].command, ["node", "index", "--port", "3000"]);
        let limits = web[0].limits.as_ref().unwrap();
        assert_eq!(limits.max_memory, Some(150 * 1024 * 1024));
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let worker = c.programs.iter().filter(|p| p.group == "worker").count();
        assert_eq!(worker, cpus);
        assert_eq!(
            c.programs.iter().filter(|p| p.group == "cron").count(),
            (cpus - 1).max(1)
        );
        assert!(c.programs.iter().any(|p| p.command == ["/usr/bin/worker"]));
        let notes: Vec<&String> = out.unmapped.iter().flat_map(|(_, n)| n).collect();
        assert!(
            notes.iter().any(|n| n.contains("split into arguments")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("instances=\"max\"")),
            "{notes:?}"
        );
    }
}
