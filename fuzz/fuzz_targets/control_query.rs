//! Control API query strings (`?name=…`, `?after=…&wait=…`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_supervisor::fuzzing::control_query_bytes(data);
});
