//! `update = …` of a program: `"restart"`, `"rolling"`, or a table with the rolling limits.

use toml::Spanned;
use toml::de::DeValue;

use super::Walker;
use crate::{Amount, RollingLimits, UpdateStrategy};

const UPDATE_KEYS: &[&str] = &["strategy", "max_surge", "max_unavailable"];
const EXAMPLE: &str = "{ strategy = \"rolling\", max_surge = 1, max_unavailable = \"25%\" }";

impl Walker<'_, '_> {
    /// The strategy and the rolling limits; the defaults for what is missing or wrong (each
    /// wrong part is reported).
    pub(super) fn update(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        program: &str,
    ) -> (UpdateStrategy, RollingLimits) {
        let mut limits = RollingLimits::default();
        let t = match v.get_ref() {
            DeValue::String(_) => return (self.strategy(v, "update"), limits),
            DeValue::Table(t) => t,
            _ => {
                self.type_error(v, "update", "\"restart\", \"rolling\" or a table", EXAMPLE);
                return (UpdateStrategy::Restart, limits);
            }
        };
        let place = format!("[program.{program}] update");
        let mut strategy = None;
        for (key, val) in t {
            match key.get_ref().as_ref() {
                "strategy" => strategy = Some(self.strategy(val, "strategy")),
                "max_surge" => {
                    if let Some(a) = self.amount(val, "max_surge") {
                        limits.max_surge = a;
                    }
                }
                "max_unavailable" => {
                    if let Some(a) = self.amount(val, "max_unavailable") {
                        limits.max_unavailable = a;
                    }
                }
                other => self.unknown(key, other, &place, UPDATE_KEYS),
            }
        }
        if let Some(why) = limits.problem() {
            self.c.error(
                v.span(),
                format!("{why} (in {place})"),
                Some("for example: max_surge = 1, max_unavailable = 0".into()),
            );
        }
        let Some(strategy) = strategy else {
            self.c.error(
                v.span(),
                format!("{place} has no `strategy`"),
                Some("add strategy = \"rolling\" (or \"restart\")".into()),
            );
            return (UpdateStrategy::Restart, limits);
        };
        (strategy, limits)
    }

    fn strategy(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> UpdateStrategy {
        match self.choice(v, key, &["restart", "rolling"]).as_deref() {
            Some("rolling") => UpdateStrategy::Rolling,
            _ => UpdateStrategy::Restart,
        }
    }

    fn amount(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<Amount> {
        match v.get_ref() {
            DeValue::Integer(_) => {
                return self
                    .integer(v, key, 0..1_000_001, "1")
                    .map(|n| Amount::Count(n as u32));
            }
            DeValue::String(_) => {}
            _ => {
                self.type_error(v, key, "a count or a percentage", "1 or \"25%\"");
                return None;
            }
        }
        let s = self.string(v, key, "\"25%\"")?;
        match s.parse::<Amount>() {
            Ok(a) => Some(a),
            Err(msg) => {
                self.c.error(
                    v.span(),
                    format!("`{key}`: {msg}"),
                    Some(format!("for example: {key} = 1 or {key} = \"25%\"")),
                );
                None
            }
        }
    }
}
