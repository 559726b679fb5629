//! The peer benchmark (`peers` binary): sectorwire beside what users would
//! deploy instead — PostgreSQL full-text search and SQLite FTS5 — loaded
//! with the same articles and asked the same queries in one run, so the
//! ratios survive a noisy machine.
//!
//! - [`corpus`]: the articles (real when `../shared/corpora` is there) and queries.
//! - [`sectorwire`], [`postgres`], [`sqlite`]: each system's setup, load,
//!   search and lookup.
//! - [`footprint`]: memory and disk, read the same way for every system.
//! - [`report`]: the JSON, Markdown table and SVG plot.

pub mod corpus;
pub mod footprint;
pub mod postgres;
pub mod report;
pub mod sectorwire;
pub mod sqlite;

use corpus::Doc;

/// `docs` dealt round-robin to `clients` parts (fewer when there are fewer docs).
pub fn partition(docs: &[Doc], clients: usize) -> Vec<Vec<Doc>> {
    partition_indexed(docs, clients)
        .into_iter()
        .map(|p| p.into_iter().map(|(_, d)| d.clone()).collect())
        .collect()
}

/// Like [`partition`], keeping each doc's index in `docs`.
pub fn partition_indexed(docs: &[Doc], clients: usize) -> Vec<Vec<(usize, &Doc)>> {
    let n = clients.clamp(1, docs.len().max(1));
    let mut parts: Vec<Vec<(usize, &Doc)>> = (0..n).map(|_| Vec::new()).collect();
    for (i, d) in docs.iter().enumerate() {
        parts[i % n].push((i, d));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_every_doc_once() {
        let docs = corpus::synthetic(10, 200, 1);
        let parts = partition_indexed(&docs, 3);
        assert_eq!(parts.len(), 3);
        let mut seen: Vec<usize> = parts.iter().flatten().map(|(i, _)| *i).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(partition(&docs[..2], 8).len(), 2);
    }
}
