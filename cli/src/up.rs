//! `sectorwire up`: both services in one process, the query service
//! following the ingest service over loopback exactly as separate processes
//! would, so the laptop setup exercises the real path.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use sectorwire_ingest::IngestConfig;
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, ContentType, IngestArticleRequest,
};
use sectorwire_query::QueryConfig;
use sectorwire_runtime::{init_tracing, shutdown_signal, LogFormat};
use tokio_util::sync::CancellationToken;

/// Options of `up`.
#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    /// Data directory; the services use `ingest/` and `query/` below it.
    #[arg(long, env = "SECTORWIRE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Ingest service address.
    #[arg(long, env = "SECTORWIRE_INGEST_LISTEN", default_value = "127.0.0.1:50051")]
    pub ingest_listen: SocketAddr,
    /// Query service address.
    #[arg(long, env = "SECTORWIRE_QUERY_LISTEN", default_value = "127.0.0.1:50052")]
    pub query_listen: SocketAddr,
    /// Address of the Prometheus `/metrics` endpoint (both services: they
    /// share this process), or `off`.
    #[arg(long, env = "SECTORWIRE_METRICS_LISTEN", default_value = "127.0.0.1:9464")]
    pub metrics_listen: sectorwire_runtime::metrics::MetricsListen,
    /// Load the example articles (from `examples/`, built in) once started.
    #[arg(long)]
    pub demo: bool,
    /// Log format.
    #[arg(long, env = "SECTORWIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// The example articles written for this project, built into the binary so
/// `--demo` works from any directory.
const EXAMPLES: [(&str, &[u8], ContentType); 5] = [
    (
        "solar-corridor.txt",
        include_bytes!("../../examples/solar-corridor.txt"),
        ContentType::Text,
    ),
    (
        "rail-freight.html",
        include_bytes!("../../examples/rail-freight.html"),
        ContentType::Html,
    ),
    (
        "vaccine-partnership.txt",
        include_bytes!("../../examples/vaccine-partnership.txt"),
        ContentType::Text,
    ),
    (
        "azerbaijan-pakistan-energy.txt",
        include_bytes!("../../examples/azerbaijan-pakistan-energy.txt"),
        ContentType::Text,
    ),
    (
        "pakistan-azerbaijan-defence.html",
        include_bytes!("../../examples/pakistan-azerbaijan-defence.html"),
        ContentType::Html,
    ),
];

async fn load_examples(addr: SocketAddr) -> anyhow::Result<()> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?;
    let mut client = IngestServiceClient::new(endpoint.connect().await?);
    for (name, content, content_type) in EXAMPLES {
        let ack = client
            .ingest_article(IngestArticleRequest {
                content: content.to_vec(),
                content_type: content_type as i32,
                ..Default::default()
            })
            .await
            .with_context(|| format!("ingesting example {name}"))?
            .into_inner();
        eprintln!("demo: {name} -> {} (sequence {})", ack.id, ack.sequence);
    }
    Ok(())
}

/// Runs both services until Ctrl-C or SIGTERM.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    init_tracing(args.log_format);
    let ingest_listener = tokio::net::TcpListener::bind(args.ingest_listen)
        .await
        .with_context(|| format!("binding ingest address {}", args.ingest_listen))?;
    let query_listener = tokio::net::TcpListener::bind(args.query_listen)
        .await
        .with_context(|| format!("binding query address {}", args.query_listen))?;
    let ingest_addr = ingest_listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let metrics = sectorwire_runtime::metrics_http::start(args.metrics_listen, &shutdown)
        .await
        .context("starting the metrics endpoint (--metrics-listen off to go without)")?;
    let ingest = tokio::spawn(sectorwire_ingest::serve(
        IngestConfig::new(ingest_addr, args.data_dir.join("ingest")),
        ingest_listener,
        shutdown.clone(),
    ));
    let query = tokio::spawn(sectorwire_query::serve(
        QueryConfig::new(
            query_listener.local_addr()?,
            args.data_dir.join("query"),
            format!("http://{ingest_addr}"),
        ),
        query_listener,
        shutdown.clone(),
    ));
    let metrics_note = metrics
        .as_ref()
        .map(|m| format!(", metrics on http://{}/metrics", m.local_addr()))
        .unwrap_or_default();
    eprintln!(
        "sectorwire is up: ingest on {}, query on {}{metrics_note} (data in {}); Ctrl-C to stop",
        args.ingest_listen,
        args.query_listen,
        args.data_dir.display()
    );
    if args.demo {
        tokio::spawn(async move {
            if let Err(error) = load_examples(ingest_addr).await {
                eprintln!("demo: {error:#}");
            }
        });
    }
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    // Whichever service stops first (error or signal) stops the other, and
    // both are awaited so each finishes its in-flight work and flushes.
    let (ingest, query) = tokio::join!(
        async {
            let r = ingest.await;
            shutdown.cancel();
            r
        },
        async {
            let r = query.await;
            shutdown.cancel();
            r
        }
    );
    ingest.context("ingest task")?.context("ingest service")?;
    query.context("query task")?.context("query service")?;
    Ok(())
}
