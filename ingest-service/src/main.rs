//! `ingest-service`: runs the ingest service alone (containers, clusters).
//! For a laptop, `sectorwire up` runs both services in one process.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sectorwire_ingest::IngestConfig;
use sectorwire_runtime::{init_tracing, shutdown_signal, LogFormat};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "ingest-service", version, about = "sectorwire ingest service")]
struct Cli {
    #[command(flatten)]
    config: IngestConfig,
    /// Log format.
    #[arg(long, env = "SECTORWIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Exits 0 when the service at ADDR reports SERVING (container health checks).
    Healthcheck {
        /// Address to check.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
    },
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    if let Some(Command::Healthcheck { addr }) = cli.command {
        sectorwire_runtime::check_health(&addr, "sectorwire.ingest.v1.IngestService").await?;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(cli.config.listen)
        .await
        .with_context(|| format!("binding {}", cli.config.listen))?;
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    sectorwire_ingest::serve(cli.config, listener, shutdown).await?;
    Ok(())
}
