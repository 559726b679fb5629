//! [`EncodedArticle`]: an article record already in its stored encoding, so the committer
//! thread, which every write passes through, neither walks nor copies records.

use prost::Message;
use prost_types::Timestamp;
use sectorwire_proto::article::Article;

/// An article record encoded for storage, without the fields only the store assigns
/// (`sequence`, `ingested_at`, `updated_at`).
///
/// Records are encoded where they are built, on the threads that parse and analyse, which
/// scale with cores. The one committer thread then appends the assigned fields to these
/// bytes instead of cloning, encoding and freeing a whole record (body, entities, evidence)
/// per write: that thread's CPU bounds ingest throughput however many cores there are, so
/// work moves off it wherever it can (`ingest_bench` reports the thread's CPU per article).
#[derive(Debug, Clone)]
pub struct EncodedArticle {
    id: String,
    content_hash: String,
    bytes: Vec<u8>,
}

impl EncodedArticle {
    /// Encodes `article`, dropping any store-assigned fields it carries: the store sets them.
    pub fn new(mut article: Article) -> Self {
        article.sequence = 0;
        article.ingested_at = None;
        article.updated_at = None;
        let bytes = article.encode_to_vec();
        EncodedArticle {
            id: article.id,
            content_hash: article.content_hash,
            bytes,
        }
    }

    /// The article id (the store's key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Hash of the content the record was derived from; equal hashes mean an unchanged
    /// re-ingest.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    /// The record back, without the store-assigned fields.
    pub fn decode(&self) -> Result<Article, prost::DecodeError> {
        Article::decode(self.bytes.as_slice())
    }

    /// The stored encoding: the record followed by an encoding of just the assigned fields.
    /// Protobuf decoding takes the last value of a scalar and merges a message field into an
    /// unset one, and [`EncodedArticle::new`] left all three unset, so this decodes to the
    /// record with those fields set.
    pub(crate) fn stamped(&self, sequence: u64, updated_at: Timestamp, ingested_at: Timestamp) -> Vec<u8> {
        let stamps = Article {
            sequence,
            updated_at: Some(updated_at),
            ingested_at: Some(ingested_at),
            ..Default::default()
        };
        let mut bytes = Vec::with_capacity(self.bytes.len() + stamps.encoded_len());
        bytes.extend_from_slice(&self.bytes);
        bytes.extend_from_slice(&stamps.encode_to_vec());
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sectorwire_proto::article::{Evidence, SectorTag, Span};

    fn record() -> Article {
        Article {
            id: "a1".into(),
            title: "Ports and tariffs".into(),
            body: "Trade ministers met in Oslo. ".repeat(40),
            authors: vec!["Ann Writer".into()],
            sectors: vec![SectorTag {
                sector: "trade".into(),
                score: 0.75,
                evidence: vec![Evidence {
                    span: Some(Span { start: 0, end: 28 }),
                    terms: vec!["trade".into()],
                }],
                ..Default::default()
            }],
            parser_version: "p1".into(),
            content_hash: "h".into(),
            ..Default::default()
        }
    }

    fn at(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn stamped_bytes_decode_to_the_record_with_the_assigned_fields() {
        let encoded = EncodedArticle::new(record());
        assert_eq!((encoded.id(), encoded.content_hash()), ("a1", "h"));
        let stored = Article::decode(
            encoded
                .stamped(42, at(1_700_000_000, 0), at(1_600_000_000, 0))
                .as_slice(),
        )
        .expect("decodes");
        let expected = Article {
            sequence: 42,
            updated_at: Some(at(1_700_000_000, 0)),
            ingested_at: Some(at(1_600_000_000, 0)),
            ..record()
        };
        assert_eq!(stored, expected);
    }

    #[test]
    fn fields_the_store_assigns_are_dropped_on_encoding_not_merged() {
        let preset = Article {
            sequence: 7,
            updated_at: Some(at(5, 123)),
            ingested_at: Some(at(4, 456)),
            ..record()
        };
        let encoded = EncodedArticle::new(preset);
        assert_eq!(encoded.decode().expect("decodes"), record());
        let stored = Article::decode(encoded.stamped(9, at(10, 0), at(10, 0)).as_slice()).expect("decodes");
        assert_eq!(
            (stored.sequence, stored.updated_at, stored.ingested_at),
            (9, Some(at(10, 0)), Some(at(10, 0)))
        );
    }
}
