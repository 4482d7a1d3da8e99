//! Installer renderers: any arguments and environment the validator accepts parse back.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_manager::fuzzing::round_trip_bytes(data);
});
