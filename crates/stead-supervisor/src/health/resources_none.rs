//! No sampler for this OS yet (the BSDs other than macOS): `status` shows no resource figures.

use std::collections::HashMap;

use super::Tree;

/// Whether this OS has a sampler.
pub(crate) const SUPPORTED: bool = false;

/// Nothing is sampled here.
pub(crate) fn sample(_targets: &[(String, u32)]) -> HashMap<String, Tree> {
    HashMap::new()
}

/// Nothing is kept per instance here.
pub(crate) fn tidy(_live: &[&str]) {}
