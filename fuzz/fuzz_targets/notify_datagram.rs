//! Notify-socket datagrams: empty, oversized, non-UTF-8, unknown keys.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_supervisor::fuzzing::notify_datagram(data);
});
