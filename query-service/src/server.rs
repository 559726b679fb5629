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
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::error::QueryError;
use crate::follow::{self, FollowState};
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
    /// Calls in progress, across all connections, before new ones are shed
    /// with RESOURCE_EXHAUSTED and a retry hint (each connection is also held
    /// to this many).
    #[arg(
        long = "query-concurrency",
        env = "SECTORWIRE_QUERY_CONCURRENCY",
        default_value_t = 1024
    )]
    pub max_concurrent_requests: usize,
    /// Connections open at once; past it new ones are closed on accept
    /// (keep it under the process's file-descriptor limit).
    #[arg(
        long = "query-max-connections",
        env = "SECTORWIRE_QUERY_MAX_CONNECTIONS",
        default_value_t = 1024
    )]
    pub max_connections: usize,
    /// Time a new connection has to send the HTTP/2 preface, in ms.
    #[arg(
        long = "query-handshake-timeout-ms",
        env = "SECTORWIRE_QUERY_HANDSHAKE_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub handshake_timeout_ms: u64,
    /// Age after which a connection is asked to go away (GOAWAY) once its
    /// streams end, in seconds: idle connections last at most this long.
    #[arg(
        long = "query-max-connection-age-secs",
        env = "SECTORWIRE_QUERY_MAX_CONNECTION_AGE_SECS",
        default_value_t = 300
    )]
    pub max_connection_age_secs: u64,
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
            sectorwire_proto::status::overloaded(
                format!(
                    "at most {} watch streams at once; retry later",
                    self.config.max_watchers
                ),
                Duration::from_secs(1),
            )
        })?;
        let after = r.after_sequence.unwrap_or_else(|| self.reader.applied());
        let too_slow: outbox::TooSlow = Box::new(|after| {
            tracing::warn!(after, "cutting off a slow watcher");
            Status::resource_exhausted(format!(
                "watcher too slow; watch again with after_sequence={after}"
            ))
        });
        let bounds = outbox::Bounds {
            messages: WATCH_BUFFER,
            bytes: self.config.watch_buffer_bytes.max(1),
            slow_timeout: Duration::from_millis(self.config.watch_slow_timeout_ms.max(1)),
        };
        let (tx, rx) = outbox::channel(bounds, after, too_slow);
        let reader = self.reader.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            // The slot is held for as long as the stream's producer runs.
            let _slot = slot;
            reader.watch(filter, after, tx, shutdown).await;
        });
        Ok(Response::new(Box::pin(rx)))
    }

    async fn list_sectors(&self, _request: Request<ListSectorsRequest>) -> Answer<ListSectorsResponse> {
        Ok(Response::new(ListSectorsResponse {
            sectors: Reader::sectors(),
        }))
    }

    async fn get_query_stats(&self, _request: Request<GetQueryStatsRequest>) -> Answer<QueryStats> {
        let applied = self.reader.applied();
        let head = self.follow.head.load(Ordering::Relaxed).max(applied);
        Ok(Response::new(QueryStats {
            applied_sequence: applied,
            head_sequence: head,
            lag: head - applied,
            articles: self.reader.len(),
            connected: self.follow.connected.load(Ordering::Relaxed),
        }))
    }
}

/// Readiness over `grpc.health.v1`: the replica answers NOT_SERVING (for its
/// service name and for the server as a whole, `""`) until it has caught up
/// with the log once after start, so a load balancer or orchestrator sends
/// no reads to a replica still replaying history; then SERVING for good.
/// Liveness is the port answering at all (see README "Health").
async fn report_readiness(
    health: tonic_health::server::HealthReporter,
    ready: CancellationToken,
    shutdown: CancellationToken,
) {
    use tonic_health::ServingStatus;
    health.set_not_serving::<QueryServiceServer<Query>>().await;
    health.set_service_status("", ServingStatus::NotServing).await;
    tokio::spawn(async move {
        tokio::select! {
            () = ready.cancelled() => {
                health.set_serving::<QueryServiceServer<Query>>().await;
                health.set_service_status("", ServingStatus::Serving).await;
            }
            () = shutdown.cancelled() => {}
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
        state.clone(),
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
    let (health, health_service) = tonic_health::server::health_reporter();
    report_readiness(health, state.ready.clone(), shutdown.clone()).await;
    let (reflection, reflection_v1alpha) = sectorwire_runtime::reflection(
        sectorwire_proto::FILE_DESCRIPTOR_SET,
        &[<QueryServiceServer<Query> as tonic::server::NamedService>::NAME],
    )?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, data_dir = %config.data_dir.display(), applied = model.applied(), follow = %config.ingest_addr, "query service listening");
    let result = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(config.max_concurrent_requests)
        .load_shed(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .max_connection_age(Duration::from_secs(config.max_connection_age_secs.max(1)))
        .layer(sectorwire_proto::status::ShedLayer::new(
            config.max_concurrent_requests,
            Duration::from_millis(100),
        ))
        .layer(sectorwire_proto::status::TransportStatusLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(QueryServiceServer::new(query).max_encoding_message_size(64 * 1024 * 1024))
        .serve_with_incoming_shutdown(
            sectorwire_runtime::incoming(
                listener,
                sectorwire_runtime::ConnLimits {
                    max_connections: config.max_connections,
                    handshake_timeout: Duration::from_millis(config.handshake_timeout_ms.max(1)),
                },
            ),
            shutdown.cancelled_owned(),
        )
        .await;
    let _ = follower.await;
    if let Err(e) = model.flush() {
        tracing::warn!(error = %e, "flushing the read model on shutdown (it resumes from the log)");
    }
    drop(model);
    tracing::info!(addr = %local, "query service stopped");
    result.map_err(ServeError::from)
}
