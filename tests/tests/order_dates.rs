//! Listing order for every publication date ingest accepts. Issue 13: the order key
//! `seconds << 31 | sequence` overflowed after 2242 and clamped dates before 1970, so
//! "newest first" returned 2200, 3000, 9999, 2100, 2300, 2024, 0001, 1900, 1969, while
//! ingest accepted all of them. Ingest now accepts exactly the range the key sorts
//! (`pipeline::PUBLISHED_RANGE`) and refuses other dates with INVALID_ARGUMENT.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sectorwire_ingest::pipeline::PUBLISHED_RANGE;
use sectorwire_proto::ingest::{ArticleMetadata, IngestArticleRequest};
use sectorwire_proto::query::{ArticleFilter, ArticleOrder, Consistency, ListArticlesRequest};
use sectorwire_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

/// 0001-01-01 .. 9999-12-31: what a protobuf Timestamp may hold.
const ANY_DATE: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

#[test]
fn newest_first_and_oldest_first_sort_every_accepted_date_across_pages() {
    let rt = multi_thread_runtime();
    let (_dir, ingest, query, writer, reader) = rt.block_on(start_system());
    let case = std::sync::atomic::AtomicU32::new(0);
    // Dates anywhere a Timestamp allows, plus the edges of the accepted range and equal dates.
    let date = prop_oneof![
        ANY_DATE,
        PUBLISHED_RANGE,
        Just(PUBLISHED_RANGE.start),
        Just(PUBLISHED_RANGE.end - 1),
        Just(PUBLISHED_RANGE.end),
        Just(-1i64),
        Just(1_700_000_000i64),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(date, 1..10), |dates| {
            let (mut writer, mut reader) = (writer.clone(), reader.clone());
            let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(async {
                let outlet = format!("Outlet {case}");
                let mut stored: Vec<(i64, u64, String)> = Vec::new();
                for (i, seconds) in dates.iter().enumerate() {
                    let result = writer
                        .ingest_article(IngestArticleRequest {
                            content: format!(
                                "Report {case} {i}\n\nThe trade ministry reported exports for {i}."
                            )
                            .into_bytes(),
                            metadata: Some(ArticleMetadata {
                                source_id: format!("order-{case}-{i}"),
                                outlet: outlet.clone(),
                                published_at: Some(sectorwire_proto::timestamp(*seconds)),
                                ..Default::default()
                            }),
                            ..Default::default()
                        })
                        .await;
                    match result {
                        Ok(ack) => {
                            prop_assert!(PUBLISHED_RANGE.contains(seconds), "accepted {}", seconds);
                            let ack = ack.into_inner();
                            stored.push((*seconds, ack.sequence, ack.id));
                        }
                        Err(status) => {
                            prop_assert!(
                                !PUBLISHED_RANGE.contains(seconds),
                                "refused {}: {:?}",
                                seconds,
                                status
                            );
                            prop_assert_eq!(status.code(), Code::InvalidArgument);
                            let field = status
                                .get_details_bad_request()
                                .and_then(|b| b.field_violations.first().map(|v| v.field.clone()));
                            prop_assert_eq!(field.as_deref(), Some("metadata.published_at"));
                        }
                    }
                }
                let min_sequence = stored.iter().map(|s| s.1).max().unwrap_or(0);
                for (order, descending) in [
                    (ArticleOrder::PublishedDesc, true),
                    (ArticleOrder::PublishedAsc, false),
                ] {
                    let mut expected = stored.clone();
                    expected.sort_by_key(|(seconds, sequence, _)| (*seconds, *sequence));
                    if descending {
                        expected.reverse();
                    }
                    let expected: Vec<String> = expected.into_iter().map(|s| s.2).collect();
                    let mut listed = Vec::new();
                    let mut token = String::new();
                    loop {
                        let page = reader
                            .list_articles(ListArticlesRequest {
                                filter: Some(ArticleFilter {
                                    outlets: vec![outlet.clone()],
                                    ..Default::default()
                                }),
                                page_size: 2,
                                page_token: token.clone(),
                                order_by: order as i32,
                                consistency: Some(Consistency { min_sequence }),
                                ..Default::default()
                            })
                            .await
                            .expect("list")
                            .into_inner();
                        listed.extend(page.articles.into_iter().map(|a| a.id));
                        if page.next_page_token.is_empty() {
                            break;
                        }
                        token = page.next_page_token;
                    }
                    prop_assert_eq!(&listed, &expected, "{:?} over {:?}", order, dates);
                }
                Ok(())
            })
        })
        .expect("property");
    rt.block_on(async {
        query.stop().await;
        ingest.stop().await;
    });
}
