//! Durable storage of articles and the change log, behind the [`Store`]
//! trait so tests can inject faults (`faults`, feature `test-util`) while production uses sled
//! ([`sled_store`]).
//!
//! Contract: [`Store::apply`] makes a whole batch visible atomically (articles,
//! idempotency keys, log entries, counters) but not yet durable;
//! [`Store::flush`] makes everything applied so far durable. The committer
//! calls `apply` then `flush` once per batch before acknowledging anyone: a
//! group commit. After a failed `apply` or `flush`, the committer calls
//! [`Store::reopen`] before anything else is written.

pub mod durable;
mod encoded;
#[cfg(any(test, feature = "test-util"))]
pub mod faults;
pub mod sled_store;

use sectorwire_proto::article::{Article, ChangeEvent};

pub use encoded::{EncodedArticle, STAMP_BYTES};
#[cfg(any(test, feature = "test-util"))]
pub use faults::{FaultPlan, FaultyStore};
pub use sled_store::{OpenOptions, SledStore};

/// One change requested of the store.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Create or replace an article. Its `sequence`, `ingested_at` and
    /// `updated_at` are assigned by the store.
    Upsert {
        /// Idempotency key the id was derived from.
        key: String,
        /// The record.
        article: EncodedArticle,
    },
    /// Delete an article, leaving a tombstone event.
    Delete {
        /// Article id.
        id: String,
    },
}

/// What one [`WriteOp`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// New article stored at this sequence.
    Created(u64),
    /// Existing article replaced at this sequence.
    Updated(u64),
    /// Identical content already stored at this sequence; nothing written.
    Unchanged(u64),
    /// Tombstone written at this sequence.
    Deleted(u64),
    /// Delete of an id that does not exist; nothing written.
    NotFound,
}

impl WriteOutcome {
    /// Sequence of the event (0 when nothing was written and nothing exists).
    pub fn sequence(self) -> u64 {
        match self {
            WriteOutcome::Created(s)
            | WriteOutcome::Updated(s)
            | WriteOutcome::Unchanged(s)
            | WriteOutcome::Deleted(s) => s,
            WriteOutcome::NotFound => 0,
        }
    }
}

/// Storage failures. None of them is the caller's fault (except a backup
/// target that is already in use, [`StoreError::BackupTarget`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The underlying database failed.
    #[error("storage: {0}")]
    Backend(#[from] sled::Error),
    /// A file of the store beside the database failed.
    #[error("{what}: {source}")]
    Io {
        /// Which file.
        what: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A thread panicked while holding one of the store's locks.
    #[error("{0} lock poisoned")]
    Poisoned(&'static str),
    /// The store's directory could not be opened.
    #[error(transparent)]
    Open(#[from] sectorwire_runtime::store::OpenError),
    /// Stored bytes do not decode: corruption or a foreign data directory.
    #[error("corrupt record {what}: {detail}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Decoder message.
        detail: String,
    },
    /// The data directory was written by an incompatible version.
    #[error("data directory has schema version {found}, this build reads {expected}")]
    SchemaVersion {
        /// Found on disk.
        found: String,
        /// Supported.
        expected: String,
    },
    /// A backup's target directory cannot take it.
    #[error("backup target {0}")]
    BackupTarget(String),
    /// The store is closed while it reopens after a failed write.
    #[error("store is closed while it recovers from a failed write")]
    Closed,
    /// The store holds less than was acknowledged, or its records disagree: refused rather
    /// than served with articles missing and their sequences handed out again.
    #[error("acknowledged data is missing or damaged: {0}")]
    DataLoss(String),
    /// An injected fault (test builds only: feature `test-util`).
    #[cfg(any(test, feature = "test-util"))]
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// Counters for `GetIngestStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Live articles.
    pub articles: u64,
    /// Newest log sequence.
    pub head: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
}

/// The system of record. Implementations must be safe to call from many
/// threads; `apply` is only ever called by the single committer thread.
pub trait Store: Send + Sync + 'static {
    /// Applies `ops` atomically, in order, assigning consecutive sequences to
    /// the ones that change something. Visible to readers at once, durable
    /// only after [`Store::flush`].
    fn apply(&self, ops: &[WriteOp], now_seconds: i64) -> Result<Vec<WriteOutcome>, StoreError>;
    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Drops everything in memory and opens the store again from disk, then proves it takes
    /// a durable write. After a failed apply or flush, writes applied since the last good
    /// flush may or may not have reached the disk, and an IO error can leave the backend
    /// refusing all later work; what a fresh open reads back is the only state to go on from.
    fn reopen(&self) -> Result<(), StoreError>;
    /// One article by id.
    fn get(&self, id: &str) -> Result<Option<Article>, StoreError>;
    /// Up to `limit` log events with sequence > `after`, in order, without
    /// their article (the feed attaches the current record at send time so
    /// each article is written once).
    fn log_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, StoreError>;
    /// Newest log sequence (0 when empty).
    fn head(&self) -> u64;
    /// Identity of the log (hex): a new one for every store and every accepted data loss.
    fn log_id(&self) -> String;
    /// Counters.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
    /// Copies the store, as it is now, into a new store in `to` (which must
    /// not exist or be empty): the same trees, log id, head and count, with
    /// its own durable mark, so opening it gives the identical log. Only the
    /// committer calls it, between batches, so nothing changes meanwhile.
    fn backup(&self, to: &std::path::Path) -> Result<BackupInfo, StoreError>;
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The log id (hex), the same as the store's.
    pub log_id: String,
    /// The log head copied.
    pub head: u64,
    /// Live articles copied.
    pub articles: u64,
}
