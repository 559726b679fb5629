//! The ingest byte budget is global: concurrent writers past it are shed
//! with RESOURCE_EXHAUSTED and a retry hint before anything is parsed or
//! stored, and every admitted write is acknowledged.

use sectorwire_proto::ingest::{ArticleMetadata, GetIngestStatsRequest, IngestArticleRequest};
use sectorwire_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_past_the_byte_budget_are_shed_with_a_retry_hint() {
    const WRITERS: usize = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    // Room for one article at a time.
    let ingest = start_ingest_with(dir.path(), |c| {
        c.max_inflight_bytes = sectorwire_ingest::admission::MIN_WEIGHT
    })
    .await;
    let client = ingest_client(ingest.addr).await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .ingest_article(IngestArticleRequest {
                        content: format!(
                            "{}\n{}",
                            generated_article(n),
                            "Grain exports rose as tariffs fell. ".repeat(800)
                        )
                        .into_bytes(),
                        metadata: Some(ArticleMetadata {
                            source_id: format!("adm-{n}"),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
            })
        })
        .collect();
    let (mut stored, mut shed) = (0u64, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => stored += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.get_details_retry_info().is_some(), "{status:?}");
                shed += 1;
            }
        }
    }
    assert!(shed > 0, "{WRITERS} concurrent writers and none was shed");
    assert!(stored > 0);
    let stats = client
        .clone()
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.articles, stored, "a shed write was stored");
    ingest.stop().await;
}
