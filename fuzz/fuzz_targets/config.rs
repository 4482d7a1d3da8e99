//! `stead.toml` text: parsed and validated; errors name the file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stead_supervisor::fuzzing::config_bytes(data);
});
