//! `stead.toml` text: parsed and validated; errors name the file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        stead_supervisor::fuzzing::config(text);
    }
});
