//! A portable signal name, so that configs and the control API never carry OS types.

use std::fmt;
use std::str::FromStr;

/// A signal stead can send to a program.
///
/// On Unix each variant is the POSIX signal of the same name. On Windows only two have a
/// meaning: [`Signal::Int`] and [`Signal::Term`] become `CTRL_BREAK_EVENT` to the program's
/// console process group (Windows has no way to deliver Ctrl-C to another group), and
/// [`Signal::Kill`] terminates the program's Job Object. The others are refused there.
///
/// ```
/// use stead_config::Signal;
/// assert_eq!("SIGTERM".parse::<Signal>().unwrap(), Signal::Term);
/// assert_eq!("hup".parse::<Signal>().unwrap(), Signal::Hup);
/// assert_eq!("9".parse::<Signal>().unwrap(), Signal::Kill);
/// assert_eq!(Signal::Usr1.to_string(), "USR1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Hang-up; by convention "reload your configuration".
    Hup,
    /// Interrupt, what Ctrl-C sends.
    Int,
    /// Quit; many programs dump core or state on it.
    Quit,
    /// Kill; cannot be caught. stead uses it to end a tree that outlived its stop timeout.
    Kill,
    /// User-defined signal 1; often "reopen log files".
    Usr1,
    /// User-defined signal 2.
    Usr2,
    /// Terminate; the polite stop request and stead's default `stop_signal`.
    Term,
    /// Continue a stopped process.
    Cont,
    /// Stop (pause) a process; cannot be caught.
    Stop,
    /// Terminal window size changed; some servers use it for graceful worker shutdown.
    Winch,
    /// Alarm clock.
    Alrm,
}

const NAMES: &[(Signal, &str, i32)] = &[
    (Signal::Hup, "HUP", 1),
    (Signal::Int, "INT", 2),
    (Signal::Quit, "QUIT", 3),
    (Signal::Kill, "KILL", 9),
    (Signal::Usr1, "USR1", 10),
    (Signal::Usr2, "USR2", 12),
    (Signal::Alrm, "ALRM", 14),
    (Signal::Term, "TERM", 15),
    (Signal::Cont, "CONT", 18),
    (Signal::Stop, "STOP", 19),
    (Signal::Winch, "WINCH", 28),
];

impl Signal {
    /// The signal's name without the `SIG` prefix, as `kill -l` prints it.
    ///
    /// ```
    /// assert_eq!(stead_config::Signal::Term.name(), "TERM");
    /// ```
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("?", |(_, n, _)| n)
    }

    /// Every signal stead knows, for help texts and hints.
    pub fn all() -> impl Iterator<Item = Signal> {
        NAMES.iter().map(|(s, _, _)| *s)
    }

    /// The signal with this Linux number, if stead knows it.
    ///
    /// ```
    /// assert_eq!(stead_config::Signal::from_number(15), Some(stead_config::Signal::Term));
    /// ```
    pub fn from_number(n: i32) -> Option<Signal> {
        NAMES
            .iter()
            .find(|(_, _, num)| *num == n)
            .map(|(s, _, _)| *s)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a string that names no signal stead knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signal `{0}`; expected one of HUP, INT, QUIT, KILL, USR1, USR2, ALRM, TERM, CONT, STOP, WINCH (with or without SIG, or the number)"
)]
pub struct UnknownSignal(pub String);

impl FromStr for Signal {
    type Err = UnknownSignal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::from_number(n).ok_or_else(|| UnknownSignal(s.to_string()));
        }
        let upper = t.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMES
            .iter()
            .find(|(_, n, _)| *n == bare)
            .map(|(sig, _, _)| *sig)
            .ok_or_else(|| UnknownSignal(s.to_string()))
    }
}

impl serde::Serialize for Signal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Signal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for sig in Signal::all() {
            assert_eq!(sig.name().parse::<Signal>().unwrap(), sig);
            assert_eq!(format!("SIG{sig}").parse::<Signal>().unwrap(), sig);
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!("SIGFOO".parse::<Signal>().is_err());
        assert!("0".parse::<Signal>().is_err());
        assert!("".parse::<Signal>().is_err());
    }
}
