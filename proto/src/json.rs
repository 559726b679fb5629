//! Proto3 JSON mapping of sectorwire messages (lowerCamelCase names,
//! RFC 3339 timestamps, enum names), driven by the compiled descriptors so it
//! always matches the schema instead of a hand-kept serde mirror.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

/// Why a message could not be rendered as JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The embedded descriptor set is unreadable (a build problem).
    #[error("descriptor set: {0}")]
    Descriptors(String),
    /// The message type is not part of the sectorwire schemas.
    #[error("unknown message type {0}")]
    UnknownType(String),
    /// The bytes do not decode as that message.
    #[error("decode: {0}")]
    Decode(#[from] prost::DecodeError),
    /// serde_json failed.
    #[error("serialize: {0}")]
    Serialize(#[from] serde_json::Error),
}

static POOL: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// Renders `message`, whose fully qualified protobuf name is `full_name`
/// (e.g. `sectorwire.article.v1.Article`), as a proto3 JSON value.
pub fn to_json<M: Message>(full_name: &str, message: &M) -> Result<serde_json::Value, JsonError> {
    let pool = POOL.as_ref().map_err(|e| JsonError::Descriptors(e.clone()))?;
    let descriptor = pool
        .get_message_by_name(full_name)
        .ok_or_else(|| JsonError::UnknownType(full_name.to_string()))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?;
    Ok(serde_json::to_value(&dynamic)?)
}

/// Renders an article as proto3 JSON.
pub fn article_to_json(article: &crate::article::Article) -> Result<serde_json::Value, JsonError> {
    to_json("sectorwire.article.v1.Article", article)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_uses_lower_camel_case_and_rfc3339() {
        let article = crate::article::Article {
            id: "a1".into(),
            authors: vec!["Jane Roe".into()],
            published_at: Some(crate::timestamp(1_711_529_000)),
            word_count: 3,
            ..Default::default()
        };
        let json = article_to_json(&article).expect("render");
        assert_eq!(json["id"], "a1");
        assert_eq!(json["authors"][0], "Jane Roe");
        assert_eq!(json["wordCount"], 3);
        assert_eq!(json["publishedAt"], "2024-03-27T08:43:20Z");
    }

    #[test]
    fn unknown_type_is_an_error_not_a_panic() {
        let article = crate::article::Article::default();
        assert!(matches!(
            to_json("no.such.Type", &article),
            Err(JsonError::UnknownType(_))
        ));
    }
}
