//! Group commit: one thread owns all writes. Requests queue up while the
//! previous batch is being flushed; the thread then applies everything that
//! queued in one store transaction and one flush, and answers every waiter.
//! Throughput therefore grows with concurrency instead of paying one fsync
//! per article, and sequences are assigned without locks.
//!
//! The queue is bounded: when it is full, [`Committer::submit`] fails at once
//! with [`CommitError::Overloaded`] (mapped to RESOURCE_EXHAUSTED) instead of
//! letting memory grow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};

use crate::store::{Store, StoreError, WriteOp, WriteOutcome};

/// Most operations folded into one transaction; bounds transaction size.
const MAX_BATCH_OPS: usize = 2048;

/// Why a submitted write was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The queue is full: shed load, the client should retry with backoff.
    #[error("ingest queue is full ({0} pending batches); retry later")]
    Overloaded(usize),
    /// The committer has stopped (shutdown).
    #[error("ingest service is shutting down")]
    Closed,
    /// The store failed; the batch may or may not be visible, but it was not
    /// acknowledged, and a retry is idempotent.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>, CommitError>>,
}

enum Message {
    Write(Job),
    /// Finish what is queued before this, flush, and exit.
    Stop,
}

/// Counters the stats RPC reports.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Flushes performed (one per group commit).
    pub flushes: AtomicU64,
    /// Operations acknowledged.
    pub writes: AtomicU64,
}

/// The committer thread's name. Every write passes through this one thread, so its CPU per
/// article bounds ingest throughput however many cores parse and analyse; `ingest_bench`
/// finds the thread by this name to report it.
pub const THREAD_NAME: &str = "sectorwire-committer";

/// Handle to the committer thread. Cloning is cheap; the thread stops when
/// the last handle is dropped, after finishing queued work.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Message>,
    capacity: usize,
    stats: Arc<CommitStats>,
}

impl Committer {
    /// Starts the committer thread over `store`. `head` is published after
    /// every durable batch so change-feed streams wake up.
    pub fn start(
        store: Arc<dyn Store>,
        head: watch::Sender<u64>,
        queue_capacity: usize,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let stats = Arc::new(CommitStats::default());
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run(store, rx, head, &thread_stats))?;
        Ok((
            Committer {
                queue: tx,
                capacity: queue_capacity.max(1),
                stats,
            },
            handle,
        ))
    }

    /// Applies `ops` atomically and durably; resolves once they are on disk.
    pub async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Message::Write(Job { ops, reply }))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => CommitError::Overloaded(self.capacity),
                mpsc::error::TrySendError::Closed(_) => CommitError::Closed,
            })?;
        answer.await.map_err(|_| CommitError::Closed)?
    }

    /// Asks the thread to finish the queued writes and exit; later submits
    /// fail with [`CommitError::Closed`]. Join the thread handle to wait.
    pub async fn stop(&self) {
        let _ = self.queue.send(Message::Stop).await;
    }

    /// Counters.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Message>,
    head: watch::Sender<u64>,
    stats: &CommitStats,
) {
    let mut stopping = false;
    while !stopping {
        let first = match rx.blocking_recv() {
            Some(Message::Write(job)) => job,
            Some(Message::Stop) | None => break,
        };
        let mut jobs = vec![first];
        let mut total = jobs[0].ops.len();
        while total < MAX_BATCH_OPS {
            match rx.try_recv() {
                Ok(Message::Write(job)) => {
                    total += job.ops.len();
                    jobs.push(job);
                }
                Ok(Message::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        // Move the ops out (an op holds a whole article; cloning them cost
        // ~5% of an ingest run), remembering how many each job had.
        let counts: Vec<usize> = jobs.iter().map(|j| j.ops.len()).collect();
        let ops: Vec<WriteOp> = jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.ops)).collect();
        let result = store.apply(&ops, now_seconds()).and_then(|outcomes| {
            store.flush()?;
            Ok(outcomes)
        });
        // Publish the head even after a failed flush: the writes are visible
        // in the store, and followers must not stall behind them.
        head.send_replace(store.head());
        match result {
            Ok(outcomes) => {
                stats.flushes.fetch_add(1, Ordering::Relaxed);
                stats.writes.fetch_add(ops.len() as u64, Ordering::Relaxed);
                let mut rest = outcomes.into_iter();
                for (job, count) in jobs.into_iter().zip(counts) {
                    let mine: Vec<WriteOutcome> = rest.by_ref().take(count).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(error) => {
                tracing::error!(%error, batch = ops.len(), "group commit failed");
                let message = error.to_string();
                for job in jobs {
                    let _ = job
                        .reply
                        .send(Err(CommitError::Store(StoreError::Backend(message.clone()))));
                }
            }
        }
    }
    // Writes queued after a stop are dropped unanswered: their submitters see
    // `Closed`, and nothing of them was written.
    rx.close();
    // Everything acknowledged is already flushed; flush once
    // more in case a failed flush left applied writes behind.
    if let Err(error) = store.flush() {
        tracing::error!(%error, "final flush failed");
    }
}
