//! Durable storage of articles and the change log, behind the [`Store`]
//! trait so tests can inject faults (`faults`, feature `test-util`) while production uses sled
//! ([`sled_store`]).
//!
//! Contract: [`Store::apply`] makes a whole batch visible atomically (articles,
//! idempotency keys, log entries, counters) but not yet durable;
//! [`Store::flush`] makes everything applied so far durable. The committer
//! calls `apply` then `flush` once per batch before acknowledging anyone: a
//! group commit.

mod encoded;
#[cfg(any(test, feature = "test-util"))]
pub mod faults;
pub mod sled_store;

use sectorwire_proto::article::{Article, ChangeEvent};

pub use encoded::EncodedArticle;
#[cfg(any(test, feature = "test-util"))]
pub use faults::{FaultPlan, FaultyStore};
pub use sled_store::SledStore;

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

/// Storage failures. None of them is the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The underlying database failed.
    #[error("storage: {0}")]
    Backend(String),
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
    /// An injected fault (test builds only: feature `test-util`).
    #[cfg(any(test, feature = "test-util"))]
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
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
    /// One article by id.
    fn get(&self, id: &str) -> Result<Option<Article>, StoreError>;
    /// Up to `limit` log events with sequence > `after`, in order, without
    /// their article (the feed attaches the current record at send time so
    /// each article is written once).
    fn log_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, StoreError>;
    /// Newest log sequence (0 when empty).
    fn head(&self) -> u64;
    /// Counters.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
}
