//! The ingest side's one error type and its one mapping to gRPC statuses.
//!
//! Handlers, admission, the pipeline, the committer and the feed report an
//! [`IngestError`]; `From<IngestError> for Status` alone decides the code and
//! the details. Source errors are kept (for logs); clients get a stable
//! message, never a storage library's text.

use std::time::Duration;

use sectorwire_proto::status::Violation;
use tonic::Status;

use crate::commit::CommitError;
use crate::pipeline::RejectError;
use crate::store::StoreError;

/// Why a write, a backup or a subscription was not served.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request is malformed: INVALID_ARGUMENT with the field violations.
    #[error("{message}")]
    Invalid {
        /// One-line summary.
        message: String,
        /// Each offending field.
        violations: Vec<Violation>,
    },
    /// Shed before any work was done: RESOURCE_EXHAUSTED with a retry hint.
    #[error("{message}")]
    Overloaded {
        /// What limit was reached.
        message: String,
        /// How long the client should wait before retrying.
        retry_after: Duration,
    },
    /// The call's deadline passed before the article was stored.
    #[error("the call's deadline passed before the article was stored; nothing was written")]
    Expired,
    /// The service is shutting down.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// The committer did not acknowledge the write.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// Reading the store failed.
    #[error("{what}")]
    Store {
        /// What was being read.
        what: &'static str,
        /// Cause.
        #[source]
        source: StoreError,
    },
    /// The parser's blocking task died (a panic).
    #[error("parser task failed")]
    Task(#[from] tokio::task::JoinError),
    /// A write was submitted but its outcome went missing: a broken invariant.
    #[error("{0}")]
    Lost(&'static str),
    /// `CreateBackup` on a server started without a backup root.
    #[error("backups are disabled: start the ingest service with --backup-root DIR")]
    BackupsDisabled,
    /// The backup root could not be created.
    #[error("creating the backup root")]
    BackupRoot(#[source] std::io::Error),
    /// The committer could not take the backup.
    #[error("backup not taken")]
    Backup(#[source] CommitError),
    /// A subscription asked to start past the end of the log.
    #[error("after_sequence {after} is beyond the log head {head}")]
    BeyondHead {
        /// Where the subscriber asked to start.
        after: u64,
        /// The durable head.
        head: u64,
    },
    /// A subscriber left its buffer full for too long.
    #[error("subscriber too slow; resubscribe with after_sequence={after}")]
    TooSlow {
        /// The last sequence it was sent.
        after: u64,
    },
}

impl IngestError {
    /// INVALID_ARGUMENT on one field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        IngestError::Invalid {
            message: format!("{field}: {description}"),
            violations: vec![Violation::new(field, description)],
        }
    }

    /// The bare article id named by `raw` (an id or `articles/{id}`), or
    /// INVALID_ARGUMENT naming `field`.
    pub fn article_id(raw: &str, field: &str) -> Result<String, Self> {
        sectorwire_domain::id::parse_article_id(raw)
            .map(str::to_string)
            .map_err(|e| IngestError::Invalid {
                message: format!("invalid article id {}", sectorwire_proto::status::echo(raw)),
                violations: vec![Violation::new(field, e.to_string())],
            })
    }
}

impl From<RejectError> for IngestError {
    fn from(error: RejectError) -> Self {
        let message = error.to_string();
        match error {
            RejectError::Invalid(violations) => IngestError::Invalid { message, violations },
        }
    }
}

impl From<IngestError> for Status {
    fn from(error: IngestError) -> Status {
        use sectorwire_proto::status as s;
        match error {
            IngestError::Invalid { message, violations } => s::invalid_argument(message, &violations),
            IngestError::Overloaded { message, retry_after } => s::overloaded(message, retry_after),
            IngestError::Expired => Status::deadline_exceeded(error.to_string()),
            IngestError::ShuttingDown => Status::unavailable(error.to_string()),
            IngestError::Commit(e) => commit_status(e),
            IngestError::Store { what, source } => s::internal(what, &source),
            IngestError::Task(ref e) => s::internal("parser task failed", e),
            IngestError::Lost(what) => Status::internal(what),
            IngestError::BackupsDisabled => Status::failed_precondition(error.to_string()),
            IngestError::BackupRoot(e) => s::internal("creating the backup root", &e),
            IngestError::Backup(e) => backup_status(e),
            IngestError::BeyondHead { .. } => Status::out_of_range(error.to_string()),
            IngestError::TooSlow { .. } => Status::resource_exhausted(error.to_string()),
        }
    }
}

/// A write the committer did not acknowledge: nothing of it was written, so
/// every code here tells the client a retry is safe.
fn commit_status(error: CommitError) -> Status {
    match error {
        CommitError::Overloaded(_) => {
            sectorwire_proto::status::overloaded(error.to_string(), crate::admission::RETRY_AFTER)
        }
        CommitError::Closed => Status::unavailable(error.to_string()),
        CommitError::Store(_) | CommitError::Batch(_) => {
            sectorwire_proto::status::unavailable("write not acknowledged, safe to retry", &error)
        }
        CommitError::Recovering(_) => {
            Status::unavailable(format!("write not acknowledged, retry later: {error}"))
        }
    }
}

/// A backup the committer did not take: a target that exists is the caller's
/// to change; a store that is recovering or stopping is worth a retry.
fn backup_status(error: CommitError) -> Status {
    match error {
        CommitError::Store(StoreError::BackupTarget(why)) => Status::already_exists(why),
        CommitError::Recovering(_) | CommitError::Closed | CommitError::Overloaded(_) => {
            Status::unavailable(format!("backup not taken, retry later: {error}"))
        }
        CommitError::Store(_) | CommitError::Batch(_) => {
            sectorwire_proto::status::internal("writing the backup", &error)
        }
    }
}
