//! Request ids: the caller's `x-request-id` when it is a sane token, else
//! one made here. Pure, apart from the process-wide counter.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The metadata key a request id travels under, both ways.
pub const HEADER: &str = "x-request-id";
/// Longest caller-given id kept (a UUID is 36); longer ones are replaced, so
/// a caller cannot make every log line of the request arbitrarily long.
pub const MAX_LEN: usize = 64;

/// The caller's id when it is 1 to [`MAX_LEN`] characters of
/// `[A-Za-z0-9._:-]` (no spaces, quotes or control characters that could
/// forge log fields), else `None`.
pub fn accepted(given: &[u8]) -> Option<&str> {
    let ok = !given.is_empty()
        && given.len() <= MAX_LEN
        && given
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        std::str::from_utf8(given).ok()
    } else {
        None
    }
}

/// A new id: 16 hex digits, unique within the process (a bijection of a
/// counter) and unlikely to repeat across processes (a random per-process
/// offset), with no random-number crate and no syscall per call.
pub fn generate() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::collections::hash_map::RandomState::new().hash_one((std::process::id(), nanos))
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", mix(seed.wrapping_add(n)))
}

/// splitmix64's finaliser: a bijection on u64, so distinct inputs give
/// distinct ids.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_refused() {
        assert_eq!(accepted(b"abc-123_x.y:z"), Some("abc-123_x.y:z"));
        assert_eq!(
            accepted(b"123e4567-e89b-12d3-a456-426614174000"),
            Some("123e4567-e89b-12d3-a456-426614174000")
        );
        assert_eq!(accepted(b""), None);
        assert_eq!(accepted(b"has space"), None);
        assert_eq!(accepted(b"quote\"d"), None);
        assert_eq!(accepted(b"new\nline"), None);
        assert_eq!(accepted("é".as_bytes()), None);
        assert_eq!(accepted(&[b'a'; MAX_LEN]).map(str::len), Some(MAX_LEN));
        assert_eq!(accepted(&[b'a'; MAX_LEN + 1]), None);
    }

    #[test]
    fn generated_ids_are_distinct_and_acceptable() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 16 && accepted(id.as_bytes()).is_some()));
    }
}
