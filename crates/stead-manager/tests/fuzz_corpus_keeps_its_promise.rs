//! The `renderers` fuzz seeds (`fuzz/corpus/renderers/`) and any input a fuzzer once
//! crashed on (`fuzz/regressions/renderers/`) round-trip on every `cargo test`.

use std::path::Path;

#[test]
fn renderers_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut seen = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join("renderers")) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            eprintln!("renderers: {}", path.display());
            stead_manager::fuzzing::round_trip_bytes(&std::fs::read(&path).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 1, "fuzz/corpus/renderers is empty");
}
