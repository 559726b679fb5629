//! What two countries relate on, computed from the stored records of the
//! articles that relate them: sector weights, and the evidence sentences in
//! which both countries are named. Pure, so it is tested on plain records.

use std::collections::BTreeMap;

use sectorwire_proto::article::{Article, EntityKind, Span};
use sectorwire_proto::query::{PairEvidence, PairSector};

fn within(mention: &Span, sentence: &Span) -> bool {
    mention.start >= sentence.start && mention.end <= sentence.end
}

fn mentions<'a>(article: &'a Article, code: &'a str) -> impl Iterator<Item = &'a Span> + 'a {
    article
        .entities
        .iter()
        .filter(move |e| e.kind == EntityKind::Country as i32 && e.key.eq_ignore_ascii_case(code))
        .flat_map(|e| e.mentions.iter())
}

/// Sectors that `a` and `b` (ISO codes, `a < b`) relate on across
/// `articles` (newest first), heaviest first, with up to `max_evidence`
/// sentences each naming both countries.
pub fn summarize(a: &str, b: &str, articles: &[Article], max_evidence: usize) -> Vec<PairSector> {
    let mut sectors: BTreeMap<String, PairSector> = BTreeMap::new();
    for article in articles {
        let Some(pair) = article
            .country_pairs
            .iter()
            .find(|p| p.a.eq_ignore_ascii_case(a) && p.b.eq_ignore_ascii_case(b))
        else {
            continue;
        };
        for slug in &pair.sectors {
            let Some(tag) = article.sectors.iter().find(|t| &t.sector == slug) else {
                continue;
            };
            let entry = sectors.entry(slug.clone()).or_insert_with(|| PairSector {
                sector: slug.clone(),
                ..Default::default()
            });
            entry.weight += pair.weight * tag.score;
            entry.article_count += 1;
            for evidence in &tag.evidence {
                if entry.evidence.len() >= max_evidence {
                    break;
                }
                let Some(span) = evidence.span else { continue };
                let both = mentions(article, a).any(|m| within(m, &span))
                    && mentions(article, b).any(|m| within(m, &span));
                let text = article.body.get(span.start as usize..span.end as usize);
                if let (true, Some(text)) = (both, text) {
                    entry.evidence.push(PairEvidence {
                        article_id: article.id.clone(),
                        title: article.title.clone(),
                        published_at: article.published_at,
                        text: text.trim().to_string(),
                    });
                }
            }
        }
    }
    let mut out: Vec<PairSector> = sectors.into_values().collect();
    out.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then_with(|| x.sector.cmp(&y.sector))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sectorwire_proto::article::{CountryPair, Entity, Evidence, SectorTag};

    fn span(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    #[test]
    fn weights_and_evidence_need_both_countries_in_the_sentence() {
        let body = "Kenya and Ghana signed a gas deal. Ghana alone built a pipeline.".to_string();
        let article = Article {
            id: "x".into(),
            body,
            sectors: vec![SectorTag {
                sector: "energy".into(),
                score: 0.5,
                evidence: vec![
                    Evidence {
                        span: Some(span(0, 34)),
                        terms: vec!["gas".into()],
                    },
                    Evidence {
                        span: Some(span(35, 64)),
                        terms: vec!["pipeline".into()],
                    },
                ],
                ..Default::default()
            }],
            entities: vec![
                Entity {
                    kind: EntityKind::Country as i32,
                    key: "KE".into(),
                    mentions: vec![span(0, 5)],
                    ..Default::default()
                },
                Entity {
                    kind: EntityKind::Country as i32,
                    key: "GH".into(),
                    mentions: vec![span(10, 15), span(35, 40)],
                    ..Default::default()
                },
            ],
            country_pairs: vec![CountryPair {
                a: "GH".into(),
                b: "KE".into(),
                weight: 2.0,
                sectors: vec!["energy".into()],
            }],
            ..Default::default()
        };
        let out = summarize("GH", "KE", &[article.clone(), article], 5);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sector, "energy");
        assert_eq!(out[0].article_count, 2);
        assert!((out[0].weight - 2.0).abs() < 1e-6);
        assert_eq!(out[0].evidence.len(), 2, "one sentence per article qualifies");
        assert!(out[0].evidence[0].text.starts_with("Kenya and Ghana"));
    }
}
