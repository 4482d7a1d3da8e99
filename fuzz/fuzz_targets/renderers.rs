//! Installer renderers: any arguments and environment the validator accepts parse back.
//! Arguments are separated by NUL bytes; an argument `K\x01V` is an environment entry.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut args = Vec::new();
    let mut env = Vec::new();
    for part in text.split('\0') {
        match part.split_once('\u{1}') {
            Some((k, v)) => env.push((k.to_string(), v.to_string())),
            None => args.push(part.to_string()),
        }
    }
    stead_manager::fuzzing::round_trip(args, env);
});
