//! The read side as a transport-independent service: validated plans in,
//! response messages out. The gRPC handlers in [`server`](crate::server)
//! only decode, call this and encode.
//!
//! Every sled and tantivy call runs on tokio's blocking pool behind one of
//! two [`Lane`]s, never on the async workers: point reads (`GetArticle`,
//! `BatchGetArticles`) have a lane of their own so they stay fast while
//! expensive reads (search, listings, facets, timelines, country pairs)
//! queue in theirs, and are shed with RESOURCE_EXHAUSTED once too many wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sectorwire_domain::Sector;
use sectorwire_proto::article::{Article, SectorInfo};
use sectorwire_proto::outbox;
use sectorwire_proto::query::{
    BatchGetArticlesResponse, CountArticlesResponse, Facet, FacetCount, GetCountryPairResponse,
    ListArticlesResponse, SearchArticlesResponse, SearchHit, SectorSeries, TimelinePoint,
    WatchArticlesResponse,
};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::error::QueryError;
use crate::filter::Filter;
use crate::index::ListOrder;
use crate::model::ReadModel;
use crate::page_token::PageToken;
use crate::requests::{CountPlan, ListPlan, PairPlan, SearchPlan, TimelinePlan};
use crate::{pair, timeline, view};

/// Most articles `GetCountryPair` examines (the most recent ones).
const MAX_PAIR_ARTICLES: usize = 5000;
/// Articles fetched per step of a watch stream.
const WATCH_STEP: usize = 256;
/// Encoded bytes of articles one watch step loads at most (one larger
/// article still goes alone): a stalled watcher holds one step beside its
/// outbox, and 256 records of up to 4 MiB each made that a gigabyte.
pub const WATCH_STEP_BYTES: usize = 1024 * 1024;

/// A bounded share of the blocking pool: at most `permits` calls run at
/// once, at most `max_waiting` more wait; beyond that calls are shed.
pub struct Lane {
    name: &'static str,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Lane {
    /// A lane running `permits` calls at once with `max_waiting` queued.
    pub fn new(name: &'static str, permits: usize, max_waiting: usize) -> Self {
        Lane {
            name,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `work` on the blocking pool, or sheds it when the queue is full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, QueryError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, QueryError> + Send + 'static,
    {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(QueryError::Overloaded(self.name));
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.map_err(|_| QueryError::ShuttingDown)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| QueryError::ShuttingDown)?
    }
}

/// How many reads run at once, by kind.
#[derive(Debug, Clone, Copy)]
pub struct ReaderLimits {
    /// Concurrent point reads.
    pub point_reads: usize,
    /// Concurrent expensive reads.
    pub heavy_reads: usize,
    /// Expensive reads allowed to wait for a slot before more are shed.
    pub heavy_queue: usize,
    /// Most encoded article bytes in one list or search page.
    pub page_bytes: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ReaderLimits {
            point_reads: cores * 4,
            heavy_reads: cores,
            heavy_queue: 256,
            page_bytes: crate::server::DEFAULT_PAGE_BYTES,
        }
    }
}

/// Answers reads from one replica's read model.
pub struct Reader {
    model: Arc<ReadModel>,
    point: Lane,
    heavy: Lane,
    page_bytes: usize,
}

impl Reader {
    /// A reader over `model`.
    pub fn new(model: Arc<ReadModel>, limits: ReaderLimits) -> Self {
        Reader {
            model,
            point: Lane::new("point read", limits.point_reads, limits.point_reads * 64),
            heavy: Lane::new("search and listing", limits.heavy_reads, limits.heavy_queue),
            page_bytes: limits.page_bytes.max(1),
        }
    }

    /// The model's applied sequence.
    pub fn applied(&self) -> u64 {
        self.model.applied()
    }

    /// Id of the change log the model was built from.
    pub fn log_id(&self) -> Result<Option<String>, crate::model::ModelError> {
        self.model.log_id()
    }

    /// Articles in the model.
    pub fn len(&self) -> u64 {
        self.model.len()
    }

    /// Whether the model holds no article.
    pub fn is_empty(&self) -> bool {
        self.model.is_empty()
    }

    /// Waits until the model has applied `wanted`, at most `wait`; returns
    /// the applied sequence (read-your-writes).
    pub async fn wait_for(&self, wanted: u64, wait: Duration) -> Result<u64, QueryError> {
        let mut applied = self.model.subscribe_applied();
        let now = *applied.borrow();
        if now >= wanted {
            return Ok(now);
        }
        let reached = tokio::time::timeout(wait, applied.wait_for(|s| *s >= wanted))
            .await
            .ok()
            .and_then(|r| r.ok().map(|seq| *seq));
        reached.ok_or_else(|| QueryError::Behind {
            applied: self.model.applied(),
            wanted,
        })
    }

    /// One article.
    pub async fn get(&self, id: String) -> Result<Article, QueryError> {
        let model = self.model.clone();
        self.point
            .run(move || model.get(&id)?.ok_or(QueryError::NotFound(id)))
            .await
    }

    /// Several articles; ids not in the replica are listed as missing.
    pub async fn batch_get(&self, ids: Vec<String>) -> Result<BatchGetArticlesResponse, QueryError> {
        let model = self.model.clone();
        let budget = self.page_bytes;
        self.point
            .run(move || {
                let mut response = BatchGetArticlesResponse::default();
                let mut bytes = 0;
                for id in ids {
                    match model.get(&id)? {
                        Some(article) => {
                            bytes += article.encoded_len();
                            if bytes > budget && !response.articles.is_empty() {
                                return Err(QueryError::field(
                                    "ids",
                                    format!(
                                        "the articles named exceed the {budget}-byte response budget; ask for fewer"
                                    ),
                                ));
                            }
                            response.articles.push(article);
                        }
                        None => response.missing_ids.push(id),
                    }
                }
                Ok(response)
            })
            .await
    }

    /// One page of a listing.
    pub async fn list(&self, plan: ListPlan) -> Result<ListArticlesResponse, QueryError> {
        let model = self.model.clone();
        let budget = self.page_bytes;
        self.heavy
            .run(move || {
                // One extra to know whether another page exists.
                let mut page = model
                    .index()
                    .list(&plan.filter, plan.order, plan.after, plan.size + 1)?;
                let mut more = page.len() > plan.size;
                page.truncate(plan.size);
                let mut articles = Vec::with_capacity(page.len());
                let mut bytes = 0;
                let mut last_key = None;
                for (key, id) in page {
                    if let Some(mut article) = model.get(&id)? {
                        view::apply(&mut article, plan.view);
                        let len = article.encoded_len();
                        // The page ends before the record that would pass the
                        // budget; one record alone is always served.
                        if !articles.is_empty() && bytes + len > budget {
                            more = true;
                            break;
                        }
                        bytes += len;
                        articles.push(article);
                    }
                    last_key = Some(key);
                }
                let next_page_token = match (more, last_key) {
                    (true, Some(key)) => PageToken {
                        position: key,
                        request_digest: plan.digest,
                    }
                    .encode(),
                    _ => String::new(),
                };
                Ok(ListArticlesResponse {
                    articles,
                    next_page_token,
                    applied_sequence: 0,
                })
            })
            .await
    }

    /// One page of ranked search results with highlighted snippets.
    pub async fn search(&self, plan: SearchPlan) -> Result<SearchArticlesResponse, QueryError> {
        let model = self.model.clone();
        let budget = self.page_bytes;
        self.heavy
            .run(move || {
                let page = model
                    .index()
                    .search(&plan.query, &plan.filter, plan.offset, plan.size)?;
                let mut full = page.hits.len() == plan.size;
                let mut consumed = 0;
                let mut bytes = 0;
                let mut hits = Vec::with_capacity(page.hits.len());
                for (score, id) in page.hits {
                    if let Some(mut article) = model.get(&id)? {
                        let snippet = page.snippets.html(&article.body);
                        view::apply(&mut article, plan.view);
                        let hit = SearchHit {
                            article: Some(article),
                            score,
                            snippet,
                        };
                        let len = hit.encoded_len();
                        // Ends before the hit that would pass the budget.
                        if !hits.is_empty() && bytes + len > budget {
                            full = true;
                            break;
                        }
                        bytes += len;
                        hits.push(hit);
                    }
                    consumed += 1;
                }
                let next = plan.offset + consumed;
                let next_page_token = if (next as u64) < page.total && full {
                    PageToken {
                        position: next as u64,
                        request_digest: plan.digest,
                    }
                    .encode()
                } else {
                    String::new()
                };
                Ok(SearchArticlesResponse {
                    hits,
                    next_page_token,
                    total_hits: page.total,
                    applied_sequence: 0,
                })
            })
            .await
    }

    /// Matching articles and the top values of each facet.
    pub async fn count(&self, plan: CountPlan) -> Result<CountArticlesResponse, QueryError> {
        let model = self.model.clone();
        self.heavy
            .run(move || {
                let (total, counts) = model.index().count(&plan.filter, &plan.facets, plan.limit)?;
                Ok(CountArticlesResponse {
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
                    applied_sequence: 0,
                })
            })
            .await
    }

    /// Article counts per sector per bucket.
    pub async fn timeline(&self, plan: TimelinePlan) -> Result<Vec<SectorSeries>, QueryError> {
        let model = self.model.clone();
        self.heavy
            .run(move || series(&model, &plan.filter, plan.bucket))
            .await
    }

    /// What two countries relate on: sectors with evidence, recent
    /// articles and a timeline.
    pub async fn country_pair(&self, plan: PairPlan) -> Result<GetCountryPairResponse, QueryError> {
        let model = self.model.clone();
        self.heavy
            .run(move || {
                let recent =
                    model
                        .index()
                        .list(&plan.filter, ListOrder::PublishedDesc, None, MAX_PAIR_ARTICLES)?;
                let mut records = Vec::with_capacity(recent.len());
                for (_, id) in &recent {
                    if let Some(article) = model.get(id)? {
                        records.push(article);
                    }
                }
                let (total, _) = model.index().count(&plan.filter, &[], 0)?;
                let mut sectors = pair::summarize(&plan.a, &plan.b, &records, plan.max_evidence);
                // As in the timeline: asked about some sectors, answer about those.
                if !plan.filter.sectors.is_empty() {
                    sectors.retain(|s| plan.filter.sectors.contains(&s.sector));
                }
                let timeline = series(&model, &plan.filter, plan.bucket)?;
                let examined = records.len() as u64;
                records.truncate(plan.max_articles);
                Ok(GetCountryPairResponse {
                    a: plan.a,
                    b: plan.b,
                    article_count: total,
                    sectors,
                    articles: records,
                    timeline,
                    articles_examined: examined,
                    applied_sequence: 0,
                })
            })
            .await
    }

    /// The sector taxonomy.
    pub fn sectors() -> Vec<SectorInfo> {
        Sector::ALL
            .iter()
            .map(|s| SectorInfo {
                slug: s.slug().into(),
                label: s.label().into(),
                description: s.description().into(),
                iptc_media_topic: s.iptc_media_topic().into(),
            })
            .collect()
    }

    /// Streams articles matching `filter` applied after sequence `after`,
    /// into `tx`, until the receiver goes away or `shutdown` fires. Each step
    /// reads on the expensive-read lane, waiting for a slot when it is busy.
    pub async fn watch(
        self: Arc<Self>,
        filter: Filter,
        mut after: u64,
        mut tx: outbox::Sender<WatchArticlesResponse>,
        shutdown: CancellationToken,
    ) {
        let mut applied = self.model.subscribe_applied();
        let mut seen = 0;
        loop {
            let now = *applied.borrow_and_update();
            if now < seen {
                // The model was rebuilt from a new change log: positions of
                // the old one mean nothing there.
                tx.fail(QueryError::LogReplaced { seen, now }.into());
                return;
            }
            seen = now;
            let model = self.model.clone();
            let step_filter = filter.clone();
            let step = self
                .heavy
                .run(move || watch_step(&model, &step_filter, after, WATCH_STEP_BYTES))
                .await;
            let (items, last, full) = match step {
                Ok(step) => step,
                // Busy: try again shortly rather than ending the stream.
                Err(QueryError::Overloaded(_)) => {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
                Err(e) => {
                    tx.fail(e.into());
                    return;
                }
            };
            for item in items {
                let sequence = item.sequence;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    sent = tx.send(Ok(item), sequence) => if sent.is_err() { return },
                }
            }
            after = last;
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                changed = applied.changed() => if changed.is_err() { return },
            }
        }
    }
}

/// One step of a watch stream: the articles matching `filter` applied after
/// `after`, in log order, up to [`WATCH_STEP`] of them and `max_bytes` of
/// encoded records (at least one). Returns them, the sequence to continue
/// after, and whether more may follow at once.
pub fn watch_step(
    model: &ReadModel,
    filter: &Filter,
    after: u64,
    max_bytes: usize,
) -> Result<(Vec<WatchArticlesResponse>, u64, bool), QueryError> {
    let page = model
        .index()
        .list(filter, ListOrder::IngestedAsc, Some(after), WATCH_STEP)?;
    let mut full = page.len() == WATCH_STEP;
    let mut items = Vec::with_capacity(page.len());
    let (mut last, mut bytes) = (after, 0usize);
    for (sequence, id) in page {
        if bytes >= max_bytes {
            full = true;
            break;
        }
        if let Some(article) = model.get(&id)? {
            if article.sequence == sequence {
                bytes += article.encoded_len();
                items.push(WatchArticlesResponse {
                    article: Some(article),
                    sequence,
                });
            }
        }
        last = sequence;
    }
    Ok((items, last, full))
}

/// Per-sector timelines. A sector filter selects articles, and an article
/// has several tags: without narrowing, every other tag of the matching
/// articles would come back too. So when sectors are requested, exactly
/// those come back, in request order (empty when nothing is dated);
/// otherwise every sector with a dated article.
fn series(
    model: &ReadModel,
    filter: &Filter,
    bucket: sectorwire_proto::query::TimeBucket,
) -> Result<Vec<SectorSeries>, QueryError> {
    let mut days = model.index().sector_days(filter)?;
    let fold = |sector: String, days: &std::collections::BTreeMap<i64, u64>| SectorSeries {
        sector,
        points: timeline::fold(days, bucket)
            .into_iter()
            .map(|(start, count)| TimelinePoint {
                start: Some(sectorwire_proto::timestamp(start)),
                count,
            })
            .collect(),
    };
    if filter.sectors.is_empty() {
        return Ok(days
            .iter()
            .filter(|(_, days)| !days.is_empty())
            .map(|(sector, days)| fold(sector.clone(), days))
            .collect());
    }
    let mut out: Vec<SectorSeries> = Vec::with_capacity(filter.sectors.len());
    for sector in &filter.sectors {
        if out.iter().any(|s| &s.sector == sector) {
            continue;
        }
        let days = days.remove(sector).unwrap_or_default();
        out.push(fold(sector.clone(), &days));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sectorwire_proto::article::{ChangeEvent, ChangeKind};

    fn event(sequence: u64, body_bytes: usize) -> ChangeEvent {
        let article = Article {
            id: format!("a{sequence}"),
            title: format!("Article {sequence}"),
            body: "w".repeat(body_bytes),
            sequence,
            ..Default::default()
        };
        ChangeEvent {
            sequence,
            kind: ChangeKind::Upsert as i32,
            article_id: article.id.clone(),
            article: Some(article),
            ..Default::default()
        }
    }

    /// A step stops loading once it holds `max_bytes` of records, and the
    /// next step goes on from there: a stalled watcher no longer holds up to
    /// 256 records (a gigabyte of 4 MiB ones) beside its outbox.
    #[test]
    fn watch_steps_are_bounded_in_bytes_and_lose_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = ReadModel::open(dir.path()).expect("model");
        let events: Vec<ChangeEvent> = (1..=10).map(|s| event(s, 300_000)).collect();
        model.apply(&events).expect("applied");
        let filter = Filter::default();
        let (mut after, mut seen, mut steps) = (0, Vec::new(), 0);
        loop {
            let (items, last, full) = watch_step(&model, &filter, after, 1024 * 1024).expect("step");
            let bytes: usize = items
                .iter()
                .map(|i| i.article.as_ref().map_or(0, Message::encoded_len))
                .sum();
            assert!(items.len() <= 4, "{} records in one step", items.len());
            assert!(bytes < 1024 * 1024 + 310_000, "{bytes} bytes in one step");
            seen.extend(items.iter().map(|i| i.sequence));
            after = last;
            steps += 1;
            if !full {
                break;
            }
        }
        assert_eq!(seen, (1..=10).collect::<Vec<u64>>());
        assert!(steps >= 3, "{steps} steps");
        // A record larger than the budget still goes, alone.
        let (items, _, _) = watch_step(&model, &filter, 0, 1).expect("step");
        assert_eq!(items.len(), 1);
    }

    /// Found by `bench/fuzz.sh` (the `search` target): queries tantivy
    /// parses but cannot run are the caller's to fix, never INTERNAL.
    #[test]
    fn unrunnable_queries_are_refused_as_invalid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = ReadModel::open(dir.path()).expect("model");
        model.apply(&[event(1, 100)]).expect("applied");
        let reader = Reader::new(Arc::new(model), ReaderLimits::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for query in ["bod :*", "body:*", ":*", "title:* w"] {
            let request = sectorwire_proto::query::SearchArticlesRequest {
                query: query.into(),
                ..Default::default()
            };
            let Ok(plan) = crate::requests::search(&request) else {
                continue;
            };
            if let Err(error) = runtime.block_on(reader.search(plan)) {
                let detail = format!("{error:?}");
                let status = tonic::Status::from(error);
                assert_eq!(status.code(), tonic::Code::InvalidArgument, "{query:?}: {detail}");
            }
        }
    }
}
