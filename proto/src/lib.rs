//! The sectorwire contract, shared by every service, client and test.
//!
//! - [`article`], [`ingest`], [`query`]: messages and tonic clients/servers
//!   generated at build time from `proto/sectorwire/**.proto` (protox, so no
//!   `protoc` is needed).
//! - [`FILE_DESCRIPTOR_SET`]: the compiled schemas, served by gRPC reflection
//!   and used by [`json`] to print messages in the proto3 JSON mapping.
//! - [`status`] (feature `grpc`): how both services report errors (bounded
//!   sizes, the right codes, no internal detail); [`codec`]: how undecodable
//!   requests are reported; [`outbox`]: server-stream buffers bounded in
//!   bytes with a slow-consumer cut-off; [`feed`]: the change feed read with
//!   each article left encoded, for followers that store it as received.
//!
//! Without the default `grpc` feature the crate is messages only (prost), so
//! pure code can build records without linking tonic.
#![deny(missing_docs)]

#[cfg(feature = "grpc")]
pub mod codec;
#[cfg(feature = "grpc")]
pub mod feed;
pub mod json;
#[cfg(feature = "grpc")]
pub mod outbox;
#[cfg(feature = "grpc")]
pub mod status;

/// Generated code, nested by protobuf package so cross-package references
/// (`super::super::article::v1`) resolve.
#[allow(clippy::large_enum_variant, missing_docs)]
pub mod sectorwire {
    /// The article record and change events.
    pub mod article {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/sectorwire.article.v1.rs"));
        }
    }
    /// The write side.
    pub mod ingest {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/sectorwire.ingest.v1.rs"));
        }
    }
    /// The read side.
    pub mod query {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/sectorwire.query.v1.rs"));
        }
    }
}

pub use sectorwire::article::v1 as article;
pub use sectorwire::ingest::v1 as ingest;
pub use sectorwire::query::v1 as query;

/// Encoded `FileDescriptorSet` of every sectorwire schema (plus the
/// well-known types they import).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sectorwire_descriptor.bin"));

/// Converts between `prost_types::Timestamp` and seconds since the epoch, the
/// form the storage layers index on.
pub fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}
