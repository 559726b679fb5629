//! Every record the ingest service accepts must reach every replica and fit in every reply
//! that carries it whole. Issue 13: a 13 MB article dense in country names was acknowledged,
//! its 34.7 MB record could not be sent on the change feed, and replication stopped there
//! for good. Records are now sized when they are built and refused with INVALID_ARGUMENT
//! before anything is acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, ArticleMetadata, IngestArticleRequest,
};
use sectorwire_proto::query::{query_service_client::QueryServiceClient, Consistency, GetArticleRequest};
use sectorwire_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

/// Country and city names make the analyser record a mention span per name, so the record
/// grows well past the text: the shape of the article that stopped replication.
const NAMES: [&str; 12] = [
    "Kenya", "Norway", "Chile", "Vietnam", "Brazil", "Germany", "Japan", "Egypt", "Peru", "Canada", "India",
    "Sweden",
];

fn dense_article(seed: u64, words: usize) -> IngestArticleRequest {
    let mut body = String::with_capacity(words * 8);
    let mut x = seed | 1;
    for i in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push_str(NAMES[(x % NAMES.len() as u64) as usize]);
        body.push_str(if i % 12 == 11 { ".\n\n" } else { " and " });
    }
    IngestArticleRequest {
        content: format!("Talks between many countries {seed}\n\n{body}").into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: format!("dense-{seed}-{words}"),
            ..Default::default()
        }),
        return_article: true,
        ..Default::default()
    }
}

/// The message limit the property runs under: small, so articles on both sides of the record
/// limit are cheap to build, and the same arithmetic as the 4 MiB default applies. Requests
/// stay under it (at most ~12 bytes per word), so only the record size decides.
const LIMIT: usize = 192 * 1024;

#[test]
fn any_accepted_article_reaches_the_replica_and_fits_every_reply() {
    let rt = multi_thread_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let (ingest, query, writer, reader) = rt.block_on(async {
        let ingest = start_ingest_with(&dir.path().join("ingest"), |c| c.max_message_bytes = LIMIT).await;
        let query = start_query(&dir.path().join("query"), ingest.addr).await;
        // Clients that accept no more than the server may send, as a default client does at 4 MiB.
        let writer = IngestServiceClient::new(channel(ingest.addr).await)
            .max_encoding_message_size(64 * 1024 * 1024)
            .max_decoding_message_size(LIMIT);
        let reader = QueryServiceClient::new(channel(query.addr).await).max_decoding_message_size(LIMIT);
        (ingest, query, writer, reader)
    });
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // A fixed seed: the cases must land on both sides of the limit every run, and a random
    // draw of 12 word counts once put all of them below it.
    let config = Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&(any::<u64>(), 200usize..12_000), |(seed, words)| {
            let (mut writer, mut reader) = (writer.clone(), reader.clone());
            rt.block_on(async {
                match writer.ingest_article(dense_article(seed, words)).await {
                    Ok(ack) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        let ack = ack.into_inner();
                        let returned = ack.article.expect("return_article was set");
                        let got = tokio::time::timeout(
                            Duration::from_secs(20),
                            reader.get_article(GetArticleRequest {
                                id: ack.id.clone(),
                                consistency: Some(Consistency {
                                    min_sequence: ack.sequence,
                                }),
                            }),
                        )
                        .await
                        .expect("replica answers in time");
                        let got = got
                            .map_err(|s| format!("replica get {}: {s}", ack.sequence))
                            .expect("replica");
                        prop_assert_eq!(got.into_inner().article, Some(returned));
                    }
                    Err(status) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?}", status);
                        let field = status
                            .get_details_bad_request()
                            .and_then(|b| b.field_violations.first().map(|v| v.field.clone()));
                        prop_assert_eq!(field.as_deref(), Some("content"));
                    }
                }
                Ok(())
            })
        })
        .expect("property");
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(
        accepted > 0 && refused > 0,
        "cases on both sides of the limit: {accepted} accepted, {refused} refused"
    );
    rt.block_on(async {
        query.stop().await;
        ingest.stop().await;
    });
}

/// Under the default limits: an article whose record would pass 4 MiB is refused with
/// INVALID_ARGUMENT naming `content`, and nothing of it is stored or logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limits_refuse_a_record_that_a_default_client_could_not_receive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(dir.path()).await;
    let mut writer = ingest_client(ingest.addr).await;
    // A plain body just over 4 MiB: the record carries it whole, so it cannot fit.
    // Paragraphs differ (the parser drops repeated ones as page furniture).
    let mut content = String::from("Harbour notes\n\n");
    let mut n = 0;
    while content.len() <= 4 * 1024 * 1024 {
        n += 1;
        content.push_str(&format!(
            "The harbour board met for session {n} to discuss the tide tables.\n\n"
        ));
    }
    let status = writer
        .ingest_article(IngestArticleRequest {
            content: content.into_bytes(),
            ..Default::default()
        })
        .await
        .map(|ack| ack.into_inner().sequence)
        .expect_err("an oversized record is refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("limit"), "{}", status.message());
    let stats = writer
        .get_ingest_stats(sectorwire_proto::ingest::GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.articles, stats.log_head), (0, 0), "nothing was stored");
    ingest.stop().await;
}
