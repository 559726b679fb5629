//! Human-readable output of articles for the terminal. Evidence spans are
//! resolved to their sentences here so a reader sees why a tag was given.

use std::fmt::Write;

use sectorwire_proto::article::{Article, DatePrecision, EntityKind};

/// `YYYY-MM-DD` (or `-` when absent).
pub fn date(ts: Option<&prost_types::Timestamp>) -> String {
    match ts {
        Some(t) => {
            let (y, m, d) = sectorwire_query::timeline::civil_from_days(t.seconds.div_euclid(86_400));
            format!("{y:04}-{m:02}-{d:02}")
        }
        None => "-".into(),
    }
}

/// One line: id, date, sectors, title.
pub fn article_line(a: &Article) -> String {
    let sectors: Vec<&str> = a.sectors.iter().map(|s| s.sector.as_str()).collect();
    format!(
        "{}  {}  [{}]  {}",
        a.id,
        date(a.published_at.as_ref()),
        sectors.join(","),
        if a.title.is_empty() {
            "(untitled)"
        } else {
            &a.title
        }
    )
}

fn slice(body: &str, start: u32, end: u32) -> &str {
    body.get(start as usize..end as usize).unwrap_or("")
}

/// The full record, sectors with their evidence sentences.
pub fn article(a: &Article) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        if a.title.is_empty() {
            "(untitled)"
        } else {
            &a.title
        }
    );
    let _ = writeln!(out, "id:        {}  (sequence {})", a.id, a.sequence);
    if !a.authors.is_empty() {
        let _ = writeln!(out, "authors:   {}", a.authors.join(", "));
    }
    if !a.outlet.is_empty() || !a.syndicator.is_empty() {
        let _ = writeln!(out, "outlet:    {}  {}", a.outlet, a.syndicator);
    }
    let precision = match DatePrecision::try_from(a.published_precision) {
        Ok(DatePrecision::Minute | DatePrecision::Second) => "time",
        Ok(DatePrecision::Day) => "day",
        _ => "",
    };
    let _ = writeln!(out, "published: {} {precision}", date(a.published_at.as_ref()));
    for tag in &a.sectors {
        let _ = writeln!(out, "sector:    {} ({:.2})", tag.sector, tag.score);
        for evidence in tag.evidence.iter().take(2) {
            if let Some(span) = evidence.span {
                let _ = writeln!(
                    out,
                    "             “{}”",
                    slice(&a.body, span.start, span.end).trim()
                );
            }
        }
    }
    for kind in [
        EntityKind::Country,
        EntityKind::Person,
        EntityKind::Organisation,
        EntityKind::Place,
    ] {
        let names: Vec<String> = a
            .entities
            .iter()
            .filter(|e| e.kind == kind as i32)
            .map(|e| format!("{} ×{}", e.name, e.mention_count))
            .collect();
        if !names.is_empty() {
            let _ = writeln!(
                out,
                "{:<10} {}",
                format!(
                    "{}:",
                    kind.as_str_name()
                        .trim_start_matches("ENTITY_KIND_")
                        .to_lowercase()
                ),
                names.join(", ")
            );
        }
    }
    let _ = writeln!(out, "\n{}", a.body);
    out
}
