//! The rules every sectorwire crate agrees on, with no I/O and almost no
//! dependencies, so the read side, the write side and clients can share them
//! without linking each other:
//!
//! - [`sector`]: the fixed sector taxonomy (slugs on the wire, labels for
//!   people, IPTC Media Topic codes for joining other archives);
//! - [`id`]: how an article's id is derived from its idempotency key, and
//!   what a well-formed id looks like in a request;
//! - [`hash`]: FNV-1a, for values that must not change between processes
//!   or releases;
//! - [`testdata`] (feature `test-util`): the shared test data and the rule
//!   for tests when it is missing.
#![deny(missing_docs)]

pub mod hash;
pub mod id;
pub mod sector;
#[cfg(feature = "test-util")]
pub mod testdata;

pub use sector::Sector;
