//! Turns a parsed and analysed article into the stored `Article` message, and
//! derives the identity that makes ingest idempotent. Pure: no I/O, no clock
//! (the caller passes "now").

use sectorwire_proto::article::{self as pb, Article};

pub use sectorwire_domain::id::{article_id, canonical_url, idempotency_key};

use crate::analyze::{Analysis, EntityKind};
use crate::parse::{DateSource, Extraction, ParsedArticle, Precision, PARSER_VERSION};

/// Version of the whole derivation (parser + analyser): stored on each record
/// so records can be re-derived when either improves.
pub fn pipeline_version() -> String {
    format!("{PARSER_VERSION}+analyze/{}", crate::analyze::ANALYZER_VERSION)
}

/// Digest of everything that determines the stored record, so an identical
/// re-ingest is recognised as a no-op while a changed one is an update.
pub fn content_hash(content: &[u8], metadata_fingerprint: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(pipeline_version().as_bytes());
    hasher.update(&[0]);
    hasher.update(metadata_fingerprint.as_bytes());
    hasher.update(&[0]);
    hasher.update(content);
    hasher.finalize().to_hex().to_string()
}

/// Everything about an article except what the store assigns (sequence,
/// ingest and update times).
pub struct RecordInput<'a> {
    /// The parser's output.
    pub parsed: &'a ParsedArticle,
    /// The analyser's output over `parsed.body()`.
    pub analysis: &'a Analysis,
    /// The body string the analysis spans point into.
    pub body: String,
    /// The caller's source id (may be empty).
    pub source_id: &'a str,
    /// From [`content_hash`].
    pub content_hash: String,
    /// From [`article_id`].
    pub id: String,
}

/// Builds the record to store.
pub fn build_article(input: RecordInput<'_>) -> Article {
    let parsed = input.parsed;
    let (published_at, precision, offset) = match parsed.published {
        Some(p) => (
            Some(sectorwire_proto::timestamp(p.utc_seconds)),
            match p.precision {
                Precision::Day => pb::DatePrecision::Day,
                Precision::Minute => pb::DatePrecision::Minute,
                Precision::Second => pb::DatePrecision::Second,
            },
            p.offset_seconds,
        ),
        None => (None, pb::DatePrecision::Unspecified, 0),
    };
    let analysis = input.analysis;
    Article {
        name: format!("articles/{}", input.id),
        id: input.id,
        title: parsed.title.clone().unwrap_or_default(),
        subtitle: parsed.subtitle.clone().unwrap_or_default(),
        authors: parsed.authors.clone(),
        outlet: parsed.outlet.clone().unwrap_or_default(),
        syndicator: parsed.syndicator.clone().unwrap_or_default(),
        published_at,
        published_precision: precision as i32,
        published_utc_offset_seconds: offset,
        url: parsed.url.clone().unwrap_or_default(),
        language: parsed.language.clone().unwrap_or_default(),
        body: input.body,
        word_count: parsed.word_count,
        sectors: analysis
            .sectors
            .iter()
            .map(|tag| pb::SectorTag {
                sector: tag.sector.slug().to_string(),
                iptc_media_topic: tag.sector.iptc_media_topic().to_string(),
                score: tag.score,
                evidence: tag
                    .evidence
                    .iter()
                    .map(|e| pb::Evidence {
                        span: Some(span(e.span)),
                        terms: e.terms.clone(),
                    })
                    .collect(),
            })
            .collect(),
        entities: analysis
            .entities
            .iter()
            .map(|e| pb::Entity {
                kind: match e.kind {
                    EntityKind::Country => pb::EntityKind::Country,
                    EntityKind::Person => pb::EntityKind::Person,
                    EntityKind::Organisation => pb::EntityKind::Organisation,
                    EntityKind::Place => pb::EntityKind::Place,
                } as i32,
                key: e.key.clone(),
                name: e.name.clone(),
                aliases: e.aliases.clone(),
                role: e.role.clone().unwrap_or_default(),
                mention_count: u32::try_from(e.mentions.len()).unwrap_or(u32::MAX),
                mentions: e.mentions.iter().copied().map(span).collect(),
            })
            .collect(),
        country_pairs: analysis
            .country_pairs
            .iter()
            .map(|p| pb::CountryPair {
                a: p.a.clone(),
                b: p.b.clone(),
                weight: p.weight,
                sectors: p.sectors.iter().map(|s| s.slug().to_string()).collect(),
            })
            .collect(),
        source_id: input.source_id.to_string(),
        ingested_at: None,
        updated_at: None,
        sequence: 0,
        parser_version: pipeline_version(),
        content_hash: input.content_hash,
        extraction_method: match parsed.extraction {
            Extraction::PlainText => pb::ExtractionMethod::PlainText,
            Extraction::HtmlMain => pb::ExtractionMethod::HtmlMain,
            Extraction::HtmlFallback => pb::ExtractionMethod::HtmlFallback,
            Extraction::HtmlStripped => pb::ExtractionMethod::HtmlStripped,
        } as i32,
        published_source: match parsed.published_source {
            None => pb::DateSource::Unspecified,
            Some(DateSource::Caller) => pb::DateSource::Caller,
            Some(DateSource::JsonLd) => pb::DateSource::JsonLd,
            Some(DateSource::Meta) => pb::DateSource::Meta,
            Some(DateSource::Markup) => pb::DateSource::Markup,
            Some(DateSource::TimeElement) => pb::DateSource::TimeElement,
            Some(DateSource::Text) => pb::DateSource::Text,
            Some(DateSource::Url) => pb::DateSource::Url,
        } as i32,
        sector_analysis: if analysis.sectors_computed {
            pb::SectorAnalysis::Computed
        } else {
            pb::SectorAnalysis::LanguageNotCovered
        } as i32,
    }
}

fn span(s: crate::analyze::Span) -> pb::Span {
    pb::Span {
        start: u32::try_from(s.start).unwrap_or(u32::MAX),
        end: u32::try_from(s.end).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefers_source_id_then_url_then_body() {
        assert_eq!(idempotency_key(" s1 ", "https://x.org/a", "b"), "source:s1");
        assert_eq!(
            idempotency_key("", "HTTPS://X.ORG/a/#top", "b"),
            "url:https://x.org/a"
        );
        let a = idempotency_key("", "", "Hello   World");
        let b = idempotency_key("", "", "hello world");
        assert!(a.starts_with("body:"));
        assert_eq!(a, b, "whitespace and case do not change the body key");
        assert_ne!(a, idempotency_key("", "", "hello there"));
    }

    #[test]
    fn ids_are_stable_and_short() {
        let id = article_id("source:s1");
        assert_eq!(id.len(), 20);
        assert_eq!(id, article_id("source:s1"));
        assert_ne!(id, article_id("source:s2"));
    }

    #[test]
    fn content_hash_depends_on_content_and_metadata() {
        let a = content_hash(b"x", "m");
        assert_eq!(a, content_hash(b"x", "m"));
        assert_ne!(a, content_hash(b"y", "m"));
        assert_ne!(a, content_hash(b"x", "n"));
    }
}
