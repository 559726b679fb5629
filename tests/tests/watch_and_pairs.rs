//! `WatchArticles` sees every newly applied match exactly once and resumes by
//! sequence; `GetCountryPair` explains what two countries relate on.

use std::time::Duration;

use sectorwire_proto::ingest::{ArticleMetadata, IngestArticleRequest};
use sectorwire_proto::query::{
    ArticleFilter, Consistency, GetCountryPairRequest, ListArticlesRequest, TimeBucket, WatchArticlesRequest,
};
use sectorwire_tests::*;
use tonic::Code;

fn request(n: usize) -> IngestArticleRequest {
    IngestArticleRequest {
        content: generated_article(n).into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: format!("watch-{n}"),
            published_at: Some(sectorwire_proto::timestamp(1_700_000_000 + n as i64 * 86_400)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_each_new_match_once_and_resumes() {
    let (_dir, ingest, query, mut writer, mut reader) = start_system().await;
    // Something applied before the watch starts must not be sent.
    let before = writer
        .ingest_article(request(1000))
        .await
        .expect("ingest")
        .into_inner();
    reader
        .list_articles(ListArticlesRequest {
            consistency: Some(Consistency {
                min_sequence: before.sequence,
            }),
            ..Default::default()
        })
        .await
        .expect("settle");

    let filter = ArticleFilter {
        sectors: vec!["energy".into()],
        ..Default::default()
    };
    let mut watch = reader
        .watch_articles(WatchArticlesRequest {
            filter: Some(filter.clone()),
            after_sequence: None,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut last = 0;
    for n in 0..36 {
        last = writer
            .ingest_article(request(n))
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    // The expected matches, as the replica itself lists them.
    let listed = reader
        .list_articles(ListArticlesRequest {
            filter: Some(filter.clone()),
            page_size: 200,
            order_by: sectorwire_proto::query::ArticleOrder::IngestedDesc as i32,
            consistency: Some(Consistency { min_sequence: last }),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let mut expected: Vec<(u64, String)> = listed
        .articles
        .iter()
        .map(|a| (a.sequence, a.id.clone()))
        .collect();
    expected.sort();
    assert!(
        expected.len() >= 3,
        "the generated set must contain energy articles: {expected:?}"
    );
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let item = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .expect("watch stalled")
            .expect("watch error")
            .expect("watch closed");
        let article = item.article.expect("article");
        assert_eq!(article.sequence, item.sequence);
        got.push((item.sequence, article.id));
    }
    assert_eq!(got, expected, "each match once, in order");
    // Nothing else arrives.
    let extra = tokio::time::timeout(Duration::from_millis(300), watch.message()).await;
    assert!(extra.is_err(), "unexpected extra item: {extra:?}");

    // Resume after the second item: the rest again, exactly.
    let mut resumed = reader
        .watch_articles(WatchArticlesRequest {
            filter: Some(filter),
            after_sequence: Some(expected[1].0),
        })
        .await
        .expect("watch")
        .into_inner();
    for (sequence, id) in &expected[2..] {
        let item = tokio::time::timeout(Duration::from_secs(10), resumed.message())
            .await
            .expect("stalled")
            .expect("error")
            .expect("closed");
        assert_eq!(
            (&item.sequence, &item.article.expect("article").id),
            (sequence, id)
        );
    }
    drop(watch);
    drop(resumed);
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn country_pair_validates_and_answers() {
    let (_dir, ingest, query, mut writer, mut reader) = start_system().await;
    let mut last = 0;
    for n in 0..24 {
        last = writer
            .ingest_article(request(n))
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    let err = reader
        .get_country_pair(GetCountryPairRequest {
            country_a: "KE".into(),
            country_b: "KE".into(),
            ..Default::default()
        })
        .await
        .expect_err("same country twice");
    assert_eq!(err.code(), Code::InvalidArgument);

    // Kenya and Tanzania appear together in every 24th-block article
    // (generated_article's first place pair).
    let reply = reader
        .get_country_pair(GetCountryPairRequest {
            country_a: "tz".into(),
            country_b: "KE".into(),
            bucket: TimeBucket::Month as i32,
            consistency: Some(Consistency { min_sequence: last }),
            ..Default::default()
        })
        .await
        .expect("pair")
        .into_inner();
    assert_eq!((reply.a.as_str(), reply.b.as_str()), ("KE", "TZ"));
    assert_eq!(reply.articles.len() as u64, reply.article_count.min(10));
    for article in &reply.articles {
        assert!(article.body.contains("Kenya") && article.body.contains("Tanzania"));
    }
    for sector in &reply.sectors {
        for evidence in &sector.evidence {
            assert!(
                evidence.text.contains("Kenya") || evidence.text.contains("Tanzania"),
                "{evidence:?}"
            );
        }
    }
    query.stop().await;
    ingest.stop().await;
}
