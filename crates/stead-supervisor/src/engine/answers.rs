//! What the engine answers besides requests: event waits held until an event comes, and
//! the Prometheus text of every program.

use std::time::Instant;

use super::Engine;
use crate::control::api::EventsReport;

impl Engine {
    /// Answers the event requests that have something to see or whose wait is over.
    pub(super) fn answer_event_waiters(&mut self, now: Instant) {
        if self.event_waiters.is_empty() {
            return;
        }
        let last = self.events.last_seq();
        let waiters = std::mem::take(&mut self.event_waiters);
        for (after, until, reply) in waiters {
            if last > after || now >= until || self.shutting_down {
                let _ = reply.send(Ok(EventsReport {
                    events: self.events.after(after, 1000),
                    last,
                }));
            } else {
                self.event_waiters.push((after, until, reply));
            }
        }
    }

    /// The Prometheus text exposition of every program.
    pub(super) fn metrics(&self, now: Instant) -> String {
        let mut m = crate::metrics::Exposition::default();
        for idx in 0..self.slots.len() {
            // A rolling restart's replacement is not yet the instance: one series per
            // instance, or Prometheus drops a duplicate.
            if self.slots[idx].surge_of.is_some() {
                continue;
            }
            let st = self.status_of(idx, now);
            m.program(&st);
        }
        m.finish(self.events.last_seq())
    }
}
