//! Config errors that name the file, line, column and the fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if d.line == 0 {
                write!(f, "error: {}: {}", self.path.display(), d.message)?;
            } else {
                write!(
                    f,
                    "error: {}:{}:{}: {}",
                    self.path.display(),
                    d.line,
                    d.column,
                    d.message
                )?;
            }
            if let Some((text, width)) = &d.snippet {
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                write!(
                    f,
                    "\n{pad} |\n{num} | {text}\n{pad} | {}{}",
                    " ".repeat(d.column.saturating_sub(1)),
                    "^".repeat((*width).max(1))
                )?;
            }
            if let Some(h) = &d.hint {
                let pad = " ".repeat(if d.snippet.is_some() {
                    d.line.to_string().len()
                } else {
                    0
                });
                write!(f, "\n{pad} = hint: {h}")?;
            }
        }
        Ok(())
    }
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
    fn suggestions_catch_typos_only() {
        assert_eq!(did_you_mean("comand", &["command", "cwd"]), Some("command"));
        assert_eq!(did_you_mean("zzzzzz", &["command", "cwd"]), None);
    }
}
