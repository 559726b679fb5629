//! The sectorwire query service: a read replica that follows the ingest
//! service's change log and answers queries.
//!
//! Data flows through the modules in this order:
//!
//! - [`follow`]: subscribes to `ChangeFeedService`, batches events, and
//!   reconnects with backoff, resuming from the applied sequence, and only
//!   while [`lineage`] finds the log served to be the one the model holds;
//! - [`model`]: applies batches to this replica's records (sled) and search
//!   index, storing the applied sequence with both;
//! - [`index`]: the tantivy schema, filters, ordering keys, BM25 search,
//!   snippets and aggregations;
//! - [`reader`]: the transport-independent read service: validated plans in,
//!   response messages out, every sled and tantivy call on a bounded lane of
//!   the blocking pool;
//! - [`server`]: thin gRPC handlers: [`requests`] validates each request
//!   (with [`filter`] and [`page_token`]) before anything waits, the reader
//!   answers, and [`error`] is the one map from failures to statuses.
//!
//! Pure helpers: calendar folding in [`timeline`], country-pair summaries in
//! [`pair`], partial responses in [`view`], excerpt windows in [`snippet`].
#![deny(missing_docs)]

pub mod error;
pub mod filter;
pub mod follow;
pub mod index;
pub mod lineage;
pub mod model;
pub mod page_token;
pub mod pair;
pub mod reader;
pub mod requests;
pub mod server;
pub mod snippet;
pub mod telemetry;
pub mod timeline;
pub mod view;

pub use server::{serve, QueryConfig, ServeError};
