//! The sectorwire query service: a read replica that follows the ingest
//! service's change log and answers queries.
//!
//! Data flows through the modules in this order:
//!
//! - [`follow`]: subscribes to `ChangeFeedService`, batches events, and
//!   reconnects with backoff, resuming from the applied sequence;
//! - [`model`]: applies batches to this replica's records (sled) and search
//!   index, storing the applied sequence with both;
//! - [`index`]: the tantivy schema, filters, ordering keys, BM25 search,
//!   snippets and aggregations;
//! - [`server`]: gRPC handlers; request validation lives in [`filter`] and
//!   [`page_token`], calendar folding in [`timeline`], country-pair
//!   summaries in [`pair`], partial responses in [`view`], excerpt windows
//!   in [`snippet`] (all pure).

pub mod filter;
pub mod follow;
pub mod index;
pub mod model;
pub mod page_token;
pub mod pair;
pub mod server;
pub mod snippet;
pub mod timeline;
pub mod view;

pub use server::{serve, QueryConfig, ServeError};
