//! Follows the ingest service's change feed into the read model: subscribe
//! after the applied sequence, gather whatever has arrived into a batch
//! (bounded in size and time), apply it, repeat; on any error reconnect with
//! capped exponential backoff and resume exactly where the model stands.
//!
//! Before subscribing, and on every feed message before its event joins a
//! batch, the follower checks that ingest still serves the log the model was
//! built from ([`crate::lineage`]). When it does not, nothing more is
//! applied: the follower stops for good and says why (stats, health), or,
//! with `--rebuild-on-new-log`, empties the model and follows the new log
//! from sequence 0. Events of two logs never meet in one model.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sectorwire_proto::feed::{self, RawChangeEvent, RawMessage};
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, GetIngestStatsRequest, SubscribeRequest,
};
use sectorwire_runtime::client::ClientSecurity;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::lineage::{self, Followed, Mismatch, Verdict};
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
pub const SILENCE_LIMIT: Duration = Duration::from_secs(5);
/// How often a stopped follower asks ingest again which log it serves (to
/// keep stats current, and to resume if the original log comes back).
const STOPPED_RECHECK: Duration = Duration::from_secs(2);

/// How the follower treats a log that does not continue its model.
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowOptions {
    /// Rebuild the model from the new log instead of stopping.
    pub rebuild_on_new_log: bool,
}

/// What the follower knows about its link, for stats and health.
#[derive(Debug)]
pub struct FollowState {
    /// Newest durable sequence the ingest service reported, as last heard
    /// (it moves down when ingest reports a lower head: that is the truth).
    pub head: AtomicU64,
    /// Whether a subscription is open now.
    pub connected: AtomicBool,
    /// Cancelled (a one-way latch) once the replica has caught up with the
    /// log head it found on its first connection after start: the replica is
    /// ready from then on, even if it later falls behind (that shows as lag).
    pub ready: CancellationToken,
    /// Woken whenever something health reports on changes.
    pub changed: Notify,
    /// The log head to reach before [`FollowState::ready`]; set on the first
    /// connection.
    ready_at: OnceLock<u64>,
    /// Origin of `heard_at`.
    started: Instant,
    /// Milliseconds after `started` the follower last heard from ingest,
    /// plus one (0: never).
    heard_at: AtomicU64,
    /// The log id ingest reported last.
    ingest_log_id: Mutex<String>,
    /// Why the follower stopped applying, while it has.
    stopped: Mutex<Option<String>>,
    /// The last error that interrupted following, until it works again.
    follow_error: Mutex<Option<String>>,
    /// After a rebuild: the head to reach before serving again (0: none).
    rebuild_target: AtomicU64,
}

impl Default for FollowState {
    fn default() -> Self {
        FollowState {
            head: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            ready: CancellationToken::new(),
            changed: Notify::new(),
            ready_at: OnceLock::new(),
            started: Instant::now(),
            heard_at: AtomicU64::new(0),
            ingest_log_id: Mutex::new(String::new()),
            stopped: Mutex::new(None),
            follow_error: Mutex::new(None),
            rebuild_target: AtomicU64::new(0),
        }
    }
}

fn read<T: Clone>(cell: &Mutex<T>) -> T {
    cell.lock().map_or_else(|p| p.into_inner().clone(), |v| v.clone())
}

fn write<T>(cell: &Mutex<T>, value: T) {
    match cell.lock() {
        Ok(mut v) => *v = value,
        Err(p) => *p.into_inner() = value,
    }
}

impl FollowState {
    /// Marks the replica ready once it has applied the head it must reach,
    /// and ends a rebuild once it has caught up with the new log.
    fn check_ready(&self, applied: u64) {
        if let Some(&target) = self.ready_at.get() {
            if applied >= target && !self.ready.is_cancelled() {
                tracing::info!(applied, target, "caught up with the change log: ready");
                self.ready.cancel();
                self.changed.notify_waiters();
            }
        }
        let rebuild = self.rebuild_target.load(Ordering::Relaxed);
        if rebuild > 0 && applied >= rebuild {
            tracing::info!(applied, "rebuilt from the new change log: serving again");
            self.rebuild_target.store(0, Ordering::Relaxed);
            self.changed.notify_waiters();
        }
    }

    /// Records that ingest was heard from, serving `log_id` up to `head`.
    fn heard(&self, log_id: &str, head: u64) {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.heard_at.store(millis.saturating_add(1), Ordering::Relaxed);
        self.head.store(head, Ordering::Relaxed);
        if read(&self.ingest_log_id) != log_id {
            write(&self.ingest_log_id, log_id.to_string());
        }
    }

    /// Time since the follower last heard from ingest; `None` if it never has.
    pub fn since_heard(&self) -> Option<Duration> {
        match self.heard_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(
                self.started
                    .elapsed()
                    .saturating_sub(Duration::from_millis(at - 1)),
            ),
        }
    }

    /// The log id ingest reported last (empty before it was heard from).
    pub fn ingest_log_id(&self) -> String {
        read(&self.ingest_log_id)
    }

    /// Why the follower stopped applying the log, while it has.
    pub fn stopped_reason(&self) -> Option<String> {
        read(&self.stopped)
    }

    /// The last error that interrupted following, until following works again.
    pub fn follow_error(&self) -> Option<String> {
        read(&self.follow_error)
    }

    /// Whether reads should be routed here: caught up once after start, not
    /// stopped on a foreign log, not replaying a new log after a rebuild.
    pub fn serving(&self) -> bool {
        self.ready.is_cancelled()
            && self.stopped_reason().is_none()
            && self.rebuild_target.load(Ordering::Relaxed) == 0
    }

    /// Whether the follower is working: connected, heard from ingest within
    /// the silence limit, no error since, not stopped.
    pub fn following(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
            && self.since_heard().is_some_and(|d| d <= SILENCE_LIMIT)
            && self.follow_error().is_none()
            && self.stopped_reason().is_none()
    }

    fn set_stopped(&self, reason: Option<String>) {
        if read(&self.stopped) != reason {
            write(&self.stopped, reason);
            self.changed.notify_waiters();
        }
    }

    fn set_error(&self, error: Option<String>) {
        if read(&self.follow_error) != error {
            write(&self.follow_error, error);
            self.changed.notify_waiters();
        }
    }
}

/// How one subscription ended without an error.
enum Ended {
    /// Ingest serves a log the model cannot follow and the follower stopped.
    Stopped,
    /// The model was rebuilt for a new log: subscribe again from 0.
    Rebuilt,
}

/// Runs until `shutdown` fires; `link` says how to reach `ingest_addr`
/// (TLS, token).
pub async fn run(
    model: Arc<ReadModel>,
    ingest_addr: String,
    link: ClientSecurity,
    state: Arc<FollowState>,
    options: FollowOptions,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = follow_once(&model, &ingest_addr, &link, &state, options, &mut backoff) => r,
        };
        state.connected.store(false, Ordering::Relaxed);
        state.changed.notify_waiters();
        let pause = match result {
            Ok(Ended::Rebuilt) => Duration::ZERO,
            Ok(Ended::Stopped) => {
                // The link works; what is wrong is said in the stop reason.
                state.set_error(None);
                STOPPED_RECHECK
            }
            Err(error) => {
                tracing::warn!(%error, addr = %ingest_addr, retry_in = ?backoff, "change feed interrupted");
                state.set_error(Some(format!("{error:#}")));
                let pause = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                pause
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Checks the log ingest serves (`served` up to `head`) against the model;
/// adopts it for a fresh model. `Err(Ended)` when the follower must not
/// apply it: it stopped (reason recorded) or rebuilt the model.
async fn settle_log(
    model: &Arc<ReadModel>,
    state: &FollowState,
    options: FollowOptions,
    served: &str,
    head: u64,
) -> anyhow::Result<Result<(), Ended>> {
    let log_id = model.log_id()?;
    let diverged = model.diverged()?;
    let followed = Followed {
        log_id: log_id.as_deref(),
        diverged: diverged.as_deref(),
        applied: model.applied(),
    };
    let mismatch = match lineage::judge(followed, served, head) {
        Verdict::Follow => {
            state.set_stopped(None);
            return Ok(Ok(()));
        }
        Verdict::Adopt => {
            tracing::info!(log_id = served, "following change log");
            model.adopt_log(served)?;
            state.set_stopped(None);
            return Ok(Ok(()));
        }
        Verdict::Mismatch(mismatch) => mismatch,
    };
    refuse(model, state, options, served, head, mismatch)
        .await
        .map(Err)
}

/// Acts on a log that cannot continue the model: rebuilds (when allowed and
/// the log has an id to rebuild under) or stops with the reason.
async fn refuse(
    model: &Arc<ReadModel>,
    state: &FollowState,
    options: FollowOptions,
    served: &str,
    head: u64,
    mismatch: Mismatch,
) -> anyhow::Result<Ended> {
    if matches!(
        mismatch,
        Mismatch::Rewound { head: Some(_), .. } | Mismatch::Rewritten { .. }
    ) && !served.is_empty()
    {
        model.mark_diverged(served)?;
    }
    if options.rebuild_on_new_log && !served.is_empty() {
        tracing::warn!(reason = %mismatch, "rebuilding the read model from the new change log");
        // Readiness for reads waits for the new log's head again.
        state.rebuild_target.store(head, Ordering::Relaxed);
        state.set_stopped(None);
        state.changed.notify_waiters();
        let model = model.clone();
        let served = served.to_string();
        tokio::task::spawn_blocking(move || model.rebuild(&served)).await??;
        return Ok(Ended::Rebuilt);
    }
    let reason = mismatch.to_string();
    if state.stopped_reason().as_deref() != Some(reason.as_str()) {
        tracing::error!(%reason, applied = model.applied(), "stopped applying the change log");
    }
    state.set_stopped(Some(reason));
    Ok(Ended::Stopped)
}

async fn follow_once(
    model: &Arc<ReadModel>,
    addr: &str,
    link: &ClientSecurity,
    state: &FollowState,
    options: FollowOptions,
    backoff: &mut Duration,
) -> anyhow::Result<Ended> {
    let channel = link.authorize(
        link.endpoint(addr)?
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .connect()
            .await?,
    );
    let stats = IngestServiceClient::new(channel.clone())
        .get_ingest_stats(GetIngestStatsRequest {})
        .await?
        .into_inner();
    state.heard(&stats.log_id, stats.log_head);
    if let Err(ended) = settle_log(model, state, options, &stats.log_id, stats.log_head).await? {
        return Ok(ended);
    }
    let _ = state.ready_at.set(stats.log_head);
    state.check_ready(model.applied());
    let after = model.applied();
    // Resume one event early when the model knows which event it applied
    // last: the log must still hold that very event there.
    let mut check = model.last_event()?.filter(|e| e.sequence == after && after > 0);
    // Articles stay encoded until the model stores them (`feed`).
    let mut stream = feed::subscribe(
        channel,
        64 * 1024 * 1024,
        SubscribeRequest {
            after_sequence: if check.is_some() { after - 1 } else { after },
            heartbeat_millis: HEARTBEAT.as_millis() as u32,
        },
    )
    .await?
    .into_inner();
    state.connected.store(true, Ordering::Relaxed);
    state.changed.notify_waiters();
    *backoff = Duration::from_millis(100);
    tracing::info!(after, log_id = %stats.log_id, "following change feed");
    // The log id every message must carry: the one just checked (and
    // adopted) against the model.
    let expected = stats.log_id;
    let mut batch: Vec<RawChangeEvent> = Vec::new();
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
            state.heard(&message.log_id, message.head_sequence);
            if message.log_id != expected || message.head_sequence < model.applied() {
                // Not the log the model was built from: what was gathered
                // of this stream is dropped unapplied, and the log judged
                // afresh (stop, or rebuild).
                tracing::warn!(served = %message.log_id, head = message.head_sequence, "the change feed switched logs");
                return match settle_log(model, state, options, &message.log_id, message.head_sequence).await?
                {
                    Err(ended) => Ok(ended),
                    Ok(()) => anyhow::bail!("the change feed changed logs mid-stream"),
                };
            }
            match message.message {
                Some(RawMessage::Event(event)) => match check.take() {
                    Some(applied) if !lineage::same_event(&applied, &event.header()) => {
                        let mismatch = Mismatch::Rewritten {
                            log_id: expected.clone(),
                            sequence: applied.sequence,
                        };
                        return refuse(model, state, options, &expected, message.head_sequence, mismatch)
                            .await;
                    }
                    // The event the model applied last: the log continues it.
                    Some(_) => {}
                    None => batch.push(event),
                },
                // Caught up with nothing pending: following works.
                Some(RawMessage::Heartbeat(_)) => state.set_error(None),
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
            tokio::task::spawn_blocking(move || model.apply_raw(&events)).await??;
            state.set_error(None);
        }
        state.check_ready(model.applied());
    }
}
