//! The query side's one error type and its one mapping to gRPC statuses.
//!
//! Handlers never build a `Status` themselves: validation, the read model,
//! the index and the worker pool all report a [`QueryError`], and
//! `From<QueryError> for Status` decides the code. Source errors are kept
//! (for logs); clients get a stable message, never a storage library's text.

use sectorwire_proto::status::Violation;
use tonic::Status;

use crate::index::IndexError;
use crate::model::ModelError;

/// Why a read could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request is malformed: INVALID_ARGUMENT with the field violations.
    #[error("{message}")]
    Invalid {
        /// One-line summary.
        message: String,
        /// Each offending field.
        violations: Vec<Violation>,
    },
    /// The named article is not in this replica.
    #[error("article {0} not found")]
    NotFound(String),
    /// The replica did not reach the requested `min_sequence` in time.
    #[error("replica has applied sequence {applied} and did not reach min_sequence {wanted} in time")]
    Behind {
        /// What this replica has applied.
        applied: u64,
        /// What the caller asked for.
        wanted: u64,
    },
    /// The replica stopped following because the ingest service serves
    /// another change log: a writer's `min_sequence` names a position in a
    /// log this replica does not hold, so waiting for it would compare
    /// sequences of two logs.
    #[error("this replica stopped following the ingest service and cannot honour min_sequence: {0}")]
    OtherLog(String),
    /// Too many expensive reads are queued already.
    #[error("too many {0} requests in progress; retry shortly")]
    Overloaded(&'static str),
    /// Every watch slot is taken (`--max-watchers`).
    #[error("at most {0} watch streams at once; retry later")]
    WatchersFull(usize),
    /// A watcher read too slowly and was cut off at this position.
    #[error("watcher too slow; watch again with after_sequence={0}")]
    WatcherTooSlow(u64),
    /// The replica was rebuilt from a new change log while a watch ran:
    /// positions of the old log mean nothing in the new one.
    #[error(
        "this replica was rebuilt from a new change log (applied went from {seen} to {now}); \
         watch again without after_sequence"
    )]
    LogReplaced {
        /// Applied sequence before the rebuild.
        seen: u64,
        /// Applied sequence after it.
        now: u64,
    },
    /// The service is shutting down.
    #[error("the query service is shutting down")]
    ShuttingDown,
    /// The read model failed.
    #[error("read model")]
    Model(#[from] ModelError),
    /// The search index failed.
    #[error("search index")]
    Index(#[source] IndexError),
}

impl QueryError {
    /// INVALID_ARGUMENT on one field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        QueryError::Invalid {
            message: format!("{field}: {description}"),
            violations: vec![Violation::new(field, description)],
        }
    }

    /// INVALID_ARGUMENT with several violations.
    pub fn invalid(message: impl Into<String>, violations: Vec<Violation>) -> Self {
        QueryError::Invalid {
            message: message.into(),
            violations,
        }
    }
}

impl From<IndexError> for QueryError {
    fn from(error: IndexError) -> Self {
        match error {
            // The user's query text is the only index error a caller can fix.
            IndexError::Query(error) => QueryError::field("query", error.to_string()),
            // tantivy parses some queries it then cannot run (`body:*` needs
            // a fast field): the caller's to fix, told without tantivy's text.
            IndexError::Tantivy(
                tantivy::TantivyError::SchemaError(_) | tantivy::TantivyError::InvalidArgument(_),
            ) => QueryError::field(
                "query",
                "uses an operator a field does not support (e.g. field:* on a text field)",
            ),
            // Found by fuzzing: `bod :*` parses as an existence query on a
            // field named `bod`, which only fails when it runs. Our schema
            // is fixed, so a missing field can only come from the query text.
            IndexError::Tantivy(tantivy::TantivyError::FieldNotFound(name)) => QueryError::field(
                "query",
                format!(
                    "names no searchable field: {:?}",
                    sectorwire_proto::status::clip(&name, 64)
                ),
            ),
            other => QueryError::Index(other),
        }
    }
}

impl From<QueryError> for Status {
    fn from(error: QueryError) -> Status {
        match error {
            QueryError::Invalid { message, violations } => {
                sectorwire_proto::status::invalid_argument(message, &violations)
            }
            QueryError::NotFound(_) => Status::not_found(error.to_string()),
            // UNAVAILABLE: another replica (or this one once rebuilt) can answer.
            QueryError::Behind { .. } | QueryError::ShuttingDown | QueryError::OtherLog(_) => {
                Status::unavailable(sectorwire_proto::status::clip(
                    &error.to_string(),
                    sectorwire_proto::status::MAX_MESSAGE,
                ))
            }
            QueryError::Overloaded(_) => {
                sectorwire_proto::status::overloaded(error.to_string(), std::time::Duration::from_millis(100))
            }
            // A watch slot frees only when a stream ends: a longer hint.
            QueryError::WatchersFull(_) => {
                sectorwire_proto::status::overloaded(error.to_string(), std::time::Duration::from_secs(1))
            }
            QueryError::WatcherTooSlow(_) => Status::resource_exhausted(error.to_string()),
            QueryError::LogReplaced { .. } => Status::aborted(error.to_string()),
            QueryError::Model(_) | QueryError::Index(_) => {
                // The detail goes to the log only: storage messages mean nothing
                // to a client and may say more than it should see.
                tracing::error!(error = ?error, "read failed");
                Status::internal("internal error reading the replica; see the service log")
            }
        }
    }
}
