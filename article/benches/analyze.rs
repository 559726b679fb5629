//! Throughput of the whole analysis (tagging + entities + pairs) on synthetic news-like text,
//! because ingest runs analyze() on every article and the target is >= 20 MB/s per core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sectorwire_article::analyze::analyze;

fn sample() -> String {
    let paras = [
        "President Ilham Aliyev met Prime Minister Shehbaz Sharif in Islamabad on Tuesday to discuss trade, energy and defence cooperation between Azerbaijan and Pakistan.",
        "The two leaders agreed to expand exports of oil and gas, build a new railway corridor and open direct flights for tourists, officials said.",
        "The Organization of Islamic Cooperation (OIC) welcomed the agreements, and the United Nations praised the climate commitments made ahead of COP29 in Baku.",
        "Shares of the state bank rose 3.5 pct after it reported quarterly profits of 120 mln dlrs, beating analysts' forecasts.",
        "Students from both countries will receive scholarships, and a joint research centre for science and technology will open in Lahore next year.",
    ];
    let mut s = String::new();
    while s.len() < 64 * 1024 {
        for p in paras {
            s.push_str(p);
            s.push_str("\n\n");
        }
    }
    s
}

/// Real news when the shared corpora are present: (title, body) of up to 300 BBC articles.
fn real_articles() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpora/bbc/dev.jsonl");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .take(300)
        .map(|v| {
            let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            (get("title"), get("text"))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let body = sample();
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("64KiB article", |b| {
        b.iter(|| analyze("Azerbaijan and Pakistan deepen ties", &body))
    });
    let docs = real_articles();
    if !docs.is_empty() {
        let bytes: usize = docs.iter().map(|(t, b)| t.len() + b.len()).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("300 BBC articles", |b| {
            b.iter(|| {
                for (t, body) in &docs {
                    std::hint::black_box(analyze(t, body));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
