//! `sectorwire`: run both services locally and talk to them.
//!
//! - `up` (the default): ingest and query services in one process;
//! - `ingest`, `delete`: write through the ingest service;
//! - `get`, `list`, `search`, `count`, `timeline`, `pair`, `sectors`,
//!   `stats`: read through the query service.
//!
//! Modules: [`up`] runs the services, [`ingest`] streams inputs to the
//! ingest service, [`commands`] holds the read subcommands, [`render`] the
//! human-readable output (`--json` prints proto3 JSON instead), [`chart`]
//! the SVG charts and [`report`] how errors reach the user.
//!
//! Scripts rely on the exit status: see [`exit`].

/// `println!` that reports a closed stdout (`sectorwire list | head`) as an
/// error instead of panicking; `main` then exits quietly.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::mark_stdout_closed)
    }};
}

mod chart;
mod commands;
mod devcerts;
mod ingest;
mod render;
mod report;
mod up;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sectorwire_runtime::auth::Secret;
use sectorwire_runtime::client::{ClientError, ClientSecurity};
use sectorwire_runtime::tls::ClientTlsFiles;

/// Exit statuses, stable for scripts.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: i32 = 0;
    /// The command failed (nothing or not all of it was done; see stderr).
    pub const FAILED: i32 = 1;
    /// The command line was wrong (clap's own status for usage errors).
    pub const USAGE: i32 = 2;
    /// Some items failed and the others succeeded: `ingest` with rejected
    /// files or lines, `stats` with one service unreachable.
    pub const PARTIAL: i32 = 3;
}

const AFTER_HELP: &str = "\
Exit status: 0 when everything succeeded, 1 when the command failed, 2 for a usage error,
3 when some items failed (ingest) or one service could not be reached (stats).
Global options (--ingest-addr, --query-addr, --json, --tls-*, --token-file) go before or after the subcommand.";

#[derive(Parser)]
#[command(
    name = "sectorwire",
    version,
    about = "News articles in, sector-tagged records out, over gRPC",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    /// `up`'s options, for `sectorwire` with no subcommand: parsed by clap
    /// like `sectorwire up`'s, so both honour the same flags and variables.
    #[command(flatten)]
    up: up::UpArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options every client subcommand understands, accepted anywhere on the
/// command line.
#[derive(Args, Clone, Debug)]
pub struct Global {
    /// Ingest service address.
    #[arg(
        long,
        env = "SECTORWIRE_INGEST_ADDR",
        display_order = 100,
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub ingest_addr: String,
    /// Query service address.
    #[arg(
        long,
        env = "SECTORWIRE_QUERY_ADDR",
        display_order = 100,
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    pub query_addr: String,
    /// Machine-readable output: proto3 JSON, one object per line.
    #[arg(long, global = true, display_order = 100)]
    pub json: bool,
    /// CA certificate (PEM) to verify the services against: turns TLS on.
    #[arg(long, env = "SECTORWIRE_TLS_CA", global = true, display_order = 101)]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM), for services that require mutual TLS.
    #[arg(long, env = "SECTORWIRE_CLIENT_TLS_CERT", global = true, display_order = 101)]
    pub tls_cert: Option<PathBuf>,
    /// Key of --tls-cert (PEM).
    #[arg(long, env = "SECTORWIRE_CLIENT_TLS_KEY", global = true, display_order = 101)]
    pub tls_key: Option<PathBuf>,
    /// File holding the bearer token to send (a write token to ingest or
    /// delete, a read token for the rest).
    #[arg(long, env = "SECTORWIRE_TOKEN_FILE", global = true, display_order = 101)]
    pub token_file: Option<PathBuf>,
    /// The token itself (prefer SECTORWIRE_TOKEN or the file: the command
    /// line is visible to other users).
    #[arg(
        long,
        env = "SECTORWIRE_TOKEN",
        hide_env_values = true,
        hide = true,
        global = true
    )]
    pub token: Option<Secret>,
}

impl Global {
    /// The TLS files and token, loaded and checked.
    pub fn security(&self) -> Result<ClientSecurity, ClientError> {
        ClientSecurity::load(
            &ClientTlsFiles {
                ca: self.tls_ca.clone(),
                cert: self.tls_cert.clone(),
                key: self.tls_key.clone(),
            },
            self.token_file.as_deref(),
            self.token.as_ref().map(|t| (t, "SECTORWIRE_TOKEN")),
        )
    }
}

/// Filters shared by the read commands.
#[derive(Args, Clone, Debug, Default)]
pub struct FilterArgs {
    /// Sector slug (repeatable; any of them matches). See `sectorwire sectors`.
    #[arg(long = "sector")]
    pub sectors: Vec<String>,
    /// ISO 3166-1 alpha-2 country code (repeatable).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Person or organisation (repeatable).
    #[arg(long = "entity")]
    pub entities: Vec<String>,
    /// Outlet (repeatable).
    #[arg(long = "outlet")]
    pub outlets: Vec<String>,
    /// Author (repeatable).
    #[arg(long = "author")]
    pub authors: Vec<String>,
    /// Published on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = commands::parse_day)]
    pub since: Option<i64>,
    /// Published before this day (YYYY-MM-DD, UTC; exclusive).
    #[arg(long, value_parser = commands::parse_day)]
    pub until: Option<i64>,
}

/// Filters plus a country pair (not for `pair`, which names its own).
#[derive(Args, Clone, Debug, Default)]
pub struct ListFilter {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Two country codes the article must relate, e.g. `--pair AZ PK`.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub pair: Vec<String>,
}

/// Freshness of a read.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct ReadArgs {
    /// Wait until the query service has applied this change-log sequence
    /// (the one `ingest` printed) before answering.
    #[arg(long, default_value_t = 0)]
    pub min_sequence: u64,
}

/// Where the chart goes, for commands that draw one.
#[derive(Args, Clone, Debug, Default)]
pub struct ChartArgs {
    /// Also write an SVG chart of the per-sector counts to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Bucket: day, week or month.
    #[arg(long, default_value = "month", value_parser = ["day", "week", "month"])]
    pub bucket: String,
}

fn limit_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000)
}

#[derive(Subcommand)]
enum Command {
    /// Start both services (ingest on 127.0.0.1:50051, query on 127.0.0.1:50052, data under ./data) until Ctrl-C.
    Up(up::UpArgs),
    /// Ingest articles: files, directories (recursively), `-` for stdin, `.gz`, JSON Lines.
    #[command(long_about = ingest::LONG_ABOUT)]
    Ingest(ingest::IngestArgs),
    /// Delete an article by id.
    Delete {
        /// Article id.
        id: String,
    },
    /// Show one article.
    Get {
        /// Article id.
        id: String,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// List articles, newest first (undated articles last).
    List {
        #[command(flatten)]
        filter: ListFilter,
        /// Most articles to print (at least 1).
        #[arg(long, default_value_t = 20, value_parser = limit_parser())]
        limit: usize,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Full-text search.
    Search {
        /// Query text ("phrases", OR, -term, title:word).
        query: String,
        #[command(flatten)]
        filter: ListFilter,
        /// Most hits to print (at least 1).
        #[arg(long, default_value_t = 10, value_parser = limit_parser())]
        limit: usize,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Count articles by sector, country, entity, outlet, author, language.
    Count {
        #[command(flatten)]
        filter: ListFilter,
        /// Facets to show (default: all).
        #[arg(long = "facet", value_parser = ["sector", "country", "entity", "outlet", "author", "language"])]
        facets: Vec<String>,
        /// Values per facet (at least 1).
        #[arg(long, default_value_t = 10, value_parser = limit_parser())]
        limit: usize,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Article counts per sector over time.
    Timeline {
        #[command(flatten)]
        filter: ListFilter,
        #[command(flatten)]
        chart: ChartArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// How two countries relate: sectors by weight, evidence sentences, timeline.
    Pair {
        /// ISO 3166-1 alpha-2 code of one country.
        a: String,
        /// ISO 3166-1 alpha-2 code of the other.
        b: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// Evidence sentences per sector (at least 1).
        #[arg(long, default_value_t = 2, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=20))]
        evidence: usize,
        #[command(flatten)]
        chart: ChartArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// The sector taxonomy.
    Sectors,
    /// Online backup of the ingest store into a new directory NAME under the
    /// ingest service's `--backup-root`, on its host. Start an ingest service
    /// on that directory (or a copy) to restore: the same log id and
    /// sequences, so replicas keep following.
    Backup {
        /// Name of the backup directory (letters, digits, '-', '_', '.').
        name: String,
    },
    /// Positions and counts of both services (each one that can be reached).
    Stats {
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Make a development CA, server and client certificates and tokens in DIR (see README "Securing it").
    DevCerts {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        /// Another name or address the server certificate must carry (repeatable).
        #[arg(long = "san")]
        names: Vec<String>,
    },
}

/// mimalloc rather than the system allocator: parsing and analysis make many
/// small strings per article, and `stages` measured ~10% less CPU with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A panic is a bug, but the user still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
    }));
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are answers, not errors.
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(exit::FAILED);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) if e.chain().any(is_stdout_closed) => exit::OK,
        Err(e) => {
            eprint!("{}", report::render(&e, report::stderr_styled()));
            exit::FAILED
        }
    };
    // Do not wait for lingering connection tasks: the answer is out.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Parses the command line. `up`'s options are accepted without a
/// subcommand (that is `up`), but not before another subcommand, where they
/// would be silently ignored. clap's `args_conflicts_with_subcommands`
/// cannot say this: it would refuse the global options there too.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    if let Some((name, _)) = matches.subcommand() {
        let misplaced = command
            .get_arguments()
            .filter(|arg| !arg.is_global_set())
            .map(|arg| arg.get_id().as_str())
            .find(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine));
        if let Some(id) = misplaced {
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--{} is an option of `up`: it cannot come before `{name}`",
                    id.replace('_', "-")
                ),
            ));
        }
    }
    Cli::from_arg_matches(&matches)
}

/// Standard output's reader went away (`sectorwire list | head`): the command ends quietly
/// with status 0. Only writes to standard output are marked so (see `outln!`); a broken
/// pipe on a connection to a service (one that closed it after a TLS alert) is a failure
/// of the command. Treating every broken pipe alike made an ingest refused for a missing
/// client certificate exit 0 without a word, one run in four.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Marks a failed write to standard output when its reader went away.
fn mark_stdout_closed(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        e
    }
}

fn is_stdout_closed(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .is_some_and(|inner| inner.is::<StdoutClosed>())
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = cli.global;
    let command = cli.command.unwrap_or(Command::Up(cli.up));
    match command {
        Command::Up(args) => up::run(args).await.map(|()| exit::OK),
        Command::Ingest(args) => ingest::run(&g, &args).await,
        Command::Delete { id } => commands::delete(&g, &id).await.map(|()| exit::OK),
        Command::Get { id, read } => commands::get(&g, &id, read).await.map(|()| exit::OK),
        Command::List { filter, limit, read } => {
            commands::list(&g, &filter, limit, read).await.map(|()| exit::OK)
        }
        Command::Search {
            query,
            filter,
            limit,
            read,
        } => commands::search(&g, &query, &filter, limit, read)
            .await
            .map(|()| exit::OK),
        Command::Count {
            filter,
            facets,
            limit,
            read,
        } => commands::count(&g, &filter, &facets, limit, read)
            .await
            .map(|()| exit::OK),
        Command::Timeline { filter, chart, read } => commands::timeline(&g, &filter, &chart, read)
            .await
            .map(|()| exit::OK),
        Command::Pair {
            a,
            b,
            filter,
            evidence,
            chart,
            read,
        } => commands::pair(&g, [&a, &b], &filter, evidence, &chart, read)
            .await
            .map(|()| exit::OK),
        Command::Sectors => commands::sectors(&g).await.map(|()| exit::OK),
        Command::Stats { read } => commands::stats(&g, read).await,
        Command::Backup { name } => commands::backup(&g, &name).await.map(|()| exit::OK),
        Command::DevCerts { dir, names } => devcerts::run(&dir, &names).map(|()| exit::OK),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    /// A broken pipe from a connection is a failure; one from standard output is not.
    #[test]
    fn only_a_closed_standard_output_ends_quietly() {
        let network = anyhow::Error::new(Error::from(ErrorKind::BrokenPipe)).context("IngestArticles stream");
        assert!(!network.chain().any(super::is_stdout_closed));
        let stdout = anyhow::Error::new(super::mark_stdout_closed(Error::from(ErrorKind::BrokenPipe)));
        assert!(stdout.chain().any(super::is_stdout_closed));
        let denied = super::mark_stdout_closed(Error::from(ErrorKind::PermissionDenied));
        assert!(!super::is_stdout_closed(&denied));
    }
}
