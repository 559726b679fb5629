//! `ChangeFeedService.Subscribe`: each subscriber gets its own task that reads
//! the log tree at its own pace (backlog first, then live events), so a slow
//! or dead subscriber never blocks writers. Writers only bump a `watch` of the
//! log head; idle streams wait on it and send heartbeats.
//!
//! Memory per subscriber is bounded by its channel. A subscriber that does not
//! drain it within [`FeedConfig::slow_timeout`] is disconnected with
//! RESOURCE_EXHAUSTED and resumes by sequence.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sectorwire_proto::article::{ChangeEvent, ChangeKind};
use sectorwire_proto::ingest::{
    change_feed_service_server::ChangeFeedService, subscribe_response, Heartbeat, SubscribeRequest,
    SubscribeResponse,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::{wrappers::ReceiverStream, Stream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use crate::store::{Store, StoreError};

/// Tuning of the change feed.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Events read from the log per step.
    pub read_batch: usize,
    /// Messages buffered per subscriber.
    pub buffer: usize,
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
            config,
            subscribers: Arc::new(AtomicU32::new(0)),
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
    tx: mpsc::Sender<Result<SubscribeResponse, Status>>,
    cut_off: oneshot::Sender<Status>,
) {
    let _guard = SubscriberGuard(feed.subscribers.clone());
    let mut head = feed.head.clone();
    'follow: loop {
        // The durable head: events past it may still be rolled back by a
        // failed flush, so they are never sent.
        let known_head = *head.borrow_and_update();
        if next_after < known_head {
            let events = match feed.store.log_after(next_after, feed.config.read_batch) {
                Ok(mut events) => {
                    events.retain(|e| e.sequence <= known_head);
                    events
                }
                Err(error) => {
                    tracing::error!(%error, "change feed read failed");
                    let _ = tx
                        .send(Err(Status::internal(format!("change log read failed: {error}"))))
                        .await;
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
                        let _ = tx
                            .send(Err(Status::internal(format!("change log read failed: {error}"))))
                            .await;
                        return;
                    }
                };
                let message = SubscribeResponse {
                    message: Some(subscribe_response::Message::Event(event)),
                };
                tokio::select! {
                    () = feed.shutdown.cancelled() => return,
                    sent = tx.send_timeout(Ok(message), feed.config.slow_timeout) => match sent {
                        Ok(()) => next_after = sequence,
                        Err(mpsc::error::SendTimeoutError::Closed(_)) => return,
                        Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                            tracing::warn!(after = next_after, "disconnecting slow change-feed subscriber");
                            // The buffer is full, so the status goes out of
                            // band: the client gets it after what is buffered.
                            let _ = cut_off.send(Status::resource_exhausted(format!(
                                "subscriber too slow; resubscribe with after_sequence={next_after}"
                            )));
                            return;
                        }
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
                };
                if tx.try_send(Ok(beat)).is_err() && tx.is_closed() {
                    return;
                }
            }
        }
    }
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
            return Err(Status::out_of_range(format!(
                "after_sequence {} is beyond the log head {head}",
                request.after_sequence
            )));
        }
        let heartbeat = match request.heartbeat_millis {
            0 => self.config.heartbeat,
            ms => Duration::from_millis(u64::from(ms).clamp(10, 60_000)),
        };
        let (tx, rx) = mpsc::channel(self.config.buffer.max(1));
        let (cut_off, cut_off_rx) = oneshot::channel::<Status>();
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        self.tasks
            .spawn(pump(self.clone(), request.after_sequence, heartbeat, tx, cut_off));
        // Buffered messages first, then the cut-off status if there is one.
        let stream = ReceiverStream::new(rx)
            .chain(futures::stream::once(cut_off_rx).filter_map(|cut| async move { cut.ok().map(Err) }));
        Ok(Response::new(Box::pin(stream)))
    }
}
