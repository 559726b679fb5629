//! A subscriber that stops reading never blocks writers and never makes the
//! server buffer without bound: once its bounded buffer has stayed full past
//! the slow timeout it is disconnected with RESOURCE_EXHAUSTED, and it
//! resumes by sequence without losing anything.

use std::time::Duration;

use sectorwire_proto::ingest::{
    ingest_articles_response, subscribe_response, ArticleMetadata, GetIngestStatsRequest,
    IngestArticleRequest, SubscribeRequest,
};
use sectorwire_tests::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_cut_off_and_resumes() {
    const TOTAL: u64 = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest_with(dir.path(), |c| {
        c.feed_buffer = 8;
        c.feed_slow_timeout_ms = 300;
    })
    .await;
    let mut feed = feed_client(ingest.addr).await;
    let mut stalled = feed
        .subscribe(SubscribeRequest {
            after_sequence: 0,
            heartbeat_millis: 1000,
        })
        .await
        .expect("subscribe")
        .into_inner();

    // Writers proceed while the subscriber reads nothing.
    let mut writer = ingest_client(ingest.addr).await;
    let requests: Vec<IngestArticleRequest> = (0..TOTAL as usize)
        .map(|n| IngestArticleRequest {
            content: format!(
                "{}\n{}",
                generated_article(n),
                "Filler sentence about trade routes. ".repeat(600)
            )
            .into_bytes(),
            metadata: Some(ArticleMetadata {
                source_id: format!("bp-{n}"),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let mut results = writer
        .ingest_articles(tokio_stream::iter(requests))
        .await
        .expect("stream")
        .into_inner();
    let mut acked = 0;
    while let Some(item) = tokio::time::timeout(Duration::from_secs(60), results.message())
        .await
        .expect("writers must not be blocked by a stalled subscriber")
        .expect("result")
    {
        if matches!(item.result, Some(ingest_articles_response::Result::Ok(_))) {
            acked += 1;
        }
    }
    assert_eq!(acked, TOTAL);

    // Let the slow timeout pass, then drain: what was buffered (in our
    // channel and in HTTP/2 flow-control windows), then the cut.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, mut last) = read_until_cut_off(&mut stalled).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&format!("after_sequence={last}")),
        "{status:?}"
    );
    assert!(last < TOTAL, "the subscriber was cut off before the end");
    let stats = writer
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.subscribers, 0, "the stalled subscriber's task is gone");

    // Resume exactly where it stopped.
    let mut resumed = feed
        .subscribe(SubscribeRequest {
            after_sequence: last,
            heartbeat_millis: 1000,
        })
        .await
        .expect("resubscribe")
        .into_inner();
    while last < TOTAL {
        let message = resumed.message().await.expect("message").expect("open");
        if let Some(subscribe_response::Message::Event(event)) = message.message {
            assert_eq!(event.sequence, last + 1);
            last = event.sequence;
        }
    }
    drop(resumed);
    ingest.stop().await;
}
