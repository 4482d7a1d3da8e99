//! `log` and `pow` for the glibc build, so that it does not load `libm.so.6`.
//!
//! Only two functions of libm are called anywhere in the binary: `pow` by tokio's scheduler
//! statistics and `log` by the export's rendering. For them the dynamic loader maps the whole
//! library and resolves its relocations, which touches pages across it: 0.55 MiB of the glibc
//! supervisor's resident memory (`/proc/PID/smaps`) and one more library to load at every CLI
//! call. Defined here, the two symbols resolve in the executable, and the linker (which Rust
//! runs with `--as-needed`) leaves libm out. The arithmetic is the `libm` crate's, a port of
//! musl's, which is what the static build runs anyway.

/// `pow(x, y)`, for every caller in the binary.
///
/// ```text
/// 2f64.powf(10.0) == 1024.0   // reaches this through the `pow` symbol
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// `log(x)`, the natural logarithm, for every caller in the binary.
///
/// ```text
/// 1f64.ln() == 0.0   // reaches this through the `log` symbol
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_symbols_compute_the_functions() {
        let close = |a: f64, b: f64| (a - b).abs() <= b.abs() * 1e-15;
        assert_eq!(super::pow(2.0, 10.0).to_bits(), 1024f64.to_bits());
        assert!(close(super::pow(10.0, -2.0), 0.01));
        assert!(close(super::pow(0.5, 0.5), std::f64::consts::FRAC_1_SQRT_2));
        assert!(close(2f64.powf(0.25), 1.189_207_115_002_721));
        assert_eq!(super::log(1.0).to_bits(), 0f64.to_bits());
        assert!(close(super::log(std::f64::consts::E), 1.0));
        assert!(close(1000f64.ln(), 3.0 * std::f64::consts::LN_10));
        assert!(super::log(-1.0).is_nan());
    }

    /// The test binary links this module as the release binary does: no libm in it.
    #[test]
    fn libm_is_not_loaded() {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(
            !maps.contains("/libm.so"),
            "libm.so is mapped, so the linker kept it: something calls another libm function\n{maps}"
        );
    }
}
