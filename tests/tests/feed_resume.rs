//! A change-feed consumer that disconnects at random points and resumes from
//! the last sequence it saw, while writers keep ingesting, sees every event
//! exactly once and in order.

use std::time::Duration;

use sectorwire_proto::ingest::{subscribe_response, ArticleMetadata, IngestArticleRequest, SubscribeRequest};
use sectorwire_tests::*;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_resuming_at_random_points_sees_each_event_once() {
    const TOTAL: u64 = 400;
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(dir.path()).await;
    let writer_addr = ingest.addr;
    let writer = tokio::spawn(async move {
        let mut client = ingest_client(writer_addr).await;
        for n in 0..TOTAL as usize {
            let mut request = IngestArticleRequest {
                content: generated_article(n).into_bytes(),
                ..Default::default()
            };
            request.metadata = Some(ArticleMetadata {
                source_id: format!("resume-{n}"),
                ..Default::default()
            });
            client.ingest_article(request).await.expect("ingest");
            if n % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut feed = feed_client(ingest.addr).await;
    let mut seen: Vec<u64> = Vec::new();
    let mut reconnects = 0;
    while seen.len() < TOTAL as usize {
        let after = seen.last().copied().unwrap_or(0);
        let mut stream = feed
            .subscribe(SubscribeRequest {
                after_sequence: after,
                heartbeat_millis: 20,
            })
            .await
            .expect("subscribe")
            .into_inner();
        reconnects += 1;
        // Read a random number of events, then drop the stream.
        let budget = 1 + rng.below(60);
        let mut taken = 0;
        while taken < budget && seen.len() < TOTAL as usize {
            let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("feed stalled")
                .expect("feed error")
                .expect("feed closed");
            if let Some(subscribe_response::Message::Event(event)) = message.message {
                seen.push(event.sequence);
                taken += 1;
            }
        }
    }
    writer.await.expect("writer");
    let expected: Vec<u64> = (1..=TOTAL).collect();
    assert_eq!(seen, expected, "every event exactly once, in order");
    assert!(reconnects > 5, "the test must actually reconnect ({reconnects})");
    ingest.stop().await;
}
