//! The gRPC surface of the ingest service: thin handlers that validate, call
//! the pipeline and the committer, and map errors to statuses with details.
//! [`serve`] wires them with health, reflection and limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use prost::Message;
use sectorwire_proto::ingest::{
    change_feed_service_server::ChangeFeedServiceServer,
    ingest_admin_service_server::IngestAdminServiceServer,
    ingest_articles_response,
    ingest_service_server::{IngestService, IngestServiceServer},
    DeleteArticleRequest, DeleteArticleResponse, FieldViolation, GetIngestStatsRequest, IngestArticleRequest,
    IngestArticleResponse, IngestArticlesResponse, IngestOutcome, IngestStats, ItemError,
};
use sectorwire_runtime::server::{PortFlags, SecurityError, ServerArgs};
use tokio::net::TcpListener;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use tonic_types::StatusExt;

use crate::admin::Admin;
use crate::admission::{self, Admission};
use crate::commit::{Committer, WriteHealth};
use crate::error::IngestError;
use crate::feed::{Feed, FeedConfig};
use crate::pipeline;
use crate::store::{OpenOptions, SledStore, Store, StoreError, WriteOp, WriteOutcome};

/// Most items of one `IngestArticles` stream taken together: the items already received
/// (up to this many) are prepared on one blocking thread and committed as one job, which
/// saves a thread hand-off and a committer wake-up per article.
const STREAM_CHUNK: usize = 16;

/// Chunks of one stream in flight at once (up to 64 items, as before chunking): enough for
/// one stream to keep every core busy while earlier chunks wait for their flush. Results
/// still go back in request order.
const STREAM_CHUNKS_IN_FLIGHT: usize = 4;

/// Default largest request message: the 16 MiB content limit plus metadata.
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024 + 64 * 1024;
/// Default global budget of request bytes in flight.
pub const DEFAULT_INFLIGHT_BYTES: usize = 64 * 1024 * 1024;

/// Everything the ingest service needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestConfig {
    /// Address to listen on.
    #[arg(
        long = "ingest-listen",
        env = "SECTORWIRE_INGEST_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: SocketAddr,
    /// Directory of the sled store (created if missing).
    #[arg(
        long = "ingest-data-dir",
        env = "SECTORWIRE_INGEST_DATA_DIR",
        default_value = "data/ingest"
    )]
    pub data_dir: PathBuf,
    /// Pending write batches before new writes are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "SECTORWIRE_INGEST_QUEUE", default_value_t = 4096)]
    pub queue_capacity: usize,
    /// Largest accepted request message, in bytes (an article's content is
    /// at most 16 MiB; the rest is room for its metadata).
    #[arg(long, env = "SECTORWIRE_INGEST_MAX_MESSAGE", default_value_t = DEFAULT_MAX_MESSAGE)]
    pub max_message_bytes: usize,
    /// Request bytes being parsed, analysed or committed at once, across all
    /// connections; past it new articles are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "SECTORWIRE_INGEST_INFLIGHT_BYTES", default_value_t = DEFAULT_INFLIGHT_BYTES)]
    pub max_inflight_bytes: usize,
    /// Change-feed messages buffered per subscriber.
    #[arg(long, env = "SECTORWIRE_FEED_BUFFER", default_value_t = 512)]
    pub feed_buffer: usize,
    /// Open a store that lost acknowledged data (damaged files) anyway: the
    /// counters are rebuilt from what is left and a new log epoch begins, so
    /// query replicas must rebuild. Without it such a store is refused.
    #[arg(long, env = "SECTORWIRE_ACCEPT_DATA_LOSS")]
    pub accept_data_loss: bool,
    /// Directory under which `IngestAdminService.CreateBackup` writes
    /// backups (one new subdirectory each). Without it backups are refused.
    #[arg(long, env = "SECTORWIRE_BACKUP_ROOT")]
    pub backup_root: Option<PathBuf>,
    /// Change-feed bytes buffered per subscriber.
    #[arg(long, env = "SECTORWIRE_FEED_BUFFER_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub feed_buffer_bytes: usize,
    /// Change-feed subscribers served at once; more are refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "SECTORWIRE_FEED_MAX_SUBSCRIBERS", default_value_t = 64)]
    pub feed_max_subscribers: usize,
    /// How long a subscriber may leave its buffer full before it is
    /// disconnected (it then resumes by sequence), in milliseconds.
    #[arg(long, env = "SECTORWIRE_FEED_SLOW_TIMEOUT_MS", default_value_t = 30_000)]
    pub feed_slow_timeout_ms: u64,
    /// Connection limits, TLS and tokens.
    #[command(flatten)]
    pub server: ServerArgs<IngestPort>,
}

/// The ingest service's names for the shared connection flags.
#[derive(Debug, Clone)]
pub struct IngestPort;

impl PortFlags for IngestPort {
    const MAX_CONNECTIONS: &'static str = "ingest-max-connections";
    const MAX_CONNECTIONS_ENV: &'static str = "SECTORWIRE_INGEST_MAX_CONNECTIONS";
    const HANDSHAKE_TIMEOUT: &'static str = "ingest-handshake-timeout-ms";
    const HANDSHAKE_TIMEOUT_ENV: &'static str = "SECTORWIRE_INGEST_HANDSHAKE_TIMEOUT_MS";
    const MAX_CONNECTION_AGE: &'static str = "ingest-max-connection-age-secs";
    const MAX_CONNECTION_AGE_ENV: &'static str = "SECTORWIRE_INGEST_MAX_CONNECTION_AGE_SECS";
    const CONCURRENCY: &'static str = "max-concurrent-requests";
    const CONCURRENCY_ENV: &'static str = "SECTORWIRE_INGEST_CONCURRENCY";
    const DEFAULT_CONCURRENCY: usize = 512;
}

/// The methods that need a write token; every other one of this port needs
/// a read token (the feed included), health and reflection none.
pub const WRITE_METHODS: &[&str] = &[
    "/sectorwire.ingest.v1.IngestService/IngestArticle",
    "/sectorwire.ingest.v1.IngestService/IngestArticles",
    "/sectorwire.ingest.v1.IngestService/DeleteArticle",
    // A backup writes a copy of the whole store on the server's disk and pauses writes.
    "/sectorwire.ingest.v1.IngestAdminService/CreateBackup",
];

impl IngestConfig {
    /// Defaults with another data directory and listen address (tests, CLI).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        IngestConfig {
            listen,
            data_dir,
            ..sectorwire_runtime::clap_defaults()
        }
    }

    fn feed(&self) -> FeedConfig {
        FeedConfig {
            buffer: self.feed_buffer.max(1),
            buffer_bytes: self.feed_buffer_bytes.max(1),
            max_subscribers: self.feed_max_subscribers.max(1),
            slow_timeout: Duration::from_millis(self.feed_slow_timeout_ms.max(1)),
            ..FeedConfig::default()
        }
    }
}

/// Why the service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened (locked, corrupt, foreign).
    #[error("opening store in {dir}: {source}")]
    Store {
        /// Data directory.
        dir: PathBuf,
        /// Cause.
        source: StoreError,
    },
    /// Socket or thread failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// gRPC transport failure.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection service setup failed.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// TLS files or tokens are unusable.
    #[error(transparent)]
    Security(#[from] SecurityError),
}

/// The `IngestService` implementation.
#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn Store>,
    committer: Committer,
    /// The head as of the last good flush.
    durable_head: tokio::sync::watch::Receiver<u64>,
    feed: Feed,
    /// One permit per core for parse + analyze. Without it every in-flight
    /// item (64 per stream) took its own blocking thread, and hundreds of
    /// threads time-sliced two cores; queued items now wait on the
    /// semaphore instead, and the work runs on as many threads as cores.
    cpu: Arc<tokio::sync::Semaphore>,
    /// Largest record accepted: [`pipeline::MAX_RECORD_BYTES`], or less when this server's
    /// message limit is lower, so every stored record fits in a feed event and a reply.
    max_record_bytes: usize,
    admission: Admission,
    /// Acknowledged creates and updates whose record says sectors were not computed (a
    /// language the tagger does not cover), since start.
    not_analysed: Arc<AtomicU64>,
}

impl Ingest {
    /// Parses and analyses `requests` on one blocking thread under one CPU permit: a chunk
    /// costs one thread hand-off instead of one per article. Items already failed pass
    /// through; items whose call deadline has passed are dropped unparsed.
    async fn prepare_all(
        &self,
        requests: Vec<Result<IngestArticleRequest, IngestError>>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Result<WriteOp, IngestError>>, IngestError> {
        let permit = self
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        let limit = self.max_record_bytes;
        let prepared = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            requests
                .into_iter()
                .map(|r| {
                    let r = r?;
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(admission::expired());
                    }
                    Ok(pipeline::prepare_within(&r, limit)?)
                })
                .collect()
        })
        .await?;
        Ok(prepared)
    }

    /// Admits, prepares and commits `requests`, the valid ones as one group-commit job;
    /// one result per request, in order. An invalid or shed article fails alone. A failed
    /// commit fails every article that reached it, and none of those was acknowledged, so
    /// retrying them is safe. Work whose deadline passed is dropped before it is committed;
    /// once committed it is reported like any other write.
    async fn ingest_many(
        &self,
        requests: Vec<IngestArticleRequest>,
        deadline: Option<Instant>,
    ) -> Vec<Result<IngestArticleResponse, Status>> {
        if requests.is_empty() {
            return Vec::new();
        }
        let return_article: Vec<bool> = requests.iter().map(|r| r.return_article).collect();
        // Held until the commit is answered: the prepared records live until then.
        let mut permits = Vec::with_capacity(requests.len());
        let admitted: Vec<Result<IngestArticleRequest, IngestError>> = requests
            .into_iter()
            .map(|r| {
                if sectorwire_proto::codec::is_malformed(&r) {
                    return Err(IngestError::Invalid {
                        message: "not a valid IngestArticleRequest protobuf message".into(),
                        violations: Vec::new(),
                    });
                }
                let permit = self.admission.admit(r.encoded_len())?;
                permits.push(permit);
                Ok(r)
            })
            .collect();
        let prepared = match self.prepare_all(admitted, deadline).await {
            Ok(prepared) => prepared,
            // One failure answers every item: mapped once, the status cloned.
            Err(error) => {
                let status = Status::from(error);
                return return_article.iter().map(|_| Err(status.clone())).collect();
            }
        };
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        let mut ids = Vec::with_capacity(prepared.len());
        let mut ops = Vec::with_capacity(prepared.len());
        for item in prepared {
            ids.push(item.and_then(|op| {
                if expired {
                    return Err(admission::expired());
                }
                let (id, analysed) = match &op {
                    WriteOp::Upsert { article, .. } => (article.id().to_string(), article.sectors_computed()),
                    WriteOp::Delete { id } => (id.clone(), true),
                };
                ops.push(op);
                Ok((id, analysed))
            }));
        }
        // A failed commit fails every item that reached it: mapped once, the status cloned.
        let mut outcomes = if ops.is_empty() {
            Ok(Vec::new().into_iter())
        } else {
            self.committer
                .submit(ops)
                .await
                .map(Vec::into_iter)
                .map_err(|e| Status::from(IngestError::from(e)))
        };
        drop(permits);
        ids.into_iter()
            .zip(return_article)
            .map(|(id, return_article)| {
                let (id, analysed) = id?;
                let outcome = match &mut outcomes {
                    Ok(outcomes) => outcomes
                        .next()
                        .ok_or(IngestError::Lost("committer returned no outcome"))?,
                    Err(status) => return Err(status.clone()),
                };
                if !analysed && matches!(outcome, WriteOutcome::Created(_) | WriteOutcome::Updated(_)) {
                    self.not_analysed.fetch_add(1, Ordering::Relaxed);
                }
                Ok(self.response(id, outcome, return_article)?)
            })
            .inspect(crate::telemetry::article)
            .collect()
    }

    fn response(
        &self,
        id: String,
        outcome: WriteOutcome,
        return_article: bool,
    ) -> Result<IngestArticleResponse, IngestError> {
        let (outcome_pb, created) = match outcome {
            WriteOutcome::Created(_) => (IngestOutcome::Created, true),
            WriteOutcome::Updated(_) => (IngestOutcome::Updated, false),
            _ => (IngestOutcome::Unchanged, false),
        };
        let article = if return_article {
            self.store.get(&id).map_err(|source| IngestError::Store {
                what: "reading the store",
                source,
            })?
        } else {
            None
        };
        Ok(IngestArticleResponse {
            id,
            sequence: outcome.sequence(),
            created,
            outcome: outcome_pb as i32,
            article,
        })
    }

    async fn ingest_one(
        &self,
        request: IngestArticleRequest,
        deadline: Option<Instant>,
    ) -> Result<IngestArticleResponse, Status> {
        self.ingest_many(vec![request], deadline)
            .await
            .pop()
            .unwrap_or_else(|| Err(IngestError::Lost("no result for the article").into()))
    }

    /// One chunk of an `IngestArticles` stream: a result per item, in order. A transport
    /// error ends the chunk (and the stream) after the items before it.
    async fn ingest_chunk(
        &self,
        chunk: Vec<(usize, Result<IngestArticleRequest, Status>)>,
        deadline: Option<Instant>,
    ) -> Vec<Result<IngestArticlesResponse, Status>> {
        let mut indices = Vec::with_capacity(chunk.len());
        let mut requests = Vec::with_capacity(chunk.len());
        let mut broken = None;
        for (index, item) in chunk {
            match item {
                Ok(request) => {
                    indices.push(index as u64);
                    requests.push(request);
                }
                Err(status) => {
                    broken = Some(sectorwire_proto::status::from_transport(&status));
                    break;
                }
            }
        }
        let mut out: Vec<Result<IngestArticlesResponse, Status>> = indices
            .into_iter()
            .zip(self.ingest_many(requests, deadline).await)
            .map(|(index, result)| {
                let result = match result {
                    Ok(ok) => ingest_articles_response::Result::Ok(ok),
                    Err(status) => ingest_articles_response::Result::Error(item_error(&status)),
                };
                Ok(IngestArticlesResponse {
                    index,
                    result: Some(result),
                })
            })
            .collect();
        out.extend(broken.map(Err));
        out
    }
}

fn item_error(status: &Status) -> ItemError {
    let field_violations = status
        .get_details_bad_request()
        .map(|br| {
            br.field_violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default();
    ItemError {
        code: status.code() as i32,
        message: status.message().to_string(),
        field_violations,
    }
}

type ResultStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl IngestService for Ingest {
    async fn ingest_article(
        &self,
        request: Request<IngestArticleRequest>,
    ) -> Result<Response<IngestArticleResponse>, Status> {
        let deadline = admission::deadline(&request);
        self.ingest_one(request.into_inner(), deadline)
            .await
            .map(Response::new)
    }

    type IngestArticlesStream = ResultStream<IngestArticlesResponse>;

    async fn ingest_articles(
        &self,
        request: Request<Streaming<IngestArticleRequest>>,
    ) -> Result<Response<Self::IngestArticlesStream>, Status> {
        let this = self.clone();
        let deadline = admission::deadline(&request);
        let results = request
            .into_inner()
            .enumerate()
            .ready_chunks(STREAM_CHUNK)
            .map(move |chunk| {
                let this = this.clone();
                async move { this.ingest_chunk(chunk, deadline).await }
            })
            .buffered(STREAM_CHUNKS_IN_FLIGHT)
            .flat_map(futures::stream::iter);
        Ok(Response::new(Box::pin(results)))
    }

    async fn delete_article(
        &self,
        request: Request<DeleteArticleRequest>,
    ) -> Result<Response<DeleteArticleResponse>, Status> {
        let id = IngestError::article_id(&request.into_inner().id, "id")?;
        let outcome = self
            .committer
            .submit(vec![WriteOp::Delete { id }])
            .await
            .map_err(IngestError::from)?
            .pop()
            .ok_or(IngestError::Lost("committer returned no outcome"))?;
        Ok(Response::new(DeleteArticleResponse {
            sequence: outcome.sequence(),
            deleted: matches!(outcome, WriteOutcome::Deleted(_)),
        }))
    }

    async fn get_ingest_stats(
        &self,
        _request: Request<GetIngestStatsRequest>,
    ) -> Result<Response<IngestStats>, Status> {
        // Durable figures only: a batch being flushed (or whose flush failed)
        // is not counted.
        let stats = self.committer.stats();
        let disk_bytes = self.store.counts().map_or(0, |c| c.disk_bytes);
        Ok(Response::new(IngestStats {
            articles: stats.durable_articles.load(Ordering::Relaxed),
            log_head: *self.durable_head.borrow(),
            disk_bytes,
            subscribers: self.feed.subscribers(),
            flushes: stats.flushes.load(Ordering::Relaxed),
            writes: stats.writes.load(Ordering::Relaxed),
            writes_sectors_not_computed: self.not_analysed.load(Ordering::Relaxed),
            log_id: self.store.log_id(),
        }))
    }
}

/// Opens the store in `config.data_dir` and serves on `listener` until
/// `shutdown` is cancelled; then finishes in-flight requests, ends feed
/// streams, flushes, and releases the store before returning.
pub async fn serve(
    config: IngestConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let store = open_store(&config)?;
    serve_store(config, store, listener, shutdown).await
}

fn open_store(config: &IngestConfig) -> Result<Arc<dyn Store>, ServeError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let options = OpenOptions {
        accept_data_loss: config.accept_data_loss,
    };
    let store = SledStore::open_with(&config.data_dir, options).map_err(|source| ServeError::Store {
        dir: config.data_dir.clone(),
        source,
    })?;
    Ok(Arc::new(store))
}

impl Ingest {
    fn new(
        config: &IngestConfig,
        store: Arc<dyn Store>,
        committer: Committer,
        durable_head: tokio::sync::watch::Receiver<u64>,
        feed: Feed,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ingest {
            store,
            committer,
            durable_head,
            feed,
            cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
            max_record_bytes: pipeline::MAX_RECORD_BYTES.min(
                config
                    .max_message_bytes
                    .saturating_sub(pipeline::MESSAGE_ENVELOPE),
            ),
            admission: Admission::new(config.max_inflight_bytes),
            not_analysed: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// The write service is NOT_SERVING while the committer refuses writes after
/// a failed flush, and SERVING again once the store is reopened.
async fn report_write_health(
    mut write_health: tokio::sync::watch::Receiver<WriteHealth>,
    health: tonic_health::server::HealthReporter,
    shutdown: CancellationToken,
) {
    loop {
        let state = write_health.borrow_and_update().clone();
        match state {
            WriteHealth::Serving => health.set_serving::<IngestServiceServer<Ingest>>().await,
            WriteHealth::Suspended(reason) => {
                tracing::warn!(%reason, "ingest service NOT_SERVING");
                health.set_not_serving::<IngestServiceServer<Ingest>>().await;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = write_health.changed() => if changed.is_err() { return },
        }
    }
}

/// Like [`serve`] over a store the caller built (e.g. a fault-injecting one).
pub async fn serve_store(
    config: IngestConfig,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let local = listener.local_addr()?;
    let serving = config.server.prepare(WRITE_METHODS)?;
    let (head_tx, head_rx) = tokio::sync::watch::channel(store.head());
    let (committer, committer_thread) = Committer::start(store.clone(), head_tx, config.queue_capacity)?;
    let feed_shutdown = shutdown.child_token();
    let feed = Feed::new(
        store.clone(),
        head_rx.clone(),
        config.feed(),
        feed_shutdown.clone(),
    );
    let ingest = Ingest::new(&config, store.clone(), committer, head_rx, feed.clone());

    let metrics_hook = crate::telemetry::register(ingest.clone());
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<IngestServiceServer<Ingest>>().await;
    health.set_serving::<ChangeFeedServiceServer<Feed>>().await;
    tokio::spawn(report_write_health(
        ingest.committer.health(),
        health.clone(),
        shutdown.clone(),
    ));
    let (reflection, reflection_v1alpha) = sectorwire_runtime::reflection(
        sectorwire_proto::FILE_DESCRIPTOR_SET,
        &[
            <IngestServiceServer<Ingest> as tonic::server::NamedService>::NAME,
            <ChangeFeedServiceServer<Feed> as tonic::server::NamedService>::NAME,
            <IngestAdminServiceServer<Admin> as tonic::server::NamedService>::NAME,
        ],
    )?;
    let admin = Admin::new(ingest.committer.clone(), config.backup_root.clone());

    let max = config.max_message_bytes;
    tracing::info!(addr = %local, data_dir = %config.data_dir.display(), head = store.head(), log_id = %store.log_id(), security = serving.describe(), "ingest service listening");
    let result = serving
        .builder(crate::telemetry::rpc_layer())
        .layer(sectorwire_proto::status::ShedLayer::new(
            serving.concurrency(),
            admission::RETRY_AFTER,
        ))
        .layer(sectorwire_proto::status::TransportStatusLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(
            IngestServiceServer::new(ingest.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(ChangeFeedServiceServer::new(feed.clone()).max_encoding_message_size(max))
        .add_service(IngestAdminServiceServer::new(admin))
        .serve_with_incoming_shutdown(serving.incoming(listener), {
            let shutdown = shutdown.clone();
            let health = health.clone();
            async move {
                shutdown.cancelled().await;
                health.set_not_serving::<IngestServiceServer<Ingest>>().await;
            }
        })
        .await;
    feed_shutdown.cancel();
    feed.wait_stopped().await;
    ingest.committer.stop().await;
    drop(metrics_hook);
    drop(ingest);
    drop(feed);
    // The committer thread drains its queue, flushes and exits once the last
    // handle is gone.
    tokio::task::spawn_blocking(move || committer_thread.join())
        .await
        .map_err(std::io::Error::other)?
        .map_err(|_| std::io::Error::other("committer thread panicked"))?;
    store.flush().map_err(|source| ServeError::Store {
        dir: config.data_dir.clone(),
        source,
    })?;
    tracing::info!(addr = %local, "ingest service stopped");
    result.map_err(ServeError::from)
}
