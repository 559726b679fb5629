//! The ingest service's Prometheus metrics (see `sectorwire_runtime::metrics`
//! for the recorder and the per-RPC series). What the stats RPC reports is
//! exported from it at scrape time ([`register`]); what it does not (queue
//! depth, batch sizes, commit time, per-article results inside streams) is
//! recorded where it happens.

use std::time::Duration;

use futures::FutureExt;
use sectorwire_proto::ingest::{
    ingest_service_server::IngestService, GetIngestStatsRequest, IngestArticleResponse, IngestOutcome,
};
use sectorwire_runtime::metrics::{on_scrape, ScrapeHook};
use tonic::Status;

use crate::server::Ingest;

/// Write batches waiting for the committer when it took its last batch.
pub const QUEUE_DEPTH: &str = "sectorwire_ingest_queue_depth";
/// Operations per group commit.
pub const BATCH_OPS: &str = "sectorwire_ingest_commit_batch_ops";
/// Seconds per group commit (one transaction and one fsync).
pub const COMMIT_SECONDS: &str = "sectorwire_ingest_commit_seconds";
/// Group commits made durable: one fsync each.
pub const FSYNCS: &str = "sectorwire_ingest_fsyncs_total";
/// Group commits that failed (the store is then reopened).
pub const COMMIT_FAILURES: &str = "sectorwire_ingest_commit_failures_total";
/// Articles handled, by `result`: CREATED, UPDATED, UNCHANGED or the gRPC
/// code of the item's error (items of an `IngestArticles` stream included).
pub const ARTICLES: &str = "sectorwire_ingest_articles_total";
/// Live articles stored, as of the last good flush.
pub const STORED: &str = "sectorwire_ingest_articles_stored";
/// Sequence of the newest durable change-log event.
pub const LOG_HEAD: &str = "sectorwire_ingest_log_head";
/// Bytes of the store on disk.
pub const DISK_BYTES: &str = "sectorwire_ingest_disk_bytes";
/// Change-feed streams open.
pub const SUBSCRIBERS: &str = "sectorwire_feed_subscribers";

/// Exports `GetIngestStats` as gauges before every scrape, while the
/// returned hook lives.
pub fn register(ingest: Ingest) -> ScrapeHook {
    describe();
    on_scrape(ingest, |ingest| {
        async move {
            let Ok(stats) = ingest
                .get_ingest_stats(tonic::Request::new(GetIngestStatsRequest {}))
                .await
            else {
                return;
            };
            let stats = stats.into_inner();
            metrics::gauge!(STORED).set(stats.articles as f64);
            metrics::gauge!(LOG_HEAD).set(stats.log_head as f64);
            metrics::gauge!(DISK_BYTES).set(stats.disk_bytes as f64);
            metrics::gauge!(SUBSCRIBERS).set(f64::from(stats.subscribers));
        }
        .boxed()
    })
}

fn describe() {
    metrics::describe_gauge!(
        QUEUE_DEPTH,
        "write batches waiting for the committer when it took its last batch"
    );
    metrics::describe_histogram!(BATCH_OPS, "operations per group commit");
    metrics::describe_histogram!(
        COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "time of one group commit: one transaction and one fsync"
    );
    metrics::describe_counter!(FSYNCS, "group commits made durable, one fsync each");
    metrics::describe_counter!(
        COMMIT_FAILURES,
        "group commits that failed (the store is reopened)"
    );
    metrics::describe_counter!(
        ARTICLES,
        "articles handled, by result: CREATED, UPDATED, UNCHANGED or the error's gRPC code"
    );
    metrics::describe_gauge!(STORED, "live articles stored, as of the last good flush");
    metrics::describe_gauge!(LOG_HEAD, "sequence of the newest durable change-log event");
    metrics::describe_gauge!(DISK_BYTES, metrics::Unit::Bytes, "bytes of the store on disk");
    metrics::describe_gauge!(SUBSCRIBERS, "change-feed streams open");
}

/// The committer took a batch of `ops` operations, leaving `waiting` batches queued.
pub fn commit_started(waiting: usize, ops: usize) {
    metrics::gauge!(QUEUE_DEPTH).set(waiting as f64);
    metrics::histogram!(BATCH_OPS).record(ops as f64);
}

/// A group commit ended after `took`.
pub fn commit_finished(took: Duration, durable: bool) {
    metrics::histogram!(COMMIT_SECONDS).record(took.as_secs_f64());
    if durable {
        metrics::counter!(FSYNCS).increment(1);
    } else {
        metrics::counter!(COMMIT_FAILURES).increment(1);
    }
}

/// One article's result.
pub fn article(result: &Result<IngestArticleResponse, Status>) {
    let label = match result {
        Ok(response) => match IngestOutcome::try_from(response.outcome) {
            Ok(IngestOutcome::Created) => "CREATED",
            Ok(IngestOutcome::Updated) => "UPDATED",
            _ => "UNCHANGED",
        },
        Err(status) => sectorwire_runtime::rpc_layer::code_name(status.code() as i32),
    };
    metrics::counter!(ARTICLES, "result" => label).increment(1);
}

/// The per-RPC layer (request ids, gRPC metrics) for this port's services.
pub fn rpc_layer() -> sectorwire_runtime::rpc_layer::RpcLayer {
    use sectorwire_proto::ingest::{
        change_feed_service_server::ChangeFeedServiceServer, ingest_service_server::IngestServiceServer,
    };
    use tonic::server::NamedService;
    sectorwire_runtime::rpc_layer::RpcLayer::new(
        sectorwire_proto::FILE_DESCRIPTOR_SET,
        &[
            <IngestServiceServer<Ingest> as NamedService>::NAME,
            <ChangeFeedServiceServer<crate::feed::Feed> as NamedService>::NAME,
        ],
    )
}
