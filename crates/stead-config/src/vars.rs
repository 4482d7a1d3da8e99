//! Variables in `command`, by systemd's rules for command lines (systemd.service(5),
//! "Command lines"), so that a unit's `ExecStart=` means the same in stead:
//!
//! - `$NAME` as a whole argument becomes the variable's value split into words at whitespace
//!   (quotes respected, then removed); an unset or empty variable gives no word at all;
//! - `${NAME}`, anywhere in an argument, becomes the exact value, whitespace and all: always
//!   part of one argument;
//! - `$$` is one literal `$`;
//! - any other `$` (`$1`, `a$b`, `--x=$NAME`, a lone `$`) stays as written.
//!
//! ```
//! use stead_config::vars::expand_argv;
//! let env = |name: &str| match name {
//!     "OPTS" => Some("-o 'Port 22' -D".to_string()),
//!     "DIR" => Some("/srv/my app".to_string()),
//!     _ => None,
//! };
//! let argv: Vec<String> = ["sshd", "$OPTS", "--dir=${DIR}", "$UNSET", "$$HOME", "a$b"]
//!     .map(String::from)
//!     .to_vec();
//! assert_eq!(
//!     expand_argv(&argv, env).unwrap(),
//!     ["sshd", "-o", "Port 22", "-D", "--dir=/srv/my app", "$HOME", "a$b"]
//! );
//! ```

use std::fmt;

/// What is wrong with a variable in `command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarError {
    /// `${NAME}` names a variable that is not set.
    Undefined {
        /// The argument (0-based) it is in.
        arg: usize,
        /// The name.
        name: String,
    },
    /// `${…}` holds something that is not a variable name (`${A:-b}`, `${}`), or is not closed.
    Malformed {
        /// The argument (0-based) it is in.
        arg: usize,
        /// The text from `${` on.
        text: String,
    },
}

impl VarError {
    /// The argument (0-based) the problem is in.
    pub fn arg(&self) -> usize {
        match self {
            VarError::Undefined { arg, .. } | VarError::Malformed { arg, .. } => *arg,
        }
    }
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarError::Undefined { name, .. } => write!(
                f,
                "`${{{name}}}` in `command` is not set (not in `env`, `env_file` or stead's own environment)"
            ),
            VarError::Malformed { text, .. } => write!(
                f,
                "`{text}` in `command` is not a variable: `${{` takes one name of letters, digits and `_`, then `}}`"
            ),
        }
    }
}

/// One piece of an argument, as [`parse_arg`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text as it is (`$$` already made one `$`).
    Text(String),
    /// `${NAME}`: the exact value.
    Braced(String),
    /// `$NAME` as the whole argument: the value's words.
    Words(String),
}

/// Whether `s` is a variable name: a letter or `_`, then letters, digits and `_`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads one argument into its pieces; `arg` is its position, for errors.
pub fn parse_arg(s: &str, arg: usize) -> Result<Vec<Piece>, VarError> {
    if let Some(name) = s.strip_prefix('$')
        && is_name(name)
    {
        return Ok(vec![Piece::Words(name.to_string())]);
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            text.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let Some(end) = r.find('}').filter(|&e| is_name(&r[..e])) else {
                let text = r.find('}').map_or(&rest[at..], |e| &rest[at..at + e + 3]);
                return Err(VarError::Malformed {
                    arg,
                    text: text.to_string(),
                });
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Braced(r[..end].to_string()));
            rest = &r[end + 1..];
        } else {
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Whether an argument holds a variable (`$NAME` as a whole, or `${NAME}`), or a `$$`:
/// whether expansion changes it.
pub fn has_variables(s: &str) -> bool {
    s.contains("$$")
        || parse_arg(s, 0).map_or(true, |p| p.iter().any(|x| !matches!(x, Piece::Text(_))))
}

/// Expands the variables of `argv` (see the module docs); `lookup` gives a variable's value.
pub fn expand_argv(
    argv: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, VarError> {
    let mut out = Vec::with_capacity(argv.len());
    for (i, a) in argv.iter().enumerate() {
        let pieces = parse_arg(a, i)?;
        if let [Piece::Words(name)] = pieces.as_slice() {
            let value = lookup(name).unwrap_or_default();
            out.extend(
                shlex::split(&value)
                    .unwrap_or_else(|| value.split_whitespace().map(str::to_string).collect()),
            );
            continue;
        }
        let mut word = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => word.push_str(&t),
                // Only ever a whole argument (above).
                Piece::Words(name) => {
                    word.push('$');
                    word.push_str(&name);
                }
                Piece::Braced(name) => match lookup(&name) {
                    Some(v) => word.push_str(&v),
                    None => return Err(VarError::Undefined { arg: i, name }),
                },
            }
        }
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "ARGS" => Some("--web.listen-address=:9090  --log.level=info".into()),
            "EMPTY" => Some(String::new()),
            "SPACED" => Some(" a  b ".into()),
            _ => None,
        }
    }

    #[test]
    fn a_whole_word_variable_splits_and_an_unset_or_empty_one_gives_no_word() {
        assert_eq!(
            expand_argv(&argv(&["prom", "$ARGS", "$UNSET", "$EMPTY", "x"]), env).unwrap(),
            [
                "prom",
                "--web.listen-address=:9090",
                "--log.level=info",
                "x"
            ]
        );
    }

    #[test]
    fn a_braced_variable_is_exactly_one_word_with_its_whitespace() {
        assert_eq!(
            expand_argv(&argv(&["p", "${SPACED}", "-x${EMPTY}y"]), env).unwrap(),
            ["p", " a  b ", "-xy"]
        );
    }

    #[test]
    fn dollars_that_name_nothing_stay_and_double_dollars_are_one() {
        assert_eq!(
            expand_argv(
                &argv(&[
                    "sh",
                    "-c",
                    "echo $HOME $1",
                    "$",
                    "$1",
                    "--x=$ARGS",
                    "$$ARGS",
                    "a$$b"
                ]),
                env
            )
            .unwrap(),
            [
                "sh",
                "-c",
                "echo $HOME $1",
                "$",
                "$1",
                "--x=$ARGS",
                "$ARGS",
                "a$b"
            ]
        );
    }

    #[test]
    fn an_undefined_or_malformed_braced_variable_is_an_error_naming_its_argument() {
        assert_eq!(
            expand_argv(&argv(&["p", "${NOPE}"]), env),
            Err(VarError::Undefined {
                arg: 1,
                name: "NOPE".into()
            })
        );
        for bad in ["${A:-b}", "${}", "x${OPEN", "${1x}"] {
            let e = expand_argv(&argv(&["p", bad]), env).unwrap_err();
            assert!(
                matches!(e, VarError::Malformed { arg: 1, .. }),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn only_what_expansion_changes_counts_as_variables() {
        assert!(has_variables("$X") && has_variables("a${X}") && has_variables("$$"));
        assert!(!has_variables("echo $HOME") && !has_variables("$1") && !has_variables("plain"));
    }
}
