//! Follows the ingest service's change feed into the read model: subscribe
//! after the applied sequence, gather whatever has arrived into a batch
//! (bounded in size and time), apply it, repeat; on any error reconnect with
//! capped exponential backoff and resume exactly where the model stands.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sectorwire_proto::article::ChangeEvent;
use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_service_client::IngestServiceClient,
    subscribe_response, GetIngestStatsRequest, SubscribeRequest,
};
use sectorwire_runtime::client::ClientSecurity;
use tokio_util::sync::CancellationToken;

use crate::model::ReadModel;

/// Most events applied in one batch (one tantivy commit).
const MAX_BATCH: usize = 2000;
/// How long a batch may keep gathering once it has an event. Short on
/// purpose: events that arrive while a batch is being applied wait in the
/// stream, so the next batch grows with the load by itself; a long window
/// only adds its length to every article's time to become searchable.
const MAX_GATHER: Duration = Duration::from_millis(2);
/// Heartbeat interval asked of the ingest service.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence on the feed after which the link is taken as dead. A feed with
/// nothing to send still heartbeats, so silence means the peer or the network
/// is gone; a cut network sends no reset, and without this the follower
/// would wait on a dead stream and keep reporting itself connected.
const SILENCE_LIMIT: Duration = Duration::from_secs(5);

/// What the follower knows about its link, for stats.
#[derive(Debug, Default)]
pub struct FollowState {
    /// Newest sequence the ingest service has reported.
    pub head: AtomicU64,
    /// Whether a subscription is open now.
    pub connected: AtomicBool,
    /// Cancelled (a one-way latch) once the replica has caught up with the
    /// log head it found on its first connection after start: the replica is
    /// ready from then on, even if it later falls behind (that shows as lag).
    pub ready: CancellationToken,
    /// The log head to reach before [`FollowState::ready`]; set on the first
    /// connection.
    ready_at: std::sync::OnceLock<u64>,
}

impl FollowState {
    /// Marks the replica ready once it has applied the head it must reach.
    fn check_ready(&self, applied: u64) {
        if let Some(&target) = self.ready_at.get() {
            if applied >= target && !self.ready.is_cancelled() {
                tracing::info!(applied, target, "caught up with the change log: ready");
                self.ready.cancel();
            }
        }
    }
}

/// Runs until `shutdown` fires; `link` says how to reach `ingest_addr`
/// (TLS, token).
pub async fn run(
    model: Arc<ReadModel>,
    ingest_addr: String,
    link: ClientSecurity,
    state: Arc<FollowState>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = follow_once(&model, &ingest_addr, &link, &state, &mut backoff) => r,
        };
        state.connected.store(false, Ordering::Relaxed);
        if let Err(error) = result {
            tracing::warn!(%error, addr = %ingest_addr, retry_in = ?backoff, "change feed interrupted");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn follow_once(
    model: &Arc<ReadModel>,
    addr: &str,
    link: &ClientSecurity,
    state: &FollowState,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let channel = link.authorize(
        link.endpoint(addr)?
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .connect()
            .await?,
    );
    if state.ready_at.get().is_none() {
        let head = IngestServiceClient::new(channel.clone())
            .get_ingest_stats(GetIngestStatsRequest {})
            .await?
            .into_inner()
            .log_head;
        let _ = state.ready_at.set(head);
    }
    state.check_ready(model.applied());
    let mut client = ChangeFeedServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    let after = model.applied();
    let mut stream = client
        .subscribe(SubscribeRequest {
            after_sequence: after,
            heartbeat_millis: HEARTBEAT.as_millis() as u32,
        })
        .await?
        .into_inner();
    state.connected.store(true, Ordering::Relaxed);
    *backoff = Duration::from_millis(100);
    tracing::info!(after, "following change feed");
    let mut batch: Vec<ChangeEvent> = Vec::new();
    loop {
        let first = tokio::time::timeout(SILENCE_LIMIT, stream.message())
            .await
            .map_err(|_| anyhow::anyhow!("change feed silent for {SILENCE_LIMIT:?}"))??;
        let Some(first) = first else {
            anyhow::bail!("change feed closed by the ingest service");
        };
        let deadline = tokio::time::Instant::now() + MAX_GATHER;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message.message {
                Some(subscribe_response::Message::Event(event)) => {
                    state.head.fetch_max(event.sequence, Ordering::Relaxed);
                    batch.push(event);
                }
                Some(subscribe_response::Message::Heartbeat(beat)) => {
                    state.head.fetch_max(beat.head_sequence, Ordering::Relaxed);
                }
                None => {}
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            // Keep gathering briefly so a burst becomes one commit.
            if let Ok(Ok(Some(m))) = tokio::time::timeout_at(deadline, stream.message()).await {
                next = Some(m);
            }
        }
        if !batch.is_empty() {
            let events = std::mem::take(&mut batch);
            let model = model.clone();
            tokio::task::spawn_blocking(move || model.apply(&events)).await??;
        }
        state.check_ready(model.applied());
    }
}
