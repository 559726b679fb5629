//! From an ingest request to the write the store should make: validate the
//! caller's metadata, parse, analyse, derive identity. Pure and synchronous
//! (the server runs it on the blocking pool), so it is tested on plain values.

use sectorwire_proto::article::DatePrecision;
use sectorwire_proto::ingest::{ArticleMetadata, ContentType as PbContentType, IngestArticleRequest};

use crate::store::{EncodedArticle, WriteOp};
use sectorwire_article::analyze;
use sectorwire_article::parse::{self, ContentType, Hints, ParseError, Precision, Published, ReadAs};
use sectorwire_article::record::{self, RecordInput};

/// Largest accepted `metadata` string field, in bytes.
pub const MAX_METADATA_FIELD: usize = 4096;

/// Largest stored record accepted, in bytes. A record travels whole in three messages:
/// the change-feed event every replica must receive, the `return_article` reply, and the
/// query service's `GetArticle` reply. gRPC clients refuse messages over 4 MiB unless told
/// otherwise, and a record the feed cannot carry stops every replica at that sequence for
/// good. So an article whose record would pass 4 MiB less [`MESSAGE_ENVELOPE`] is refused
/// before it is acknowledged rather than stored.
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024 - MESSAGE_ENVELOPE;

/// Room left in a message for what wraps a record: the event's or reply's own fields (an
/// article id is at most 128 bytes) and the oneof/field tags, with a wide margin.
pub const MESSAGE_ENVELOPE: usize = 16 * 1024;

/// Publication times the listing order can sort, in Unix seconds: from 1970-01-01T00:00:00Z
/// up to (not including) 2^33 s, 2242-03-16T12:56:32Z. The query index's order key is
/// `seconds << 31 | sequence` in a u64, so 33 bits of seconds are all it holds; a date
/// outside the range sorted wrongly (clamped or wrapped). A wider key would change every key
/// already indexed, so the range is enforced here instead: the caller's `published_at` gets
/// INVALID_ARGUMENT, and a date the parser guessed from the text outside it is dropped (the
/// article then sorts by its ingest time).
pub const PUBLISHED_RANGE: std::ops::Range<i64> = 0..(1 << 33);

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
            if !PUBLISHED_RANGE.contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos) {
                violations.push(Violation {
                    field: "metadata.published_at".into(),
                    description: "must be from 1970-01-01T00:00:00Z up to 2242-03-16T12:56:32Z, the range \
                                  the listing order sorts"
                        .into(),
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

/// Parses and analyses one request into the store write it implies, refusing records over
/// [`MAX_RECORD_BYTES`].
pub fn prepare(request: &IngestArticleRequest) -> Result<WriteOp, RejectError> {
    prepare_within(request, MAX_RECORD_BYTES)
}

/// Like [`prepare`], refusing a record whose stored encoding would pass `max_record_bytes`
/// (the server lowers the limit when its own message limit is below 4 MiB).
pub fn prepare_within(
    request: &IngestArticleRequest,
    max_record_bytes: usize,
) -> Result<WriteOp, RejectError> {
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
    let (mut parsed, read_as) = parse::parse_as(&request.content, content_type, &hints)?;
    if parsed
        .published
        .is_some_and(|p| !PUBLISHED_RANGE.contains(&p.utc_seconds))
    {
        parsed.published = None;
    }
    let body = parsed.body();
    let analysis = analyze::analyze_in(
        parsed.title.as_deref().unwrap_or_default(),
        &body,
        parsed.language.as_deref(),
    );
    let key = record::idempotency_key(&meta.source_id, &meta.url, &body);
    let id = record::article_id(&key);
    // How the bytes were read, not the hint: TEXT from one client and
    // UNSPECIFIED (sniffed as text) from another are the same article.
    let fingerprint = metadata_fingerprint(&meta, read_as);
    let article = record::build_article(RecordInput {
        parsed: &parsed,
        analysis: &analysis,
        body,
        source_id: meta.source_id.trim(),
        content_hash: record::content_hash(&request.content, &fingerprint),
        id,
    });
    let article = EncodedArticle::new(article);
    let size = article.stored_len();
    if size > max_record_bytes {
        return Err(RejectError::Invalid(vec![Violation {
            field: "content".into(),
            description: format!(
                "the analysed record would be {size} bytes, over the {max_record_bytes}-byte limit that \
                 every replica and client can receive; split the article or send less of it"
            ),
        }]));
    }
    Ok(WriteOp::Upsert { key, article })
}

/// The metadata part of an article's content hash. Every field is written
/// explicitly, never through `Debug` (which has no stability promise): a
/// dependency upgrade must not change the hash of a stored article. The text
/// is byte for byte what earlier versions hashed, so stored records keep their
/// hashes and a re-ingest of the same article stays UNCHANGED.
fn metadata_fingerprint(meta: &ArticleMetadata, read_as: ReadAs) -> String {
    let published = match &meta.published_at {
        Some(t) => format!("Some(({}, {}))", t.seconds, t.nanos),
        None => "None".to_string(),
    };
    let read_as = match read_as {
        ReadAs::Text => "Text",
        ReadAs::Html => "Html",
        ReadAs::StrippedHtml => "StrippedHtml",
    };
    [
        meta.source_id.as_str(),
        &meta.url,
        &meta.outlet,
        &meta.title,
        &published,
        &meta.published_precision.to_string(),
        read_as,
    ]
    .join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint's text is pinned: changing it changes every stored
    /// article's content hash.
    #[test]
    fn metadata_fingerprint_is_pinned() {
        let mut meta = ArticleMetadata {
            source_id: "s1".into(),
            url: "https://example.com/a".into(),
            outlet: "Example".into(),
            title: "A title".into(),
            published_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            }),
            published_precision: 2,
        };
        assert_eq!(
            metadata_fingerprint(&meta, ReadAs::Html),
            "s1\u{1f}https://example.com/a\u{1f}Example\u{1f}A title\u{1f}Some((1700000000, 5))\u{1f}2\u{1f}Html"
        );
        meta.published_at = None;
        assert_eq!(
            metadata_fingerprint(&meta, ReadAs::Text),
            "s1\u{1f}https://example.com/a\u{1f}Example\u{1f}A title\u{1f}None\u{1f}2\u{1f}Text"
        );
    }

    #[test]
    fn records_past_the_size_limit_are_refused() {
        let body = "Exports of wheat rose as the ministry cut tariffs on grain. ".repeat(400);
        let small = prepare_within(&request(&body), 1_000_000).expect("fits");
        assert!(matches!(small, WriteOp::Upsert { .. }));
        let RejectError::Invalid(violations) = prepare_within(&request(&body), 10_000).expect_err("too big");
        assert_eq!(violations[0].field, "content");
        assert!(
            violations[0].description.contains("10000-byte limit"),
            "{violations:?}"
        );
    }

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
    fn records_over_the_limit_are_refused_on_content() {
        let r = request("Trade talks\n\nKenya and Tanzania agreed on exports. Norway and Sweden too.");
        let WriteOp::Upsert { article, .. } = prepare(&r).unwrap() else {
            panic!("expected upsert");
        };
        let size = article.stored_len();
        assert!(
            prepare_within(&r, size).is_ok(),
            "a record exactly at the limit is accepted"
        );
        let Err(RejectError::Invalid(v)) = prepare_within(&r, size - 1) else {
            panic!("expected rejection");
        };
        assert_eq!(v[0].field, "content");
        assert!(
            v[0].description.contains(&size.to_string()),
            "{}",
            v[0].description
        );
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

    fn record_of(content: &str) -> sectorwire_proto::article::Article {
        let WriteOp::Upsert { article, .. } = prepare(&request(content)).unwrap() else {
            panic!("expected upsert");
        };
        article.decode().unwrap()
    }

    #[test]
    fn languages_the_tagger_does_not_cover_are_marked_not_analysed() {
        use sectorwire_proto::article::{ExtractionMethod, SectorAnalysis};
        // German about trade and energy: English cues ("Energie", "Export") must not tag it,
        // and the record must say that sectors were not computed rather than that none apply.
        let german = "Handel und Energie\n\nDie Regierung hat am Montag neue Verträge über den \
            Export von Erdgas und Strom unterzeichnet. Die Minister beider Länder sprachen über \
            Zölle, Handelsabkommen und die Energieversorgung der kommenden Jahre. Nach Angaben \
            des Ministeriums sollen die Lieferungen im Herbst beginnen und die Preise für \
            Haushalte stabil bleiben.";
        let a = record_of(german);
        assert_eq!(a.language, "de");
        assert!(a.sectors.is_empty(), "{:?}", a.sectors);
        assert_eq!(a.sector_analysis, SectorAnalysis::LanguageNotCovered as i32);
        assert_eq!(a.extraction_method, ExtractionMethod::PlainText as i32);
        let english = "Trade and energy\n\nThe government signed new contracts on Monday for the \
            export of natural gas and electricity. Ministers of both countries discussed tariffs, \
            trade agreements and the energy supply for the coming years.";
        let b = record_of(english);
        assert_eq!(b.language, "en");
        assert_eq!(b.sector_analysis, SectorAnalysis::Computed as i32);
        assert!(!b.sectors.is_empty());
    }
}
