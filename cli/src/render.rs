//! Human-readable output for the terminal. Evidence spans are resolved to
//! their sentences here so a reader sees why a tag was given; counts over
//! time become sparklines on a terminal and plain lines on a pipe.

use std::collections::BTreeMap;
use std::fmt::Write;

use sectorwire_proto::article::{Article, DatePrecision, EntityKind};
use sectorwire_proto::query::{GetCountryPairResponse, SectorSeries, TimeBucket};
use sectorwire_query::timeline::{civil_from_days, days_from_civil};

const DAY: i64 = 86_400;

/// `YYYY-MM-DD` (or `-` when absent).
pub fn date(ts: Option<&prost_types::Timestamp>) -> String {
    match ts {
        Some(t) => day(t.seconds),
        None => "-".into(),
    }
}

fn day(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A bucket's label: `2024-03` for months, the first day otherwise.
fn bucket_label(seconds: i64, bucket: TimeBucket) -> String {
    let label = day(seconds);
    match bucket {
        TimeBucket::Month | TimeBucket::Unspecified => label[..7].to_string(),
        _ => label,
    }
}

/// The publication time as precisely as the source stated it: a date alone
/// for day precision, else the time in UTC and in the source's own offset.
pub fn published(a: &Article) -> String {
    let Some(ts) = a.published_at else {
        return "unknown".into();
    };
    let precision = DatePrecision::try_from(a.published_precision).unwrap_or(DatePrecision::Unspecified);
    let clock = |seconds: i64, with_seconds: bool| {
        let s = seconds.rem_euclid(DAY);
        if with_seconds {
            format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
        } else {
            format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
        }
    };
    match precision {
        DatePrecision::Day => format!("{} (date only)", day(ts.seconds)),
        DatePrecision::Unspecified | DatePrecision::Minute | DatePrecision::Second => {
            let with_seconds = precision == DatePrecision::Second;
            let mut out = format!("{} {} UTC", day(ts.seconds), clock(ts.seconds, with_seconds));
            let offset = i64::from(a.published_utc_offset_seconds);
            if offset != 0 {
                let local = ts.seconds + offset;
                let sign = if offset < 0 { '-' } else { '+' };
                let _ = write!(
                    out,
                    " ({} {} {sign}{:02}:{:02})",
                    day(local),
                    clock(local, with_seconds),
                    offset.abs() / 3600,
                    offset.abs() % 3600 / 60
                );
            }
            out
        }
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

/// A search snippet on one line; on a terminal the matched terms could be
/// bold, but plain text reads the same everywhere, so the tags just go.
pub fn snippet(s: &str) -> String {
    s.replace("<b>", "").replace("</b>", "").replace('\n', " ")
}

/// An error's causes on one line, for a status table.
pub fn one_line(e: &anyhow::Error) -> String {
    crate::report::render(e, false)
        .lines()
        .map(|l| {
            l.trim_start_matches("error: ")
                .trim_start_matches("  caused by: ")
                .trim()
        })
        .collect::<Vec<_>>()
        .join(": ")
}

fn slice(body: &str, start: u32, end: u32) -> &str {
    body.get(start as usize..end as usize).unwrap_or("")
}

/// Labels are padded to one width so values line up.
const LABEL: usize = 14;

fn field(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{:<LABEL$}{value}", format!("{label}:"));
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
    field(&mut out, "id", format!("{}  (sequence {})", a.id, a.sequence));
    field(&mut out, "published", published(a));
    if !a.authors.is_empty() {
        field(&mut out, "authors", a.authors.join(", "));
    }
    if !a.outlet.is_empty() {
        field(&mut out, "outlet", &a.outlet);
    }
    if !a.syndicator.is_empty() {
        field(&mut out, "via", &a.syndicator);
    }
    if !a.url.is_empty() {
        field(&mut out, "url", &a.url);
    }
    for tag in &a.sectors {
        field(&mut out, "sector", format!("{} ({:.2})", tag.sector, tag.score));
        for evidence in tag.evidence.iter().take(2) {
            if let Some(span) = evidence.span {
                let _ = writeln!(
                    out,
                    "{:<LABEL$}  “{}”",
                    "",
                    slice(&a.body, span.start, span.end).trim()
                );
            }
        }
    }
    for (kind, label) in [
        (EntityKind::Country, "countries"),
        (EntityKind::Person, "people"),
        (EntityKind::Organisation, "organisations"),
        (EntityKind::Place, "places"),
    ] {
        let names: Vec<String> = a
            .entities
            .iter()
            .filter(|e| e.kind == kind as i32)
            .map(|e| format!("{} ×{}", e.name, e.mention_count))
            .collect();
        if !names.is_empty() {
            field(&mut out, label, names.join(", "));
        }
    }
    let _ = writeln!(out, "\n{}", a.body);
    out
}

/// The start of the bucket after the one starting at `start`.
fn next_bucket(start: i64, bucket: TimeBucket) -> i64 {
    match bucket {
        TimeBucket::Day => start + DAY,
        TimeBucket::Week => start + 7 * DAY,
        TimeBucket::Month | TimeBucket::Unspecified => {
            let (y, m, _) = civil_from_days(start.div_euclid(DAY));
            let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            days_from_civil(y, m, 1) * DAY
        }
    }
}

/// Every bucket start from the earliest to the latest point of any series,
/// gaps included, so all series share one time axis. Capped so a stray date
/// decades away cannot make a line millions of buckets long.
pub fn axis(series: &[SectorSeries], bucket: TimeBucket) -> Vec<i64> {
    const MAX_BUCKETS: usize = 2_000;
    let starts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter_map(|p| p.start.map(|t| t.seconds));
    let (Some(first), Some(last)) = (starts.clone().min(), starts.max()) else {
        return Vec::new();
    };
    // Begin late enough that the newest stretch fits the cap.
    let span_days = match bucket {
        TimeBucket::Day => 1,
        TimeBucket::Week => 7,
        TimeBucket::Month | TimeBucket::Unspecified => 28,
    };
    let earliest = last.saturating_sub((MAX_BUCKETS as i64 - 1) * span_days * DAY);
    let mut t = first.max(sectorwire_query::timeline::bucket_start(earliest, bucket));
    let mut out = Vec::new();
    while t <= last && out.len() < MAX_BUCKETS {
        out.push(t);
        t = next_bucket(t, bucket);
    }
    out
}

/// A series' counts on `axis` (0 for buckets without articles).
pub fn counts_on(series: &SectorSeries, axis: &[i64]) -> Vec<u64> {
    let by_start: BTreeMap<i64, u64> = series
        .points
        .iter()
        .filter_map(|p| p.start.map(|t| (t.seconds, p.count)))
        .collect();
    axis.iter()
        .map(|t| by_start.get(t).copied().unwrap_or(0))
        .collect()
}

/// `▁▂▃▅█`: one block per bucket, scaled to `max`; a blank for zero so
/// quiet months read as gaps.
fn sparkline(counts: &[u64], max: u64) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    counts
        .iter()
        .map(|&c| {
            if c == 0 || max == 0 {
                ' '
            } else {
                let i = ((c as f64 / max as f64) * (BLOCKS.len() - 1) as f64).round() as usize;
                BLOCKS[i.min(BLOCKS.len() - 1)]
            }
        })
        .collect()
}

/// One sparkline per sector on a shared axis, with the range and totals.
pub fn sparklines(series: &[SectorSeries], bucket: TimeBucket) -> String {
    let axis = axis(series, bucket);
    let mut out = String::new();
    if let (Some(first), Some(last)) = (axis.first(), axis.last()) {
        let _ = writeln!(
            out,
            "{:<14}{} … {} ({} buckets)",
            "",
            bucket_label(*first, bucket),
            bucket_label(*last, bucket),
            axis.len()
        );
    }
    let rows: Vec<(String, Vec<u64>)> = series
        .iter()
        .map(|s| (s.sector.clone(), counts_on(s, &axis)))
        .collect();
    let max = rows
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0);
    for (sector, counts) in &rows {
        let total: u64 = counts.iter().sum();
        let _ = writeln!(out, "{sector:<14}{}  {total}", sparkline(counts, max));
    }
    out.trim_end().to_string()
}

/// Plain lines for pipes: `sector<TAB>bucket start<TAB>count`.
pub fn series_lines(series: &[SectorSeries]) -> String {
    let mut out = String::new();
    for s in series {
        if s.points.is_empty() {
            let _ = writeln!(out, "{}\t-\t0", s.sector);
        }
        for p in &s.points {
            let _ = writeln!(out, "{}\t{}\t{}", s.sector, date(p.start.as_ref()), p.count);
        }
    }
    out.trim_end().to_string()
}

/// A horizontal bar `width` cells wide at full scale.
fn bar(value: f64, max: f64, width: usize) -> String {
    if max <= 0.0 || value <= 0.0 {
        return String::new();
    }
    let cells = ((value / max) * width as f64).round().max(1.0) as usize;
    "█".repeat(cells.min(width))
}

/// `sectorwire pair`: sectors by weight (bars on a terminal), each with its
/// strongest evidence, then the timeline.
pub fn pair(r: &GetCountryPairResponse, bucket: TimeBucket, terminal: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} and {}: {} articles relate them ({} examined)",
        r.a, r.b, r.article_count, r.articles_examined
    );
    if r.sectors.is_empty() {
        let _ = writeln!(
            out,
            "no sector links these two countries in the matching articles"
        );
        return out.trim_end().to_string();
    }
    let max = r.sectors.iter().map(|s| f64::from(s.weight)).fold(0.0, f64::max);
    let _ = writeln!(out, "\n{:<14}{:>8}  {:>8}", "sector", "weight", "articles");
    for s in &r.sectors {
        let _ = write!(out, "{:<14}{:>8.2}  {:>8}", s.sector, s.weight, s.article_count);
        if terminal {
            let _ = write!(out, "  {}", bar(f64::from(s.weight), max, 24));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\nevidence");
    for s in &r.sectors {
        if s.evidence.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {}:", s.sector);
        for e in &s.evidence {
            let _ = writeln!(
                out,
                "    “{}”\n      {}  {}  ({})",
                e.text,
                date(e.published_at.as_ref()),
                if e.title.is_empty() {
                    "(untitled)"
                } else {
                    &e.title
                },
                e.article_id
            );
        }
    }
    if !r.timeline.is_empty() {
        let _ = writeln!(out, "\ntimeline");
        if terminal {
            let _ = writeln!(out, "{}", sparklines(&r.timeline, bucket));
        } else {
            // A table: one row per bucket, one column per sector.
            let axis = axis(&r.timeline, bucket);
            let _ = write!(out, "{:<12}", "bucket");
            for s in &r.timeline {
                let _ = write!(out, "{:>12}", s.sector);
            }
            out.push('\n');
            let columns: Vec<Vec<u64>> = r.timeline.iter().map(|s| counts_on(s, &axis)).collect();
            for (i, start) in axis.iter().enumerate() {
                let _ = write!(out, "{:<12}", bucket_label(*start, bucket));
                for column in &columns {
                    let _ = write!(out, "{:>12}", column[i]);
                }
                out.push('\n');
            }
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sectorwire_proto::query::TimelinePoint;

    fn series(sector: &str, points: &[(i64, u64)]) -> SectorSeries {
        SectorSeries {
            sector: sector.into(),
            points: points
                .iter()
                .map(|&(t, count)| TimelinePoint {
                    start: Some(sectorwire_proto::timestamp(t)),
                    count,
                })
                .collect(),
        }
    }

    #[test]
    fn published_shows_time_and_offset() {
        let a = Article {
            // 2024-03-27 12:43 UTC, stated as 17:43 +05:00.
            published_at: Some(sectorwire_proto::timestamp(1_711_543_380)),
            published_precision: DatePrecision::Minute as i32,
            published_utc_offset_seconds: 5 * 3600,
            ..Default::default()
        };
        assert_eq!(published(&a), "2024-03-27 12:43 UTC (2024-03-27 17:43 +05:00)");
        let day_only = Article {
            published_precision: DatePrecision::Day as i32,
            published_utc_offset_seconds: 0,
            ..a
        };
        assert_eq!(published(&day_only), "2024-03-27 (date only)");
        assert_eq!(published(&Article::default()), "unknown");
    }

    #[test]
    fn labels_line_up() {
        let a = Article {
            id: "abc".into(),
            title: "T".into(),
            outlet: "Outlet".into(),
            ..Default::default()
        };
        let text = article(&a);
        let columns: Vec<usize> = text
            .lines()
            .filter(|l| l.contains(':') && !l.starts_with(' '))
            .map(|l| l.len() - l[LABEL..].len())
            .collect();
        assert!(text.contains("published:    unknown"), "{text}");
        assert!(columns.iter().all(|&c| c == LABEL));
    }

    #[test]
    fn axis_fills_gaps_across_months_and_years() {
        // 2023-11-01, 2024-02-01.
        let s = [series("trade", &[(1_698_796_800, 2), (1_706_745_600, 4)])];
        let axis = axis(&s, TimeBucket::Month);
        let labels: Vec<String> = axis.iter().map(|&t| bucket_label(t, TimeBucket::Month)).collect();
        assert_eq!(labels, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(counts_on(&s[0], &axis), [2, 0, 0, 4]);
        assert_eq!(sparkline(&[2, 0, 0, 4], 4), "▅  █");
    }
}
