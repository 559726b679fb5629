//! From an ingest request to the write the store should make: validate the
//! caller's metadata, parse, analyse, derive identity. Pure and synchronous
//! (the server runs it on the blocking pool), so it is tested on plain values.

use sectorwire_proto::article::DatePrecision;
use sectorwire_proto::ingest::{ArticleMetadata, ContentType as PbContentType, IngestArticleRequest};

use crate::store::{EncodedArticle, WriteOp};
use sectorwire_article::analyze;
use sectorwire_article::parse::{self, ContentType, Hints, ParseError, Precision, Published};
use sectorwire_article::record::{self, RecordInput};

/// Largest accepted `metadata` string field, in bytes.
pub const MAX_METADATA_FIELD: usize = 4096;

pub use sectorwire_proto::status::Violation;

/// Why a request cannot be ingested.
#[derive(Debug, thiserror::Error)]
pub enum RejectError {
    /// The request is malformed; each violation names a field.
    #[error("invalid request: {}", .0.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
}

impl From<ParseError> for RejectError {
    fn from(e: ParseError) -> Self {
        RejectError::Invalid(vec![Violation {
            field: e.field().to_string(),
            description: e.to_string(),
        }])
    }
}

fn hints(meta: &ArticleMetadata) -> Result<Hints, RejectError> {
    let mut violations = Vec::new();
    let fields = [
        ("metadata.source_id", &meta.source_id),
        ("metadata.url", &meta.url),
        ("metadata.outlet", &meta.outlet),
        ("metadata.title", &meta.title),
    ];
    for (field, value) in fields {
        if value.len() > MAX_METADATA_FIELD {
            violations.push(Violation {
                field: field.into(),
                description: format!("{} bytes, at most {MAX_METADATA_FIELD} allowed", value.len()),
            });
        }
    }
    if !meta.url.is_empty() && !meta.url.contains("://") {
        violations.push(Violation {
            field: "metadata.url".into(),
            description: "must be an absolute URL such as https://example.org/a".into(),
        });
    }
    let published = match &meta.published_at {
        None => None,
        Some(ts) => {
            // 0001-01-01 .. 9999-12-31, the range RFC 3339 can express.
            if !(-62_135_596_800..=253_402_300_799).contains(&ts.seconds)
                || !(0..1_000_000_000).contains(&ts.nanos)
            {
                violations.push(Violation {
                    field: "metadata.published_at".into(),
                    description: "timestamp out of range".into(),
                });
                None
            } else {
                let precision = match DatePrecision::try_from(meta.published_precision) {
                    Ok(DatePrecision::Day) => Precision::Day,
                    Ok(DatePrecision::Minute) => Precision::Minute,
                    _ => Precision::Second,
                };
                Some(Published {
                    utc_seconds: ts.seconds,
                    offset_seconds: 0,
                    precision,
                })
            }
        }
    };
    if !violations.is_empty() {
        return Err(RejectError::Invalid(violations));
    }
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Ok(Hints {
        url: non_empty(&meta.url),
        source_id: non_empty(&meta.source_id),
        outlet: non_empty(&meta.outlet),
        title: non_empty(&meta.title),
        published,
    })
}

/// Parses and analyses one request into the store write it implies.
pub fn prepare(request: &IngestArticleRequest) -> Result<WriteOp, RejectError> {
    let meta = request.metadata.clone().unwrap_or_default();
    let hints = hints(&meta)?;
    let content_type = match PbContentType::try_from(request.content_type) {
        Ok(PbContentType::Text) => ContentType::Text,
        Ok(PbContentType::Html) => ContentType::Html,
        Ok(PbContentType::Unspecified) => ContentType::Auto,
        Err(_) => {
            return Err(RejectError::Invalid(vec![Violation {
                field: "content_type".into(),
                description: format!("unknown content type {}", request.content_type),
            }]))
        }
    };
    let (parsed, read_as) = parse::parse_as(&request.content, content_type, &hints)?;
    let body = parsed.body();
    let analysis = analyze::analyze(parsed.title.as_deref().unwrap_or_default(), &body);
    let key = record::idempotency_key(&meta.source_id, &meta.url, &body);
    let id = record::article_id(&key);
    let fingerprint = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{:?}\u{1f}{}\u{1f}{:?}",
        meta.source_id,
        meta.url,
        meta.outlet,
        meta.title,
        meta.published_at.map(|t| (t.seconds, t.nanos)),
        meta.published_precision,
        // How the bytes were read, not the hint: TEXT from one client and
        // UNSPECIFIED (sniffed as text) from another are the same article.
        read_as
    );
    let article = record::build_article(RecordInput {
        parsed: &parsed,
        analysis: &analysis,
        body,
        source_id: meta.source_id.trim(),
        content_hash: record::content_hash(&request.content, &fingerprint),
        id,
    });
    Ok(WriteOp::Upsert {
        key,
        article: EncodedArticle::new(article),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content: &str) -> IngestArticleRequest {
        IngestArticleRequest {
            content: content.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn same_content_same_id_and_hash() {
        let text = "A headline\n\nFirst paragraph about trade and energy.\n\nSecond one.";
        let (WriteOp::Upsert { article: a, .. }, WriteOp::Upsert { article: b, .. }) =
            (prepare(&request(text)).unwrap(), prepare(&request(text)).unwrap())
        else {
            panic!("expected upserts");
        };
        assert_eq!(a.id(), b.id());
        assert_eq!(a.content_hash(), b.content_hash());
    }

    fn hash_with(content: &str, content_type: PbContentType) -> String {
        let mut r = request(content);
        r.content_type = content_type as i32;
        let WriteOp::Upsert { article, .. } = prepare(&r).unwrap() else {
            panic!("expected upsert");
        };
        article.content_hash().to_string()
    }

    #[test]
    fn hint_that_resolves_the_same_way_keeps_the_hash() {
        let text = "A headline\n\nFirst paragraph about trade and energy.\n\nSecond one.";
        assert_eq!(
            hash_with(text, PbContentType::Text),
            hash_with(text, PbContentType::Unspecified)
        );
        let html = "<html><head><title>A headline</title></head><body><article>\
                    <p>First paragraph about trade and energy between two countries.</p>\
                    <p>Second paragraph with more words about the same exports.</p></article></body></html>";
        assert_eq!(
            hash_with(html, PbContentType::Html),
            hash_with(html, PbContentType::Unspecified)
        );
        // Markup forced to be read as text parses differently: a different digest.
        assert_ne!(
            hash_with(html, PbContentType::Text),
            hash_with(html, PbContentType::Html)
        );
    }

    #[test]
    fn empty_content_names_the_field() {
        let Err(RejectError::Invalid(v)) = prepare(&request("   \n ")) else {
            panic!("expected rejection");
        };
        assert_eq!(v[0].field, "content");
    }

    #[test]
    fn bad_metadata_is_reported_per_field() {
        let mut r = request("Title\n\nBody text here.");
        r.metadata = Some(ArticleMetadata {
            url: "not a url".into(),
            title: "x".repeat(MAX_METADATA_FIELD + 1),
            ..Default::default()
        });
        let Err(RejectError::Invalid(v)) = prepare(&r) else {
            panic!("expected rejection");
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert!(fields.contains(&"metadata.url"), "{fields:?}");
        assert!(fields.contains(&"metadata.title"), "{fields:?}");
    }

    #[test]
    fn caller_metadata_wins() {
        let mut r = request("Guessed title\n\nBody text about energy.");
        r.metadata = Some(ArticleMetadata {
            title: "Given title".into(),
            source_id: "feed-1".into(),
            ..Default::default()
        });
        let WriteOp::Upsert { key, article } = prepare(&r).unwrap() else {
            panic!("expected upsert");
        };
        assert_eq!(key, "source:feed-1");
        let article = article.decode().unwrap();
        assert_eq!(article.title, "Given title");
        assert_eq!(article.source_id, "feed-1");
    }
}
