//! sectorwire beside PostgreSQL full-text search and SQLite FTS5, in one run
//! on the same articles and queries (see `sectorwire_bench::peers`).
//!
//! For each article size (short: real articles as published; long: ~5 KB)
//! and each client count (1, 8), every system gets a fresh store and the
//! same articles, every write durable when acknowledged (sectorwire: one
//! `IngestArticles` stream per client, group commit; PostgreSQL:
//! `synchronous_commit=on`, one transaction per batch of 100 rows, the batch
//! size of a `COPY`-style bulk load; SQLite: WAL, `synchronous=FULL`, a
//! transaction per 100 rows). Measured: articles/s until the last durable
//! ack and until the last article is searchable (sectorwire: the replica has
//! applied the last sequence; the peers index inside the commit). Then, on
//! the short articles loaded with the most clients: ranked search (top 10 with
//! an excerpt) and lookups by id at fixed open-loop rates, the same queries
//! for all; disk and memory per system.
//!
//! `cargo run --release -p sectorwire-bench --bin peers` (add `-- --quick`
//! for the CI-sized run) writes `bench/results/peers.{json,md,svg}`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use sectorwire_bench::open_loop::open_loop;
use sectorwire_bench::peers::corpus::{self, Doc};
use sectorwire_bench::peers::report::{FootprintRow, IngestRow, LatencyRow, Machine, Report};
use sectorwire_bench::peers::{footprint, postgres, sectorwire, sqlite};
use sectorwire_bench::processes::bench_main;

#[derive(Parser, Clone)]
#[command(about = "sectorwire vs PostgreSQL full-text search and SQLite FTS5, same articles, same run")]
struct Args {
    /// Small sizes for CI (~1 minute): 1,000 short and 200 long articles,
    /// two search rates, 2 s per rate.
    #[arg(long)]
    quick: bool,
    /// Labelled corpora (Reuters-21578, BBC) to take real articles from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpora"))]
    corpora: PathBuf,
    /// Use the seeded synthetic generator even when the corpora are there.
    #[arg(long)]
    synthetic: bool,
    /// Short articles to load [default: 8000, quick 1000].
    #[arg(long)]
    short: Option<usize>,
    /// ~5 KB articles to load [default: 1500, quick 200].
    #[arg(long)]
    long: Option<usize>,
    /// Size of the long articles, bytes.
    #[arg(long, default_value_t = 5_000)]
    long_bytes: usize,
    /// Concurrent clients per load, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    clients: Vec<usize>,
    /// Open-loop search rates (req/s) [default: 25,50,100,200, quick 50,200].
    #[arg(long, value_delimiter = ',')]
    search_rates: Vec<u64>,
    /// Open-loop lookup rate (req/s) [default: 1000, quick 500].
    #[arg(long)]
    get_rate: Option<u64>,
    /// Seconds per measured rate [default: 5, quick 2].
    #[arg(long)]
    seconds: Option<f64>,
    /// Distinct queries (cycled through at every rate).
    #[arg(long, default_value_t = 240)]
    queries: usize,
    /// Rows per PostgreSQL / SQLite transaction while loading.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Connections (sectorwire, PostgreSQL) or read connections (SQLite) for queries.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Fail instead of skipping PostgreSQL when its binaries are missing.
    #[arg(long)]
    require_postgres: bool,
    /// Where to write peers.json, peers.md and peers.svg (quick: peers-quick.*).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
}

/// mimalloc, as in every binary of the project (the services run as children
/// of this executable).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bench_main(|| run(Args::parse()))
}

fn mean_bytes(docs: &[Doc]) -> usize {
    docs.iter().map(Doc::bytes).sum::<usize>() / docs.len().max(1)
}

fn latency_row(system: &str, op: &str, rate: u64, h: &Histogram<u64>, errors: u64) -> LatencyRow {
    let ms = |v: u64| v as f64 / 1000.0;
    let row = LatencyRow {
        system: system.into(),
        op: op.into(),
        rate,
        requests: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
        errors,
    };
    eprintln!(
        "{op:<6} {system:<11} {rate:>6}/s  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  errors {errors}",
        row.p50_ms, row.p99_ms, row.max_ms
    );
    row
}

/// What stays loaded for the query phase.
struct Loaded {
    sectorwire: Option<(sectorwire::Instance, Vec<String>)>,
    sqlite: Option<sqlite::Db>,
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    let quick = args.quick;
    let n_short = args.short.unwrap_or(if quick { 1_000 } else { 8_000 });
    let n_long = args.long.unwrap_or(if quick { 200 } else { 1_500 });
    if args.search_rates.is_empty() {
        args.search_rates = if quick {
            vec![50, 200]
        } else {
            vec![25, 50, 100, 200]
        };
    }
    let get_rate = args.get_rate.unwrap_or(if quick { 500 } else { 1_000 });
    let seconds = args.seconds.unwrap_or(if quick { 2.0 } else { 5.0 });
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);

    let real = if args.synthetic {
        None
    } else {
        corpus::real(&args.corpora)?
    };
    let (corpus_name, short, long) = match &real {
        Some(c) => (
            "Reuters-21578 + BBC News (../shared/corpora); long articles join consecutive ones up to 5 KB or more".to_string(),
            corpus::short(c, n_short),
            corpus::joined(c, args.long_bytes, n_long),
        ),
        None => {
            if !args.synthetic {
                eprintln!("no corpora at {}: synthetic articles", args.corpora.display());
            }
            (
                "synthetic (seeded topical generator)".to_string(),
                corpus::synthetic(n_short, 1_100, 1),
                corpus::synthetic(n_long, args.long_bytes, 2),
            )
        }
    };
    let queries = Arc::new(corpus::queries(&short, args.queries));
    eprintln!(
        "{} short articles ({} B mean), {} long ({} B mean), {} queries",
        short.len(),
        mean_bytes(&short),
        long.len(),
        mean_bytes(&long),
        queries.len()
    );

    let mut skipped = Vec::new();
    let mut versions = vec![("SQLite".to_string(), sqlite::version().to_string())];
    let cluster = match postgres::find_bin() {
        Some(bin) => {
            versions.push(("PostgreSQL".into(), postgres::version(&bin)));
            match postgres::Cluster::start(&bin).await {
                Ok(c) => Some(c),
                Err(e) if !args.require_postgres => {
                    skipped.push(format!("PostgreSQL did not start: {e:#}"));
                    None
                }
                Err(e) => return Err(e.context("starting PostgreSQL")),
            }
        }
        None if args.require_postgres => {
            anyhow::bail!("PostgreSQL binaries not found (apt-get install postgresql)")
        }
        None => {
            skipped.push("PostgreSQL binaries not found: apt-get install postgresql".into());
            None
        }
    };
    for s in &skipped {
        eprintln!("skipping: {s}");
    }

    let mut report = Report {
        command: std::iter::once("cargo run --release -p sectorwire-bench --bin peers".to_string())
            .chain((std::env::args().len() > 1).then(|| "--".to_string()))
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        quick,
        machine: Machine::this(),
        corpus: corpus_name,
        versions,
        queries: queries.len(),
        ingest: Vec::new(),
        latency: Vec::new(),
        footprint: Vec::new(),
        skipped,
    };

    for (size, docs) in [("short", &short), ("long", &long)] {
        if docs.is_empty() {
            continue;
        }
        let mut loaded = Loaded {
            sectorwire: None,
            sqlite: None,
        };
        for &clients in &args.clients {
            let last = clients == max_clients;
            let keep = last && size == "short";
            let row = |system: &str, durable: Duration, searchable: Duration| {
                let r = IngestRow {
                    system: system.into(),
                    size: size.into(),
                    articles: docs.len(),
                    mean_bytes: mean_bytes(docs),
                    clients,
                    durable_per_s: docs.len() as f64 / durable.as_secs_f64(),
                    searchable_per_s: docs.len() as f64 / searchable.as_secs_f64(),
                    searchable_s: searchable.as_secs_f64(),
                };
                eprintln!(
                    "ingest {size:<5} {system:<11} {clients} clients: {:>7.0}/s durable, {:>7.0}/s until searchable",
                    r.durable_per_s, r.searchable_per_s
                );
                r
            };
            let footprint_row = |system: &str, disk: u64, memory: Option<u64>, what: &str| FootprintRow {
                system: system.into(),
                size: size.into(),
                articles: docs.len(),
                disk_bytes: disk,
                disk_bytes_per_article: disk as f64 / docs.len().max(1) as f64,
                memory_bytes: memory,
                disk_what: what.into(),
            };

            // sectorwire
            let instance = sectorwire::Instance::start()?;
            let load = instance.load(docs, clients).await.context("loading sectorwire")?;
            report
                .ingest
                .push(row("sectorwire", load.durable, load.searchable));
            if last {
                let memory = footprint::pss(instance.ingest.pid())? + footprint::pss(instance.query.pid())?;
                eprintln!(
                    "sectorwire ingest peak RSS {} MB",
                    footprint::peak_rss(instance.ingest.pid())? >> 20
                );
                if keep {
                    loaded.sectorwire = Some((instance, load.ids));
                    report.footprint.push(footprint_row(
                        "sectorwire",
                        0,
                        Some(memory),
                        "ingest (sled: records, keys, change log) + replica (sled records, tantivy)",
                    ));
                } else {
                    let disk = instance.stop()?;
                    report.footprint.push(footprint_row(
                        "sectorwire",
                        disk,
                        Some(memory),
                        "ingest (sled: records, keys, change log) + replica (sled records, tantivy)",
                    ));
                }
            } else {
                instance.stop()?;
            }

            // PostgreSQL
            if let Some(cluster) = &cluster {
                postgres::reset(cluster.port).await?;
                let took = postgres::load(cluster.port, docs, clients, args.batch)
                    .await
                    .context("loading PostgreSQL")?;
                report.ingest.push(row("postgresql", took, took));
                if last {
                    let memory: u64 = footprint::with_children(cluster.pid())
                        .into_iter()
                        .filter_map(|pid| footprint::pss(pid).ok())
                        .sum();
                    let disk = postgres::table_bytes(cluster.port).await?;
                    report.footprint.push(footprint_row(
                        "postgresql",
                        disk,
                        Some(memory),
                        "pg_total_relation_size: heap, TOAST, primary key, GIN",
                    ));
                }
            }

            // SQLite
            let db = sqlite::Db::create()?;
            let took = tokio::task::block_in_place(|| db.load(docs, clients, args.batch))?;
            report.ingest.push(row("sqlite", took, took));
            if last {
                let disk = tokio::task::block_in_place(|| db.disk_bytes())?;
                report.footprint.push(footprint_row(
                    "sqlite",
                    disk,
                    None,
                    "database file after a WAL checkpoint (table, FTS5 index)",
                ));
            }
            if keep {
                loaded.sqlite = Some(db);
            }
        }
        if size == "short" {
            query_phase(
                &args,
                &mut report,
                loaded,
                &cluster,
                &short,
                &queries,
                get_rate,
                seconds,
            )
            .await?;
        }
    }
    drop(cluster);

    let stem = if quick { "peers-quick" } else { "peers" };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let md = report.markdown();
    std::fs::write(
        args.out.join(format!("{stem}.json")),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(args.out.join(format!("{stem}.md")), &md)?;
    std::fs::write(args.out.join(format!("{stem}.svg")), report.svg()?)?;
    println!("{md}");
    eprintln!("wrote {}/{stem}.{{json,md,svg}}", args.out.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn query_phase(
    args: &Args,
    report: &mut Report,
    loaded: Loaded,
    cluster: &Option<postgres::Cluster>,
    docs: &[Doc],
    queries: &Arc<Vec<String>>,
    get_rate: u64,
    seconds: f64,
) -> anyhow::Result<()> {
    let sw = match &loaded.sectorwire {
        Some((instance, ids)) => Some((instance.pool(args.connections).await?, Arc::new(ids.clone()))),
        None => None,
    };
    let pg = match cluster {
        Some(c) => Some(postgres::Pool::open(c.port, args.connections).await?),
        None => None,
    };
    let lite = match &loaded.sqlite {
        Some(db) => Some(db.pool(args.connections)?),
        None => None,
    };
    let keys: Arc<Vec<String>> = Arc::new(docs.iter().map(|d| d.id.clone()).collect());

    // Every query once per system, untimed: warms caches alike and shows the
    // systems answer the same questions.
    let mut hits = [0usize; 3];
    for (i, q) in queries.iter().enumerate() {
        if let Some((pool, _)) = &sw {
            hits[0] += pool.search(i as u64, q.clone()).await?.min(1);
        }
        if let Some(pool) = &pg {
            hits[1] += pool.search(i as u64, q).await?.min(1);
        }
        if let Some(pool) = &lite {
            hits[2] += pool.search(q).await?.min(1);
        }
    }
    eprintln!(
        "queries with a hit: sectorwire {}, PostgreSQL {}, SQLite {} of {}",
        hits[0],
        hits[1],
        hits[2],
        queries.len()
    );

    let n = queries.len().max(1);
    for &rate in &args.search_rates {
        if let Some((pool, _)) = &sw {
            let (pool, qs) = (pool.clone(), queries.clone());
            let (h, e) = open_loop(rate, seconds, move |i| {
                let (pool, q) = (pool.clone(), qs[i as usize % n].clone());
                async move { pool.search(i, q).await.is_ok() }
            })
            .await?;
            report
                .latency
                .push(latency_row("sectorwire", "search", rate, &h, e));
        }
        if let Some(pool) = &pg {
            let (pool, qs) = (pool.clone(), queries.clone());
            let (h, e) = open_loop(rate, seconds, move |i| {
                let (pool, qs) = (pool.clone(), qs.clone());
                async move { pool.search(i, &qs[i as usize % n]).await.is_ok() }
            })
            .await?;
            report
                .latency
                .push(latency_row("postgresql", "search", rate, &h, e));
        }
        if let Some(pool) = &lite {
            let (pool, qs) = (pool.clone(), queries.clone());
            let (h, e) = open_loop(rate, seconds, move |i| {
                let (pool, qs) = (pool.clone(), qs.clone());
                async move { pool.search(&qs[i as usize % n]).await.is_ok() }
            })
            .await?;
            report.latency.push(latency_row("sqlite", "search", rate, &h, e));
        }
    }

    // Lookups by id, spread over the corpus (the same documents for all).
    let m = keys.len().max(1);
    let pick = move |i: u64| (i as usize * 7919) % m;
    if let Some((pool, ids)) = &sw {
        let (pool, ids) = (pool.clone(), ids.clone());
        let (h, e) = open_loop(get_rate, seconds, move |i| {
            let (pool, id) = (pool.clone(), ids[pick(i)].clone());
            async move { pool.get(i, id).await.unwrap_or(false) }
        })
        .await?;
        report
            .latency
            .push(latency_row("sectorwire", "get", get_rate, &h, e));
    }
    if let Some(pool) = &pg {
        let (pool, keys) = (pool.clone(), keys.clone());
        let (h, e) = open_loop(get_rate, seconds, move |i| {
            let (pool, keys) = (pool.clone(), keys.clone());
            async move { pool.get(i, &keys[pick(i)]).await.unwrap_or(false) }
        })
        .await?;
        report
            .latency
            .push(latency_row("postgresql", "get", get_rate, &h, e));
    }
    if let Some(pool) = &lite {
        let (pool, keys) = (pool.clone(), keys.clone());
        let (h, e) = open_loop(get_rate, seconds, move |i| {
            let (pool, id) = (pool.clone(), keys[pick(i)].clone());
            async move { pool.get(id).await.unwrap_or(false) }
        })
        .await?;
        report.latency.push(latency_row("sqlite", "get", get_rate, &h, e));
    }
    drop((sw, pg, lite));

    if let Some((instance, _)) = loaded.sectorwire {
        let disk = instance.stop()?;
        if let Some(row) = report
            .footprint
            .iter_mut()
            .find(|r| r.system == "sectorwire" && r.size == "short")
        {
            row.disk_bytes = disk;
            row.disk_bytes_per_article = disk as f64 / row.articles.max(1) as f64;
        }
    }
    Ok(())
}
