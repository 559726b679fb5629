//! The articles and queries every system of the peer benchmark gets: the
//! same bytes, in the same order, so ratios compare like with like.
//!
//! Real newswire and BBC articles from `../shared/corpora` when they are
//! there (short: each article as published, ~1.1 KB on average; long:
//! consecutive articles of one corpus joined to ~5 KB, so the text stays
//! real prose), the seeded synthetic generator otherwise.

use std::path::Path;

use crate::synthetic::{self, Rng};

/// One article as every system stores it.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Primary key (PostgreSQL, SQLite) and `source_id` (sectorwire).
    pub id: String,
    pub title: String,
    pub body: String,
}

impl Doc {
    pub fn bytes(&self) -> usize {
        self.title.len() + self.body.len()
    }
}

/// Where the articles came from, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Real,
    Synthetic,
}

/// Reads the real corpora under `corpora` (BBC `bbc/dev.jsonl`, Reuters
/// `reuters21578/train.jsonl`), in a seeded shuffle. `None` when absent.
pub fn real(corpora: &Path) -> anyhow::Result<Option<Vec<Vec<Doc>>>> {
    let files = ["reuters21578/train.jsonl", "bbc/dev.jsonl"];
    let mut out = Vec::new();
    for rel in files {
        let path = corpora.join(rel);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)?;
        let mut docs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?;
            let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").trim().to_string();
            let body = get("text");
            if body.split_whitespace().count() < 20 {
                continue;
            }
            docs.push(Doc {
                id: format!("{}-{}", rel.split('/').next().unwrap_or("doc"), n + 1),
                title: get("title"),
                body,
            });
        }
        out.push(docs);
    }
    Ok(Some(out))
}

/// Short articles: every real article, corpora interleaved in a seeded
/// shuffle, at most `n`.
pub fn short(corpora: &[Vec<Doc>], n: usize) -> Vec<Doc> {
    let mut all: Vec<Doc> = corpora.iter().flatten().cloned().collect();
    shuffle(&mut all, 0x5EED);
    all.truncate(n);
    all
}

/// ~`target` byte articles: consecutive articles of one corpus joined as
/// paragraphs under the first one's title, at most `n`.
pub fn joined(corpora: &[Vec<Doc>], target: usize, n: usize) -> Vec<Doc> {
    let mut out = Vec::new();
    for docs in corpora {
        let mut current: Option<Doc> = None;
        for d in docs {
            let doc = current.get_or_insert_with(|| Doc {
                id: format!("{}-long", d.id),
                title: d.title.clone(),
                body: String::new(),
            });
            if !doc.body.is_empty() {
                doc.body.push_str("\n\n");
            }
            doc.body.push_str(&d.body);
            if doc.bytes() >= target {
                out.extend(current.take());
            }
        }
    }
    shuffle(&mut out, 0x10C6);
    out.truncate(n);
    out
}

/// `n` seeded synthetic articles of ~`bytes` (topical, so a query matches a
/// realistic share of them).
pub fn synthetic(n: usize, bytes: usize, seed: u64) -> Vec<Doc> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let text = synthetic::topical_article(&mut rng, i, bytes);
            let (title, body) = text.split_once("\n\n").unwrap_or(("", &text));
            Doc {
                id: format!("syn-{seed:x}-{i}"),
                title: title.to_string(),
                body: body.trim().to_string(),
            }
        })
        .collect()
}

fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = Rng(seed);
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Words no query is made of: they carry no topic (and PostgreSQL's English
/// configuration drops them, which would make a query match everything).
const STOP: [&str; 40] = [
    "the", "and", "for", "with", "that", "this", "from", "have", "will", "said", "says", "over", "into",
    "after", "about", "more", "than", "year", "years", "their", "they", "were", "been", "also", "what",
    "when", "which", "would", "could", "should", "there", "here", "some", "under", "back", "make", "just",
    "against", "while", "other",
];

/// `n` queries of one or two words, each taken from the title or opening
/// words of a seeded sample of the articles (so each matches at least that article): ranked
/// search over real topics. Only lowercase ASCII letters, so every system
/// reads them the same way (words ANDed).
pub fn queries(docs: &[Doc], n: usize) -> Vec<String> {
    let mut rng = Rng(0xC0FFEE);
    let mut out = Vec::new();
    let mut attempts = 0;
    while out.len() < n && attempts < n * 50 && !docs.is_empty() {
        attempts += 1;
        let doc = &docs[rng.below(docs.len())];
        let head: String = doc.body.chars().take(160).collect();
        let text = format!("{} {head}", doc.title);
        let words: Vec<String> = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .map(|w| w.to_ascii_lowercase())
            .filter(|w| w.len() >= 4 && !STOP.contains(&w.as_str()))
            .collect();
        if words.is_empty() {
            continue;
        }
        let first = rng.below(words.len());
        let query = if out.len() % 2 == 1 && words.len() > 1 {
            let mut second = rng.below(words.len());
            if second == first {
                second = (first + 1) % words.len();
            }
            format!("{} {}", words[first], words[second])
        } else {
            words[first].clone()
        };
        if !out.contains(&query) {
            out.push(query);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_articles_reach_the_target_and_keep_real_text() {
        let docs: Vec<Doc> = (0..50)
            .map(|i| Doc {
                id: format!("d{i}"),
                title: format!("Title {i}"),
                body: "word ".repeat(200),
            })
            .collect();
        let long = joined(&[docs], 5_000, 100);
        // Five 1 KB articles make one of 5 KB.
        assert_eq!(long.len(), 10);
        assert!(long.iter().all(|d| d.bytes() >= 5_000 && d.bytes() < 6_200));
    }

    #[test]
    fn queries_are_plain_words_found_in_the_articles() {
        let docs = synthetic(300, 1_000, 1);
        let q = queries(&docs, 40);
        assert_eq!(q.len(), 40);
        for query in &q {
            assert!(query
                .split(' ')
                .all(|w| w.len() >= 4 && w.bytes().all(|b| b.is_ascii_lowercase())));
            let first = query.split(' ').next().unwrap_or_default();
            let found = docs.iter().any(|d| {
                format!("{} {}", d.title, d.body)
                    .to_ascii_lowercase()
                    .contains(first)
            });
            assert!(found, "{query}");
        }
    }
}
