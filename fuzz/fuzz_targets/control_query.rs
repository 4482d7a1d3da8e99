//! Control API query strings (`?name=…`, `?after=…&wait=…`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data) {
        stead_supervisor::fuzzing::control_query(q);
    }
});
