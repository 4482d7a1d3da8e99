//! Config errors that name the file, line, column and the fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::terminal::escape;

/// One problem found in a config file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// 1-based line of the offending text; 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based column (in characters) of the offending text; 0 when there is no position.
    pub column: usize,
    /// What is wrong, naming the key and the value.
    pub message: String,
    /// How to fix it, when stead can tell.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
    /// The source line, for rendering a caret under the problem.
    #[serde(skip)]
    pub(crate) snippet: Option<(String, usize)>,
}

/// Every problem in one config file, reported at once.
///
/// `Display` renders them the way compilers do:
///
/// ```text
/// error: stead.toml:4:1: unknown key `comand` in [program.web]
///   |
/// 4 | comand = ["./web"]
///   | ^^^^^^
///   = hint: did you mean `command`?
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// The file the problems are in.
    pub path: PathBuf,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    // Names and values quoted from the file are shown with their control characters escaped
    // ([`crate::terminal`]): a config cannot drive the terminal of whoever validates it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        let path = escape(&path);
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let message = escape(&d.message);
            if d.line == 0 {
                write!(f, "error: {path}: {message}")?;
            } else {
                write!(f, "error: {path}:{}:{}: {message}", d.line, d.column)?;
            }
            if let Some((text, width)) = &d.snippet {
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                let (indent, carets) = underline(text, d.column, *width);
                write!(
                    f,
                    "\n{pad} |\n{num} | {}\n{pad} | {indent}{}",
                    escape(text),
                    "^".repeat(carets)
                )?;
            }
            if let Some(h) = &d.hint {
                let pad = " ".repeat(if d.snippet.is_some() {
                    d.line.to_string().len()
                } else {
                    0
                });
                // A hint may span lines (an example table); each is escaped on its own.
                let hint: Vec<_> = h.split('\n').map(escape).collect();
                write!(f, "\n{pad} = hint: {}", hint.join("\n"))?;
            }
        }
        Ok(())
    }
}

/// What goes under the escaped source line to point at `width` characters from `column`: the
/// indent (tabs kept, so that it lines up under tabs) and how many carets, both measured on
/// the escaped text.
fn underline(text: &str, column: usize, width: usize) -> (String, usize) {
    let skip = column.saturating_sub(1);
    let before: String = text.chars().take(skip).collect();
    let under: String = text.chars().skip(skip).take(width).collect();
    let indent = escape(&before)
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    (indent, escape(&under).chars().count().max(1))
}

impl ConfigError {
    /// An error about the file as a whole (unreadable, not UTF-8), with no position.
    pub fn whole_file(path: &Path, message: String, hint: Option<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            diagnostics: vec![Diagnostic {
                line: 0,
                column: 0,
                message,
                hint,
                snippet: None,
            }],
        }
    }
}

/// Collects diagnostics while walking a parsed file, turning byte spans into lines and columns.
pub(crate) struct Collector<'a> {
    text: &'a str,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Collector {
            text,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let start = span.start.min(self.text.len());
        let end = span.end.clamp(start, self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let line_text = self.text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let width = self.text[start..end.min(line_end)].chars().count();
        self.diagnostics.push(Diagnostic {
            line,
            column,
            message: message.into(),
            hint,
            snippet: Some((line_text, width)),
        });
    }

    pub(crate) fn finish(mut self, path: &Path) -> Result<(), ConfigError> {
        if self.diagnostics.is_empty() {
            return Ok(());
        }
        self.diagnostics.sort_by_key(|d| (d.line, d.column));
        Err(ConfigError {
            path: path.to_path_buf(),
            diagnostics: self.diagnostics,
        })
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_become_lines_and_columns() {
        let text = "a = 1\n[program.x]\ncomand = 2\n";
        let mut c = Collector::new(text);
        let at = text.find("comand").unwrap();
        c.error(
            at..at + 6,
            "unknown key `comand`",
            Some("did you mean `command`?".into()),
        );
        let err = c.finish(Path::new("s.toml")).unwrap_err();
        assert_eq!((err.diagnostics[0].line, err.diagnostics[0].column), (3, 1));
        let shown = err.to_string();
        assert!(
            shown.contains("s.toml:3:1: unknown key `comand`"),
            "{shown}"
        );
        assert!(shown.contains("3 | comand = 2"), "{shown}");
        assert!(shown.contains("  | ^^^^^^"), "{shown}");
    }

    #[test]
    fn quoted_names_and_source_lines_show_control_characters_escaped() {
        let text = "[program.\"a\\u001b]0;x\\u0007\"]\nx\t= \"\u{9b}2J\"\n";
        let mut c = Collector::new(text);
        c.error(
            0..1,
            "bad program name `a\x1b]0;x\x07`",
            Some("one\ntwo\x1b".into()),
        );
        let at = text.find('"').unwrap();
        let at = text[at + 1..].find('"').unwrap() + at + 1;
        let at = text[at + 1..].find('"').unwrap() + at + 1;
        c.error(at..at + 4, "bad value", None);
        let shown = c.finish(Path::new("s\x07.toml")).unwrap_err().to_string();
        assert!(!shown.contains(['\x1b', '\x07', '\u{9b}']), "{shown:?}");
        assert!(
            shown.contains(r"error: s\x07.toml:1:1: bad program name `a\e]0;x\x07`"),
            "{shown}"
        );
        assert!(shown.contains("= hint: one\ntwo\\e"), "{shown}");
        // The carets sit under the escaped value, the tab kept in the indent.
        assert!(
            shown.ends_with("2 | x\t= \"\\u{9b}2J\"\n  |  \t  ^^^^^^^^"),
            "{shown}"
        );
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(did_you_mean("comand", &["command", "cwd"]), Some("command"));
        assert_eq!(did_you_mean("zzzzzz", &["command", "cwd"]), None);
    }
}
