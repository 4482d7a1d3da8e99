//! Text from programs, made safe to show on an operator's terminal.
//!
//! A program's output, its `STATUS=` text and a probe's last line of stderr are data, but a
//! terminal reads control characters in them as commands: `ESC ] 0 ; … BEL` retitles the
//! window, `ESC [ 2 J` clears the screen, `ESC ] 52 ; c ; … BEL` writes the clipboard, and a
//! carriage return lets `text\rFAKE` overwrite what was shown. Everywhere stead shows such text
//! to a person, it goes through [`escape`] (or [`escape_bytes`]/[`escape_into`] for raw bytes)
//! first, which writes each control character visibly instead:
//!
//! | what | shown as |
//! |---|---|
//! | ESC (0x1b) | `\e` |
//! | CR, LF | `\r`, `\n` |
//! | every other C0 control (0x00–0x1f) but tab, and DEL (0x7f) | `\xNN`, e.g. `\x07` |
//! | C1 controls (U+0080–U+009F, e.g. the one-character CSI U+009B) | `\u{9b}` |
//! | a byte that is not part of valid UTF-8 | `\xNN` |
//!
//! Tab is kept (it only moves the cursor right), and so is every other character, UTF-8
//! included. A backslash is not doubled: the escapes are for reading, not for parsing back.
//! Log files on disk always keep the bytes as written; `stead logs --raw` prints them as they
//! are.
//!
//! ```
//! use stead_config::terminal::{escape, escape_bytes};
//!
//! assert_eq!(escape("\x1b]0;title\x07"), r"\e]0;title\x07");
//! assert_eq!(escape("text\rFAKE"), r"text\rFAKE");
//! assert_eq!(escape("tab\tand é stay"), "tab\tand é stay");
//! assert_eq!(escape_bytes(b"bad \xff byte"), r"bad \xff byte");
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is one a terminal would act on rather than show.
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0a'..='\x1f' | '\x7f'..='\u{9f}')
}

fn push_escaped(c: char, out: &mut String) {
    match c {
        '\x1b' => out.push_str(r"\e"),
        '\r' => out.push_str(r"\r"),
        '\n' => out.push_str(r"\n"),
        '\0'..='\x7f' => {
            let _ = write!(out, r"\x{:02x}", c as u32);
        }
        _ => {
            let _ = write!(out, r"\u{{{:x}}}", c as u32);
        }
    }
}

fn push_str_escaped(s: &str, out: &mut String) {
    push_str_escaped_but(s, |_| false, out);
}

/// Escapes the control characters of `s` for which `keep` is false.
fn push_str_escaped_but(s: &str, keep: impl Fn(char) -> bool, out: &mut String) {
    let mut rest = s;
    while let Some(i) = rest.find(|c| is_control(c) && !keep(c)) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or_default();
        push_escaped(c, out);
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// `text` with every control character but tab shown visibly (see the [module](self) docs);
/// borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_str_escaped(text, &mut out);
    Cow::Owned(out)
}

/// A message of stead's own for a person (an error, which may span lines): as [`escape`],
/// except that newline stays. Whatever it quotes (a name given on the command line, a path,
/// an answer from the supervisor) cannot act on the terminal.
///
/// ```
/// use stead_config::terminal::escape_message;
///
/// assert_eq!(
///     escape_message("no program named `x\x1b[2J`\n  hint: …"),
///     "no program named `x\\e[2J`\n  hint: …"
/// );
/// ```
pub fn escape_message(text: &str) -> Cow<'_, str> {
    let keep = |c: char| c == '\n';
    if !text.contains(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_str_escaped_but(text, keep, &mut out);
    Cow::Owned(out)
}

/// Bytes that should be UTF-8 text, with control characters shown visibly and each byte that
/// is not valid UTF-8 as `\xNN`; borrowed when there is nothing to change.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        push_str_escaped(chunk.valid(), &mut out);
        for b in chunk.invalid() {
            let _ = write!(out, r"\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// [`escape_bytes`], appended to `out`: for writers that gather lines into one buffer.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(escape_bytes(bytes).as_bytes());
}

/// One of stead's own log lines for a terminal (its `tracing` output), which may quote a
/// program's text (a probe's stderr, a `STATUS=`): as [`escape_bytes`], except that ESC and
/// newline stay. The formatter writes colours of its own, and already shows an ESC in the
/// text it formats as `\x1b`; a line ends with a newline, and a message may span lines.
pub fn escape_log_line(bytes: &[u8]) -> Cow<'_, str> {
    let keep = |c: char| c == '\x1b' || c == '\n';
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains(|c| is_control(c) && !keep(c)) => Cow::Borrowed(text),
        _ => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                push_str_escaped_but(chunk.valid(), keep, &mut out);
                for b in chunk.invalid() {
                    let _ = write!(out, r"\x{b:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// JSON text with DEL and the C1 controls (U+007F–U+009F) written as `\u00XX`: the same JSON
/// value, but nothing a terminal acts on. A JSON serializer already escapes the C0 controls
/// and leaves these as they are; they can only occur inside strings, where `\u00XX` means the
/// same character.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '\x7f'..='\u{9f}');
    if !json.contains(needs) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if needs(c) {
            let _ = write!(out, r"\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        assert_eq!(escape("\x1b]0;title\x07"), r"\e]0;title\x07");
        assert_eq!(escape("\x1b[2J"), r"\e[2J");
        assert_eq!(escape("\x1b]52;c;aGk=\x07"), r"\e]52;c;aGk=\x07");
        assert_eq!(escape("a lone \x1b"), r"a lone \e");
    }

    #[test]
    fn carriage_returns_and_newlines_cannot_overwrite_or_forge_lines() {
        assert_eq!(escape("text\rFAKE"), r"text\rFAKE");
        assert_eq!(escape("one\ntwo"), r"one\ntwo");
    }

    #[test]
    fn every_c0_control_but_tab_and_del_are_escaped() {
        for b in (0u8..0x20).chain([0x7f]) {
            let c = char::from(b);
            let shown = escape_bytes(&[b]).into_owned();
            if c == '\t' {
                assert_eq!(shown, "\t");
                continue;
            }
            assert!(
                shown.starts_with('\\') && !shown.contains(is_control),
                "{b:#04x} shown as {shown:?}"
            );
        }
        assert_eq!(escape("\0\x07\x08\x7f"), r"\x00\x07\x08\x7f");
    }

    #[test]
    fn c1_controls_are_escaped() {
        for c in '\u{80}'..='\u{9f}' {
            let shown = escape(&c.to_string()).into_owned();
            assert_eq!(shown, format!("\\u{{{:x}}}", c as u32));
        }
        assert_eq!(escape("\u{9b}2J"), r"\u{9b}2J");
    }

    #[test]
    fn tab_and_printable_unicode_are_kept_and_borrowed() {
        for s in [
            "plain",
            "tab\there",
            "é ü 日本 🦀",
            "\u{a0}\u{a0}",
            r"C:\path\x07",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(t) if t == s), "{s:?}");
            assert!(matches!(escape_bytes(s.as_bytes()), Cow::Borrowed(t) if t == s));
        }
    }

    #[test]
    fn invalid_utf8_bytes_are_shown_as_hex() {
        assert_eq!(escape_bytes(b"a\xffb"), r"a\xffb");
        assert_eq!(escape_bytes(b"\xc3"), r"\xc3");
        assert_eq!(
            escape_bytes(b"\xe6\x97\xa5 \xe6\x97 \x1b"),
            r"日 \xe6\x97 \e"
        );
        // A C1 control's UTF-8 encoding is still recognised among invalid bytes.
        assert_eq!(escape_bytes(b"\xff\xc2\x9b"), r"\xff\u{9b}");
    }

    #[test]
    fn escape_into_appends() {
        let mut out = b"web | ".to_vec();
        escape_into(b"x\x1b[2J", &mut out);
        assert_eq!(out, br"web | x\e[2J");
    }

    #[test]
    fn stead_log_lines_keep_their_colours_and_newlines_only() {
        let line = b"\x1b[33m WARN\x1b[0m unhealthy: \\x1b]0;x\x07 down\rFAKE\xc2\x9b\xff\n";
        assert_eq!(
            escape_log_line(line),
            "\x1b[33m WARN\x1b[0m unhealthy: \\x1b]0;x\\x07 down\\rFAKE\\u{9b}\\xff\n"
        );
        let plain = "\x1b[32m INFO\x1b[0m a\n\tb\n";
        assert!(matches!(escape_log_line(plain.as_bytes()), Cow::Borrowed(t) if t == plain));
    }

    #[test]
    fn json_keeps_its_value_without_c1_controls() {
        let raw = "a\u{9b}2J\u{7f}é";
        let json = serde_json::to_string(raw).unwrap();
        let safe = escape_json(&json);
        assert!(!safe.contains(is_control), "{safe}");
        assert_eq!(safe, r#""a\u009b2J\u007fé""#);
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), raw);
        assert!(matches!(escape_json(r#"{"a":"\u001b"}"#), Cow::Borrowed(_)));
    }
}
