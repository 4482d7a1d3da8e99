//! A YAML emitter for `serde_json::Value`: block style, every string double-quoted with
//! JSON's escapes (a JSON string is a valid YAML double-quoted scalar), so no value can be
//! misread as a number, a boolean or a date.
//!
//! Written here: `serde_yaml` is archived and unmaintained, and emitting is all we need
//! (no parsing); forty lines cover it.

use serde_json::Value;
use std::fmt::Write;

pub(crate) fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    block(v, 0, &mut out);
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(serde_json::to_string(s).unwrap_or_default()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !k.starts_with(['-', '.'])
        && k.parse::<f64>().is_err()
        && !matches!(
            k,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

fn block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, v) in o {
                if let Some(s) = scalar(v) {
                    let _ = writeln!(out, "{pad}{}: {s}", key(k));
                } else {
                    let _ = writeln!(out, "{pad}{}:", key(k));
                    let child = if v.is_array() { indent } else { indent + 2 };
                    block(v, child, out);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                if let Some(s) = scalar(item) {
                    let _ = writeln!(out, "{pad}- {s}");
                } else {
                    // The first key goes on the dash's line.
                    let mut inner = String::new();
                    block(item, indent + 2, &mut inner);
                    let inner = inner.trim_start();
                    let _ = write!(out, "{pad}- {inner}");
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_and_lists_in_block_style() {
        let v = serde_json::json!({
            "a": {"b": ["x", "y: z"], "c": 3, "yes": true},
            "list": [{"name": "n", "v": "1"}, {"name": "m"}],
            "empty": {}
        });
        assert_eq!(
            to_yaml(&v),
            "a:\n  b:\n  - \"x\"\n  - \"y: z\"\n  c: 3\n  \"yes\": true\nempty: {}\nlist:\n- name: \"n\"\n  v: \"1\"\n- name: \"m\"\n"
        );
    }
}
