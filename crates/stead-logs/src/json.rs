//! JSON string escaping for JSON log lines, at the speed of a copy.
//!
//! Written here rather than through `serde_json::to_writer`: that goes through `io::Write`
//! one fragment at a time and needs a `&str` (so a lossy copy first), which made JSON lines
//! cost twice what plain lines do. This escapes exactly as `serde_json` does (`\"`, `\\`,
//! `\b \t \n \f \r`, other controls as `\u00XX` in lower-case hex, everything else as is;
//! the tests hold it to `serde_json` byte for byte), checking eight bytes at a time for
//! anything to escape and copying clean runs whole.

/// What each byte becomes: 0 stays, `u` is `\u00XX`, anything else is `\` and that byte.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` to `out` as a quoted JSON string. Bytes that are not UTF-8 are replaced
/// by U+FFFD, as `String::from_utf8_lossy` does.
///
/// Most log lines are plain ASCII with nothing to escape: [`clean_ascii`] finds how much of
/// the line is, in one pass, and that part is copied whole. Only the rest (from the first
/// quote, backslash, control or non-ASCII byte) is checked for UTF-8 and escaped.
///
/// ```ignore
/// let mut out = Vec::new();
/// push_string(&mut out, b"a\"b\n");
/// assert_eq!(out, br#""a\"b\n""#);
/// ```
pub(crate) fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let clean = clean_ascii(bytes);
    out.extend_from_slice(&bytes[..clean]);
    // The clean part is ASCII, so the rest starts on a character boundary and is valid UTF-8
    // exactly when the whole line is.
    let rest = &bytes[clean..];
    if !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => escape_into(out, s.as_bytes()),
            Err(_) => escape_into(out, String::from_utf8_lossy(rest).as_bytes()),
        }
    }
    out.push(b'"');
}

/// The length of the longest prefix of `s` that is ASCII with nothing to escape: no byte
/// below 0x20, no `"`, no `\`, none from 0x80 up. Sixteen bytes at a time with SSE2, which
/// every `x86_64` processor has: as signed bytes, 0x80 and up are negative, so one "less
/// than 0x20" finds controls and non-ASCII bytes together.
#[cfg(target_arch = "x86_64")]
fn clean_ascii(s: &[u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    if s.len() < 16 {
        return clean_ascii_bytes(s);
    }
    // SAFETY: SSE2 is in the x86_64 baseline; every load reads 16 bytes inside `s` (the last
    // one ends at its end, overlapping what was already checked), unaligned loads allowed.
    unsafe {
        let space = _mm_set1_epi8(0x20);
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        // `_mm_loadu_si128` takes any alignment, whatever its pointer type says.
        #[allow(clippy::cast_ptr_alignment)]
        let dirty = |at: usize| -> u32 {
            let v = _mm_loadu_si128(s.as_ptr().add(at).cast::<__m128i>());
            let bad = _mm_or_si128(
                _mm_cmplt_epi8(v, space),
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            );
            _mm_movemask_epi8(bad) as u32
        };
        let mut i = 0;
        while i + 16 <= s.len() {
            let m = dirty(i);
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 16;
        }
        if i < s.len() {
            let last = s.len() - 16;
            let m = dirty(last);
            if m != 0 {
                return last + m.trailing_zeros() as usize;
            }
        }
    }
    s.len()
}

/// [`clean_ascii`] eight bytes at a time, where there is no SSE2.
#[cfg(not(target_arch = "x86_64"))]
fn clean_ascii(s: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"));
        if w & HIGH != 0 || needs_escape(w) {
            break;
        }
        i += 8;
    }
    i + clean_ascii_bytes(&s[i..])
}

/// [`clean_ascii`] one byte at a time: for short lines and the last bytes.
fn clean_ascii_bytes(s: &[u8]) -> usize {
    s.iter()
        .position(|&b| !(0x20..0x80).contains(&b) || b == b'"' || b == b'\\')
        .unwrap_or(s.len())
}

/// Whether any of the eight bytes of `w` is below 0x20, `"` or `\`.
#[inline]
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20: subtracting 0x20 borrows into its high bit (bytes with the high
    // bit already set are excluded by `!w`).
    let low = w.wrapping_sub(ONES * 0x20) & !w;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (low | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) & HIGH != 0
}

/// Appends `s` (valid UTF-8) escaped, without quotes.
fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len());
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        if i + 8 <= s.len() {
            let w = u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"));
            if !needs_escape(w) {
                i += 8;
                continue;
            }
        }
        let b = s[i];
        let e = ESCAPE[usize::from(b)];
        if e != 0 {
            out.extend_from_slice(&s[start..i]);
            if e == b'u' {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            } else {
                out.push(b'\\');
                out.push(e);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_string(&mut out, bytes);
        out
    }

    fn serde(bytes: &[u8]) -> Vec<u8> {
        serde_json::to_vec(String::from_utf8_lossy(bytes).as_ref()).unwrap()
    }

    #[test]
    fn every_single_byte_escapes_as_serde_json_does() {
        for b in 0..=255u8 {
            for pad in 0..40 {
                let mut input = vec![b'x'; pad];
                input.push(b);
                input.extend_from_slice(&[b'y'; 9]);
                assert_eq!(ours(&input), serde(&input), "byte {b:#x} at {pad}");
            }
        }
    }

    #[test]
    fn random_bytes_escape_as_serde_json_does() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..80);
            let input: Vec<u8> = (0..len)
                .map(|_| match rng.u8(0..4) {
                    0 => rng.u8(..),
                    1 => rng.u8(0..0x20),
                    2 => *rng.choice(b"\"\\\x7f").unwrap(),
                    _ => rng.u8(0x20..0x7f),
                })
                .collect();
            assert_eq!(ours(&input), serde(&input), "{input:?}");
        }
        let utf8 = "naïve — 日本語 \u{1F600} \u{9b} tab\there".as_bytes();
        assert_eq!(ours(utf8), serde(utf8));
    }
}
