//! Benchmarks and quality evaluations for sectorwire. Speed is measured here
//! (never in timed tests) and always next to a baseline from the same run,
//! so the figures are ratios that survive a noisy machine.
//!
//! - [`corpus`]: synthetic ~5 KB news-like articles for load tests.
//! - [`services`]: start services in-process on `127.0.0.1:0`.
//! - binaries: `ingest_bench` (durable streaming ingest vs one fsync per
//!   article), and the evaluation commands.

pub mod corpus;
pub mod services;
