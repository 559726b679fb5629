//! End-to-end: both services on ephemeral ports, real sled, real tantivy,
//! real gRPC. Seeds come from `../shared/seeds` (see `sectorwire_tests::seeds`).

use std::collections::BTreeSet;

use sectorwire_proto::ingest::{
    ingest_articles_response, subscribe_response, ArticleMetadata, ContentType, DeleteArticleRequest,
    GetIngestStatsRequest, IngestArticleRequest, IngestOutcome, SubscribeRequest,
};
use sectorwire_proto::query::{
    ArticleFilter, ArticleView, BatchGetArticlesRequest, Consistency, CountArticlesRequest,
    GetArticleRequest, GetQueryStatsRequest, ListArticlesRequest, ListSectorsRequest, SearchArticlesRequest,
    SectorTimelineRequest, TimeBucket,
};
use sectorwire_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

const DAY: i64 = 86_400;
/// 2024-01-01T00:00:00Z.
const BASE: i64 = 1_704_067_200;

fn text_request(content: &str) -> IngestArticleRequest {
    IngestArticleRequest {
        content: content.as_bytes().to_vec(),
        content_type: ContentType::Text as i32,
        ..Default::default()
    }
}

fn dated_request(n: usize) -> IngestArticleRequest {
    let mut r = text_request(&generated_article(n));
    r.metadata = Some(ArticleMetadata {
        source_id: format!("gen-{n}"),
        published_at: Some(sectorwire_proto::timestamp(BASE + (n as i64) * DAY)),
        ..Default::default()
    });
    r
}

fn at(seq: u64) -> Option<Consistency> {
    Some(Consistency { min_sequence: seq })
}

async fn list_all(
    query: &mut sectorwire_proto::query::query_service_client::QueryServiceClient<tonic::transport::Channel>,
    filter: Option<ArticleFilter>,
    page_size: i32,
    min_sequence: u64,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = query
            .list_articles(ListArticlesRequest {
                filter: filter.clone(),
                page_size,
                page_token: token.clone(),
                consistency: at(min_sequence),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.articles.len() <= page_size as usize);
        ids.extend(page.articles.into_iter().map(|a| a.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_round_trip_and_survive_restarts() {
    let Some(seeds) = seeds() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (ingest_dir, query_dir) = (dir.path().join("ingest"), dir.path().join("query"));
    let ingest = start_ingest(&ingest_dir).await;
    let query = start_query(&query_dir, ingest.addr).await;
    let mut writer = ingest_client(ingest.addr).await;
    let mut reader = query_client(query.addr).await;

    let mut ids = Vec::new();
    let mut last = 0;
    for (name, bytes) in &seeds {
        let ack = writer
            .ingest_article(IngestArticleRequest {
                content: bytes.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("ingest {name}: {s}"))
            .into_inner();
        assert!(ack.created, "{name} should be new");
        assert_eq!(ack.outcome, IngestOutcome::Created as i32);
        assert!(ack.sequence > last, "sequences increase");
        last = ack.sequence;
        ids.push(ack.id);
    }
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        seeds.len(),
        "distinct ids"
    );

    // Same input again: same id, nothing new.
    for ((name, bytes), id) in seeds.iter().zip(&ids) {
        let again = writer
            .ingest_article(IngestArticleRequest {
                content: bytes.clone(),
                ..Default::default()
            })
            .await
            .expect("re-ingest")
            .into_inner();
        assert_eq!(&again.id, id, "{name}");
        assert!(!again.created);
        assert_eq!(again.outcome, IngestOutcome::Unchanged as i32);
    }

    // Read back by id with read-your-writes, and by list.
    for ((name, bytes), id) in seeds.iter().zip(&ids) {
        let article = reader
            .get_article(GetArticleRequest {
                id: id.clone(),
                consistency: at(last),
            })
            .await
            .unwrap_or_else(|s| panic!("get {name}: {s}"))
            .into_inner()
            .article
            .expect("article");
        assert_eq!(&article.id, id);
        assert_eq!(article.name, format!("articles/{id}"));
        assert!(!article.body.is_empty());
        assert!(
            article.body.len() < bytes.len() + 16,
            "{name}: body is not inflated"
        );
        assert!(article.sequence > 0 && article.sequence <= last);
        assert!(!article.parser_version.is_empty());
    }
    let listed: BTreeSet<String> = list_all(&mut reader, None, 2, last).await.into_iter().collect();
    assert_eq!(listed, ids.iter().cloned().collect());

    // Restart both services on the same directories.
    query.stop().await;
    ingest.stop().await;
    let ingest = start_ingest(&ingest_dir).await;
    let query = start_query(&query_dir, ingest.addr).await;
    let mut writer = ingest_client(ingest.addr).await;
    let mut reader = query_client(query.addr).await;
    let stats = writer
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.articles, seeds.len() as u64);
    assert_eq!(stats.log_head, last);
    let batch = reader
        .batch_get_articles(BatchGetArticlesRequest {
            ids: ids.iter().cloned().chain(["doesnotexist".to_string()]).collect(),
            consistency: at(last),
        })
        .await
        .expect("batch get")
        .into_inner();
    assert_eq!(batch.articles.len(), seeds.len());
    assert_eq!(batch.missing_ids, vec!["doesnotexist".to_string()]);
    let listed: BTreeSet<String> = list_all(&mut reader, None, 3, last).await.into_iter().collect();
    assert_eq!(listed, ids.iter().cloned().collect());
    let again = writer
        .ingest_article(IngestArticleRequest {
            content: seeds[0].1.clone(),
            ..Default::default()
        })
        .await
        .expect("re-ingest after restart")
        .into_inner();
    assert_eq!(again.id, ids[0]);
    assert!(!again.created, "idempotency survives restart");
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_pagination_search_facets_and_timeline() {
    let (_dir, ingest, query, mut writer, mut reader) = start_system().await;

    // Streamed batch ingest with one bad item in the middle.
    let mut requests: Vec<IngestArticleRequest> = (0..60).map(dated_request).collect();
    requests.insert(30, text_request("   "));
    let mut results = writer
        .ingest_articles(tokio_stream::iter(requests))
        .await
        .expect("stream")
        .into_inner();
    let mut last = 0;
    let mut count = 0;
    let mut errors = 0;
    while let Some(item) = results.message().await.expect("result") {
        assert_eq!(item.index, count, "results come back in order");
        count += 1;
        match item.result.expect("result set") {
            ingest_articles_response::Result::Ok(ok) => last = last.max(ok.sequence),
            ingest_articles_response::Result::Error(e) => {
                errors += 1;
                assert_eq!(e.code, Code::InvalidArgument as i32);
                assert_eq!(e.field_violations[0].field, "content");
            }
        }
    }
    assert_eq!((count, errors), (61, 1));

    // Newest first, every item exactly once across pages.
    let all = list_all(&mut reader, None, 7, last).await;
    assert_eq!(all.len(), 60);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 60);
    let first = reader
        .list_articles(ListArticlesRequest {
            page_size: 1,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let newest = first.articles[0].published_at.expect("date").seconds;
    assert_eq!(newest, BASE + 59 * DAY);

    // Date range: days 10..20.
    let ranged = list_all(
        &mut reader,
        Some(ArticleFilter {
            published_after: Some(sectorwire_proto::timestamp(BASE + 10 * DAY)),
            published_before: Some(sectorwire_proto::timestamp(BASE + 20 * DAY)),
            ..Default::default()
        }),
        4,
        last,
    )
    .await;
    assert_eq!(ranged.len(), 10);

    // Full text: a phrase only the energy articles contain.
    let hits = reader
        .search_articles(SearchArticlesRequest {
            query: "\"solar power plant\"".into(),
            page_size: 5,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert_eq!(hits.total_hits, 10);
    assert_eq!(hits.hits.len(), 5);
    assert!(!hits.next_page_token.is_empty());
    assert!(hits.hits[0].snippet.contains("<b>"), "{}", hits.hits[0].snippet);

    // The basic view leaves bodies and spans out of result pages, not the hits or snippets.
    let basic = reader
        .search_articles(SearchArticlesRequest {
            query: "\"solar power plant\"".into(),
            page_size: 5,
            consistency: at(last),
            view: ArticleView::Basic as i32,
            ..Default::default()
        })
        .await
        .expect("basic search")
        .into_inner();
    assert_eq!(basic.total_hits, 10);
    for (full, lean) in hits.hits.iter().zip(&basic.hits) {
        let (full, lean) = (
            full.article.as_ref().expect("a"),
            lean.article.as_ref().expect("a"),
        );
        assert_eq!(full.id, lean.id);
        assert!(!full.body.is_empty() && lean.body.is_empty());
        assert_eq!(full.sectors.len(), lean.sectors.len());
    }
    assert_eq!(basic.hits[0].snippet, hits.hits[0].snippet);
    let listed = reader
        .list_articles(ListArticlesRequest {
            page_size: 3,
            consistency: at(last),
            view: ArticleView::Basic as i32,
            ..Default::default()
        })
        .await
        .expect("basic list")
        .into_inner();
    assert_eq!(listed.articles.len(), 3);
    assert!(listed
        .articles
        .iter()
        .all(|a| a.body.is_empty() && !a.title.is_empty()));
    let err = reader
        .list_articles(ListArticlesRequest {
            view: 9,
            ..Default::default()
        })
        .await
        .expect_err("unknown view");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_details_bad_request().expect("details").field_violations[0].field,
        "view"
    );

    // Facets over everything.
    let counts = reader
        .count_articles(CountArticlesRequest {
            facets: vec!["sector".into()],
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("count")
        .into_inner();
    assert_eq!(counts.total, 60);
    assert_eq!(counts.facets[0].name, "sector");
    assert!(!counts.facets[0].counts.is_empty());

    // Monthly timeline: 60 days from 2024-01-01 span January, February, March.
    let timeline = reader
        .sector_timeline(SectorTimelineRequest {
            bucket: TimeBucket::Month as i32,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner();
    assert!(!timeline.series.is_empty());
    for series in &timeline.series {
        assert!(series.points.len() <= 3, "{series:?}");
    }

    // Bad filter: INVALID_ARGUMENT naming the field.
    let err = reader
        .list_articles(ListArticlesRequest {
            filter: Some(ArticleFilter {
                sectors: vec!["astrology".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("bad sector");
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_details_bad_request().expect("bad request details");
    assert_eq!(details.field_violations[0].field, "filter.sectors[0]");

    // A page token is tied to its filter.
    let page = reader
        .list_articles(ListArticlesRequest {
            page_size: 2,
            consistency: at(last),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let err = reader
        .list_articles(ListArticlesRequest {
            page_size: 2,
            page_token: page.next_page_token,
            filter: Some(ArticleFilter {
                countries: vec!["NO".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("token reuse");
    assert_eq!(err.code(), Code::InvalidArgument);

    let sectors = reader
        .list_sectors(ListSectorsRequest {})
        .await
        .expect("sectors")
        .into_inner();
    assert!(sectors.sectors.len() >= 16);
    assert!(sectors
        .sectors
        .iter()
        .all(|s| s.iptc_media_topic.starts_with("medtop:")));

    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_rejected_with_details_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let mut writer = ingest_client(ingest.addr).await;
    let ok = writer
        .ingest_article(dated_request(1))
        .await
        .expect("ingest")
        .into_inner();

    let cases: Vec<(IngestArticleRequest, &str)> = vec![
        (text_request(""), "content"),
        (text_request(" \n\t "), "content"),
        (
            IngestArticleRequest {
                content: vec![0, 159, 146, 150, 0, 0, 1, 2, 3, 0],
                ..Default::default()
            },
            "content",
        ),
        (
            IngestArticleRequest {
                content: b"Title\n\nSome body text about trade.".to_vec(),
                content_type: 99,
                ..Default::default()
            },
            "content_type",
        ),
        (
            IngestArticleRequest {
                content: b"Title\n\nSome body text about trade.".to_vec(),
                metadata: Some(ArticleMetadata {
                    url: "notaurl".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "metadata.url",
        ),
    ];
    for (request, field) in cases {
        let err = writer.ingest_article(request).await.expect_err("rejected");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        let details = err.get_details_bad_request().expect("BadRequest details");
        assert_eq!(details.field_violations[0].field, field);
    }
    let err = writer
        .delete_article(DeleteArticleRequest { id: "../etc".into() })
        .await
        .expect_err("bad id");
    assert_eq!(err.code(), Code::InvalidArgument);

    let stats = writer
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.articles, 1);
    assert_eq!(stats.log_head, ok.sequence);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_and_updates_reach_the_replica_and_a_rebuilt_replica_agrees() {
    let (dir, ingest, query, mut writer, mut reader) = start_system().await;
    let mut last = 0;
    let mut ids = Vec::new();
    for n in 0..12 {
        let ack = writer
            .ingest_article(dated_request(n))
            .await
            .expect("ingest")
            .into_inner();
        last = ack.sequence;
        ids.push(ack.id);
    }
    // Update: same source id, new content.
    let mut changed = dated_request(3);
    changed.content = b"Changed headline\n\nThe energy ministry rewrote this bulletin entirely.".to_vec();
    let update = writer.ingest_article(changed).await.expect("update").into_inner();
    assert_eq!(update.id, ids[3]);
    assert_eq!(update.outcome, IngestOutcome::Updated as i32);
    assert!(update.sequence > last);
    // Delete another.
    let deleted = writer
        .delete_article(DeleteArticleRequest {
            id: format!("articles/{}", ids[5]),
        })
        .await
        .expect("delete")
        .into_inner();
    assert!(deleted.deleted);
    let again = writer
        .delete_article(DeleteArticleRequest { id: ids[5].clone() })
        .await
        .expect("delete twice")
        .into_inner();
    assert!(!again.deleted);
    last = deleted.sequence;

    let err = reader
        .get_article(GetArticleRequest {
            id: ids[5].clone(),
            consistency: at(last),
        })
        .await
        .expect_err("deleted");
    assert_eq!(err.code(), Code::NotFound);
    let updated = reader
        .get_article(GetArticleRequest {
            id: ids[3].clone(),
            consistency: at(last),
        })
        .await
        .expect("updated")
        .into_inner()
        .article
        .expect("article");
    assert!(updated.body.contains("rewrote"));
    let before = list_all(&mut reader, None, 5, last).await;
    assert_eq!(before.len(), 11);

    // A brand-new replica rebuilds from the log and answers the same.
    let rebuilt = start_query(&dir.path().join("query-2"), ingest.addr).await;
    let mut rebuilt_reader = query_client(rebuilt.addr).await;
    assert_eq!(list_all(&mut rebuilt_reader, None, 5, last).await, before);
    let stats = rebuilt_reader
        .get_query_stats(GetQueryStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.applied_sequence, last);
    assert_eq!(stats.articles, 11);

    // Waiting for a sequence that never comes fails clearly, within the deadline.
    let mut request = tonic::Request::new(GetArticleRequest {
        id: ids[0].clone(),
        consistency: at(last + 100),
    });
    request.set_timeout(std::time::Duration::from_millis(300));
    let err = rebuilt_reader
        .get_article(request)
        .await
        .expect_err("future sequence");
    assert!(
        matches!(err.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{err:?}"
    );

    rebuilt.stop().await;
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_feed_resumes_at_any_point_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let mut writer = ingest_client(ingest.addr).await;
    for n in 0..20 {
        writer.ingest_article(dated_request(n)).await.expect("ingest");
    }
    let mut feed = feed_client(ingest.addr).await;
    // Resume from several points; each time the backlog continues exactly.
    for after in [0u64, 7, 19] {
        let mut stream = feed
            .subscribe(SubscribeRequest {
                after_sequence: after,
                heartbeat_millis: 50,
            })
            .await
            .expect("subscribe")
            .into_inner();
        let mut expected = after + 1;
        while expected <= 20 {
            match stream.message().await.expect("message").expect("open").message {
                Some(subscribe_response::Message::Event(event)) => {
                    assert_eq!(event.sequence, expected);
                    assert!(event.article.is_some());
                    expected += 1;
                }
                Some(subscribe_response::Message::Heartbeat(_)) | None => {}
            }
        }
    }
    // Live: a subscriber at the head gets a heartbeat, then the next write.
    let mut stream = feed
        .subscribe(SubscribeRequest {
            after_sequence: 20,
            heartbeat_millis: 50,
        })
        .await
        .expect("subscribe")
        .into_inner();
    match stream.message().await.expect("message").expect("open").message {
        Some(subscribe_response::Message::Heartbeat(beat)) => assert_eq!(beat.head_sequence, 20),
        other => panic!("expected heartbeat, got {other:?}"),
    }
    writer.ingest_article(dated_request(20)).await.expect("ingest");
    loop {
        match stream.message().await.expect("message").expect("open").message {
            Some(subscribe_response::Message::Event(event)) => {
                assert_eq!(event.sequence, 21);
                break;
            }
            _ => continue,
        }
    }
    // Beyond the head is a clear error.
    let err = feed
        .subscribe(SubscribeRequest {
            after_sequence: 1000,
            heartbeat_millis: 0,
        })
        .await
        .expect_err("beyond head");
    assert_eq!(err.code(), Code::OutOfRange);
    drop(stream);
    ingest.stop().await;
}
