//! Fault injection through the `Store` trait, against the real sled store and
//! the real gRPC server: a failed write or flush reaches the client as an
//! error, and the item is then consistently absent or present — never half
//! there, never duplicated by a retry.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sectorwire_ingest::store::{FaultPlan, FaultyStore, SledStore, Store};
use sectorwire_ingest::IngestConfig;
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, GetIngestStatsRequest, IngestArticleRequest, IngestOutcome,
};
use tokio_util::sync::CancellationToken;
use tonic::Code;

fn article(n: u32) -> IngestArticleRequest {
    IngestArticleRequest {
        content: format!("Headline {n}\n\nThe trade ministry published figure {n} on exports of wheat.\n")
            .into_bytes(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_apply_and_failed_flush_are_errors_and_retries_are_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = Arc::new(FaultPlan::default());
    let store: Arc<dyn Store> = Arc::new(FaultyStore::new(
        SledStore::open(dir.path()).expect("open"),
        plan.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(sectorwire_ingest::serve_store(
        IngestConfig::new(addr, dir.path().to_path_buf()),
        store.clone(),
        listener,
        shutdown.clone(),
    ));
    let mut client = loop {
        if let Ok(c) = IngestServiceClient::connect(format!("http://{addr}")).await {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    client.ingest_article(article(0)).await.expect("healthy write");

    // A failed apply: error, nothing written; the retry creates it.
    plan.fail_apply.store(1, Ordering::SeqCst);
    let err = client.ingest_article(article(1)).await.expect_err("apply fault");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let stats = client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(
        (stats.articles, stats.log_head),
        (1, 1),
        "nothing of the failed write is visible"
    );
    let retry = client
        .ingest_article(article(1))
        .await
        .expect("retry")
        .into_inner();
    assert!(retry.created);
    assert_eq!(retry.sequence, 2);

    // A failed flush: error (not acknowledged), but the write was applied, so
    // it is present consistently and the retry is a no-op, not a duplicate.
    plan.fail_flush.store(1, Ordering::SeqCst);
    let err = client.ingest_article(article(2)).await.expect_err("flush fault");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let retry = client
        .ingest_article(article(2))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry.outcome, IngestOutcome::Unchanged as i32);
    assert_eq!(retry.sequence, 3);
    let stats = client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.articles, stats.log_head), (3, 3));

    drop(client);
    shutdown.cancel();
    server.await.expect("join").expect("serve");
    drop(store);
    // Everything is on disk after a clean stop.
    let reopened = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(reopened.head(), 3);
    assert_eq!(reopened.log_after(0, 10).expect("log").len(), 3);
}
