//! Streams cannot be used to exhaust the services: subscribers and watchers
//! are capped (more get RESOURCE_EXHAUSTED with a retry hint), and one that
//! stops reading is cut off with a status that overtakes its buffered
//! messages and names the position it resumes after.

use std::time::Duration;

use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ArticleMetadata, GetIngestStatsRequest,
    IngestArticleRequest, SubscribeRequest,
};
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, GetQueryStatsRequest, WatchArticlesRequest,
};
use sectorwire_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

/// Articles of ~30 KB, so a handful fill a 64 KiB window.
fn big_article(n: usize) -> IngestArticleRequest {
    IngestArticleRequest {
        content: format!(
            "{}\n{}",
            generated_article(n),
            "Filler sentence about trade routes and shipping. ".repeat(600)
        )
        .into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: format!("hs-{n}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn ingest_many(addr: std::net::SocketAddr, total: usize) -> u64 {
    let mut writer = ingest_client(addr).await;
    let mut last = 0;
    for n in 0..total {
        last = writer
            .ingest_article(big_article(n))
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_caps_subscribers_and_delivers_the_cut_off_ahead_of_its_buffer() {
    const TOTAL: usize = 120;
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest_with(dir.path(), |c| {
        c.feed_max_subscribers = 2;
        c.feed_buffer_bytes = 64 * 1024;
        c.feed_slow_timeout_ms = 300;
    })
    .await;
    ingest_many(ingest.addr, TOTAL).await;

    let mut stalled = ChangeFeedServiceClient::new(small_window_channel(ingest.addr).await)
        .max_decoding_message_size(64 * 1024 * 1024)
        .subscribe(SubscribeRequest {
            after_sequence: 0,
            heartbeat_millis: 1000,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let mut feed = feed_client(ingest.addr).await;
    let second = feed
        .subscribe(SubscribeRequest::default())
        .await
        .expect("second subscriber fits");
    let refused = feed
        .subscribe(SubscribeRequest::default())
        .await
        .expect_err("a third subscriber is over the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.get_details_retry_info().is_some(),
        "retry hint: {refused:?}"
    );
    drop(second);

    // Stalled past the slow timeout, then read: the status arrives after
    // what was already in flight on the connection, not after the backlog.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, last) = read_until_cut_off(&mut stalled).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&format!("after_sequence={last}")),
        "{status:?} after {last}"
    );
    assert!(
        last < 40,
        "{last} of {TOTAL} events came before the status: it waited behind the buffer"
    );

    // Slots come back: the cut and the dropped subscriber left.
    let mut stats = ingest_client(ingest.addr).await;
    for _ in 0..100 {
        let now = stats
            .get_ingest_stats(GetIngestStatsRequest {})
            .await
            .expect("stats")
            .into_inner();
        if now.subscribers == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resumed = feed
        .subscribe(SubscribeRequest {
            after_sequence: last,
            heartbeat_millis: 1000,
        })
        .await
        .expect("resubscribe");
    drop(resumed);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_are_capped_and_a_stalled_watcher_is_cut_off() {
    const TOTAL: usize = 80;
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let query = start_query_with(&dir.path().join("query"), ingest.addr, |c| {
        c.max_watchers = 2;
        c.watch_buffer_bytes = 64 * 1024;
        c.watch_slow_timeout_ms = 300;
    })
    .await;
    let mut stalled = QueryServiceClient::new(small_window_channel(query.addr).await)
        .max_decoding_message_size(64 * 1024 * 1024)
        .watch_articles(WatchArticlesRequest {
            filter: None,
            after_sequence: Some(0),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut reader = query_client(query.addr).await;
    let second = reader
        .watch_articles(WatchArticlesRequest::default())
        .await
        .expect("second watcher fits");
    let refused = reader
        .watch_articles(WatchArticlesRequest::default())
        .await
        .expect_err("a third watcher is over the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.get_details_retry_info().is_some(),
        "retry hint: {refused:?}"
    );
    drop(second);

    let head = ingest_many(ingest.addr, TOTAL).await;
    for _ in 0..500 {
        let stats = reader
            .get_query_stats(GetQueryStatsRequest {})
            .await
            .expect("stats")
            .into_inner();
        if stats.applied_sequence >= head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut received = 0;
    let mut last = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.message())
            .await
            .expect("no cut-off: the watcher was never seen as slow")
        {
            Ok(Some(item)) => {
                received += 1;
                last = item.sequence;
            }
            Ok(None) => panic!("stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&format!("after_sequence={last}")),
        "{status:?} after {last}"
    );
    assert!(
        received < 40,
        "{received} of {TOTAL} articles came before the status"
    );

    // The slot of the cut watcher is free again.
    let mut admitted = None;
    for _ in 0..100 {
        if let Ok(stream) = reader
            .watch_articles(WatchArticlesRequest {
                filter: None,
                after_sequence: Some(last),
            })
            .await
        {
            admitted = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "the cut watcher's slot was not released");
    drop(admitted);
    query.stop().await;
    ingest.stop().await;
}
