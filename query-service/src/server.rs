//! The gRPC surface of the query service: thin handlers that validate
//! requests, wait for read-your-writes, and answer from the read model.
//! [`serve`] runs the follower and the server together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sectorwire_domain::Sector;
use sectorwire_proto::article::SectorInfo;
use sectorwire_proto::query::{
    query_service_server::{QueryService, QueryServiceServer},
    ArticleOrder, BatchGetArticlesRequest, BatchGetArticlesResponse, Consistency, CountArticlesRequest,
    CountArticlesResponse, Facet, FacetCount, GetArticleRequest, GetArticleResponse, GetCountryPairRequest,
    GetCountryPairResponse, GetQueryStatsRequest, ListArticlesRequest, ListArticlesResponse,
    ListSectorsRequest, ListSectorsResponse, QueryStats, SearchArticlesRequest, SearchArticlesResponse,
    SearchHit, SectorSeries, SectorTimelineRequest, SectorTimelineResponse, TimeBucket, TimelinePoint,
    WatchArticlesRequest, WatchArticlesResponse,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::filter::{self, Violation};
use crate::follow::{self, FollowState};
use crate::index::{self, IndexError, ListOrder};
use crate::model::{ModelError, ReadModel};
use crate::page_token::{self, PageToken};
use crate::{pair, timeline, view};

/// Most articles `GetCountryPair` examines (the most recent ones).
const MAX_PAIR_ARTICLES: usize = 5000;
/// Articles fetched per step of a watch stream.
const WATCH_STEP: usize = 256;

/// Largest page of `ListArticles`.
pub const MAX_LIST_PAGE: usize = 200;
/// Largest page of `SearchArticles`.
pub const MAX_SEARCH_PAGE: usize = 100;
/// Deepest hit `SearchArticles` pages to (ranked results past this are noise).
pub const MAX_SEARCH_OFFSET: usize = 10_000;
/// Most ids in one `BatchGetArticles`.
pub const MAX_BATCH_GET: usize = 1000;
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
    /// Concurrent requests per connection before shedding.
    #[arg(
        long = "query-concurrency",
        env = "SECTORWIRE_QUERY_CONCURRENCY",
        default_value_t = 1024
    )]
    pub max_concurrent_requests: usize,
}

impl QueryConfig {
    /// Defaults with the given address, data directory and ingest address.
    pub fn new(listen: SocketAddr, data_dir: PathBuf, ingest_addr: String) -> Self {
        QueryConfig {
            listen,
            data_dir,
            ingest_addr,
            max_concurrent_requests: 1024,
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

/// The `QueryService` implementation.
#[derive(Clone)]
pub struct Query {
    model: Arc<ReadModel>,
    follow: Arc<FollowState>,
    shutdown: CancellationToken,
}

fn invalid(message: impl Into<String>, violations: &[Violation]) -> Status {
    sectorwire_proto::status::invalid_argument(message, violations)
}

fn invalid_field(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    invalid(
        format!("{field}: {description}"),
        &[Violation::new(field, description)],
    )
}

fn model_status(error: ModelError) -> Status {
    Status::internal(error.to_string())
}

fn index_status(error: IndexError) -> Status {
    match error {
        IndexError::Query(message) => invalid_field("query", message),
        other => Status::internal(other.to_string()),
    }
}

fn validate_filter(
    filter: Option<&sectorwire_proto::query::ArticleFilter>,
) -> Result<filter::Filter, Status> {
    filter::validate(filter).map_err(|v| invalid("invalid filter", &v))
}

fn page_size(requested: i32, default: usize, max: usize, field: &str) -> Result<usize, Status> {
    match requested {
        n if n < 0 => Err(invalid_field(field, "must not be negative")),
        0 => Ok(default),
        n => Ok((n as usize).min(max)),
    }
}

fn parse_id(raw: &str, field: &str) -> Result<String, Status> {
    sectorwire_proto::status::article_id(raw, field)
}

impl Query {
    fn series(&self, filter: &filter::Filter, bucket: TimeBucket) -> Result<Vec<SectorSeries>, Status> {
        let days = self.model.index().sector_days(filter).map_err(index_status)?;
        Ok(days
            .into_iter()
            .map(|(sector, days)| SectorSeries {
                sector,
                points: timeline::fold(&days, bucket)
                    .into_iter()
                    .map(|(start, count)| TimelinePoint {
                        start: Some(sectorwire_proto::timestamp(start)),
                        count,
                    })
                    .collect(),
            })
            .collect())
    }

    /// Waits until the model has applied `consistency.min_sequence`, bounded
    /// by the call's deadline; returns the applied sequence.
    async fn settle<T>(
        &self,
        request: &Request<T>,
        consistency: Option<&Consistency>,
    ) -> Result<u64, Status> {
        let wanted = consistency.map_or(0, |c| c.min_sequence);
        let mut applied = self.model.subscribe_applied();
        if *applied.borrow() >= wanted {
            return Ok(*applied.borrow());
        }
        let wait = deadline_of(request).unwrap_or(DEFAULT_CONSISTENCY_WAIT);
        let reached = tokio::time::timeout(wait, applied.wait_for(|s| *s >= wanted)).await;
        match reached {
            Ok(Ok(seq)) => Ok(*seq),
            _ => Err(Status::unavailable(format!(
                "replica has applied sequence {} and did not reach min_sequence {wanted} in time",
                self.model.applied()
            ))),
        }
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
    async fn get_article(
        &self,
        request: Request<GetArticleRequest>,
    ) -> Result<Response<GetArticleResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let article = self
            .model
            .get(&id)
            .map_err(model_status)?
            .ok_or_else(|| Status::not_found(format!("article {id} not found")))?;
        Ok(Response::new(GetArticleResponse {
            article: Some(article),
            applied_sequence: applied,
        }))
    }

    async fn batch_get_articles(
        &self,
        request: Request<BatchGetArticlesRequest>,
    ) -> Result<Response<BatchGetArticlesResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let ids = &request.get_ref().ids;
        if ids.len() > MAX_BATCH_GET {
            return Err(invalid_field(
                "ids",
                format!("at most {MAX_BATCH_GET} ids per call"),
            ));
        }
        let mut articles = Vec::new();
        let mut missing_ids = Vec::new();
        for (i, raw) in ids.iter().enumerate() {
            let id = parse_id(raw, &format!("ids[{i}]"))?;
            match self.model.get(&id).map_err(model_status)? {
                Some(article) => articles.push(article),
                None => missing_ids.push(id),
            }
        }
        Ok(Response::new(BatchGetArticlesResponse {
            articles,
            missing_ids,
            applied_sequence: applied,
        }))
    }

    async fn list_articles(
        &self,
        request: Request<ListArticlesRequest>,
    ) -> Result<Response<ListArticlesResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let r = request.get_ref();
        let filter = validate_filter(r.filter.as_ref())?;
        let size = page_size(r.page_size, 20, MAX_LIST_PAGE, "page_size")?;
        let order = match ArticleOrder::try_from(r.order_by) {
            Ok(ArticleOrder::Unspecified | ArticleOrder::PublishedDesc) => ListOrder::PublishedDesc,
            Ok(ArticleOrder::PublishedAsc) => ListOrder::PublishedAsc,
            Ok(ArticleOrder::IngestedDesc) => ListOrder::IngestedDesc,
            Err(_) => return Err(invalid_field("order_by", format!("unknown order {}", r.order_by))),
        };
        let view = view::parse(r.view).map_err(|e| invalid_field("view", e))?;
        let digest = page_token::digest(&[&format!("{filter:?}"), &format!("{order:?}")]);
        let after = PageToken::decode(&r.page_token, digest)
            .map_err(|e| invalid_field("page_token", e.to_string()))?
            .map(|t| t.position);
        // One extra to know whether another page exists.
        let mut page = self
            .model
            .index()
            .list(&filter, order, after, size + 1)
            .map_err(index_status)?;
        let more = page.len() > size;
        page.truncate(size);
        let next_page_token = match (more, page.last()) {
            (true, Some((key, _))) => PageToken {
                position: *key,
                request_digest: digest,
            }
            .encode(),
            _ => String::new(),
        };
        let mut articles = Vec::with_capacity(page.len());
        for (_, id) in page {
            if let Some(mut article) = self.model.get(&id).map_err(model_status)? {
                view::apply(&mut article, view);
                articles.push(article);
            }
        }
        Ok(Response::new(ListArticlesResponse {
            articles,
            next_page_token,
            applied_sequence: applied,
        }))
    }

    async fn search_articles(
        &self,
        request: Request<SearchArticlesRequest>,
    ) -> Result<Response<SearchArticlesResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let r = request.get_ref();
        if r.query.trim().is_empty() {
            return Err(invalid_field("query", "must not be empty"));
        }
        if r.query.len() > 2048 {
            return Err(invalid_field("query", "at most 2048 bytes"));
        }
        let filter = validate_filter(r.filter.as_ref())?;
        let size = page_size(r.page_size, 10, MAX_SEARCH_PAGE, "page_size")?;
        let view = view::parse(r.view).map_err(|e| invalid_field("view", e))?;
        let digest = page_token::digest(&[&r.query, &format!("{filter:?}")]);
        let offset = PageToken::decode(&r.page_token, digest)
            .map_err(|e| invalid_field("page_token", e.to_string()))?
            .map_or(0, |t| t.position as usize);
        if offset > MAX_SEARCH_OFFSET {
            return Err(invalid_field(
                "page_token",
                format!("results past {MAX_SEARCH_OFFSET} are not served"),
            ));
        }
        let page = self
            .model
            .index()
            .search(&r.query, &filter, offset, size)
            .map_err(index_status)?;
        let next = offset + page.hits.len();
        let next_page_token = if (next as u64) < page.total && page.hits.len() == size {
            PageToken {
                position: next as u64,
                request_digest: digest,
            }
            .encode()
        } else {
            String::new()
        };
        let mut out = Vec::with_capacity(page.hits.len());
        for (score, id) in page.hits {
            if let Some(mut article) = self.model.get(&id).map_err(model_status)? {
                let snippet = page.snippets.html(&article.body);
                view::apply(&mut article, view);
                out.push(SearchHit {
                    article: Some(article),
                    score,
                    snippet,
                });
            }
        }
        let total = page.total;
        Ok(Response::new(SearchArticlesResponse {
            hits: out,
            next_page_token,
            total_hits: total,
            applied_sequence: applied,
        }))
    }

    async fn count_articles(
        &self,
        request: Request<CountArticlesRequest>,
    ) -> Result<Response<CountArticlesResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let r = request.get_ref();
        let filter = validate_filter(r.filter.as_ref())?;
        let limit = page_size(r.limit, 10, 1000, "limit")?;
        let mut facets = Vec::new();
        for (i, name) in r.facets.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            if !index::is_facet(&name) {
                return Err(invalid_field(
                    &format!("facets[{i}]"),
                    format!(
                        "unknown facet {name:?}; use sector, country, entity, outlet, author or language"
                    ),
                ));
            }
            facets.push(name);
        }
        if facets.is_empty() {
            facets = ["sector", "country", "entity", "outlet", "author", "language"]
                .map(String::from)
                .to_vec();
        }
        let (total, counts) = self
            .model
            .index()
            .count(&filter, &facets, limit)
            .map_err(index_status)?;
        Ok(Response::new(CountArticlesResponse {
            total,
            facets: counts
                .into_iter()
                .map(|values| Facet {
                    name: values.facet,
                    counts: values
                        .counts
                        .into_iter()
                        .map(|(value, count)| FacetCount { value, count })
                        .collect(),
                })
                .collect(),
            applied_sequence: applied,
        }))
    }

    async fn sector_timeline(
        &self,
        request: Request<SectorTimelineRequest>,
    ) -> Result<Response<SectorTimelineResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let r = request.get_ref();
        let filter = validate_filter(r.filter.as_ref())?;
        let bucket = TimeBucket::try_from(r.bucket).map_err(|_| invalid_field("bucket", "unknown bucket"))?;
        let series = self.series(&filter, bucket)?;
        Ok(Response::new(SectorTimelineResponse {
            series,
            applied_sequence: applied,
        }))
    }

    async fn get_country_pair(
        &self,
        request: Request<GetCountryPairRequest>,
    ) -> Result<Response<GetCountryPairResponse>, Status> {
        let applied = self
            .settle(&request, request.get_ref().consistency.as_ref())
            .await?;
        let r = request.get_ref();
        let mut wire_filter = r.filter.clone().unwrap_or_default();
        if !wire_filter.country_pair.is_empty() {
            return Err(invalid_field(
                "filter.country_pair",
                "must be empty: the pair is country_a and country_b",
            ));
        }
        wire_filter.country_pair = vec![r.country_a.clone(), r.country_b.clone()];
        let filter = filter::validate(Some(&wire_filter)).map_err(|violations| {
            let renamed: Vec<Violation> = violations
                .into_iter()
                .map(|v| match v.field.as_str() {
                    "filter.country_pair" => Violation::new(
                        "country_a",
                        "country_a and country_b must be two different ISO 3166-1 alpha-2 codes",
                    ),
                    _ => v,
                })
                .collect();
            invalid("invalid request", &renamed)
        })?;
        let bucket = TimeBucket::try_from(r.bucket).map_err(|_| invalid_field("bucket", "unknown bucket"))?;
        let max_articles = page_size(r.max_articles, 10, 100, "max_articles")?;
        let max_evidence = page_size(r.max_evidence, 3, 20, "max_evidence")?;
        let key = filter.country_pair.clone().unwrap_or_default();
        let (a, b) = key.split_once('-').unwrap_or_default();
        let (a, b) = (a.to_string(), b.to_string());
        let recent = self
            .model
            .index()
            .list(&filter, ListOrder::PublishedDesc, None, MAX_PAIR_ARTICLES)
            .map_err(index_status)?;
        let mut records = Vec::with_capacity(recent.len());
        for (_, id) in &recent {
            if let Some(article) = self.model.get(id).map_err(model_status)? {
                records.push(article);
            }
        }
        let (total, _) = self.model.index().count(&filter, &[], 0).map_err(index_status)?;
        let sectors = pair::summarize(&a, &b, &records, max_evidence);
        let timeline = self.series(&filter, bucket)?;
        let examined = records.len() as u64;
        records.truncate(max_articles);
        Ok(Response::new(GetCountryPairResponse {
            a,
            b,
            article_count: total,
            sectors,
            articles: records,
            timeline,
            articles_examined: examined,
            applied_sequence: applied,
        }))
    }

    type WatchArticlesStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<WatchArticlesResponse, Status>> + Send>>;

    async fn watch_articles(
        &self,
        request: Request<WatchArticlesRequest>,
    ) -> Result<Response<Self::WatchArticlesStream>, Status> {
        let r = request.into_inner();
        let filter = validate_filter(r.filter.as_ref())?;
        let model = self.model.clone();
        let mut last = r.after_sequence.unwrap_or_else(|| model.applied());
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_STEP);
        tokio::spawn(async move {
            let mut applied = model.subscribe_applied();
            loop {
                applied.borrow_and_update();
                let page = match model
                    .index()
                    .list(&filter, ListOrder::IngestedAsc, Some(last), WATCH_STEP)
                {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(index_status(e))).await;
                        return;
                    }
                };
                let full = page.len() == WATCH_STEP;
                for (sequence, id) in page {
                    match model.get(&id) {
                        Ok(Some(article)) if article.sequence == sequence => {
                            let item = WatchArticlesResponse {
                                article: Some(article),
                                sequence,
                            };
                            if tx.send(Ok(item)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = tx.send(Err(model_status(e))).await;
                            return;
                        }
                    }
                    last = sequence;
                }
                if full {
                    continue;
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tx.closed() => return,
                    changed = applied.changed() => if changed.is_err() { return },
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn list_sectors(
        &self,
        _request: Request<ListSectorsRequest>,
    ) -> Result<Response<ListSectorsResponse>, Status> {
        Ok(Response::new(ListSectorsResponse {
            sectors: Sector::ALL
                .iter()
                .map(|s| SectorInfo {
                    slug: s.slug().into(),
                    label: s.label().into(),
                    description: s.description().into(),
                    iptc_media_topic: s.iptc_media_topic().into(),
                })
                .collect(),
        }))
    }

    async fn get_query_stats(
        &self,
        _request: Request<GetQueryStatsRequest>,
    ) -> Result<Response<QueryStats>, Status> {
        let applied = self.model.applied();
        let head = self.follow.head.load(Ordering::Relaxed).max(applied);
        Ok(Response::new(QueryStats {
            applied_sequence: applied,
            head_sequence: head,
            lag: head - applied,
            articles: self.model.len(),
            connected: self.follow.connected.load(Ordering::Relaxed),
        }))
    }
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
        model: model.clone(),
        follow: state,
        shutdown: shutdown.clone(),
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<QueryServiceServer<Query>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sectorwire_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, data_dir = %config.data_dir.display(), applied = model.applied(), follow = %config.ingest_addr, "query service listening");
    let result = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(config.max_concurrent_requests)
        .load_shed(true)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(QueryServiceServer::new(query).max_encoding_message_size(64 * 1024 * 1024))
        .serve_with_incoming_shutdown(sectorwire_runtime::incoming(listener), shutdown.cancelled_owned())
        .await;
    let _ = follower.await;
    if let Err(e) = model.flush() {
        tracing::warn!(error = %e, "flushing the read model on shutdown (it resumes from the log)");
    }
    drop(model);
    tracing::info!(addr = %local, "query service stopped");
    result.map_err(ServeError::from)
}
