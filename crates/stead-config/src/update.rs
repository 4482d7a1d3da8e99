//! `update = …` of a program: how a changed program takes its new settings at a reload, and
//! how far a rolling update may go beside or below the program's `numprocs`.

use std::fmt;
use std::str::FromStr;

/// How a running program takes new settings at `stead reload` (`update = …`).
///
/// ```
/// let p = stead_config::ProgramConfig::new("web", vec!["./web".into()]);
/// assert_eq!(p.update, stead_config::UpdateStrategy::Restart);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateStrategy {
    /// Stop each instance, then start it with the new settings.
    #[default]
    Restart,
    /// Instance by instance, within [`RollingLimits`]: start a replacement, wait until it is
    /// ready, then stop the old one (`stead restart --rolling`). A replacement that does not
    /// become ready is stopped and the old instance keeps running.
    Rolling,
}

/// A number of instances, or a percentage of `numprocs` (`2`, `"25%"`), as in a Kubernetes
/// Deployment's `maxSurge` / `maxUnavailable`.
///
/// ```
/// use stead_config::Amount;
/// let a: Amount = "25%".parse().unwrap();
/// assert_eq!((a.of(10, true), a.of(10, false)), (3, 2));
/// assert_eq!("2".parse::<Amount>().unwrap(), Amount::Count(2));
/// assert!("150%".parse::<Amount>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// So many instances.
    Count(u32),
    /// This percentage (0 to 100) of the program's instances.
    Percent(u32),
}

impl Amount {
    /// How many of `n` instances it is: a percentage rounds up when `round_up`, else down
    /// (Kubernetes rounds a surge up and an unavailable count down).
    pub fn of(self, n: u32, round_up: bool) -> u32 {
        match self {
            Amount::Count(c) => c,
            Amount::Percent(p) => {
                let scaled = u64::from(n) * u64::from(p);
                let whole = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(whole).unwrap_or(u32::MAX)
            }
        }
    }

    /// Whether it is none at all, whatever the count of instances.
    pub fn is_zero(self) -> bool {
        matches!(self, Amount::Count(0) | Amount::Percent(0))
    }
}

impl FromStr for Amount {
    type Err = String;

    fn from_str(s: &str) -> Result<Amount, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Amount::Percent(p)),
                _ => Err(format!(
                    "`{s}` is not a percentage from 0% to 100%; write for example \"25%\""
                )),
            };
        }
        t.parse::<u32>().map(Amount::Count).map_err(|_| {
            format!("`{s}` is neither a count nor a percentage; write for example 1 or \"25%\"")
        })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Count(c) => write!(f, "{c}"),
            Amount::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Amount::Count(c) => s.serialize_u32(*c),
            Amount::Percent(_) => s.collect_str(self),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count (0 or more) or a percentage such as \"25%\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                u32::try_from(v)
                    .map(Amount::Count)
                    .map_err(|_| E::custom(format!("{v} is too large a count")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is below 0; give a count of 0 or more")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// How far a rolling update may go beside and below the program's `numprocs`
/// (`update = { strategy = "rolling", max_surge = 1, max_unavailable = 0 }`).
///
/// `max_surge` replacements may run beside the instances they replace, each stopping its old
/// instance once it is ready; `max_unavailable` instances may be restarted in place (stopped,
/// then started with the new settings) at the same time. The default, one surge and none
/// unavailable, replaces one instance at a time and never has fewer than `numprocs` ready.
///
/// ```
/// use stead_config::{Amount, RollingLimits};
/// let l = RollingLimits { max_surge: Amount::Percent(25), max_unavailable: Amount::Percent(25) };
/// assert_eq!(l.resolve(4), (1, 1));
/// assert_eq!(l.resolve(1), (1, 0));
/// // No surge, and 25 % of 2 rounds down to none: one at a time in place, as Kubernetes does.
/// let none = RollingLimits { max_surge: Amount::Count(0), max_unavailable: Amount::Percent(25) };
/// assert_eq!(none.resolve(2), (0, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RollingLimits {
    /// Replacements started beside running instances at once.
    pub max_surge: Amount,
    /// Instances restarted in place at once (below `numprocs` ready while they restart).
    pub max_unavailable: Amount,
}

impl Default for RollingLimits {
    fn default() -> RollingLimits {
        RollingLimits {
            max_surge: Amount::Count(1),
            max_unavailable: Amount::Count(0),
        }
    }
}

impl RollingLimits {
    /// `(surge, unavailable)` for a program of `numprocs` instances. A surge percentage
    /// rounds up, so both come to 0 only with `max_surge = 0` and a percentage unavailable
    /// that rounds down to none: then one instance at a time is restarted in place (as
    /// Kubernetes does), never a surge that was ruled out.
    pub fn resolve(&self, numprocs: u32) -> (u32, u32) {
        let n = numprocs.max(1);
        let surge = self.max_surge.of(n, true).min(n);
        let unavailable = self.max_unavailable.of(n, false).min(n);
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    }

    /// Why these limits cannot be used, if they cannot: both zero would never replace
    /// anything.
    pub fn problem(&self) -> Option<&'static str> {
        (self.max_surge.is_zero() && self.max_unavailable.is_zero()).then_some(
            "`max_surge` and `max_unavailable` cannot both be 0: nothing could be replaced",
        )
    }
}
