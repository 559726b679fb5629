//! The sectorwire ingest service: the only writer, and the system of record.
//!
//! A request flows through the modules in this order:
//!
//! - [`server`]: gRPC handlers (`IngestService`) and validation;
//!   [`server::serve`] wires health, reflection and limits. Every failure is
//!   an [`error::IngestError`], mapped to a status in one place.
//! - [`pipeline`]: request → store write, on the blocking pool: it runs the
//!   pure article pipeline of `sectorwire-article` (parse → analyze →
//!   record) and encodes the record for the committer.
//! - [`commit`]: the group committer: one thread batches concurrent writes
//!   into one transaction and one flush, then acknowledges them.
//! - [`store`]: the [`store::Store`] trait and its sled implementation
//!   (articles, idempotency keys, change log, metadata).
//! - [`feed`]: `ChangeFeedService.Subscribe`, reading the log at each
//!   subscriber's pace, woken by the committer.
#![deny(missing_docs)]

pub mod admin;
pub mod admission;
pub mod commit;
pub mod error;
pub mod feed;
pub mod pipeline;
pub mod server;
pub mod store;
pub mod telemetry;

pub use error::IngestError;
pub use server::{serve, serve_store, IngestConfig, ServeError};
