//! `ChangeFeedService.Subscribe`: each subscriber gets its own task that reads
//! the log tree at its own pace (backlog first, then live events), so a slow
//! or dead subscriber never blocks writers. Writers only bump a `watch` of the
//! log head; idle streams wait on it and send heartbeats. Every message
//! names the log (its id) and its durable head, so a follower can tell a
//! replaced log from its own and how far behind it is.
//!
//! Memory is bounded: at most [`FeedConfig::max_subscribers`] streams (more
//! are refused with RESOURCE_EXHAUSTED and a retry hint), each buffering at
//! most [`FeedConfig::buffer_bytes`]. A subscriber that does not drain its
//! buffer within [`FeedConfig::slow_timeout`] is disconnected with
//! RESOURCE_EXHAUSTED, delivered ahead of what was buffered, and resumes by
//! sequence.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sectorwire_proto::article::{ChangeEvent, ChangeKind};
use sectorwire_proto::ingest::{
    change_feed_service_server::ChangeFeedService, subscribe_response, Heartbeat, SubscribeRequest,
    SubscribeResponse,
};
use sectorwire_proto::outbox;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::error::IngestError;
use crate::store::{Store, StoreError};

/// Tuning of the change feed.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Events read from the log per step.
    pub read_batch: usize,
    /// Messages buffered per subscriber.
    pub buffer: usize,
    /// Encoded bytes buffered per subscriber (a larger record goes alone).
    pub buffer_bytes: usize,
    /// Subscribers served at once.
    pub max_subscribers: usize,
    /// Default idle time between heartbeats.
    pub heartbeat: Duration,
    /// How long a full subscriber buffer may stay full before disconnecting.
    pub slow_timeout: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            read_batch: 256,
            buffer: 512,
            buffer_bytes: 2 * 1024 * 1024,
            max_subscribers: 64,
            heartbeat: Duration::from_secs(5),
            slow_timeout: Duration::from_secs(30),
        }
    }
}

/// The change feed service.
#[derive(Clone)]
pub struct Feed {
    store: Arc<dyn Store>,
    head: watch::Receiver<u64>,
    config: FeedConfig,
    subscribers: Arc<AtomicU32>,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Feed {
    /// A feed over `store`, woken by `head`; streams end when `shutdown` fires.
    pub fn new(
        store: Arc<dyn Store>,
        head: watch::Receiver<u64>,
        config: FeedConfig,
        shutdown: CancellationToken,
    ) -> Self {
        Feed {
            store,
            head,
            subscribers: Arc::new(AtomicU32::new(0)),
            slots: Arc::new(Semaphore::new(config.max_subscribers.max(1))),
            config,
            shutdown,
            tasks: TaskTracker::new(),
        }
    }

    /// Waits until every subscriber task has ended (after `shutdown` fired),
    /// so the store can be released.
    pub async fn wait_stopped(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> u32 {
        self.subscribers.load(Ordering::Relaxed)
    }
}

/// Attaches the current record to an upsert event, or marks it superseded
/// when a later durable event has replaced or deleted the article. `None`
/// when that depends on a write that is not durable yet (it may be rolled
/// back by a reopen): the caller waits for the durable head to move.
fn complete(
    store: &dyn Store,
    mut event: ChangeEvent,
    durable: u64,
) -> Result<Option<ChangeEvent>, StoreError> {
    if event.kind == ChangeKind::Upsert as i32 {
        match store.get(&event.article_id)? {
            Some(article) if article.sequence == event.sequence => event.article = Some(article),
            Some(article) if article.sequence <= durable => event.superseded = true,
            Some(_) => return Ok(None),
            // Read the applied head after the record: if no write past the
            // durable head was applied by then, the delete is durable.
            None if store.head() <= durable => event.superseded = true,
            None => return Ok(None),
        }
    }
    Ok(Some(event))
}

struct SubscriberGuard(Arc<AtomicU32>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn pump(
    feed: Feed,
    mut next_after: u64,
    heartbeat: Duration,
    mut tx: outbox::Sender<SubscribeResponse>,
    slot: OwnedSemaphorePermit,
) {
    let _slot = slot;
    let _guard = SubscriberGuard(feed.subscribers.clone());
    let mut head = feed.head.clone();
    'follow: loop {
        // The durable head: events past it may still be rolled back by a
        // failed flush, so they are never sent.
        let known_head = *head.borrow_and_update();
        // Read per step rather than once: a reopen re-reads it from disk.
        let log_id = feed.store.log_id();
        if next_after < known_head {
            let events = match feed.store.log_after(next_after, feed.config.read_batch) {
                Ok(mut events) => {
                    events.retain(|e| e.sequence <= known_head);
                    events
                }
                Err(error) => {
                    tx.fail(read_failed(error));
                    return;
                }
            };
            if events.is_empty() {
                // Head advanced but the entries are not readable yet: wait.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            for event in events {
                let sequence = event.sequence;
                let event = match complete(feed.store.as_ref(), event, known_head) {
                    Ok(Some(event)) => event,
                    Ok(None) => {
                        tokio::select! {
                            () = feed.shutdown.cancelled() => return,
                            _ = head.changed() => {}
                            () = tokio::time::sleep(Duration::from_millis(20)) => {}
                        }
                        continue 'follow;
                    }
                    Err(error) => {
                        tx.fail(read_failed(error));
                        return;
                    }
                };
                let message = SubscribeResponse {
                    message: Some(subscribe_response::Message::Event(event)),
                    log_id: log_id.clone(),
                    head_sequence: known_head,
                };
                tokio::select! {
                    () = feed.shutdown.cancelled() => return,
                    sent = tx.send(Ok(message), sequence) => match sent {
                        Ok(()) => next_after = sequence,
                        Err(_) => return,
                    },
                }
            }
            continue;
        }
        tokio::select! {
            () = feed.shutdown.cancelled() => return,
            () = tx.closed() => return,
            changed = head.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(heartbeat) => {
                let beat = SubscribeResponse {
                    message: Some(subscribe_response::Message::Heartbeat(Heartbeat {
                        head_sequence: known_head,
                    })),
                    log_id,
                    head_sequence: known_head,
                };
                if tx.try_send(Ok(beat), next_after).is_err() {
                    return;
                }
            }
        }
    }
}

/// What a subscriber is told when reading the change log for it failed.
fn read_failed(source: StoreError) -> Status {
    IngestError::Store {
        what: "change log read failed",
        source,
    }
    .into()
}

#[tonic::async_trait]
impl ChangeFeedService for Feed {
    type SubscribeStream = Pin<Box<dyn Stream<Item = Result<SubscribeResponse, Status>> + Send>>;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let request = request.into_inner();
        let head = *self.head.borrow();
        if request.after_sequence > head {
            return Err(IngestError::BeyondHead {
                after: request.after_sequence,
                head,
            }
            .into());
        }
        let heartbeat = match request.heartbeat_millis {
            0 => self.config.heartbeat,
            ms => Duration::from_millis(u64::from(ms).clamp(10, 60_000)),
        };
        let slot = self.slots.clone().try_acquire_owned().map_err(|_| {
            sectorwire_runtime::metrics::shed("feed_subscribers");
            IngestError::Overloaded {
                message: format!(
                    "the change feed serves at most {} subscribers; retry later",
                    self.config.max_subscribers
                ),
                retry_after: Duration::from_secs(1),
            }
        })?;
        let too_slow: outbox::TooSlow = Box::new(|after| {
            tracing::warn!(after, "disconnecting slow change-feed subscriber");
            IngestError::TooSlow { after }.into()
        });
        let bounds = outbox::Bounds {
            messages: self.config.buffer,
            bytes: self.config.buffer_bytes,
            slow_timeout: self.config.slow_timeout,
        };
        let (tx, rx) = outbox::channel(bounds, request.after_sequence, too_slow);
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        self.tasks
            .spawn(pump(self.clone(), request.after_sequence, heartbeat, tx, slot).in_current_span());
        Ok(Response::new(Box::pin(rx)))
    }
}
