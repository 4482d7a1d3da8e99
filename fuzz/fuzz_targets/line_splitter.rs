//! Log framing: any bytes, in chunks of any size, with any line limit.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (head, rest) = data.split_at(data.len().min(2));
    let max_line = head.first().map_or(8, |b| usize::from(*b) + 1);
    let step = head.get(1).map_or(3, |b| usize::from(*b) % 97 + 1);
    let chunks: Vec<&[u8]> = rest.chunks(step).collect();
    stead_supervisor::fuzzing::line_splitter(&chunks, max_line);
});
