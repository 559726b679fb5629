//! Durable streaming ingest over real gRPC on loopback.
//!
//! For each concurrency level, a fresh ingest service (in a child process,
//! on `127.0.0.1:0`, over a temp dir) receives `--articles` synthetic ~5 KB
//! articles through that many concurrent `IngestArticles` streams, each on
//! its own connection. Every result is a durable ack. Reported: articles/s,
//! ack latency p50/p99, fsyncs (group-commit flushes) per article, and the
//! CPU time per article of the service process and of this generator: on a
//! machine of N cores no run can beat N / (their sum) articles/s, which is
//! what says how far a target is, whatever the run-to-run noise. Every write
//! also passes through the service's one committer thread, whose CPU per
//! article bounds the rate at 1 / that on any number of cores. The lower of the
//! two bounds is printed as the "CPU ceiling" column.
//!
//! A second table isolates the storage layer: the group committer alone
//! (no gRPC, no parsing), with that many concurrent submitters of one
//! pre-built article each.
//!
//! Baseline, measured in the same run: the same store written the naive way
//! — one transaction and one flush per article, no gRPC, no parsing. Ratios
//! against it are the figures to quote.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use sectorwire_bench::processes::{self, bench_main, ChildService};
use sectorwire_bench::synthetic;
use sectorwire_ingest::commit::{self, Committer};
use sectorwire_ingest::store::{EncodedArticle, SledStore, Store, WriteOp};
use sectorwire_proto::article::Article;
use sectorwire_proto::ingest::{
    ingest_articles_response, ingest_service_client::IngestServiceClient, ArticleMetadata,
    GetIngestStatsRequest, IngestArticleRequest,
};
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(about = "Durable streaming ingest throughput vs one fsync per article")]
struct Args {
    /// Articles per concurrency level.
    #[arg(long, default_value_t = 20_000)]
    articles: usize,
    /// Concurrent streams to measure, comma-separated.
    #[arg(long, default_value = "1,8,64", value_delimiter = ',')]
    streams: Vec<usize>,
    /// Approximate article size in bytes.
    #[arg(long, default_value_t = 5_000)]
    article_bytes: usize,
    /// Articles written by the one-fsync-per-article baseline.
    #[arg(long, default_value_t = 2_000)]
    baseline_articles: usize,
}

fn baseline(n: usize, bytes: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path())?;
    let mut rng = synthetic::Rng(7);
    let bodies: Vec<String> = (0..n).map(|i| synthetic::article(&mut rng, i, bytes)).collect();
    let start = Instant::now();
    for (i, body) in bodies.into_iter().enumerate() {
        let article = Article {
            id: format!("b{i}"),
            content_hash: format!("{i}"),
            body,
            ..Default::default()
        };
        store.apply(
            &[WriteOp::Upsert {
                key: format!("source:b{i}"),
                article: EncodedArticle::new(article),
            }],
            0,
        )?;
        store.flush()?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// The most articles per second `cores` cores can give when each article costs `cpu` of CPU
/// in all, `serial` of it on one thread: the rate no scheduling or batching can beat at
/// those costs.
fn cpu_ceiling(cores: usize, cpu: Duration, serial: Duration) -> f64 {
    let parallel = cores as f64 / cpu.as_secs_f64().max(1e-9);
    parallel.min(1.0 / serial.as_secs_f64().max(1e-9))
}

struct Level {
    streams: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    fsyncs_per_article: f64,
    /// CPU time of the service process per article (all its threads).
    service_cpu: Duration,
    /// CPU time of this load generator per article.
    client_cpu: Duration,
    /// CPU time of the service's committer thread per article.
    commit_cpu: Duration,
    /// Peak resident memory of the service process.
    peak_rss: u64,
}

async fn level(streams: usize, articles: usize, bytes: usize) -> anyhow::Result<Level> {
    let dir = tempfile::tempdir()?;
    let service = ChildService::ingest(dir.path())?;
    let per_stream = articles.div_ceil(streams);
    let mut rng = synthetic::Rng(0xB0BA + streams as u64);
    let mut batches = Vec::new();
    for s in 0..streams {
        let requests: Vec<IngestArticleRequest> = (0..per_stream)
            .map(|i| {
                let n = s * per_stream + i;
                IngestArticleRequest {
                    content: synthetic::article(&mut rng, n, bytes).into_bytes(),
                    metadata: Some(ArticleMetadata {
                        source_id: format!("bench-{n}"),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        batches.push(requests);
    }
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let start = Instant::now();
    let (service_cpu0, client_cpu0) = (service.cpu_time()?, processes::own_cpu_time()?);
    let commit_cpu0 = service.thread_cpu_time(commit::THREAD_NAME)?;
    let mut tasks = Vec::new();
    for requests in batches {
        let channel = processes::channel(service.addr).await?;
        let histogram = histogram.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = IngestServiceClient::new(channel).max_encoding_message_size(64 << 20);
            let count = requests.len();
            let sent: Arc<std::sync::Mutex<Vec<Option<Instant>>>> =
                Arc::new(std::sync::Mutex::new(vec![None; count]));
            let sent_in = sent.clone();
            let stream = tokio_stream::iter(requests.into_iter().enumerate().map(move |(i, r)| {
                if let Ok(mut s) = sent_in.lock() {
                    s[i] = Some(Instant::now());
                }
                r
            }));
            let mut results = client.ingest_articles(stream).await?.into_inner();
            let mut ok = 0usize;
            while let Some(item) = results.message().await? {
                if let Some(ingest_articles_response::Result::Ok(_)) = item.result {
                    ok += 1;
                }
                let at = sent
                    .lock()
                    .ok()
                    .and_then(|s| s.get(item.index as usize).copied().flatten());
                if let Some(at) = at {
                    let micros = at.elapsed().as_micros() as u64;
                    histogram.lock().await.record(micros.max(1))?;
                }
            }
            anyhow::ensure!(ok == count, "{} of {count} items failed", count - ok);
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    let total = (per_stream * streams).max(1) as u32;
    let service_cpu = (service.cpu_time()? - service_cpu0) / total;
    let client_cpu = (processes::own_cpu_time()? - client_cpu0) / total;
    let commit_cpu = (service.thread_cpu_time(commit::THREAD_NAME)? - commit_cpu0) / total;
    let peak_rss = service.peak_rss()?;
    let mut client = IngestServiceClient::new(processes::channel(service.addr).await?);
    let stats = client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await?
        .into_inner();
    service.stop()?;
    let h = histogram.lock().await;
    Ok(Level {
        streams,
        per_second: (per_stream * streams) as f64 / elapsed.as_secs_f64(),
        p50: Duration::from_micros(h.value_at_quantile(0.50)),
        p99: Duration::from_micros(h.value_at_quantile(0.99)),
        fsyncs_per_article: stats.flushes as f64 / stats.writes.max(1) as f64,
        service_cpu,
        client_cpu,
        commit_cpu,
        peak_rss,
    })
}

fn prebuilt(n: usize, bytes: usize, seed: u64) -> Vec<WriteOp> {
    let mut rng = synthetic::Rng(seed);
    (0..n)
        .map(|i| WriteOp::Upsert {
            key: format!("source:c{seed}-{i}"),
            article: EncodedArticle::new(Article {
                id: format!("c{seed}-{i}"),
                content_hash: format!("{i}"),
                body: synthetic::article(&mut rng, i, bytes),
                ..Default::default()
            }),
        })
        .collect()
}

/// Group committer alone: `writers` tasks each submit one article at a time.
async fn committer_level(
    writers: usize,
    articles: usize,
    bytes: usize,
) -> anyhow::Result<(f64, f64, Duration)> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path())?);
    let (head, _) = tokio::sync::watch::channel(0);
    let (committer, thread) = Committer::start(store, head, 65_536)?;
    let per = articles.div_ceil(writers);
    let batches: Vec<Vec<WriteOp>> = (0..writers).map(|w| prebuilt(per, bytes, w as u64)).collect();
    let start = Instant::now();
    let cpu0 = processes::own_cpu_time()?;
    let mut tasks = Vec::new();
    for ops in batches {
        let committer = committer.clone();
        tasks.push(tokio::spawn(async move {
            for op in ops {
                committer.submit(vec![op]).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let rate = (per * writers) as f64 / start.elapsed().as_secs_f64();
    let cpu = (processes::own_cpu_time()? - cpu0) / (per * writers).max(1) as u32;
    let stats = committer.stats();
    let fsyncs = stats.flushes.load(std::sync::atomic::Ordering::Relaxed) as f64
        / stats.writes.load(std::sync::atomic::Ordering::Relaxed).max(1) as f64;
    committer.stop().await;
    drop(committer);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    Ok((rate, fsyncs, cpu))
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bench_main(|| run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    eprintln!(
        "baseline: {} articles of ~{} B, one transaction + one flush each",
        args.baseline_articles, args.article_bytes
    );
    let base =
        tokio::task::spawn_blocking(move || baseline(args.baseline_articles, args.article_bytes)).await??;
    println!("baseline (one fsync per article, no gRPC, no parsing): {base:.0} articles/s");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>10} {:>14} {:>12} {:>12} {:>12} {:>10} {:>12}",
        "streams",
        "articles/s",
        "vs base",
        "p50 ack",
        "p99 ack",
        "fsyncs/article",
        "server CPU",
        "client CPU",
        "commit CPU",
        "peak RSS",
        "CPU ceiling"
    );
    println!("full pipeline over gRPC (parse + analyze + durable store):");
    for &streams in &args.streams {
        let l = level(streams, args.articles, args.article_bytes).await?;
        println!(
            "{:>8} {:>12.0} {:>9.1}x {:>10.1?} {:>10.1?} {:>14.4} {:>10}µs {:>10}µs {:>10}µs {:>7} MB {:>12.0}",
            l.streams,
            l.per_second,
            l.per_second / base,
            l.p50,
            l.p99,
            l.fsyncs_per_article,
            l.service_cpu.as_micros(),
            l.client_cpu.as_micros(),
            l.commit_cpu.as_micros(),
            l.peak_rss >> 20,
            cpu_ceiling(cores, l.service_cpu + l.client_cpu, l.commit_cpu),
        );
    }
    println!("storage layer only (group committer, durable acks, no gRPC, no parsing):");
    println!(
        "{:>8} {:>12} {:>10} {:>14} {:>12}",
        "writers", "articles/s", "vs base", "fsyncs/article", "CPU"
    );
    for &writers in &args.streams {
        let (rate, fsyncs, cpu) = committer_level(writers, args.articles, args.article_bytes).await?;
        println!(
            "{writers:>8} {rate:>12.0} {:>9.1}x {fsyncs:>14.4} {:>10}µs",
            rate / base,
            cpu.as_micros()
        );
    }
    Ok(())
}
