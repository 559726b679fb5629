//! Query latency under open-loop load, and ingest-to-searchable lag, over
//! real gRPC on loopback.
//!
//! The ingest service and the query replica run in child processes (this
//! executable re-run with a role, see `sectorwire_bench::processes`), so the
//! load generator's own work is not scheduled inside the server it measures.
//!
//! 1. Loads `--articles` synthetic articles through the ingest service and
//!    waits until the query replica has applied them.
//! 2. For each RPC, sends requests at a fixed rate for `--seconds`, each
//!    timed from its *scheduled* start (so a stall is charged to every
//!    request it delays: no coordinated omission), into an HDR histogram.
//!    A dedicated pacing thread dispatches, every millisecond, the requests
//!    scheduled up to the end of the next one, as one task: starting each
//!    request with its own wake-up cost the generator most of a core at
//!    5,000 req/s on 2 cores and its scheduling noise dominated the tail.
//!    A request that leaves early is timed from when it left.
//! 3. Baseline in the same run: `ListSectors`, which touches no data, at the
//!    same rate over the same connection pool — the transport's own cost.
//! 4. Lag: ingest at a steady rate while a `WatchArticles` stream reports
//!    when each acknowledged article became visible to queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use sectorwire_bench::open_loop::open_loop;
use sectorwire_bench::processes::{self, bench_main, ChildService};
use sectorwire_bench::synthetic;
use sectorwire_proto::ingest::{
    ingest_articles_response, ingest_service_client::IngestServiceClient, ArticleMetadata,
    IngestArticleRequest,
};
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, ArticleFilter, ArticleView, Consistency, GetArticleRequest,
    GetQueryStatsRequest, ListArticlesRequest, ListSectorsRequest, SearchArticlesRequest,
    WatchArticlesRequest,
};
use tonic::transport::Channel;

#[derive(Parser)]
#[command(about = "Query latency at fixed request rates, and ingest-to-searchable lag")]
struct Args {
    /// Articles to load before measuring.
    #[arg(long, default_value_t = 100_000)]
    articles: usize,
    /// Seconds per measured load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// GetArticle rate (req/s); 0 skips it (as for every rate below).
    #[arg(long, default_value_t = 5_000)]
    get_rate: u64,
    /// ListArticles rate (req/s).
    #[arg(long, default_value_t = 1_000)]
    list_rate: u64,
    /// SearchArticles rate (req/s).
    #[arg(long, default_value_t = 500)]
    search_rate: u64,
    /// Ingest rate while measuring lag (articles/s).
    #[arg(long, default_value_t = 200)]
    lag_rate: u64,
    /// Connections to the query service.
    #[arg(long, default_value_t = 8)]
    connections: usize,
}

type Client = QueryServiceClient<Channel>;

async fn load(ingest: std::net::SocketAddr, n: usize) -> anyhow::Result<(Vec<String>, u64)> {
    let streams = 8;
    let per = n.div_ceil(streams);
    let mut tasks = Vec::new();
    for s in 0..streams {
        let channel = processes::channel(ingest).await?;
        tasks.push(tokio::spawn(async move {
            let mut rng = synthetic::Rng(0xFEED + s as u64);
            let requests: Vec<IngestArticleRequest> = (0..per)
                .map(|i| {
                    let k = s * per + i;
                    IngestArticleRequest {
                        content: synthetic::topical_article(&mut rng, k, 3_000).into_bytes(),
                        metadata: Some(ArticleMetadata {
                            source_id: format!("q-{k}"),
                            published_at: Some(sectorwire_proto::timestamp(1_600_000_000 + (k as i64) * 600)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                })
                .collect();
            let mut client = IngestServiceClient::new(channel);
            let mut out = client
                .ingest_articles(tokio_stream::iter(requests))
                .await?
                .into_inner();
            let mut ids = Vec::new();
            let mut last = 0;
            while let Some(item) = out.message().await? {
                if let Some(ingest_articles_response::Result::Ok(ok)) = item.result {
                    last = last.max(ok.sequence);
                    ids.push(ok.id);
                }
            }
            Ok::<_, anyhow::Error>((ids, last))
        }));
    }
    let mut ids = Vec::new();
    let mut last = 0;
    for t in tasks {
        let (i, l) = t.await??;
        ids.extend(i);
        last = last.max(l);
    }
    Ok((ids, last))
}

fn pool(clients: &[Client], i: u64) -> Client {
    clients[i as usize % clients.len()].clone()
}

fn report(name: &str, rate: u64, h: &Histogram<u64>, errors: u64, base_p99: Option<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    let ratio = base_p99
        .map(|b| format!("{:.1}x", h.value_at_quantile(0.99) as f64 / b.max(1) as f64))
        .unwrap_or_else(|| "-".into());
    println!(
        "{name:<20} {rate:>7} {:>9.2} {:>9.2} {:>9.2} {:>10} {errors:>7}",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        ratio
    );
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bench_main(|| run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ingest = ChildService::ingest(&dir.path().join("ingest"))?;
    let query = ChildService::query(&dir.path().join("query"), ingest.addr)?;
    let started = Instant::now();
    let (ids, last) = load(ingest.addr, args.articles).await?;
    let mut clients = Vec::new();
    for _ in 0..args.connections.max(1) {
        clients.push(QueryServiceClient::new(processes::channel(query.addr).await?));
    }
    eprintln!("ingest pid {}, query pid {}", ingest.pid(), query.pid());
    let stats = clients[0]
        .clone()
        .get_query_stats(GetQueryStatsRequest {})
        .await?
        .into_inner();
    let mut waiting = clients[0].clone();
    let mut settle = tonic::Request::new(ListArticlesRequest {
        page_size: 1,
        consistency: Some(Consistency { min_sequence: last }),
        ..Default::default()
    });
    settle.set_timeout(Duration::from_secs(600));
    waiting.list_articles(settle).await?;
    eprintln!(
        "loaded {} articles in {:.1?} (replica was at {} of {last} when ingest finished)",
        ids.len(),
        started.elapsed(),
        stats.applied_sequence
    );
    let ids = Arc::new(ids);
    println!(
        "{:<20} {:>7} {:>9} {:>9} {:>9} {:>10} {:>7}",
        "rpc", "req/s", "p50 ms", "p99 ms", "max ms", "p99/base", "errors"
    );

    // The baseline runs at the highest measured rate, so no RPC is compared
    // with a transport under less load than its own.
    let base_rate = args.get_rate.max(args.list_rate).max(args.search_rate);
    let mut base_p99 = None;
    if base_rate > 0 {
        let c = clients.clone();
        let (base, e) = open_loop(base_rate, args.seconds as f64, move |i| {
            let mut client = pool(&c, i);
            async move { client.list_sectors(ListSectorsRequest {}).await.is_ok() }
        })
        .await?;
        report("ListSectors(base)", base_rate, &base, e, None);
        base_p99 = Some(base.value_at_quantile(0.99));
    }

    if args.get_rate > 0 {
        let (c, ids_get) = (clients.clone(), ids.clone());
        let (h, e) = open_loop(args.get_rate, args.seconds as f64, move |i| {
            let mut client = pool(&c, i);
            let id = ids_get[(i as usize * 7919) % ids_get.len()].clone();
            async move {
                client
                    .get_article(GetArticleRequest {
                        id,
                        consistency: None,
                    })
                    .await
                    .is_ok()
            }
        })
        .await?;
        report("GetArticle", args.get_rate, &h, e, base_p99);
    }

    const SECTORS: [&str; 6] = ["energy", "trade", "defence", "education", "health", "transport"];
    if args.list_rate > 0 {
        let c = clients.clone();
        let (h, e) = open_loop(args.list_rate, args.seconds as f64, move |i| {
            let mut client = pool(&c, i);
            let sector = SECTORS[i as usize % SECTORS.len()].to_string();
            async move {
                client
                    .list_articles(ListArticlesRequest {
                        filter: Some(ArticleFilter {
                            sectors: vec![sector],
                            ..Default::default()
                        }),
                        page_size: 20,
                        view: ArticleView::Basic as i32,
                        ..Default::default()
                    })
                    .await
                    .is_ok()
            }
        })
        .await?;
        report("ListArticles(basic)", args.list_rate, &h, e, base_p99);
    }

    const QUERIES: [&str; 6] = [
        "natural gas pipeline",
        "\"free trade agreement\"",
        "vaccination clinics",
        "rail freight ports",
        "scholarships engineering",
        "interest rate bond",
    ];
    if args.search_rate > 0 {
        let c = clients.clone();
        let (h, e) = open_loop(args.search_rate, args.seconds as f64, move |i| {
            let mut client = pool(&c, i);
            let query = QUERIES[i as usize % QUERIES.len()].to_string();
            async move {
                client
                    .search_articles(SearchArticlesRequest {
                        query,
                        page_size: 10,
                        ..Default::default()
                    })
                    .await
                    .is_ok()
            }
        })
        .await?;
        report("SearchArticles", args.search_rate, &h, e, base_p99);
    }

    if args.lag_rate > 0 {
        measure_lag(&args, &clients[0], ingest.addr).await?;
    }
    drop(clients);
    query.stop()?;
    ingest.stop()?;
    Ok(())
}

/// Steady ingest at `--lag-rate`, visibility observed through WatchArticles.
async fn measure_lag(args: &Args, client: &Client, ingest: std::net::SocketAddr) -> anyhow::Result<()> {
    let acked: Arc<std::sync::Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut watch = client
        .clone()
        .watch_articles(WatchArticlesRequest {
            filter: None,
            after_sequence: None,
        })
        .await?
        .into_inner();
    let lag = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let total = args.lag_rate * args.seconds;
    let (acked_w, lag_w) = (acked.clone(), lag.clone());
    let watcher = tokio::spawn(async move {
        let mut seen = 0;
        let mut pending: HashMap<u64, Instant> = HashMap::new();
        while seen < total {
            let Ok(Some(item)) = watch.message().await else {
                break;
            };
            let visible = Instant::now();
            pending.insert(item.sequence, visible);
            seen += 1;
        }
        // Match visibility to acks (an ack can arrive after the watch event).
        let acks = acked_w.lock().map(|a| a.clone()).unwrap_or_default();
        if let Ok(mut h) = lag_w.lock() {
            for (seq, visible) in pending {
                if let Some(ack) = acks.get(&seq) {
                    let micros = visible.saturating_duration_since(*ack).as_micros() as u64;
                    let _ = h.record(micros.max(1));
                }
            }
        }
    });
    let mut writer = IngestServiceClient::new(processes::channel(ingest).await?);
    let mut rng = synthetic::Rng(99);
    let interval = Duration::from_secs_f64(1.0 / args.lag_rate as f64);
    let start = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
        let ack = writer
            .ingest_article(IngestArticleRequest {
                content: synthetic::topical_article(&mut rng, 1_000_000 + i as usize, 3_000).into_bytes(),
                ..Default::default()
            })
            .await?
            .into_inner();
        if let Ok(mut a) = acked.lock() {
            a.insert(ack.sequence, Instant::now());
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), watcher).await;
    let h = lag
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram poisoned"))?
        .clone();
    println!(
        "ingest-to-searchable lag at {} articles/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        args.lag_rate,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.len()
    );
    Ok(())
}
