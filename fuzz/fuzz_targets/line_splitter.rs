//! Log framing: any bytes, in chunks of any size, with any line limit.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_supervisor::fuzzing::line_splitter_bytes(data);
});
