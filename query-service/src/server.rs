//! The gRPC surface of the query service: thin handlers that validate
//! ([`requests`]), wait for read-your-writes, and call the [`Reader`];
//! every error becomes a status through `From<QueryError> for Status`.
//! [`serve`] runs the follower and the server together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sectorwire_proto::outbox;
use sectorwire_proto::query::{
    query_service_server::{QueryService, QueryServiceServer},
    BatchGetArticlesRequest, BatchGetArticlesResponse, Consistency, CountArticlesRequest,
    CountArticlesResponse, GetArticleRequest, GetArticleResponse, GetCountryPairRequest,
    GetCountryPairResponse, GetQueryStatsRequest, ListArticlesRequest, ListArticlesResponse,
    ListSectorsRequest, ListSectorsResponse, QueryStats, SearchArticlesRequest, SearchArticlesResponse,
    SectorTimelineRequest, SectorTimelineResponse, WatchArticlesRequest, WatchArticlesResponse,
};
use sectorwire_runtime::auth::Secret;
use sectorwire_runtime::client::{ClientError, ClientSecurity};
use sectorwire_runtime::server::{PortFlags, SecurityError, ServerArgs};
use sectorwire_runtime::tls::ClientTlsFiles;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::error::QueryError;
use crate::follow::{self, FollowOptions, FollowState};
use crate::model::{ModelError, ReadModel};
use crate::reader::{Reader, ReaderLimits};
use crate::requests;

/// Watch items buffered per stream before the stream waits for its reader
/// (and at most `watch_buffer_bytes` of them).
const WATCH_BUFFER: usize = 256;
/// Default byte budget of a list or search page: with the response's other
/// fields it stays under the 4 MiB a default gRPC client accepts.
pub const DEFAULT_PAGE_BYTES: usize = 3 * 1024 * 1024;
/// How long a read waits for `min_sequence` when the call has no deadline.
const DEFAULT_CONSISTENCY_WAIT: Duration = Duration::from_secs(5);

/// Everything the query service needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryConfig {
    /// Address to listen on.
    #[arg(
        long = "query-listen",
        env = "SECTORWIRE_QUERY_LISTEN",
        default_value = "127.0.0.1:50052"
    )]
    pub listen: SocketAddr,
    /// Directory of this replica's read model (created if missing).
    #[arg(
        long = "query-data-dir",
        env = "SECTORWIRE_QUERY_DATA_DIR",
        default_value = "data/query"
    )]
    pub data_dir: PathBuf,
    /// The ingest service whose change feed to follow.
    #[arg(
        long = "follow",
        env = "SECTORWIRE_INGEST_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub ingest_addr: String,
    /// `WatchArticles` streams served at once; more are refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "SECTORWIRE_QUERY_MAX_WATCHERS", default_value_t = 128)]
    pub max_watchers: usize,
    /// Encoded bytes buffered per watch stream (a larger article goes alone).
    #[arg(long, env = "SECTORWIRE_QUERY_WATCH_BUFFER_BYTES", default_value_t = 1024 * 1024)]
    pub watch_buffer_bytes: usize,
    /// How long a watcher may leave its buffer full before it is cut off
    /// with RESOURCE_EXHAUSTED (it resumes with `after_sequence`), in ms.
    #[arg(
        long,
        env = "SECTORWIRE_QUERY_WATCH_SLOW_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub watch_slow_timeout_ms: u64,
    /// Most encoded bytes of articles in one list or search page: a page
    /// ends early, with a token, before the record that would pass it.
    #[arg(long, env = "SECTORWIRE_QUERY_PAGE_BYTES", default_value_t = DEFAULT_PAGE_BYTES)]
    pub page_bytes: usize,
    /// When the ingest service serves another change log than the one this
    /// replica was built from (its store was replaced, or restarted with
    /// `--accept-data-loss`), or its log was rewound below what the replica
    /// applied: empty the read model and rebuild it from the new log. Without
    /// it the replica stops applying, keeps answering from what it holds,
    /// and reports NOT_SERVING with the reason in `GetQueryStats`.
    #[arg(long, env = "SECTORWIRE_REBUILD_ON_NEW_LOG")]
    pub rebuild_on_new_log: bool,
    /// Connection limits, TLS and tokens of this port.
    #[command(flatten)]
    pub server: ServerArgs<QueryPort>,
    /// How the change feed is reached.
    #[command(flatten)]
    pub feed: FeedLinkArgs,
}

/// The query service's names for the shared connection flags.
#[derive(Debug, Clone)]
pub struct QueryPort;

impl PortFlags for QueryPort {
    const MAX_CONNECTIONS: &'static str = "query-max-connections";
    const MAX_CONNECTIONS_ENV: &'static str = "SECTORWIRE_QUERY_MAX_CONNECTIONS";
    const HANDSHAKE_TIMEOUT: &'static str = "query-handshake-timeout-ms";
    const HANDSHAKE_TIMEOUT_ENV: &'static str = "SECTORWIRE_QUERY_HANDSHAKE_TIMEOUT_MS";
    const MAX_CONNECTION_AGE: &'static str = "query-max-connection-age-secs";
    const MAX_CONNECTION_AGE_ENV: &'static str = "SECTORWIRE_QUERY_MAX_CONNECTION_AGE_SECS";
    const CONCURRENCY: &'static str = "query-concurrency";
    const CONCURRENCY_ENV: &'static str = "SECTORWIRE_QUERY_CONCURRENCY";
    const DEFAULT_CONCURRENCY: usize = 1024;
}

/// TLS and token of the feed connection to the ingest service.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FeedLinkArgs {
    /// Reach the ingest service over TLS, verifying it against this CA (PEM).
    #[arg(long, env = "SECTORWIRE_INGEST_TLS_CA")]
    pub ingest_tls_ca: Option<PathBuf>,
    /// Client certificate for the ingest service (mutual TLS; PEM).
    #[arg(long, env = "SECTORWIRE_INGEST_TLS_CERT", requires_all = ["ingest_tls_key", "ingest_tls_ca"])]
    pub ingest_tls_cert: Option<PathBuf>,
    /// Key of --ingest-tls-cert (PEM).
    #[arg(long, env = "SECTORWIRE_INGEST_TLS_KEY", requires = "ingest_tls_cert")]
    pub ingest_tls_key: Option<PathBuf>,
    /// File holding the token sent to the ingest service (a read token is
    /// enough for the feed).
    #[arg(long, env = "SECTORWIRE_INGEST_TOKEN_FILE")]
    pub ingest_token_file: Option<PathBuf>,
    /// The token itself (prefer the variable or the file).
    #[arg(long, env = "SECTORWIRE_INGEST_TOKEN", hide_env_values = true, hide = true)]
    pub ingest_token: Option<Secret>,
}

impl FeedLinkArgs {
    /// The loaded settings.
    pub fn load(&self) -> Result<ClientSecurity, ClientError> {
        ClientSecurity::load(
            &ClientTlsFiles {
                ca: self.ingest_tls_ca.clone(),
                cert: self.ingest_tls_cert.clone(),
                key: self.ingest_tls_key.clone(),
            },
            self.ingest_token_file.as_deref(),
            self.ingest_token.as_ref().map(|t| (t, "SECTORWIRE_INGEST_TOKEN")),
        )
    }
}

impl QueryConfig {
    /// Defaults with the given address, data directory and ingest address.
    pub fn new(listen: SocketAddr, data_dir: PathBuf, ingest_addr: String) -> Self {
        QueryConfig {
            listen,
            data_dir,
            ingest_addr,
            ..sectorwire_runtime::clap_defaults()
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The read model could not be opened.
    #[error("opening read model in {dir}: {source}")]
    Model {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: ModelError,
    },
    /// Socket failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// gRPC transport failure.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection setup failed.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// This port's TLS files or tokens are unusable.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// The feed connection's TLS files or token are unusable.
    #[error("feed connection: {0}")]
    FeedLink(#[from] ClientError),
}

/// The `QueryService` gRPC adapter: decode, validate, wait for the caller's
/// `min_sequence`, call the [`Reader`], encode.
#[derive(Clone)]
pub struct Query {
    reader: Arc<Reader>,
    follow: Arc<FollowState>,
    shutdown: CancellationToken,
    watchers: Arc<tokio::sync::Semaphore>,
    config: Arc<QueryConfig>,
}

type Answer<T> = Result<Response<T>, Status>;

impl Query {
    /// Waits until the replica has applied `consistency.min_sequence`,
    /// bounded by the call's deadline; returns the applied sequence. Called
    /// after validation, so bad input is refused without waiting.
    async fn settle<T>(
        &self,
        request: &Request<T>,
        consistency: Option<&Consistency>,
    ) -> Result<u64, QueryError> {
        let wanted = consistency.map_or(0, |c| c.min_sequence);
        if wanted > 0 {
            if let Some(reason) = self.follow.stopped_reason() {
                return Err(QueryError::OtherLog(reason));
            }
        }
        let wait = deadline_of(request).unwrap_or(DEFAULT_CONSISTENCY_WAIT);
        self.reader.wait_for(wanted, wait).await
    }
}

/// The remaining time of a call, from its `grpc-timeout` header.
fn deadline_of<T>(request: &Request<T>) -> Option<Duration> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (value, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let value: u64 = value.parse().ok()?;
    let duration = match unit {
        "H" => Duration::from_secs(value * 3600),
        "M" => Duration::from_secs(value * 60),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    };
    // Leave a little time to answer before the client gives up.
    Some(duration.mul_f64(0.9))
}

#[tonic::async_trait]
impl QueryService for Query {
    async fn get_article(&self, request: Request<GetArticleRequest>) -> Answer<GetArticleResponse> {
        let id = requests::article_id(&request.get_ref().id, "id")?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let article = self.reader.get(id).await?;
        Ok(Response::new(GetArticleResponse {
            article: Some(article),
            applied_sequence: applied,
        }))
    }

    async fn batch_get_articles(
        &self,
        request: Request<BatchGetArticlesRequest>,
    ) -> Answer<BatchGetArticlesResponse> {
        let ids = requests::article_ids(&request.get_ref().ids)?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let mut response = self.reader.batch_get(ids).await?;
        response.applied_sequence = applied;
        Ok(Response::new(response))
    }

    async fn list_articles(&self, request: Request<ListArticlesRequest>) -> Answer<ListArticlesResponse> {
        let plan = requests::list(request.get_ref())?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let mut response = self.reader.list(plan).await?;
        response.applied_sequence = applied;
        Ok(Response::new(response))
    }

    async fn search_articles(
        &self,
        request: Request<SearchArticlesRequest>,
    ) -> Answer<SearchArticlesResponse> {
        let plan = requests::search(request.get_ref())?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let mut response = self.reader.search(plan).await?;
        response.applied_sequence = applied;
        Ok(Response::new(response))
    }

    async fn count_articles(&self, request: Request<CountArticlesRequest>) -> Answer<CountArticlesResponse> {
        let plan = requests::count(request.get_ref())?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let mut response = self.reader.count(plan).await?;
        response.applied_sequence = applied;
        Ok(Response::new(response))
    }

    async fn sector_timeline(
        &self,
        request: Request<SectorTimelineRequest>,
    ) -> Answer<SectorTimelineResponse> {
        let plan = requests::timeline(request.get_ref())?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let series = self.reader.timeline(plan).await?;
        Ok(Response::new(SectorTimelineResponse {
            series,
            applied_sequence: applied,
        }))
    }

    async fn get_country_pair(
        &self,
        request: Request<GetCountryPairRequest>,
    ) -> Answer<GetCountryPairResponse> {
        let plan = requests::country_pair(request.get_ref())?;
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let mut response = self.reader.country_pair(plan).await?;
        response.applied_sequence = applied;
        Ok(Response::new(response))
    }

    type WatchArticlesStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<WatchArticlesResponse, Status>> + Send>>;

    async fn watch_articles(
        &self,
        request: Request<WatchArticlesRequest>,
    ) -> Answer<Self::WatchArticlesStream> {
        let r = request.into_inner();
        let filter = requests::filter(r.filter.as_ref())?;
        let slot = self.watchers.clone().try_acquire_owned().map_err(|_| {
            sectorwire_runtime::metrics::shed("watch_streams");
            QueryError::WatchersFull(self.config.max_watchers)
        })?;
        let after = r.after_sequence.unwrap_or_else(|| self.reader.applied());
        let too_slow: outbox::TooSlow = Box::new(|after| {
            tracing::warn!(after, "cutting off a slow watcher");
            QueryError::WatcherTooSlow(after).into()
        });
        let bounds = outbox::Bounds {
            messages: WATCH_BUFFER,
            bytes: self.config.watch_buffer_bytes.max(1),
            slow_timeout: Duration::from_millis(self.config.watch_slow_timeout_ms.max(1)),
        };
        let (tx, rx) = outbox::channel(bounds, after, too_slow);
        let reader = self.reader.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            // The slot is held for as long as the stream's producer runs.
            let _slot = slot;
            let _open = sectorwire_runtime::metrics::InFlight::new(crate::telemetry::WATCH_STREAMS);
            reader.watch(filter, after, tx, shutdown).await;
        }));
        Ok(Response::new(Box::pin(rx)))
    }

    async fn list_sectors(&self, _request: Request<ListSectorsRequest>) -> Answer<ListSectorsResponse> {
        Ok(Response::new(ListSectorsResponse {
            sectors: Reader::sectors(),
        }))
    }

    async fn get_query_stats(&self, _request: Request<GetQueryStatsRequest>) -> Answer<QueryStats> {
        let applied = self.reader.applied();
        let head = self.follow.head.load(Ordering::Relaxed);
        let log_id = self.reader.log_id().map_err(QueryError::from)?;
        Ok(Response::new(QueryStats {
            applied_sequence: applied,
            head_sequence: head,
            lag: head.saturating_sub(applied),
            articles: self.reader.len(),
            connected: self.follow.connected.load(Ordering::Relaxed),
            log_id: log_id.unwrap_or_default(),
            ingest_log_id: self.follow.ingest_log_id(),
            millis_since_ingest_heard: self
                .follow
                .since_heard()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            stopped_reason: self.follow.stopped_reason().unwrap_or_default(),
            follow_error: self.follow.follow_error().unwrap_or_default(),
        }))
    }
}

/// Health name under which `grpc.health.v1` reports the change-feed follower
/// itself (not a gRPC service): SERVING while it is connected, hears from
/// ingest within the silence limit and applies without errors.
pub const FOLLOWER_HEALTH: &str = "sectorwire.query.v1.ChangeFeedFollower";

/// How often health is re-derived even without a change notice (the time
/// since ingest was last heard from grows by itself).
const HEALTH_TICK: Duration = Duration::from_millis(500);

/// Readiness over `grpc.health.v1`: the replica answers NOT_SERVING (for its
/// service name and for the server as a whole, `""`) until it has caught up
/// with the log once after start, so a load balancer or orchestrator sends
/// no reads to a replica still replaying history; then SERVING, unless the
/// follower stopped on a log that does not continue the model (replaced or
/// rewound) or is replaying a new log after a rebuild. A replica that only
/// fell behind or lost its link keeps SERVING (its reads are still right,
/// as of `applied_sequence`) and shows it under [`FOLLOWER_HEALTH`] and in
/// `GetQueryStats`. Liveness is the port answering at all (see README
/// "Health").
async fn report_health(
    health: tonic_health::server::HealthReporter,
    state: Arc<FollowState>,
    shutdown: CancellationToken,
) {
    use tonic_health::ServingStatus;
    let status = |up: bool| {
        if up {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    };
    health.set_not_serving::<QueryServiceServer<Query>>().await;
    health.set_service_status("", ServingStatus::NotServing).await;
    health
        .set_service_status(FOLLOWER_HEALTH, ServingStatus::NotServing)
        .await;
    tokio::spawn(async move {
        let (mut serving, mut following) = (false, false);
        loop {
            let changed = state.changed.notified();
            let now = (state.serving(), state.following());
            if now.0 != serving {
                serving = now.0;
                health
                    .set_service_status(
                        <QueryServiceServer<Query> as tonic::server::NamedService>::NAME,
                        status(serving),
                    )
                    .await;
                health.set_service_status("", status(serving)).await;
            }
            if now.1 != following {
                following = now.1;
                health
                    .set_service_status(FOLLOWER_HEALTH, status(following))
                    .await;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = state.ready.cancelled(), if !state.ready.is_cancelled() => {}
                () = changed => {}
                () = tokio::time::sleep(HEALTH_TICK) => {}
            }
        }
    });
}

/// Opens the read model, follows the ingest service and serves on `listener`
/// until `shutdown` is cancelled; then stops following, finishes in-flight
/// requests and releases the model.
pub async fn serve(
    config: QueryConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let serving = config.server.prepare(&[])?;
    let link = config.feed.load()?;
    std::fs::create_dir_all(&config.data_dir)?;
    let model = Arc::new(
        ReadModel::open(&config.data_dir).map_err(|source| ServeError::Model {
            dir: config.data_dir.clone(),
            source,
        })?,
    );
    let state = Arc::new(FollowState::default());
    let follower = tokio::spawn(follow::run(
        model.clone(),
        config.ingest_addr.clone(),
        link,
        state.clone(),
        FollowOptions {
            rebuild_on_new_log: config.rebuild_on_new_log,
        },
        shutdown.child_token(),
    ));
    let query = Query {
        reader: Arc::new(Reader::new(
            model.clone(),
            ReaderLimits {
                page_bytes: config.page_bytes.max(1),
                ..ReaderLimits::default()
            },
        )),
        follow: state.clone(),
        shutdown: shutdown.clone(),
        watchers: Arc::new(tokio::sync::Semaphore::new(config.max_watchers.max(1))),
        config: Arc::new(config.clone()),
    };
    let metrics_hook = crate::telemetry::register(query.clone(), state.clone());
    let (health, health_service) = tonic_health::server::health_reporter();
    report_health(health, state.clone(), shutdown.clone()).await;
    let (reflection, reflection_v1alpha) = sectorwire_runtime::reflection(
        sectorwire_proto::FILE_DESCRIPTOR_SET,
        &[<QueryServiceServer<Query> as tonic::server::NamedService>::NAME],
    )?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, data_dir = %config.data_dir.display(), applied = model.applied(), follow = %config.ingest_addr, security = serving.describe(), "query service listening");
    let result = serving
        .builder(crate::telemetry::rpc_layer())
        .layer(sectorwire_proto::status::ShedLayer::new(
            serving.concurrency(),
            Duration::from_millis(100),
        ))
        .layer(sectorwire_proto::status::TransportStatusLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(QueryServiceServer::new(query).max_encoding_message_size(64 * 1024 * 1024))
        .serve_with_incoming_shutdown(serving.incoming(listener), shutdown.cancelled_owned())
        .await;
    let _ = follower.await;
    if let Err(e) = model.flush() {
        tracing::warn!(error = %e, "flushing the read model on shutdown (it resumes from the log)");
    }
    drop(metrics_hook);
    drop(model);
    tracing::info!(addr = %local, "query service stopped");
    result.map_err(ServeError::from)
}
