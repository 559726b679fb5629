//! Readiness: a query replica answers NOT_SERVING over `grpc.health.v1` (for
//! its service and for the server as a whole) until it has caught up with the
//! change log once after start, so no reads are routed to a replica still
//! replaying history; then SERVING.

use std::time::{Duration, Instant};

use sectorwire_proto::query::GetQueryStatsRequest;
use sectorwire_tests::*;
use tonic_health::pb::health_check_response::ServingStatus;

const QUERY_SERVICE: &str = "sectorwire.query.v1.QueryService";

/// A port with nothing listening on it.
fn dead_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_is_ready_only_after_catching_up_with_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let mut writer = ingest_client(ingest.addr).await;
    let mut head = 0;
    for n in 0..40 {
        let ack = writer
            .ingest_article(text_request(n))
            .await
            .expect("ingest")
            .into_inner();
        head = head.max(ack.sequence);
    }

    // A replica that cannot reach the log never becomes ready, though it
    // answers (health, and reads from what it has).
    let cut_off = start_query(&dir.path().join("cut-off"), dead_port()).await;
    let _ = query_client(cut_off.addr).await;
    for _ in 0..3 {
        assert_eq!(
            health_status(cut_off.addr, QUERY_SERVICE).await,
            ServingStatus::NotServing
        );
        assert_eq!(health_status(cut_off.addr, "").await, ServingStatus::NotServing);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        sectorwire_runtime::check_health(&cut_off.addr.to_string(), QUERY_SERVICE)
            .await
            .is_err()
    );

    // A replica following the log turns SERVING, and by then it has applied
    // everything acknowledged before it started.
    let replica = start_query(&dir.path().join("query"), ingest.addr).await;
    let mut reader = query_client(replica.addr).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match health_status(replica.addr, QUERY_SERVICE).await {
            ServingStatus::Serving => {
                let applied = reader
                    .get_query_stats(GetQueryStatsRequest {})
                    .await
                    .expect("stats")
                    .into_inner()
                    .applied_sequence;
                assert!(applied >= head, "SERVING at applied {applied} < log head {head}");
                break;
            }
            other => assert_eq!(other, ServingStatus::NotServing),
        }
        assert!(Instant::now() < deadline, "replica never became ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(health_status(replica.addr, "").await, ServingStatus::Serving);

    cut_off.stop().await;
    replica.stop().await;
    ingest.stop().await;
}
