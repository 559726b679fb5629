//! Service behaviour every client relies on, whichever client it is: the
//! content-type hint does not break idempotency, a sector timeline answers
//! only for the sectors asked about, and "newest first" lists dated news
//! before undated articles.

use sectorwire_proto::ingest::{ArticleMetadata, ContentType, IngestArticleRequest, IngestOutcome};
use sectorwire_proto::query::{
    ArticleFilter, Consistency, ListArticlesRequest, SectorTimelineRequest, TimeBucket,
};
use sectorwire_tests::*;

const DAY: i64 = 86_400;
/// 2024-01-01T00:00:00Z.
const BASE: i64 = 1_704_067_200;

fn request(content: &str, content_type: ContentType) -> IngestArticleRequest {
    IngestArticleRequest {
        content: content.as_bytes().to_vec(),
        content_type: content_type as i32,
        ..Default::default()
    }
}

fn at(seq: u64) -> Option<Consistency> {
    Some(Consistency { min_sequence: seq })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_bytes_with_another_hint_are_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let mut writer = ingest_client(ingest.addr).await;
    let text = generated_article(3);
    let html = format!(
        "<html><head><title>Hint test</title></head><body><article><p>{}</p><p>{}</p></article></body></html>",
        generated_article(4).replace('\n', " "),
        generated_article(5).replace('\n', " ")
    );
    for (content, explicit) in [(&text, ContentType::Text), (&html, ContentType::Html)] {
        let first = writer
            .ingest_article(request(content, explicit))
            .await
            .expect("ingest")
            .into_inner();
        assert_eq!(first.outcome(), IngestOutcome::Created);
        let sniffed = writer
            .ingest_article(request(content, ContentType::Unspecified))
            .await
            .expect("ingest again")
            .into_inner();
        assert_eq!(sniffed.id, first.id);
        assert_eq!(
            sniffed.outcome(),
            IngestOutcome::Unchanged,
            "{explicit:?} then UNSPECIFIED resolve to the same parse"
        );
        assert_eq!(sniffed.sequence, first.sequence, "no new change-log event");
    }
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_returns_only_requested_sectors_and_undated_list_last() {
    let (_dir, ingest, query, mut writer, mut reader) = start_system().await;
    let mut last = 0;
    // Articles over six topics; each also picks up other tags (countries
    // and words shared across topics), which is what used to leak through.
    for n in 0..12 {
        let mut r = request(&generated_article(n), ContentType::Text);
        r.metadata = Some(ArticleMetadata {
            source_id: format!("dated-{n}"),
            published_at: Some(sectorwire_proto::timestamp(BASE + n as i64 * DAY)),
            ..Default::default()
        });
        last = writer
            .ingest_article(r)
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    // Ingested last, with no date anywhere: must not top "newest first".
    let undated = writer
        .ingest_article(request(&generated_article(12), ContentType::Text))
        .await
        .expect("ingest undated")
        .into_inner();
    last = last.max(undated.sequence);

    let all = reader
        .sector_timeline(SectorTimelineRequest {
            bucket: TimeBucket::Month as i32,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner();
    assert!(all.series.iter().all(|s| !s.points.is_empty()), "{all:?}");
    let wanted = vec!["tourism".to_string(), "energy".to_string()];
    let some = reader
        .sector_timeline(SectorTimelineRequest {
            filter: Some(ArticleFilter {
                sectors: wanted.clone(),
                ..Default::default()
            }),
            bucket: TimeBucket::Month as i32,
            consistency: at(last),
        })
        .await
        .expect("timeline by sector")
        .into_inner();
    let got: Vec<String> = some.series.iter().map(|s| s.sector.clone()).collect();
    assert_eq!(got, wanted, "exactly the requested sectors, in request order");
    assert!(some
        .series
        .iter()
        .all(|s| s.points.iter().map(|p| p.count).sum::<u64>() >= 2));

    let page = reader
        .list_articles(ListArticlesRequest {
            page_size: 20,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.articles.len(), 13);
    assert_eq!(
        page.articles[0].published_at.map(|t| t.seconds),
        Some(BASE + 11 * DAY)
    );
    assert_eq!(page.articles[12].id, undated.id, "undated article comes last");
    assert!(page.articles[12].published_at.is_none());
    query.stop().await;
    ingest.stop().await;
}
