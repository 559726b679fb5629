//! Article identity: how an article's id is derived from what the caller
//! knows about it, and what a well-formed id looks like on the wire. Both
//! services apply these rules, so they live here, apart from either.

/// Longest id accepted on the wire; derived ids are 20 characters, client
/// names of the form `articles/{id}` allow some room beyond that.
pub const MAX_ID_LEN: usize = 128;

/// Why a client-supplied article id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an article id (1-{MAX_ID_LEN} letters, digits, '-' or '_') or articles/{{id}}")]
pub struct InvalidId;

/// Accepts `id` or the resource name `articles/{id}` and returns the bare id.
pub fn parse_article_id(raw: &str) -> Result<&str, InvalidId> {
    let trimmed = raw.trim();
    let id = trimmed.strip_prefix("articles/").unwrap_or(trimmed);
    let well_formed = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if well_formed {
        Ok(id)
    } else {
        Err(InvalidId)
    }
}

/// Picks the idempotency key: the caller's source id, else the canonical URL,
/// else a digest of the normalised body, so the same article sent twice maps
/// to one record whatever the caller knows about it.
pub fn idempotency_key(source_id: &str, url: &str, body: &str) -> String {
    let source_id = source_id.trim();
    if !source_id.is_empty() {
        return format!("source:{source_id}");
    }
    let url = canonical_url(url);
    if !url.is_empty() {
        return format!("url:{url}");
    }
    let normalised: String = body
        .split_whitespace()
        .flat_map(|w| w.chars().chain(std::iter::once(' ')))
        .flat_map(char::to_lowercase)
        .collect();
    format!("body:{}", blake3::hash(normalised.as_bytes()).to_hex())
}

/// Article id from its idempotency key: 20 hex characters (80 bits) of
/// BLAKE3, short enough for URLs and collision-free at news scale.
pub fn article_id(key: &str) -> String {
    let hex = blake3::hash(key.as_bytes()).to_hex();
    hex[..20].to_string()
}

/// Lower-cases scheme and host, drops the fragment and a trailing slash, so
/// trivially different spellings of one URL share a key.
pub fn canonical_url(url: &str) -> String {
    let url = url.trim();
    let url = url.split('#').next().unwrap_or_default();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => return url.trim_end_matches('/').to_string(),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    format!("{scheme}://{}{path}", host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_and_bare_ids_parse_to_the_same_id() {
        assert_eq!(parse_article_id("articles/abc-1_2"), Ok("abc-1_2"));
        assert_eq!(parse_article_id(" abc "), Ok("abc"));
        assert_eq!(parse_article_id(""), Err(InvalidId));
        assert_eq!(parse_article_id("articles/"), Err(InvalidId));
        assert_eq!(parse_article_id("a/b"), Err(InvalidId));
        assert_eq!(parse_article_id(&"x".repeat(MAX_ID_LEN + 1)), Err(InvalidId));
    }

    #[test]
    fn derived_ids_are_valid_wire_ids() {
        let id = article_id(&idempotency_key("", "HTTP://Example.com/a/#top", ""));
        assert_eq!(parse_article_id(&id), Ok(id.as_str()));
        assert_eq!(canonical_url("HTTP://Example.COM/a/#x"), "http://example.com/a");
    }
}
