//! Benchmarks and quality evaluations for sectorwire. Speed is measured here
//! (never in timed tests) and always next to a baseline from the same run,
//! so the figures are ratios that survive a noisy machine.
//!
//! - [`synthetic`]: synthetic news-like articles for load tests.
//! - [`overload`]: outcome tallies, open- and closed-loop generators and
//!   bound checks of the `overload` harness.
//! - [`processes`]: start services as child processes, so a load generator
//!   and the server it measures do not share a scheduler, and connect to them.
//! - [`metrics`]: folds and scores shared by the evaluations and the
//!   model fitting, so every tool splits and scores the data alike.
//! - [`open_loop`]: fixed-rate load timed from each request's schedule.
//! - [`peers`]: PostgreSQL and SQLite FTS5 beside sectorwire (the `peers` binary).
//! - [`labelled`]: labelled corpora (JSON lines + label→sector map) and
//!   seed articles, read from disk for the evaluations.
//! - binaries: `ingest_bench` (durable streaming ingest vs one fsync per
//!   article), `query_bench` (latency vs a transport baseline, lag), `stages`
//!   (per-article CPU of each pipeline stage), `overload` (open-loop overload
//!   and non-reading streams against stated bounds),
//!   `extract_eval` (body extraction F1), `eval` (sector tagging P/R/F1) and
//!   `train` (fits the analyzer's linear model).

pub mod labelled;
pub mod metrics;
pub mod open_loop;
pub mod overload;
pub mod peers;
pub mod processes;
pub mod synthetic;
