//! The query service's Prometheus metrics (see `sectorwire_runtime::metrics`
//! for the recorder and the per-RPC series). The replica's position is
//! exported from `GetQueryStats` at scrape time ([`register`]), so the
//! gauges say exactly what `sectorwire stats` says.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sectorwire_proto::query::{query_service_server::QueryService, GetQueryStatsRequest};
use sectorwire_runtime::metrics::{on_scrape, ScrapeHook};

use crate::follow::FollowState;
use crate::server::Query;

/// Newest change-log sequence applied to the read model.
pub const APPLIED: &str = "sectorwire_replica_applied_sequence";
/// Newest change-log sequence the replica has heard of from ingest.
pub const HEAD: &str = "sectorwire_replica_head_sequence";
/// Events heard of but not applied yet, as `GetQueryStats` reports it.
pub const LAG: &str = "sectorwire_replica_lag";
/// 1 while the change-feed subscription is open.
pub const CONNECTED: &str = "sectorwire_replica_connected";
/// 1 once the replica has caught up with the log after start (readiness).
pub const READY: &str = "sectorwire_replica_ready";
/// Articles in the read model.
pub const ARTICLES: &str = "sectorwire_replica_articles";
/// New events per applied batch (one tantivy commit).
pub const BATCH_EVENTS: &str = "sectorwire_replica_apply_batch_events";
/// Seconds to apply one batch to tantivy and sled.
pub const APPLY_SECONDS: &str = "sectorwire_replica_apply_seconds";
/// `WatchArticles` streams open.
pub const WATCH_STREAMS: &str = "sectorwire_query_watch_streams";

/// Exports `GetQueryStats` and readiness as gauges before every scrape,
/// while the returned hook lives.
pub fn register(query: Query, follow: Arc<FollowState>) -> ScrapeHook {
    describe();
    on_scrape((query, follow), |target| {
        async move {
            let (query, follow) = &*target;
            metrics::gauge!(READY).set(if follow.ready.is_cancelled() { 1.0 } else { 0.0 });
            let Ok(stats) = query
                .get_query_stats(tonic::Request::new(GetQueryStatsRequest {}))
                .await
            else {
                return;
            };
            let stats = stats.into_inner();
            metrics::gauge!(APPLIED).set(stats.applied_sequence as f64);
            metrics::gauge!(HEAD).set(stats.head_sequence as f64);
            metrics::gauge!(LAG).set(stats.lag as f64);
            metrics::gauge!(ARTICLES).set(stats.articles as f64);
            metrics::gauge!(CONNECTED).set(if stats.connected { 1.0 } else { 0.0 });
        }
        .boxed()
    })
}

fn describe() {
    metrics::describe_gauge!(APPLIED, "newest change-log sequence applied to the read model");
    metrics::describe_gauge!(HEAD, "newest change-log sequence the replica has heard of");
    metrics::describe_gauge!(
        LAG,
        "events heard of but not applied yet (as GetQueryStats reports)"
    );
    metrics::describe_gauge!(CONNECTED, "1 while the change-feed subscription is open");
    metrics::describe_gauge!(READY, "1 once the replica has caught up with the log after start");
    metrics::describe_gauge!(ARTICLES, "articles in the read model");
    metrics::describe_histogram!(BATCH_EVENTS, "new events per applied batch (one tantivy commit)");
    metrics::describe_histogram!(APPLY_SECONDS, metrics::Unit::Seconds, "time to apply one batch");
    metrics::describe_gauge!(WATCH_STREAMS, "WatchArticles streams open");
}

/// A batch of `events` new events was applied in `took`.
pub fn applied(events: usize, took: Duration) {
    metrics::histogram!(BATCH_EVENTS).record(events as f64);
    metrics::histogram!(APPLY_SECONDS).record(took.as_secs_f64());
}

/// The per-RPC layer (request ids, gRPC metrics) for this port's service.
pub fn rpc_layer() -> sectorwire_runtime::rpc_layer::RpcLayer {
    use sectorwire_proto::query::query_service_server::QueryServiceServer;
    use tonic::server::NamedService;
    sectorwire_runtime::rpc_layer::RpcLayer::new(
        sectorwire_proto::FILE_DESCRIPTOR_SET,
        &[<QueryServiceServer<Query> as NamedService>::NAME],
    )
}
