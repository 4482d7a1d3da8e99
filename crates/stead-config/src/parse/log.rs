//! `[log]` and `[program.NAME.log]`.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Walker;
use crate::diagnostic::did_you_mean;
use crate::log::{LogFormat, LogMode, LogSettings, RotateEvery, Timestamps, parse_size};

const LOG_KEYS: &[&str] = &[
    "file",
    "console",
    "journald",
    "eventlog",
    "stderr",
    "mode",
    "format",
    "timestamps",
    "max_line",
    "max_size",
    "rotate",
    "keep",
    "compress",
    "max_total",
    "buffer",
];

impl Walker<'_, '_> {
    /// Applies the keys of a log table on top of `base` (the `[log]` defaults).
    pub(super) fn log(&mut self, t: &DeTable<'_>, place: &str, base: &LogSettings) -> LogSettings {
        let mut s = base.clone();
        let mut mode_span = None;
        let mut timestamps_set = None;
        for (key, v) in t {
            match key.get_ref().as_ref() {
                "file" => s.file = self.boolean(v, "file").unwrap_or(s.file),
                "console" => s.console = self.boolean(v, "console").or(s.console),
                "journald" => {
                    s.journald = self.boolean(v, "journald").unwrap_or(false);
                    if s.journald && !cfg!(target_os = "linux") {
                        self.c.error(
                            v.span(),
                            "`journald` is only on Linux",
                            Some("remove it, or use `eventlog` on Windows".into()),
                        );
                    }
                }
                "eventlog" => {
                    s.eventlog = self.boolean(v, "eventlog").unwrap_or(false);
                    if s.eventlog && !cfg!(windows) {
                        self.c.error(
                            v.span(),
                            "`eventlog` is only on Windows",
                            Some("remove it, or use `journald` on Linux".into()),
                        );
                    }
                }
                "stderr" => {
                    if let Some(m) = self.choice(v, "stderr", &["separate", "merge"]) {
                        s.merge_stderr = m == "merge";
                    }
                }
                "mode" => {
                    if let Some(m) = self.choice(v, "mode", &["lines", "raw"]) {
                        s.mode = if m == "raw" {
                            LogMode::Raw
                        } else {
                            LogMode::Lines
                        };
                        mode_span = Some(v.span());
                    }
                }
                "format" => {
                    if let Some(m) = self.choice(v, "format", &["text", "json"]) {
                        s.format = if m == "json" {
                            LogFormat::Json
                        } else {
                            LogFormat::Text
                        };
                    }
                }
                "timestamps" => {
                    let ts = match v.get_ref() {
                        DeValue::Boolean(true) => Some(Timestamps::Utc),
                        DeValue::Boolean(false) => Some(Timestamps::None),
                        _ => {
                            self.choice(v, "timestamps", &["utc", "local", "none"])
                                .map(|m| match m.as_str() {
                                    "local" => Timestamps::Local,
                                    "none" => Timestamps::None,
                                    _ => Timestamps::Utc,
                                })
                        }
                    };
                    if let Some(ts) = ts {
                        s.timestamps = ts;
                        timestamps_set = Some(v.span());
                    }
                }
                "max_line" => {
                    if let Some(n) = self.size(v, "max_line", "\"64KiB\"") {
                        if (1024..=16 * 1024 * 1024).contains(&n) {
                            s.max_line = n as usize;
                        } else {
                            self.c.error(
                                v.span(),
                                "`max_line` must be between 1KiB and 16MiB",
                                Some("for example: max_line = \"64KiB\"".into()),
                            );
                        }
                    }
                }
                "max_size" => {
                    s.max_size = self.size(v, "max_size", "\"100MB\"").unwrap_or(s.max_size)
                }
                "rotate" => {
                    if let Some(m) = self.choice(v, "rotate", &["never", "hourly", "daily"]) {
                        s.rotate = match m.as_str() {
                            "hourly" => RotateEvery::Hourly,
                            "daily" => RotateEvery::Daily,
                            _ => RotateEvery::Never,
                        };
                    }
                }
                "keep" => {
                    s.keep = self
                        .integer(v, "keep", 0..100_001, "10")
                        .map_or(s.keep, |n| n as u32)
                }
                "compress" => s.compress = self.boolean(v, "compress").unwrap_or(s.compress),
                "max_total" => {
                    s.max_total = self.size(v, "max_total", "\"1GB\"").unwrap_or(s.max_total)
                }
                "buffer" => {
                    s.buffer = self
                        .size(v, "buffer", "\"4MiB\"")
                        .map_or(s.buffer, |n| n.min(1 << 30) as usize)
                }
                other => self.unknown(key, other, place, LOG_KEYS),
            }
        }
        if s.mode == LogMode::Raw {
            let span = mode_span.clone().unwrap_or(0..0);
            if s.format == LogFormat::Json {
                self.c.error(
                    span.clone(),
                    format!("{place}: raw output cannot be written as JSON lines"),
                    Some(
                        "use mode = \"lines\" with format = \"json\", or format = \"text\"".into(),
                    ),
                );
            }
            if let Some(ts_span) = timestamps_set.filter(|_| s.timestamps != Timestamps::None) {
                self.c.error(
                    ts_span,
                    format!("{place}: raw output is kept byte for byte, without timestamps"),
                    Some("remove `timestamps`, or use mode = \"lines\"".into()),
                );
            }
            s.timestamps = Timestamps::None;
        }
        s
    }

    pub(super) fn choice(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let example = format!("\"{}\"", allowed[0]);
        let s = self.string(v, key, &example)?;
        if allowed.contains(&s.as_str()) {
            return Some(s);
        }
        let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        let hint = did_you_mean(&s, allowed).map_or_else(
            || format!("use {}", list.join(" or ")),
            |d| format!("did you mean \"{d}\"?"),
        );
        self.c
            .error(v.span(), format!("unknown {key} \"{s}\""), Some(hint));
        None
    }

    pub(super) fn size(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
        example: &str,
    ) -> Option<u64> {
        if let DeValue::Integer(_) = v.get_ref() {
            return self.integer(v, key, 0..i64::MAX, example).map(|n| n as u64);
        }
        let s = self.string(v, key, example)?;
        match parse_size(&s) {
            Ok(n) => Some(n),
            Err(e) => {
                self.c.error(
                    v.span(),
                    format!("bad size for `{key}`: {e}"),
                    Some(format!("for example: {key} = {example}")),
                );
                None
            }
        }
    }
}
