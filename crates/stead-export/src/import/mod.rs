//! Bringing existing setups in: systemd units ([`systemd`]), supervisord configs
//! ([`supervisord`]) and PM2 ecosystem files ([`pm2`]) become a `stead.toml`, and everything that could not be mapped is
//! listed, per program, so nothing is lost without a word.

pub mod pm2;
pub mod supervisord;
pub mod systemd;

use std::fmt::Write;

/// A program being written out as `stead.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// `[program.NAME]`.
    pub name: String,
    /// `key = value` lines, value already in TOML syntax, in order.
    pub keys: Vec<(String, String)>,
    /// `[program.NAME.log]` keys.
    pub log: Vec<(String, String)>,
    /// What could not be mapped, each with the original setting.
    pub unmapped: Vec<String>,
    /// Ordering settings of a unit (`After=x`), resolved against the other imported units.
    pub(crate) after: Vec<(String, String)>,
    /// The socket units a service names in `Sockets=`, found among the imported units.
    pub(crate) sockets: Vec<String>,
}

impl Draft {
    pub(crate) fn new(name: &str) -> Self {
        Draft {
            name: name.to_string(),
            ..Draft::default()
        }
    }

    pub(crate) fn set(&mut self, key: &str, toml_value: String) {
        self.keys.retain(|(k, _)| k != key);
        self.keys.push((key.to_string(), toml_value));
    }

    pub(crate) fn unmapped(&mut self, what: impl Into<String>) {
        self.unmapped.push(what.into());
    }
}

/// The result of an import: the config text, and what could not be mapped.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The `stead.toml` text.
    pub toml: String,
    /// Per program, the settings left out.
    pub unmapped: Vec<(String, Vec<String>)>,
}

impl Imported {
    /// Checks the text as `stead validate` would, without this host (the programs may live
    /// elsewhere): an import never hands out a config stead would refuse. `path` is where it
    /// will be written (relative paths in it start at its directory).
    pub fn validate(&self, path: &std::path::Path) -> Result<(), String> {
        stead_config::Config::parse_portable(path, &self.toml)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// Writes drafts as a `stead.toml`; unmapped settings become comments under each program.
pub fn write(drafts: &[Draft], source: &str) -> Imported {
    let mut out =
        format!("# Imported by `stead import` from {source}; check it with `stead validate`.\n");
    for d in drafts {
        let _ = writeln!(out, "\n[program.{}]", key(&d.name));
        for (k, v) in &d.keys {
            let _ = writeln!(out, "{k} = {v}");
        }
        if !d.log.is_empty() {
            let items: Vec<String> = d.log.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = writeln!(out, "log = {{ {} }}", items.join(", "));
        }
        for u in &d.unmapped {
            let _ = writeln!(out, "# not mapped: {}", u.replace('\n', " "));
        }
    }
    Imported {
        toml: out,
        unmapped: drafts
            .iter()
            .filter(|d| !d.unmapped.is_empty())
            .map(|d| (d.name.clone(), d.unmapped.clone()))
            .collect(),
    }
}

/// A TOML basic string.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML array of strings.
pub fn toml_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// A TOML inline table of strings.
pub fn toml_table(pairs: &[(String, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), toml_str(v)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

/// A key, bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

/// A program name stead accepts, from any name.
pub(crate) fn program_name(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}
