//! Group commit: one thread owns all writes. Requests queue up while the
//! previous batch is being flushed; the thread then applies everything that
//! queued in one store transaction and one flush, and answers every waiter.
//! Throughput therefore grows with concurrency instead of paying one fsync
//! per article, and sequences are assigned without locks.
//!
//! The queue is bounded: when it is full, [`Committer::submit`] fails at once
//! with [`CommitError::Overloaded`] (mapped to RESOURCE_EXHAUSTED) instead of
//! letting memory grow.
//!
//! A failed apply or flush is fatal for the write path, as PostgreSQL learned
//! of fsync failures: retrying a flush after an IO error can report success
//! for data the kernel already dropped. Nothing of the failed batch is
//! published: the head that wakes change-feed readers and the counters move
//! only after a good flush. The store is reopened from disk before the next
//! write, and until that succeeds every write is refused with
//! [`CommitError::Recovering`] and [`Committer::health`] says why.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};

use crate::store::{BackupInfo, Store, StoreError, WriteOp, WriteOutcome};

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
    /// The store failed; the batch was not acknowledged, and a retry is
    /// idempotent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The group commit this write was part of failed; every write of the
    /// batch shares the one cause.
    #[error(transparent)]
    Batch(Arc<StoreError>),
    /// An earlier write failed and the store is not yet back at a durable
    /// state that takes writes.
    #[error("writes are suspended: {0}")]
    Recovering(String),
}

struct Job {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>, CommitError>>,
}

enum Message {
    Write(Job),
    /// Copy the store into a new directory between two batches.
    Backup {
        to: std::path::PathBuf,
        reply: oneshot::Sender<Result<BackupInfo, CommitError>>,
    },
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
    /// Live articles as of the last good flush (the store's own count may
    /// include a batch that is not durable yet).
    pub durable_articles: AtomicU64,
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
    health: watch::Receiver<WriteHealth>,
}

/// Whether the write path accepts writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteHealth {
    /// Writes go through.
    Serving,
    /// Writes are refused until the store is reopened at a durable state;
    /// the reason names the failure.
    Suspended(String),
}

impl Committer {
    /// Starts the committer thread over `store`. `head` is the durable head:
    /// it is published after every good flush (so change-feed streams wake up
    /// and never read past it) and after the store is reopened.
    pub fn start(
        store: Arc<dyn Store>,
        head: watch::Sender<u64>,
        queue_capacity: usize,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let stats = Arc::new(CommitStats::default());
        if let Ok(counts) = store.counts() {
            stats.durable_articles.store(counts.articles, Ordering::Relaxed);
        }
        let (health_tx, health) = watch::channel(WriteHealth::Serving);
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                Thread {
                    store,
                    rx,
                    head,
                    stats: thread_stats,
                    health: health_tx,
                }
                .run();
            })?;
        Ok((
            Committer {
                queue: tx,
                capacity: queue_capacity.max(1),
                stats,
                health,
            },
            handle,
        ))
    }

    /// Changes of the write path's health (for the health service and stats).
    pub fn health(&self) -> watch::Receiver<WriteHealth> {
        self.health.clone()
    }

    /// Applies `ops` atomically and durably; resolves once they are on disk.
    pub async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Message::Write(Job { ops, reply }))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    sectorwire_runtime::metrics::shed("commit_queue");
                    CommitError::Overloaded(self.capacity)
                }
                mpsc::error::TrySendError::Closed(_) => CommitError::Closed,
            })?;
        answer.await.map_err(|_| CommitError::Closed)?
    }

    /// Copies the store into the new directory `to` between two batches: a
    /// snapshot of exactly what was acknowledged before it (writes queue
    /// meanwhile). Refused while writes are suspended after a failure.
    pub async fn backup(&self, to: std::path::PathBuf) -> Result<BackupInfo, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Message::Backup { to, reply })
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

/// Longest wait between attempts to reopen a failed store. Writes queued
/// meanwhile are answered at each attempt.
const MAX_RECOVERY_WAIT: Duration = Duration::from_millis(500);

struct Thread {
    store: Arc<dyn Store>,
    rx: mpsc::Receiver<Message>,
    head: watch::Sender<u64>,
    stats: Arc<CommitStats>,
    health: watch::Sender<WriteHealth>,
}

impl Thread {
    fn run(mut self) {
        let mut stopping = false;
        // A backup that arrived while a batch was gathered: taken right after it.
        let mut deferred = None;
        while !stopping {
            let next = match deferred.take() {
                Some(message) => Some(message),
                None => self.rx.blocking_recv(),
            };
            let first = match next {
                Some(Message::Write(job)) => job,
                Some(Message::Backup { to, reply }) => {
                    let _ = reply.send(self.backup(&to));
                    continue;
                }
                Some(Message::Stop) | None => break,
            };
            let mut jobs = vec![first];
            let mut total = jobs[0].ops.len();
            while total < MAX_BATCH_OPS {
                match self.rx.try_recv() {
                    Ok(Message::Write(job)) => {
                        total += job.ops.len();
                        jobs.push(job);
                    }
                    Ok(backup @ Message::Backup { .. }) => {
                        deferred = Some(backup);
                        break;
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
            crate::telemetry::commit_started(self.rx.len(), ops.len());
            let started = std::time::Instant::now();
            let result = self.store.apply(&ops, now_seconds()).and_then(|outcomes| {
                self.store.flush()?;
                Ok(outcomes)
            });
            crate::telemetry::commit_finished(started.elapsed(), result.is_ok());
            match result {
                Ok(outcomes) => {
                    self.published();
                    self.stats.flushes.fetch_add(1, Ordering::Relaxed);
                    self.stats.writes.fetch_add(ops.len() as u64, Ordering::Relaxed);
                    let mut rest = outcomes.into_iter();
                    for (job, count) in jobs.into_iter().zip(counts) {
                        let mine: Vec<WriteOutcome> = rest.by_ref().take(count).collect();
                        let _ = job.reply.send(Ok(mine));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, batch = ops.len(), "group commit failed; reopening the store at its last durable state");
                    let reason = format!(
                        "a write failed ({error}); the store is being reopened at its last durable state"
                    );
                    self.health.send_replace(WriteHealth::Suspended(reason.clone()));
                    // Reopen before answering, so a client that retries at once finds the
                    // store back (or is told it is not).
                    let recovered = self.try_reopen();
                    let error = Arc::new(error);
                    for job in jobs {
                        let _ = job.reply.send(Err(CommitError::Batch(error.clone())));
                    }
                    if !recovered && self.recover(&reason) {
                        stopping = true;
                    }
                }
            }
        }
        // Writes queued after a stop are dropped unanswered: their submitters see
        // `Closed`, and nothing of them was written.
        self.rx.close();
        // Everything acknowledged is already flushed; flush once
        // more in case a failed flush left applied writes behind.
        if let Err(error) = self.store.flush() {
            tracing::error!(%error, "final flush failed");
        }
    }

    /// Copies the store, which holds exactly what was acknowledged: every
    /// batch before was flushed, and none runs meanwhile.
    fn backup(&self, to: &std::path::Path) -> Result<BackupInfo, CommitError> {
        if let WriteHealth::Suspended(reason) = &*self.health.borrow() {
            return Err(CommitError::Recovering(reason.clone()));
        }
        let started = std::time::Instant::now();
        let info = self.store.backup(to)?;
        tracing::info!(to = %to.display(), head = info.head, articles = info.articles, took = ?started.elapsed(), "backup written");
        Ok(info)
    }

    /// Publishes the store's head and counts as durable: called only right
    /// after a good flush or a reopen, when the store holds nothing else.
    fn published(&self) {
        if let Ok(counts) = self.store.counts() {
            self.stats
                .durable_articles
                .store(counts.articles, Ordering::Relaxed);
        }
        self.head.send_replace(self.store.head());
    }

    fn try_reopen(&self) -> bool {
        match self.store.reopen() {
            Ok(()) => {
                tracing::info!(
                    head = self.store.head(),
                    "store reopened at its durable state; writes resume"
                );
                self.published();
                self.health.send_replace(WriteHealth::Serving);
                true
            }
            Err(error) => {
                tracing::warn!(%error, "reopening the store failed; writes stay suspended");
                false
            }
        }
    }

    /// Retries the reopen with backoff, refusing queued writes meanwhile.
    /// Returns true when a stop was requested before the store came back.
    fn recover(&mut self, reason: &str) -> bool {
        let mut wait = Duration::from_millis(20);
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Message::Write(job)) => {
                        let _ = job.reply.send(Err(CommitError::Recovering(reason.to_string())));
                    }
                    Ok(Message::Backup { reply, .. }) => {
                        let _ = reply.send(Err(CommitError::Recovering(reason.to_string())));
                    }
                    Ok(Message::Stop) => return true,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return true,
                }
            }
            std::thread::sleep(wait);
            if self.try_reopen() {
                return false;
            }
            wait = (wait * 2).min(MAX_RECOVERY_WAIT);
        }
    }
}
