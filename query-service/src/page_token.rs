//! Opaque page tokens. They encode a position (a sort key for listings, an
//! offset for ranked search) plus a digest of the request that produced them,
//! so a token is rejected when reused with another filter, and they stay
//! valid across restarts and replicas because they hold no server state.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// A decoded token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    /// Sort key of the last item returned, or offset of the next hit.
    pub position: u64,
    /// Digest of the request parameters the token belongs to.
    pub request_digest: u64,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this service issued.
    #[error("page_token is malformed")]
    Malformed,
    /// Issued for a different filter or ordering.
    #[error("page_token belongs to a different request; start again without it")]
    Mismatch,
}

const VERSION: u8 = 1;

impl PageToken {
    /// Encodes the token.
    pub fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(17);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.position.to_be_bytes());
        bytes.extend_from_slice(&self.request_digest.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes `token`, checking that it belongs to `request_digest`. An
    /// empty token means "first page" and yields `None`.
    pub fn decode(token: &str, request_digest: u64) -> Result<Option<PageToken>, TokenError> {
        if token.is_empty() {
            return Ok(None);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
        if bytes.len() != 17 || bytes[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let word = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(TokenError::Malformed)
        };
        let token = PageToken {
            position: word(1..9)?,
            request_digest: word(9..17)?,
        };
        if token.request_digest != request_digest {
            return Err(TokenError::Mismatch);
        }
        Ok(Some(token))
    }
}

/// Stable 64-bit digest of request parameters (FNV-1a: tokens must not
/// depend on a per-process random hasher seed).
pub fn digest(parts: &[&str]) -> u64 {
    use sectorwire_domain::hash::{fnv1a_step, FNV_OFFSET};
    parts.iter().fold(FNV_OFFSET, |hash, part| {
        part.bytes().chain(std::iter::once(0x1f)).fold(hash, fnv1a_step)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let t = PageToken {
            position: 42,
            request_digest: digest(&["a"]),
        };
        let s = t.encode();
        assert_eq!(PageToken::decode(&s, digest(&["a"])), Ok(Some(t)));
        assert_eq!(PageToken::decode(&s, digest(&["b"])), Err(TokenError::Mismatch));
        assert_eq!(PageToken::decode("garbage!", 0), Err(TokenError::Malformed));
        assert_eq!(PageToken::decode("", 0), Ok(None));
    }
}
