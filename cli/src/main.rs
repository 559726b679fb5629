//! `sectorwire`: run both services locally and talk to them.
//!
//! - `up` (the default): ingest and query services in one process;
//! - `ingest`, `delete`: write through the ingest service;
//! - `get`, `list`, `search`, `count`, `timeline`, `sectors`, `stats`: read
//!   through the query service.
//!
//! Modules: [`up`] runs the services, [`commands`] holds the client
//! subcommands, [`render`] the human-readable output (`--json` prints proto3
//! JSON instead).

/// `println!` that reports a closed stdout (`sectorwire list | head`) as an
/// error instead of panicking; `main` then exits quietly.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod commands;
mod render;
mod up;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sectorwire_runtime::{init_tracing, LogFormat};

#[derive(Parser)]
#[command(
    name = "sectorwire",
    version,
    about = "News articles in, sector-tagged records out, over gRPC",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// `up`'s options, for `sectorwire` with no subcommand: parsed by clap
    /// like `sectorwire up`'s, so both honour the same flags and variables.
    #[command(flatten)]
    up: up::UpArgs,
    /// Log format (for `up`).
    #[arg(long, env = "SECTORWIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the services are.
#[derive(Args, Clone, Debug)]
pub struct Endpoints {
    /// Ingest service address.
    #[arg(
        long,
        env = "SECTORWIRE_INGEST_ADDR",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub ingest_addr: String,
    /// Query service address.
    #[arg(
        long,
        env = "SECTORWIRE_QUERY_ADDR",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    pub query_addr: String,
}

/// Filters shared by the read commands.
#[derive(Args, Clone, Debug, Default)]
pub struct FilterArgs {
    /// Sector slug (repeatable; any of them matches).
    #[arg(long = "sector")]
    pub sectors: Vec<String>,
    /// ISO 3166-1 alpha-2 country code (repeatable).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Two country codes the article must relate, e.g. `--pair AZ PK`.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub pair: Vec<String>,
    /// Person or organisation (repeatable).
    #[arg(long = "entity")]
    pub entities: Vec<String>,
    /// Outlet (repeatable).
    #[arg(long = "outlet")]
    pub outlets: Vec<String>,
    /// Author (repeatable).
    #[arg(long = "author")]
    pub authors: Vec<String>,
    /// Published on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    /// Published before this date (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Start both services (ingest on 127.0.0.1:50051, query on 127.0.0.1:50052, data under ./data) until Ctrl-C.
    Up(up::UpArgs),
    /// Ingest article files (plain text or HTML); prints one id per file.
    Ingest {
        /// Files to ingest.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON object per file: file, id, sequence, created.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Delete an article by id.
    Delete {
        /// Article id.
        id: String,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Show one article.
    Get {
        /// Article id.
        id: String,
        /// Print the article as proto3 JSON.
        #[arg(long)]
        json: bool,
        /// Wait until the replica has applied this sequence.
        #[arg(long, default_value_t = 0)]
        min_sequence: u64,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// List articles, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Most articles to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print one proto3 JSON article per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Full-text search.
    Search {
        /// Query text ("phrases", OR, -term, title:word).
        query: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// Most hits to print.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print one proto3 JSON hit per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Count articles by sector, country, entity, outlet, author, language.
    Count {
        #[command(flatten)]
        filter: FilterArgs,
        /// Facets to show (default: all).
        #[arg(long = "facet")]
        facets: Vec<String>,
        /// Print proto3 JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Article counts per sector over time.
    Timeline {
        #[command(flatten)]
        filter: FilterArgs,
        /// Bucket: day, week or month.
        #[arg(long, default_value = "month")]
        bucket: String,
        /// Print proto3 JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// The sector taxonomy.
    Sectors {
        /// Print proto3 JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Positions and counts of both services.
    Stats {
        #[command(flatten)]
        endpoints: Endpoints,
    },
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match run(Cli::parse()).await {
        Err(e) if e.chain().any(is_broken_pipe) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Up(cli.up));
    match command {
        Command::Up(args) => {
            init_tracing(cli.log_format);
            up::run(args).await
        }
        Command::Ingest {
            files,
            json,
            endpoints,
        } => commands::ingest(&endpoints, &files, json).await,
        Command::Delete { id, endpoints } => commands::delete(&endpoints, &id).await,
        Command::Get {
            id,
            json,
            min_sequence,
            endpoints,
        } => commands::get(&endpoints, &id, json, min_sequence).await,
        Command::List {
            filter,
            limit,
            json,
            endpoints,
        } => commands::list(&endpoints, &filter, limit, json).await,
        Command::Search {
            query,
            filter,
            limit,
            json,
            endpoints,
        } => commands::search(&endpoints, &query, &filter, limit, json).await,
        Command::Count {
            filter,
            facets,
            json,
            endpoints,
        } => commands::count(&endpoints, &filter, &facets, json).await,
        Command::Timeline {
            filter,
            bucket,
            json,
            endpoints,
        } => commands::timeline(&endpoints, &filter, &bucket, json).await,
        Command::Sectors { json, endpoints } => commands::sectors(&endpoints, json).await,
        Command::Stats { endpoints } => commands::stats(&endpoints).await,
    }
}
