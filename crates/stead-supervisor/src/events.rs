//! The supervisor's event history: state changes, readiness, health, reloads — kept in a
//! ring for `stead events`, numbered so a follower asks for "everything after N".

use std::collections::VecDeque;

/// Events kept for `stead events` (older ones are dropped first).
const KEEP: usize = 2000;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    /// Rises by one per event, from 1, for the life of the supervisor.
    pub seq: u64,
    /// When, as an RFC 3339 UTC time.
    pub ts: String,
    /// The program instance (`web`, `worker:2`), or empty for the supervisor itself.
    pub program: String,
    /// `started`, `ready`, `unhealthy`, `healthy`, `exited`, `backoff`, `fatal`, `stopped`,
    /// `failed`, `waiting`, `reloaded`, `limit`.
    pub kind: String,
    /// One line of detail (exit code, reason, probe message).
    pub detail: String,
}

/// The ring.
#[derive(Debug, Default)]
pub(crate) struct Events {
    ring: VecDeque<EventRecord>,
    seq: u64,
}

impl Events {
    pub(crate) fn push(&mut self, program: &str, kind: &str, detail: impl Into<String>) {
        self.seq += 1;
        let ts = crate::wall::now().to_string();
        let detail = detail.into();
        tracing::debug!(program, kind, "{detail}");
        self.ring.push_back(EventRecord {
            seq: self.seq,
            ts,
            program: program.to_string(),
            kind: kind.to_string(),
            detail,
        });
        if self.ring.len() > KEEP {
            self.ring.pop_front();
        }
    }

    /// Events after `after` (all kept ones for 0), oldest first, at most `limit`.
    pub(crate) fn after(&self, after: u64, limit: usize) -> Vec<EventRecord> {
        self.ring
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }

    /// The newest sequence number (0: none yet).
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq
    }
}
