//! Throughput of `parse` in bytes per second: on the real seed articles (when the shared
//! folder is present) and on generated 1 MB and 10 MB text and HTML documents, so a
//! change that slows parsing or makes it superlinear shows up as a number.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sectorwire_article::parse::{parse, ContentType, Hints};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    std::fs::read(e.path()).ok().map(|b| (name, b))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Article-like plain text: title, dateline, byline, paragraphs, furniture.
fn text_doc(bytes: usize) -> Vec<u8> {
    let mut s =
        String::from("Harbour Trade Climbs Again\n\n12 May 2024 10:30 (UTC+02:00)\n\nBy Jane Roe\n\n");
    let mut i = 0u64;
    while s.len() < bytes {
        i += 1;
        s.push_str(&format!(
            "Paragraph {i}: officials in the harbour town said trade rose {}.{} percent, helped by new routes.The rest followed. Share this article\n\n",
            i % 10,
            i % 7
        ));
    }
    s.into_bytes()
}

/// A news page: head metadata, navigation, an article of paragraphs, a sidebar, footer.
fn html_doc(bytes: usize) -> Vec<u8> {
    let mut s = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><title>Harbour Trade Climbs | Courier</title>\
         <meta property=\"og:title\" content=\"Harbour Trade Climbs\">\
         <meta property=\"article:published_time\" content=\"2024-05-12T10:30:00+02:00\">\
         </head><body><nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/b\">Business</a></li></ul></nav>\
         <main><article class=\"story-body\"><h1>Harbour Trade Climbs</h1>",
    );
    let mut i = 0u64;
    while s.len() < bytes {
        i += 1;
        s.push_str(&format!(
            "<p>Paragraph {i}: officials in the <a href=\"/town\">harbour town</a> said trade rose {} percent, helped by new routes and <em>cheaper fuel</em>.</p>",
            i % 10
        ));
        if i.is_multiple_of(50) {
            s.push_str("<div class=\"related-posts\"><a href=\"/r\">Related story</a></div>");
        }
    }
    s.push_str("</article><aside class=\"sidebar\"><p>Most read</p></aside></main><footer>Copyright</footer></body></html>");
    s.into_bytes()
}

fn bench_seeds(c: &mut Criterion) {
    let seeds = seeds();
    if seeds.is_empty() {
        eprintln!("skipping seed benchmarks: ../shared/seeds not found");
        return;
    }
    let mut g = c.benchmark_group("seeds");
    let total: usize = seeds.iter().map(|(_, b)| b.len()).sum();
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("all_seeds", |b| {
        b.iter(|| {
            for (_, raw) in &seeds {
                let _ = black_box(parse(black_box(raw), ContentType::Auto, &Hints::default()));
            }
        })
    });
    g.finish();
}

fn bench_large(c: &mut Criterion) {
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for (label, size) in [("1MB", 1usize << 20), ("10MB", 10usize << 20)] {
        let text = text_doc(size);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("text", label), &text, |b, raw| {
            b.iter(|| black_box(parse(raw, ContentType::Text, &Hints::default())))
        });
        let html = html_doc(size);
        g.throughput(Throughput::Bytes(html.len() as u64));
        g.bench_with_input(BenchmarkId::new("html", label), &html, |b, raw| {
            b.iter(|| black_box(parse(raw, ContentType::Html, &Hints::default())))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_seeds, bench_large);
criterion_main!(benches);
