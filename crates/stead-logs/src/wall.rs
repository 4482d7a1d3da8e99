//! The wall clock, in one place. Timers, deadlines, backoff and health intervals use
//! `Instant` (monotonic), so a jump of the system clock neither fires nor stalls them;
//! `clippy.toml` forbids reading the wall clock anywhere else. What reads it here: timestamps
//! people read (log lines, events, check results) and calendar-based log rotation.

/// Now, on the wall clock: for timestamps and calendar rotation only.
#[allow(clippy::disallowed_methods)]
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Now as seconds since the Unix epoch, for check results shown to people.
pub fn epoch_secs() -> f64 {
    now().as_duration().as_secs_f64()
}
