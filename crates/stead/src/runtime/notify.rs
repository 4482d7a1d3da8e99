//! systemd and the stead supervisor: the `sd_notify` datagram protocol on `NOTIFY_SOCKET`.
//! The datagrams are built here (pure, tested); sending is one `sd-notify` call. Unix only.

use std::time::Duration;

use super::{Host, HostKind};
use crate::machine::Report;

pub(crate) struct Notify {
    kind: HostKind,
    watchdog: Option<Duration>,
    /// Whether pending reports carry `EXTEND_TIMEOUT_USEC`.
    extend: bool,
}

impl Notify {
    pub(crate) fn from_env(kind: HostKind, extend: bool) -> Notify {
        Notify {
            kind,
            watchdog: watchdog_from_env(),
            extend,
        }
    }
}

/// [`datagram`] without `EXTEND_TIMEOUT_USEC` when the host's timeouts are left alone.
fn datagram_for(report: &Report, monotonic_usec: u128, extend: bool) -> Option<String> {
    let d = datagram(report, monotonic_usec)?;
    if extend {
        return Some(d);
    }
    let kept: Vec<&str> = d
        .lines()
        .filter(|l| !l.starts_with("EXTEND_TIMEOUT_USEC="))
        .collect();
    (!kept.is_empty()).then(|| kept.join("\n"))
}

/// The datagram for one report, `None` when the protocol has nothing to say.
pub(crate) fn datagram(report: &Report, monotonic_usec: u128) -> Option<String> {
    let usec = |d: &Duration| d.as_micros();
    Some(match report {
        Report::Starting { checkpoint: 1, .. } => return None,
        Report::Stopping {
            checkpoint: 1,
            wait_hint,
        } => format!(
            "STOPPING=1\nSTATUS=stopping\nEXTEND_TIMEOUT_USEC={}",
            usec(wait_hint)
        ),
        Report::Starting { wait_hint, .. } | Report::Stopping { wait_hint, .. } => {
            format!("EXTEND_TIMEOUT_USEC={}", usec(wait_hint))
        }
        Report::Running => "READY=1\nSTATUS=running".to_string(),
        Report::Paused => "STATUS=paused".to_string(),
        Report::Reloading => format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}"),
        Report::Status(s) => format!("STATUS={}", one_line(s)),
        Report::Stopped(exit) if exit.success() => format!("STATUS={}", one_line(&exit.reason)),
        Report::Stopped(exit) => format!(
            "STATUS={}\nEXIT_STATUS={}",
            one_line(&exit.reason),
            exit.code
        ),
    })
}

/// A newline would start another assignment: a status is one line.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn send(datagram: &str) {
    use sd_notify::NotifyState;
    if let Err(e) = sd_notify::notify(&[NotifyState::Custom(datagram)]) {
        tracing::debug!("notify socket: {e}");
    }
}

fn monotonic_usec() -> u128 {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(sd_notify::NotifyState::MonotonicUsec(u)) => u128::try_from(u).unwrap_or(0),
        _ => 0,
    }
}

fn watchdog_from_env() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

impl Host for Notify {
    fn report(&mut self, report: &Report) {
        if let Report::Stopped(exit) = report
            && !exit.success()
        {
            tracing::error!(host = self.kind.as_str(), "{}", exit.reason);
        }
        if let Some(d) = datagram_for(report, monotonic_usec(), self.extend) {
            send(&d);
        }
    }

    fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    fn ping(&mut self) {
        send("WATCHDOG=1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exit;

    #[test]
    fn datagrams_follow_the_protocol() {
        let hint = Duration::from_secs(2);
        let starting = |checkpoint| Report::Starting {
            checkpoint,
            wait_hint: hint,
        };
        assert_eq!(datagram(&starting(1), 0), None);
        assert_eq!(
            datagram(&starting(2), 0).as_deref(),
            Some("EXTEND_TIMEOUT_USEC=2000000")
        );
        assert_eq!(
            datagram(&Report::Running, 0).as_deref(),
            Some("READY=1\nSTATUS=running")
        );
        assert_eq!(
            datagram(&Report::Reloading, 42).as_deref(),
            Some("RELOADING=1\nMONOTONIC_USEC=42")
        );
        assert_eq!(
            datagram(
                &Report::Stopping {
                    checkpoint: 1,
                    wait_hint: hint
                },
                0
            )
            .as_deref(),
            Some("STOPPING=1\nSTATUS=stopping\nEXTEND_TIMEOUT_USEC=2000000")
        );
        let failed = Exit {
            code: 3,
            reason: "start failed:\nno db".into(),
        };
        assert_eq!(
            datagram(&Report::Stopped(failed), 0).as_deref(),
            Some("STATUS=start failed: no db\nEXIT_STATUS=3")
        );
        let stopping = Report::Stopping {
            checkpoint: 1,
            wait_hint: hint,
        };
        assert_eq!(
            datagram_for(&stopping, 0, false).as_deref(),
            Some("STOPPING=1\nSTATUS=stopping")
        );
        assert_eq!(datagram_for(&starting(2), 0, false), None);
        assert_eq!(
            datagram_for(&Report::Running, 0, false).as_deref(),
            Some("READY=1\nSTATUS=running")
        );
        assert_eq!(
            datagram(&Report::Status("a\nREADY=1".into()), 0).as_deref(),
            Some("STATUS=a READY=1")
        );
    }
}
