//! Per-article CPU cost of each ingest stage on one core, so the stage that
//! bounds end-to-end throughput is visible. Each stage is reported as a share
//! of `prepare` (the whole pure pipeline: validate, parse, analyze, build the
//! record) measured in the same run.

use std::time::Instant;

use clap::Parser;
use prost::Message;
use sectorwire_article::analyze;
use sectorwire_article::parse::{self, ContentType, Hints};
use sectorwire_bench::peers::corpus;
use sectorwire_bench::synthetic;
use sectorwire_ingest::pipeline;
use sectorwire_ingest::store::WriteOp;
use sectorwire_proto::ingest::{ArticleMetadata, IngestArticleRequest};

#[derive(Parser)]
#[command(about = "Per-article cost of parse, analyze, prepare and encode")]
struct Args {
    #[arg(long, default_value_t = 2_000)]
    articles: usize,
    #[arg(long, default_value_t = 5_000)]
    article_bytes: usize,
    /// Real articles as published (short: ~1.1 KB on average) from these
    /// labelled corpora, instead of synthetic ones of `--article-bytes`.
    #[arg(long)]
    corpora: Option<std::path::PathBuf>,
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn per_article(n: usize, start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = synthetic::Rng(11);
    let requests: Vec<IngestArticleRequest> = match &args.corpora {
        Some(path) => {
            let corpora =
                corpus::real(path)?.ok_or_else(|| anyhow::anyhow!("no corpora under {}", path.display()))?;
            corpus::short(&corpora, args.articles)
                .into_iter()
                .map(|d| IngestArticleRequest {
                    content: d.body.into_bytes(),
                    metadata: Some(ArticleMetadata {
                        source_id: d.id,
                        title: d.title,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect()
        }
        None => (0..args.articles)
            .map(|i| IngestArticleRequest {
                content: synthetic::article(&mut rng, i, args.article_bytes).into_bytes(),
                metadata: Some(ArticleMetadata {
                    source_id: format!("s-{i}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
    };
    let bytes_in = requests.iter().map(|r| r.content.len()).sum::<usize>() / requests.len().max(1);
    let n = requests.len();
    let hints = Hints::default();

    // Warm-up, so the first stage measured does not pay for cold caches and
    // a fresh allocator.
    for r in requests.iter().take(200) {
        std::hint::black_box(pipeline::prepare(r).ok());
    }

    let t = Instant::now();
    let parsed: Vec<_> = requests
        .iter()
        .map(|r| parse::parse(&r.content, ContentType::Auto, &hints))
        .collect::<Result<_, _>>()?;
    let parse_us = per_article(n, t);

    let bodies: Vec<(String, String)> = parsed
        .iter()
        .map(|p| (p.title.clone().unwrap_or_default(), p.body()))
        .collect();
    let t = Instant::now();
    for (title, body) in &bodies {
        std::hint::black_box(analyze::analyze(title, body));
    }
    let analyze_us = per_article(n, t);

    let t = Instant::now();
    let ops: Vec<WriteOp> = requests.iter().map(pipeline::prepare).collect::<Result<_, _>>()?;
    let prepare_us = per_article(n, t);

    // `prepare` ends by encoding the record; timed here on its own.
    let records: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            WriteOp::Upsert { article, .. } => article.decode().ok(),
            WriteOp::Delete { .. } => None,
        })
        .collect();
    let t = Instant::now();
    let mut bytes = 0;
    for record in &records {
        bytes += record.encode_to_vec().len();
    }
    let encode_us = per_article(n, t);

    println!("{n} articles, {bytes_in} B of content each on average");
    println!("{:<10} {:>10} {:>12}", "stage", "µs/article", "of prepare");
    for (name, us) in [
        ("parse", parse_us),
        ("analyze", analyze_us),
        ("prepare", prepare_us),
        ("encode", encode_us),
    ] {
        println!("{name:<10} {us:>10.1} {:>11.0}%", 100.0 * us / prepare_us);
    }
    println!("stored bytes/article: {}", bytes / n.max(1));
    Ok(())
}
