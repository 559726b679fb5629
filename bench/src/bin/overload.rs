//! Overload harness: the services under hostile load, with stated bounds.
//!
//! The ingest service and a query replica run in child processes (this
//! executable re-run with a role, `sectorwire_bench::processes`), fresh for
//! each scenario so each one's peak RSS (`VmHWM`) is its own.
//!
//! - `ingest`: measures `IngestArticle` capacity with a short closed loop,
//!   then sends open-loop at `--factor` times that rate for `--seconds`.
//!   Admitted calls must keep a bounded p99, the rest must be shed with
//!   RESOURCE_EXHAUSTED carrying a `RetryInfo`, no other status may appear,
//!   RSS must stay under its bound, and afterwards a normal call must
//!   succeed at normal latency.
//! - `query`: the same for `SearchArticles` over a preloaded corpus, while
//!   `GetArticle` runs beside it at a modest rate (cheap calls must stay
//!   fast while expensive ones are shed).
//! - `streams`: `--streams` change-feed subscribers and as many
//!   `WatchArticles` streams that never read (each on its own connection
//!   with a 64 KiB window) while ingest goes on. The services must refuse
//!   those past their caps with RESOURCE_EXHAUSTED, cut off the stalled ones
//!   with a status that reaches the client once it reads, keep RSS under the
//!   bounds and answer other calls throughout.
//!
//! Prints a summary and exits non-zero when a bound is broken. `--small` is
//! the few-second version CI runs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sectorwire_bench::overload::{self, ms, Outcome, Tally, Verdict};
use sectorwire_bench::processes::{self, bench_main, ChildService};
use sectorwire_bench::synthetic;
use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_articles_response,
    ingest_service_client::IngestServiceClient, ArticleMetadata, GetIngestStatsRequest, IngestArticleRequest,
    SubscribeRequest, SubscribeResponse,
};
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, Consistency, GetArticleRequest, GetQueryStatsRequest,
    ListArticlesRequest, SearchArticlesRequest, WatchArticlesRequest, WatchArticlesResponse,
};
use tonic::transport::Channel;
use tonic::Code;

#[derive(Parser, Clone)]
#[command(about = "Services under open-loop overload and non-reading streams, against stated bounds")]
struct Args {
    /// Scenarios to run, comma-separated: ingest, query, streams.
    #[arg(long, default_value = "ingest,query,streams", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// The short version for CI: 4 s of overload, 50 + 50 streams, 1 s cut-off.
    #[arg(long)]
    small: bool,
    /// Seconds of open-loop overload per scenario.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of the closed-loop capacity probe.
    #[arg(long, default_value_t = 3)]
    probe_seconds: u64,
    /// Offered load as a multiple of the measured capacity.
    #[arg(long, default_value_t = 5.0)]
    factor: f64,
    /// Approximate size of the ingested articles, bytes.
    #[arg(long, default_value_t = 5_000)]
    article_bytes: usize,
    /// Articles preloaded for the query scenario.
    #[arg(long, default_value_t = 3_000)]
    corpus: usize,
    /// Non-reading change-feed subscribers, and as many watchers.
    #[arg(long, default_value_t = 500)]
    streams: usize,
    /// Slow-consumer cut-off configured in both services for the streams
    /// scenario, ms (the services' default is 30 s).
    #[arg(long, default_value_t = 5_000)]
    slow_timeout_ms: u64,
    /// Bound: p99 of admitted calls under overload, ms.
    #[arg(long, default_value_t = 3_000)]
    p99_bound_ms: u64,
    /// Bound: p99 of the cheap calls beside overload or stalled streams, ms.
    #[arg(long, default_value_t = 500)]
    cheap_p99_bound_ms: u64,
    /// Bound: peak RSS of the ingest service, MiB.
    #[arg(long, default_value_t = 1024)]
    ingest_rss_mib: u64,
    /// Bound: peak RSS of the query service, MiB.
    #[arg(long, default_value_t = 1024)]
    query_rss_mib: u64,
    /// Deadline sent with every call, ms.
    #[arg(long, default_value_t = 10_000)]
    deadline_ms: u64,
    /// Connections the open-loop generator spreads its calls over.
    #[arg(long, default_value_t = 8)]
    connections: usize,
}

impl Args {
    fn shrink(mut self) -> Args {
        if self.small {
            self.seconds = 4;
            self.probe_seconds = 1;
            self.corpus = 300;
            self.streams = 50;
            self.slow_timeout_ms = 1_000;
        }
        self
    }
}

/// mimalloc, as the service binaries use: the children are this executable.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bench_main(|| async {
        let args = Args::parse().shrink();
        let mut verdict = Verdict::default();
        let started = Instant::now();
        for scenario in &args.scenarios {
            match scenario.as_str() {
                "ingest" => ingest_overload(&args, &mut verdict).await?,
                "query" => query_overload(&args, &mut verdict).await?,
                "streams" => stalled_streams(&args, &mut verdict).await?,
                other => anyhow::bail!("unknown scenario {other} (ingest, query, streams)"),
            }
        }
        let broken = verdict.broken();
        println!(
            "\nsummary: {} checks, {} broken, {:.0} s{}",
            verdict.len(),
            broken.len(),
            started.elapsed().as_secs_f64(),
            if broken.is_empty() {
                String::new()
            } else {
                format!(": {}", broken.join("; "))
            }
        );
        if !broken.is_empty() {
            std::process::exit(1);
        }
        Ok(())
    })
}

/// Both services, fresh, in child processes over one temp dir.
struct Services {
    ingest: ChildService,
    query: ChildService,
    _dir: tempfile::TempDir,
}

impl Services {
    fn start(env: &[(&str, String)]) -> anyhow::Result<Services> {
        let dir = tempfile::tempdir()?;
        let ingest = ChildService::ingest_with(&dir.path().join("ingest"), env)?;
        let query = ChildService::query_with(&dir.path().join("query"), ingest.addr, env)?;
        Ok(Services {
            ingest,
            query,
            _dir: dir,
        })
    }

    /// Checks both peak RSS figures against their bounds.
    fn check_rss(&mut self, args: &Args, scenario: &str, verdict: &mut Verdict) -> anyhow::Result<()> {
        for (name, service, bound) in [
            ("ingest", &mut self.ingest, args.ingest_rss_mib),
            ("query", &mut self.query, args.query_rss_mib),
        ] {
            let peak = service.peak_rss()? >> 20;
            verdict.check(
                format!("{scenario}: {name} peak RSS"),
                format!("{peak} MiB (bound {bound} MiB)"),
                peak <= bound,
            );
            verdict.check(
                format!("{scenario}: {name} service still running"),
                "process alive after the load",
                service.is_running(),
            );
        }
        Ok(())
    }

    fn stop(self) -> anyhow::Result<()> {
        self.query.stop()?;
        self.ingest.stop()
    }
}

/// `n` channels to `addr`.
async fn channels(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..n.max(1) {
        out.push(processes::channel(addr).await?);
    }
    Ok(out)
}

/// Makes the `i`-th distinct article of a run: unique bytes and source id,
/// so none is answered as UNCHANGED.
struct Articles {
    bodies: Vec<String>,
    tag: &'static str,
}

impl Articles {
    fn new(tag: &'static str, bytes: usize, topical: bool) -> Articles {
        let mut rng = synthetic::Rng(0x0F10 + tag.len() as u64);
        let bodies = (0..64)
            .map(|i| {
                if topical {
                    synthetic::topical_article(&mut rng, i, bytes)
                } else {
                    synthetic::article(&mut rng, i, bytes)
                }
            })
            .collect();
        Articles { bodies, tag }
    }

    fn request(&self, i: u64) -> IngestArticleRequest {
        let body = &self.bodies[i as usize % self.bodies.len()];
        IngestArticleRequest {
            content: format!("{body}\n\nDispatch {} of the {} run.", i, self.tag).into_bytes(),
            metadata: Some(ArticleMetadata {
                source_id: format!("{}-{i}", self.tag),
                published_at: Some(sectorwire_proto::timestamp(1_600_000_000 + i as i64 * 60)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// One call with a deadline the server sees (`grpc-timeout`) and a client
/// timeout a little past it, so a lost answer cannot hang the harness.
async fn with_deadline<T, F>(deadline: Duration, call: impl FnOnce(Duration) -> F) -> Outcome
where
    F: std::future::Future<Output = Result<T, tonic::Status>>,
{
    match tokio::time::timeout(deadline + Duration::from_secs(5), call(deadline)).await {
        Ok(result) => Outcome::of(&result),
        Err(_) => Outcome::Other(Code::DeadlineExceeded),
    }
}

fn request<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.set_timeout(deadline);
    r
}

/// p50 of `n` sequential calls made by `make`, all of which must succeed.
async fn sequential<F, Fut>(n: u64, make: F) -> (Tally, bool)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut tally = Tally::new();
    for i in 0..n {
        let at = Instant::now();
        let outcome = make(i).await;
        tally.record(outcome, at.elapsed());
    }
    let all_ok = tally.ok.len() == n;
    (tally, all_ok)
}

/// The report and checks shared by the two open-loop scenarios.
#[allow(clippy::too_many_arguments)]
fn judge_overload(
    args: &Args,
    verdict: &mut Verdict,
    scenario: &str,
    capacity: f64,
    offered: f64,
    tally: &Tally,
    normal: &Tally,
    recovery: &Tally,
    recovered: bool,
) {
    println!(
        "  capacity {capacity:.0}/s, offered {offered:.0}/s for {} s: {} calls, {} admitted (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {} shed (p99 {:.1} ms, {} with RetryInfo), other {:?}",
        args.seconds,
        tally.total(),
        tally.ok.len(),
        ms(&tally.ok, 0.5),
        ms(&tally.ok, 0.99),
        ms(&tally.ok, 1.0),
        tally.shed.len(),
        ms(&tally.shed, 0.99),
        tally.shed_with_hint,
        tally.other
    );
    let p99 = ms(&tally.ok, 0.99);
    verdict.check(
        format!("{scenario}: admitted p99"),
        format!("{p99:.1} ms (bound {} ms)", args.p99_bound_ms),
        p99 <= args.p99_bound_ms as f64 && !tally.ok.is_empty(),
    );
    verdict.check(
        format!("{scenario}: load was shed"),
        format!(
            "{} of {} calls RESOURCE_EXHAUSTED",
            tally.shed.len(),
            tally.total()
        ),
        !tally.shed.is_empty(),
    );
    verdict.check(
        format!("{scenario}: every shed call carries RetryInfo"),
        format!("{} of {}", tally.shed_with_hint, tally.shed.len()),
        tally.shed_with_hint == tally.shed.len(),
    );
    verdict.check(
        format!("{scenario}: no other status"),
        format!("{:?}", tally.other),
        tally.unexpected() == 0,
    );
    let (before, after) = (ms(&normal.ok, 0.5), ms(&recovery.ok, 0.5));
    // "Normal" allows for a machine shared with other work: thrice the
    // p50 before the load, or 50 ms more than it.
    let bound = (before * 3.0).max(before + 50.0);
    verdict.check(
        format!("{scenario}: recovery"),
        format!(
            "{} of {} calls after the load ok, p50 {after:.1} ms (before the load {before:.1} ms; bound {bound:.1} ms)",
            recovery.ok.len(),
            recovery.total()
        ),
        recovered && after <= bound,
    );
}

async fn ingest_overload(args: &Args, verdict: &mut Verdict) -> anyhow::Result<()> {
    println!(
        "\n== ingest: IngestArticle, open loop at {}x capacity",
        args.factor
    );
    let mut services = Services::start(&[])?;
    eprintln!(
        "ingest pid {}, query pid {}",
        services.ingest.pid(),
        services.query.pid()
    );
    let clients: Arc<Vec<IngestServiceClient<Channel>>> = Arc::new(
        channels(services.ingest.addr, args.connections)
            .await?
            .into_iter()
            .map(IngestServiceClient::new)
            .collect(),
    );
    let articles = Arc::new(Articles::new("ingest-overload", args.article_bytes, false));
    let deadline = Duration::from_millis(args.deadline_ms);
    let call = {
        let (clients, articles) = (clients.clone(), articles.clone());
        move |i: u64| {
            let mut client = clients[i as usize % clients.len()].clone();
            let message = articles.request(i);
            async move { with_deadline(deadline, |d| client.ingest_article(request(message, d))).await }
        }
    };
    // Ids past every other phase's, so each call writes a new article.
    let (normal, _) = sequential(20, |i| call(10_000_000 + i)).await;
    let (capacity, _) = overload::capacity(32, Duration::from_secs(args.probe_seconds), {
        let call = call.clone();
        move |i| call(20_000_000 + i)
    })
    .await?;
    let offered = capacity * args.factor;
    let tally = overload::open_loop(offered, Duration::from_secs(args.seconds), {
        let call = call.clone();
        move |i| call(i)
    })
    .await?;
    let (recovery, recovered) = sequential(20, |i| call(30_000_000 + i)).await;
    judge_overload(
        args, verdict, "ingest", capacity, offered, &tally, &normal, &recovery, recovered,
    );
    services.check_rss(args, "ingest", verdict)?;
    drop(clients);
    services.stop()
}

/// Streams `n` articles into the ingest service and waits until the
/// replica has applied them; returns their ids.
async fn preload(services: &Services, articles: &Articles, n: u64) -> anyhow::Result<Vec<String>> {
    let mut client = IngestServiceClient::new(processes::channel(services.ingest.addr).await?);
    let requests: Vec<IngestArticleRequest> = (0..n).map(|i| articles.request(i)).collect();
    let mut out = client
        .ingest_articles(tokio_stream::iter(requests))
        .await?
        .into_inner();
    let (mut ids, mut last) = (Vec::new(), 0);
    while let Some(item) = out.message().await? {
        if let Some(ingest_articles_response::Result::Ok(ok)) = item.result {
            last = last.max(ok.sequence);
            ids.push(ok.id);
        }
    }
    anyhow::ensure!(ids.len() as u64 == n, "preload: {} of {n} stored", ids.len());
    let mut query = QueryServiceClient::new(processes::channel(services.query.addr).await?);
    let settle = ListArticlesRequest {
        page_size: 1,
        consistency: Some(Consistency { min_sequence: last }),
        ..Default::default()
    };
    query
        .list_articles(request(settle, Duration::from_secs(300)))
        .await?;
    Ok(ids)
}

const QUERIES: [&str; 6] = [
    "natural gas pipeline",
    "\"free trade agreement\"",
    "vaccination clinics",
    "rail freight ports",
    "scholarships engineering",
    "interest rate bond",
];

async fn query_overload(args: &Args, verdict: &mut Verdict) -> anyhow::Result<()> {
    println!(
        "\n== query: SearchArticles, open loop at {}x capacity, GetArticle beside it",
        args.factor
    );
    let mut services = Services::start(&[])?;
    let articles = Articles::new("query-corpus", 3_000, true);
    let loaded = Instant::now();
    let ids = Arc::new(preload(&services, &articles, args.corpus as u64).await?);
    println!("  preloaded {} articles in {:.1?}", ids.len(), loaded.elapsed());
    let clients: Arc<Vec<QueryServiceClient<Channel>>> = Arc::new(
        channels(services.query.addr, args.connections)
            .await?
            .into_iter()
            .map(QueryServiceClient::new)
            .collect(),
    );
    let deadline = Duration::from_millis(args.deadline_ms);
    let search = {
        let clients = clients.clone();
        move |i: u64| {
            let mut client = clients[i as usize % clients.len()].clone();
            let message = SearchArticlesRequest {
                query: QUERIES[i as usize % QUERIES.len()].to_string(),
                page_size: 20,
                ..Default::default()
            };
            async move { with_deadline(deadline, |d| client.search_articles(request(message, d))).await }
        }
    };
    // Cheap reads on a connection of their own, as another client would.
    let cheap_client = QueryServiceClient::new(processes::channel(services.query.addr).await?);
    let get = {
        let ids = ids.clone();
        move |i: u64| {
            let mut client = cheap_client.clone();
            let message = GetArticleRequest {
                id: ids[(i as usize * 7919) % ids.len()].clone(),
                consistency: None,
            };
            async move { with_deadline(deadline, |d| client.get_article(request(message, d))).await }
        }
    };
    let (normal, _) = sequential(20, &search).await;
    let (capacity, _) =
        overload::capacity(32, Duration::from_secs(args.probe_seconds), search.clone()).await?;
    let offered = capacity * args.factor;
    let window = Duration::from_secs(args.seconds);
    let (tally, cheap) = tokio::join!(
        overload::open_loop(offered, window, search.clone()),
        overload::open_loop(50.0, window, get)
    );
    let (tally, cheap) = (tally?, cheap?);
    let (recovery, recovered) = sequential(20, &search).await;
    judge_overload(
        args, verdict, "query", capacity, offered, &tally, &normal, &recovery, recovered,
    );
    let p99 = ms(&cheap.ok, 0.99);
    verdict.check(
        "query: GetArticle beside the overload",
        format!(
            "{} of {} ok, p50 {:.1} ms, p99 {p99:.1} ms (bound {} ms), shed {}, other {:?}",
            cheap.ok.len(),
            cheap.total(),
            ms(&cheap.ok, 0.5),
            args.cheap_p99_bound_ms,
            cheap.shed.len(),
            cheap.other
        ),
        cheap.ok.len() == cheap.total() && p99 <= args.cheap_p99_bound_ms as f64,
    );
    services.check_rss(args, "query", verdict)?;
    drop(clients);
    services.stop()
}

/// A connection with a small HTTP/2 window, as a client that stops reading
/// early would leave it: the server's buffers, not the client's, fill up.
async fn stingy_channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await?)
}

/// How the stalled streams ended, by kind.
#[derive(Default, Debug)]
struct StreamCounts {
    refused_with_hint: u64,
    accepted: u64,
    cut_off: u64,
    /// Ended without the cut-off status, or still open at the end.
    not_cut: u64,
    /// Statuses other than RESOURCE_EXHAUSTED.
    other: Vec<String>,
}

/// What became of one stalled stream once read: cut off (RESOURCE_EXHAUSTED)
/// or anything else.
async fn drain<T>(mut stream: tonic::Streaming<T>, limit: Duration) -> Result<(), String> {
    let until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, stream.message()).await {
            Err(_) => return Err("still open".into()),
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return Err("ended without a status".into()),
            Ok(Err(status)) if status.code() == Code::ResourceExhausted => return Ok(()),
            Ok(Err(status)) => return Err(format!("{:?}", status.code())),
        }
    }
}

fn count_open<T>(counts: &mut StreamCounts, opened: Result<tonic::Response<T>, tonic::Status>) -> Option<T> {
    match opened {
        Ok(response) => {
            counts.accepted += 1;
            Some(response.into_inner())
        }
        Err(status) => {
            match Outcome::of::<()>(&Err(status)) {
                Outcome::Shed { retry_hint: true } => counts.refused_with_hint += 1,
                other => counts.other.push(format!("at open: {other:?}")),
            }
            None
        }
    }
}

async fn stalled_streams(args: &Args, verdict: &mut Verdict) -> anyhow::Result<()> {
    println!(
        "\n== streams: {} change-feed subscribers and {} watchers that never read, ingest going on",
        args.streams, args.streams
    );
    let env = [
        (
            "SECTORWIRE_FEED_SLOW_TIMEOUT_MS",
            args.slow_timeout_ms.to_string(),
        ),
        (
            "SECTORWIRE_QUERY_WATCH_SLOW_TIMEOUT_MS",
            args.slow_timeout_ms.to_string(),
        ),
    ];
    let mut services = Services::start(&env)?;
    // A backlog of ~20 KB articles: every stream starting from sequence 0
    // has megabytes to be sent at once.
    let articles = Arc::new(Articles::new("streams", 20_000, true));
    preload(&services, &articles, 200).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let writer = steady_writer(&services, articles, stop.clone()).await?;
    let probes = stats_probes(&services, stop.clone()).await?;

    let opened = Instant::now();
    let mut stalled = open_stalled(&services, args.streams).await?;
    let (feed, watch) = (&stalled.feed, &stalled.watch);
    println!(
        "  opened in {:.1?}: feed {} accepted, {} refused; watch {} accepted, {} refused",
        opened.elapsed(),
        feed.accepted,
        feed.refused_with_hint,
        watch.accepted,
        watch.refused_with_hint
    );

    // Stalled past the cut-off (plus time for the buffers to fill), sampling RSS.
    let peak_now = Arc::new(AtomicU64::new(0));
    let stall = Duration::from_millis(args.slow_timeout_ms * 2 + 3_000);
    let until = Instant::now() + stall;
    while Instant::now() < until {
        let rss = services.ingest.rss()? + services.query.rss()?;
        peak_now.fetch_max(rss, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    stalled.drain_all().await;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await?;
    let probes = probes.await?;

    check_stalled(args, verdict, &stalled, &probes, &writes);
    println!(
        "  peak RSS sampled while stalled: ingest + query {} MiB",
        peak_now.load(Ordering::Relaxed) >> 20
    );
    services.check_rss(args, "streams", verdict)?;
    services.stop()
}

/// Ingest going on throughout, at a steady 20 articles/s, until `stop`.
async fn steady_writer(
    services: &Services,
    articles: Arc<Articles>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<tokio::task::JoinHandle<Tally>> {
    let mut client = IngestServiceClient::new(processes::channel(services.ingest.addr).await?);
    Ok(tokio::spawn(async move {
        let mut tally = Tally::new();
        let mut i = 1_000u64;
        while !stop.load(Ordering::Relaxed) {
            let at = Instant::now();
            let message = articles.request(i);
            let outcome = with_deadline(Duration::from_secs(10), |d| {
                client.ingest_article(request(message, d))
            })
            .await;
            tally.record(outcome, at.elapsed());
            i += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tally
    }))
}

/// Cheap calls on both services, every 100 ms, on connections of their own, until `stop`.
async fn stats_probes(
    services: &Services,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<tokio::task::JoinHandle<Tally>> {
    let mut ingest = IngestServiceClient::new(processes::channel(services.ingest.addr).await?);
    let mut query = QueryServiceClient::new(processes::channel(services.query.addr).await?);
    Ok(tokio::spawn(async move {
        let mut tally = Tally::new();
        while !stop.load(Ordering::Relaxed) {
            let at = Instant::now();
            let outcome = with_deadline(Duration::from_secs(10), |d| {
                ingest.get_ingest_stats(request(GetIngestStatsRequest {}, d))
            })
            .await;
            tally.record(outcome, at.elapsed());
            let at = Instant::now();
            let outcome = with_deadline(Duration::from_secs(10), |d| {
                query.get_query_stats(request(GetQueryStatsRequest {}, d))
            })
            .await;
            tally.record(outcome, at.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tally
    }))
}

/// The change-feed subscriptions and watches opened and never read, and how they ended.
struct Stalled {
    feed: StreamCounts,
    watch: StreamCounts,
    feed_streams: Vec<tonic::Streaming<SubscribeResponse>>,
    watch_streams: Vec<tonic::Streaming<WatchArticlesResponse>>,
}

/// Opens `n` change-feed subscriptions and `n` watches from sequence 0, each on a
/// connection with a small window.
async fn open_stalled(services: &Services, n: usize) -> anyhow::Result<Stalled> {
    let mut stalled = Stalled {
        feed: StreamCounts::default(),
        watch: StreamCounts::default(),
        feed_streams: Vec::new(),
        watch_streams: Vec::new(),
    };
    for _ in 0..n {
        let mut client = ChangeFeedServiceClient::new(stingy_channel(services.ingest.addr).await?);
        let r = client
            .subscribe(SubscribeRequest {
                after_sequence: 0,
                heartbeat_millis: 0,
            })
            .await;
        stalled.feed_streams.extend(count_open(&mut stalled.feed, r));
        let mut client = QueryServiceClient::new(stingy_channel(services.query.addr).await?);
        let r = client
            .watch_articles(WatchArticlesRequest {
                filter: None,
                after_sequence: Some(0),
            })
            .await;
        stalled.watch_streams.extend(count_open(&mut stalled.watch, r));
    }
    Ok(stalled)
}

impl Stalled {
    /// Reads every accepted stream: each must end with the cut-off status.
    async fn drain_all(&mut self) {
        let limit = Duration::from_secs(20);
        let feed_results = futures::future::join_all(
            std::mem::take(&mut self.feed_streams)
                .into_iter()
                .map(|s| drain(s, limit)),
        )
        .await;
        let watch_results = futures::future::join_all(
            std::mem::take(&mut self.watch_streams)
                .into_iter()
                .map(|s| drain(s, limit)),
        )
        .await;
        for (counts, results) in [(&mut self.feed, feed_results), (&mut self.watch, watch_results)] {
            for r in results {
                match r {
                    Ok(()) => counts.cut_off += 1,
                    Err(why) => {
                        counts.not_cut += 1;
                        counts.other.push(why);
                    }
                }
            }
        }
    }
}

/// The stalled-streams verdicts: streams past the cap refused with a hint, every
/// accepted one cut off, other calls and ingest unharmed.
fn check_stalled(args: &Args, verdict: &mut Verdict, stalled: &Stalled, probes: &Tally, writes: &Tally) {
    for (name, counts) in [("feed", &stalled.feed), ("watch", &stalled.watch)] {
        let mut other = counts.other.clone();
        other.sort();
        other.dedup();
        verdict.check(
            format!("streams: {name} streams past the cap refused with RESOURCE_EXHAUSTED + RetryInfo"),
            format!(
                "{} refused, {} accepted of {}",
                counts.refused_with_hint, counts.accepted, args.streams
            ),
            counts.refused_with_hint + counts.accepted == args.streams as u64,
        );
        verdict.check(
            format!("streams: every stalled {name} stream got its cut-off status"),
            format!(
                "{} of {} (not cut: {}; {:?})",
                counts.cut_off, counts.accepted, counts.not_cut, other
            ),
            counts.cut_off == counts.accepted && counts.accepted > 0,
        );
    }
    let p99 = ms(&probes.ok, 0.99);
    verdict.check(
        "streams: services answer other calls throughout",
        format!(
            "{} of {} stats calls ok, p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms (bound p99 {} ms)",
            probes.ok.len(),
            probes.total(),
            ms(&probes.ok, 0.5),
            ms(&probes.ok, 1.0),
            args.cheap_p99_bound_ms
        ),
        probes.ok.len() == probes.total() && p99 <= args.cheap_p99_bound_ms as f64,
    );
    verdict.check(
        "streams: ingest goes on",
        format!(
            "{} of {} writes ok (p99 {:.1} ms), other {:?}",
            writes.ok.len(),
            writes.total(),
            ms(&writes.ok, 0.99),
            writes.other
        ),
        writes.unexpected() == 0 && !writes.ok.is_empty(),
    );
}
