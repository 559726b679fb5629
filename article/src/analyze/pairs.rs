//! Country pairs: which countries an article relates to each other, and on what. Two countries
//! are related when a sentence names both; the sectors of the pair are the tagged sectors whose
//! supporting sentences name both, so the query side can answer "what do PK and AZ cooperate
//! on" from stored pairs alone.

use std::collections::BTreeMap;

use super::Sector;
use super::{CountryPair, Entity, EntityKind, Span};

pub(crate) fn build(
    geo: &[Entity],
    sentences: &[Span],
    support: &[(Sector, Vec<usize>)],
) -> Vec<CountryPair> {
    // Countries per sentence.
    let mut per_sentence: Vec<Vec<&str>> = vec![Vec::new(); sentences.len()];
    for e in geo.iter().filter(|e| e.kind == EntityKind::Country) {
        for m in &e.mentions {
            let i = sentences.partition_point(|s| s.end <= m.start);
            if let Some(list) = per_sentence.get_mut(i) {
                if sentences[i].start <= m.start && !list.contains(&e.key.as_str()) {
                    list.push(e.key.as_str());
                }
            }
        }
    }
    let mut pairs: BTreeMap<(String, String), (f32, Vec<usize>)> = BTreeMap::new();
    for (i, list) in per_sentence.iter().enumerate() {
        for (x, a) in list.iter().enumerate() {
            for b in &list[x + 1..] {
                let key = if a < b {
                    (a.to_string(), b.to_string())
                } else {
                    (b.to_string(), a.to_string())
                };
                let e = pairs.entry(key).or_insert((0.0, Vec::new()));
                e.0 += 1.0;
                e.1.push(i);
            }
        }
    }
    let mut out: Vec<CountryPair> = pairs
        .into_iter()
        .map(|((a, b), (weight, sents))| {
            let sectors = support
                .iter()
                .filter(|(_, supp)| sents.iter().any(|i| supp.binary_search(i).is_ok()))
                .map(|(s, _)| *s)
                .collect();
            CountryPair {
                a,
                b,
                weight,
                sectors,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    out
}
