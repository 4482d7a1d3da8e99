//! Whole control API requests as a client sends them: method, path, headers, body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_supervisor::fuzzing::control_request(data);
});
