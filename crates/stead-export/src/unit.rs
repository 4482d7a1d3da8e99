//! systemd unit files: a small model and the one renderer of them in stead (`stead export
//! systemd` now, `stead install` next), with the escaping rules that unit files need.

use std::fmt::Write;

/// A unit file: sections of `Key=value` lines, in order (keys may repeat).
///
/// ```
/// use stead_export::unit::Unit;
/// let mut u = Unit::default();
/// u.set("Unit", "Description", "web");
/// u.set("Service", "ExecStart", "/usr/bin/web --port 8080");
/// assert_eq!(u.render(), "[Unit]\nDescription=web\n\n[Service]\nExecStart=/usr/bin/web --port 8080\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Unit {
    /// Adds `key=value` to `section` (created at the end when new).
    pub fn set(&mut self, section: &str, key: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some((_, lines)) = self.sections.iter_mut().find(|(s, _)| s == section) {
            lines.push((key.to_string(), value));
        } else {
            self.sections
                .push((section.to_string(), vec![(key.to_string(), value)]));
        }
    }

    /// The values of `key` in `section`, in order.
    pub fn get<'a>(&'a self, section: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.sections
            .iter()
            .filter(move |(s, _)| s == section)
            .flat_map(|(_, lines)| lines.iter())
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every `(section, key, value)`, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.sections.iter().flat_map(|(s, lines)| {
            lines
                .iter()
                .map(move |(k, v)| (s.as_str(), k.as_str(), v.as_str()))
        })
    }

    /// The text of the file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, (name, lines)) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "[{name}]");
            for (k, v) in lines {
                let _ = writeln!(out, "{k}={v}");
            }
        }
        out
    }

    /// Parses a unit file: sections, `Key=value` lines, `#`/`;` comments, lines continued
    /// with a trailing backslash. Returns the line number of anything else.
    pub fn parse(text: &str) -> Result<Unit, (usize, String)> {
        let mut unit = Unit::default();
        let mut section: Option<String> = None;
        let mut pending = String::new();
        let mut start_line = 0;
        for (n, raw) in text.lines().enumerate() {
            let line = if pending.is_empty() {
                start_line = n + 1;
                raw.trim().to_string()
            } else {
                format!("{pending} {}", raw.trim())
            };
            if let Some(cont) = line.strip_suffix('\\') {
                pending = cont.trim_end().to_string();
                continue;
            }
            pending.clear();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.to_string());
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err((start_line, format!("expected Key=value, found `{line}`")));
            };
            let Some(sec) = &section else {
                return Err((start_line, "a setting before any [Section]".to_string()));
            };
            unit.set(sec, k.trim(), v.trim());
        }
        Ok(unit)
    }
}

/// Quotes one argument of `ExecStart=`: double quotes with C-style escapes when needed,
/// `%` doubled (specifiers) and `$` doubled (no variable expansion), so that systemd runs
/// exactly this argv.
///
/// ```
/// use stead_export::unit::exec_arg;
/// assert_eq!(exec_arg("--port"), "--port");
/// assert_eq!(exec_arg("a b"), "\"a b\"");
/// assert_eq!(exec_arg("100%"), "100%%");
/// assert_eq!(exec_arg("$HOME"), "$$HOME");
/// assert_eq!(exec_arg(""), "\"\"");
/// ```
pub fn exec_arg(arg: &str) -> String {
    exec_word(&arg.replace('$', "$$"))
}

/// Quotes one argument of `ExecStart=` whose `$` are meant for systemd: a stead `command`
/// argument, whose variables (`$NAME`, `${NAME}`, `$$`) follow systemd's own rules.
///
/// ```
/// use stead_export::unit::exec_word;
/// assert_eq!(exec_word("$OPTS"), "$OPTS");
/// assert_eq!(exec_word("--dir=${DIR} x"), "\"--dir=${DIR} x\"");
/// assert_eq!(exec_word("$$1"), "$$1");
/// ```
pub fn exec_word(arg: &str) -> String {
    let escaped = escape_value(arg);
    let needs_quotes = arg.is_empty()
        || arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if needs_quotes {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

/// Escapes a value for a unit file: backslashes, quotes and control characters in C style,
/// and `%` doubled.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '%' => out.push_str("%%"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One `Environment=` value: `"KEY=value"`, quoted and escaped.
pub fn environment(key: &str, value: &str) -> String {
    format!("\"{}={}\"", escape_value(key), escape_value(value))
}

/// Splits an `ExecStart=`-style command line back into its argv (quotes, C escapes, `%%`
/// and `$$`), after the `-@:+!` prefixes. The inverse of joining [`exec_arg`]s.
///
/// ```
/// use stead_export::unit::{exec_arg, split_exec};
/// let argv = vec!["/bin/sh".to_string(), "-c".into(), "echo \"100%\" $HOME".into()];
/// let line: Vec<String> = argv.iter().map(|a| exec_arg(a)).collect();
/// assert_eq!(split_exec(&line.join(" ")).unwrap(), argv);
/// ```
pub fn split_exec(line: &str) -> Result<Vec<String>, String> {
    split_words(line, true)
}

/// Splits an `ExecStart=`-style command line into its words like [`split_exec`], but leaves
/// `$` as written (`$NAME`, `${NAME}`, `$$`): stead's `command` reads variables by systemd's
/// rules. The inverse of joining [`exec_word`]s.
///
/// ```
/// use stead_export::unit::{exec_word, split_exec_words};
/// let argv = vec!["/usr/sbin/sshd".to_string(), "-D".into(), "$SSHD_OPTS".into(), "a $$b".into()];
/// let line: Vec<String> = argv.iter().map(|a| exec_word(a)).collect();
/// assert_eq!(split_exec_words(&line.join(" ")).unwrap(), argv);
/// ```
pub fn split_exec_words(line: &str) -> Result<Vec<String>, String> {
    split_words(line, false)
}

fn split_words(line: &str, unescape_dollars: bool) -> Result<Vec<String>, String> {
    let line = line.trim_start_matches(['-', '@', ':', '+', '!']);
    let mut argv = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(argv);
        };
        let mut arg = String::new();
        let quote = (first == '"' || first == '\'').then(|| {
            chars.next();
            first
        });
        loop {
            let Some(c) = chars.next() else {
                if quote.is_some() {
                    return Err(format!("unbalanced quote in `{line}`"));
                }
                break;
            };
            match c {
                c if Some(c) == quote => break,
                c if quote.is_none() && c.is_whitespace() => break,
                '\\' => match chars.next() {
                    Some('n') => arg.push('\n'),
                    Some('t') => arg.push('\t'),
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .map_err(|_| format!("bad \\x escape in `{line}`"))?;
                        arg.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    Some(other) => arg.push(other),
                    None => return Err(format!("trailing backslash in `{line}`")),
                },
                '%' if chars.peek() == Some(&'%') => {
                    chars.next();
                    arg.push('%');
                }
                '$' if unescape_dollars && chars.peek() == Some(&'$') => {
                    chars.next();
                    arg.push('$');
                }
                c => arg.push(c),
            }
        }
        argv.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_round_trip_awkward_arguments() {
        for argv in [
            vec![
                "/bin/echo",
                "a b",
                "\"quoted\"",
                "back\\slash",
                "100%",
                "$X",
                "",
                "tab\there",
                "semi;colon",
            ],
            vec!["/usr/bin/env", "it's"],
        ] {
            let argv: Vec<String> = argv.into_iter().map(String::from).collect();
            let line: Vec<String> = argv.iter().map(|a| exec_arg(a)).collect();
            assert_eq!(
                split_exec(&line.join(" ")).unwrap(),
                argv,
                "{}",
                line.join(" ")
            );
        }
    }

    #[test]
    fn units_parse_back_with_continuations_and_comments() {
        let u = Unit::parse("# c\n[Service]\nExecStart=/bin/a \\\n  --b\nEnvironment=\"A=1\"\n\n[Install]\nWantedBy=x\n").unwrap();
        assert_eq!(
            u.get("Service", "ExecStart").collect::<Vec<_>>(),
            ["/bin/a --b"]
        );
        assert_eq!(u.get("Install", "WantedBy").next(), Some("x"));
        assert!(Unit::parse("[S]\nnonsense\n").is_err());
    }
}
