//! Fault injection through the `Store` trait, against the real sled store and
//! the real gRPC server: a failed write or flush reaches the client as an
//! error, and the item is then consistently absent or present — never half
//! there, never duplicated by a retry.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sectorwire_ingest::store::{FaultPlan, FaultyStore, SledStore, Store};
use sectorwire_ingest::{IngestConfig, ServeError};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_service_client::IngestServiceClient,
    subscribe_response, GetIngestStatsRequest, IngestArticleRequest, IngestOutcome, SubscribeRequest,
    SubscribeResponse,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

fn article(n: u32) -> IngestArticleRequest {
    IngestArticleRequest {
        content: format!("Headline {n}\n\nThe trade ministry published figure {n} on exports of wheat.\n")
            .into_bytes(),
        ..Default::default()
    }
}

/// The real server over a sled store whose faults the test plans, and a client.
struct Faulty {
    plan: Arc<FaultPlan>,
    store: Arc<dyn Store>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), ServeError>>,
    client: IngestServiceClient<Channel>,
}

impl Faulty {
    async fn start(dir: &Path) -> Self {
        let plan = Arc::new(FaultPlan::default());
        let store: Arc<dyn Store> = Arc::new(FaultyStore::new(
            SledStore::open(dir).expect("open"),
            plan.clone(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(sectorwire_ingest::serve_store(
            IngestConfig::new(addr, dir.to_path_buf()),
            store.clone(),
            listener,
            shutdown.clone(),
        ));
        let client = loop {
            if let Ok(c) = IngestServiceClient::connect(format!("http://{addr}")).await {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Faulty {
            plan,
            store,
            addr,
            shutdown,
            server,
            client,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_apply_and_failed_flush_are_errors_and_retries_are_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Faulty::start(dir.path()).await;
    f.client.ingest_article(article(0)).await.expect("healthy write");

    // A failed apply: error, nothing written; the retry creates it.
    f.plan.fail_apply.store(1, Ordering::SeqCst);
    let err = f
        .client
        .ingest_article(article(1))
        .await
        .expect_err("apply fault");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let stats = f
        .client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(
        (stats.articles, stats.log_head),
        (1, 1),
        "nothing of the failed write is visible"
    );
    let retry = f
        .client
        .ingest_article(article(1))
        .await
        .expect("retry")
        .into_inner();
    assert!(retry.created);
    assert_eq!(retry.sequence, 2);

    // A failed flush: error (not acknowledged), but the write was applied, so
    // it is present consistently and the retry is a no-op, not a duplicate.
    f.plan.fail_flush.store(1, Ordering::SeqCst);
    let err = f
        .client
        .ingest_article(article(2))
        .await
        .expect_err("flush fault");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let retry = f
        .client
        .ingest_article(article(2))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry.outcome, IngestOutcome::Unchanged as i32);
    assert_eq!(retry.sequence, 3);
    let stats = f
        .client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.articles, stats.log_head), (3, 3));

    drop(f.client);
    f.shutdown.cancel();
    f.server.await.expect("join").expect("serve");
    drop(f.store);
    // Everything is on disk after a clean stop.
    let reopened = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(reopened.head(), 3);
    assert_eq!(reopened.log_after(0, 10).expect("log").len(), 3);
}

/// The next event's sequence, or `None` when no event comes within 400 ms.
async fn next_event(feed: &mut tonic::Streaming<SubscribeResponse>) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(400);
    loop {
        let message = tokio::time::timeout_at(deadline, feed.message())
            .await
            .ok()?
            .expect("feed error")
            .expect("feed open");
        if let Some(subscribe_response::Message::Event(event)) = message.message {
            return Some(event.sequence);
        }
    }
}

/// Health of the write service as the standard health protocol reports it.
async fn ingest_health(addr: std::net::SocketAddr) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    let reply = health
        .check(HealthCheckRequest {
            service: "sectorwire.ingest.v1.IngestService".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(reply.status).unwrap_or(ServingStatus::Unknown)
}

/// Issue 13, disk full: a write whose flush failed was answered UNAVAILABLE yet published to
/// the change feed and counted, then lost on restart with its sequence reused, and writes kept
/// failing until a restart. Now nothing past the last good flush is published or counted, the
/// write service is NOT_SERVING until the store is reopened at its durable state, and writes
/// resume by themselves once the reopen succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_flush_publishes_nothing_until_the_store_is_reopened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Faulty::start(dir.path()).await;
    let addr = f.addr;
    let mut feed = ChangeFeedServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("feed client")
        .subscribe(SubscribeRequest {
            after_sequence: 0,
            heartbeat_millis: 50,
        })
        .await
        .expect("subscribe")
        .into_inner();
    f.client.ingest_article(article(0)).await.expect("healthy write");
    assert_eq!(next_event(&mut feed).await, Some(1));

    f.plan.fail_flush.store(1, Ordering::SeqCst);
    f.plan.fail_reopen.store(u32::MAX, Ordering::SeqCst);
    let err = f
        .client
        .ingest_article(article(1))
        .await
        .expect_err("flush fault");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(ingest_health(addr).await, ServingStatus::NotServing);
    let stats = f
        .client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(
        (stats.articles, stats.log_head, stats.writes),
        (1, 1, 1),
        "the write that was not acknowledged is not counted"
    );
    assert_eq!(
        next_event(&mut feed).await,
        None,
        "the write that was not acknowledged is not published"
    );
    let err = f
        .client
        .ingest_article(article(2))
        .await
        .expect_err("writes are suspended");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("suspended"), "{}", err.message());

    // The store comes back by itself: no restart.
    f.plan.fail_reopen.store(0, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ingest_health(addr).await != ServingStatus::Serving {
        assert!(tokio::time::Instant::now() < deadline, "health did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ack = f
        .client
        .ingest_article(article(2))
        .await
        .expect("writes resume")
        .into_inner();
    // The reopened store holds whatever of the failed batch reached the disk (sled wrote it
    // when the old handle closed), so the feed carries it now, in order, as stored.
    let stats = f
        .client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.log_head, ack.sequence);
    let mut seen = Vec::new();
    while let Some(seq) = next_event(&mut feed).await {
        seen.push(seq);
    }
    assert_eq!(seen, (2..=ack.sequence).collect::<Vec<_>>(), "dense, once each");

    drop(f.client);
    f.shutdown.cancel();
    f.server.await.expect("join").expect("serve");
    drop(f.store);
    let reopened = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(
        reopened.head(),
        ack.sequence,
        "what was published is what is on disk"
    );
}
