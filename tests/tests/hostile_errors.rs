//! Errors stay small and carry the right code whatever the request held:
//! huge values are echoed only in part, undecodable messages are
//! INVALID_ARGUMENT (and fail only their own item of a stream), oversized
//! messages are RESOURCE_EXHAUSTED, and queries tantivy cannot run are the
//! caller's error without tantivy's text.

use prost::Message;
use sectorwire_proto::ingest::{
    ingest_articles_response, DeleteArticleRequest, IngestArticleRequest, IngestArticlesResponse,
};
use sectorwire_proto::query::{ArticleFilter, GetArticleRequest, ListArticlesRequest, SearchArticlesRequest};
use sectorwire_tests::*;
use tonic::Code;

/// Bytes no protobuf decoder accepts: field 1, length-delimited, with a
/// length running past the end of the message.
const UNDECODABLE: &[u8] = &[0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01];

/// A status with everything it puts on the wire under a few KiB.
fn assert_small(status: &tonic::Status) {
    assert!(
        status.message().len() <= 600,
        "message of {} bytes",
        status.message().len()
    );
    assert!(
        status.details().len() <= 8 * 1024,
        "details of {} bytes",
        status.details().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_values_are_echoed_in_part_with_invalid_argument() {
    let (_dir, ingest, query, _, _) = start_system().await;
    let huge_id = "x".repeat(1024 * 1024);

    // A default client: its 16 KiB header-list limit is what a 1 MB echo
    // used to break.
    let mut deleter = sectorwire_proto::ingest::ingest_service_client::IngestServiceClient::connect(format!(
        "http://{}",
        ingest.addr
    ))
    .await
    .expect("connect");
    let err = deleter
        .delete_article(DeleteArticleRequest { id: huge_id.clone() })
        .await
        .expect_err("bad id");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_small(&err);

    let mut reader = sectorwire_proto::query::query_service_client::QueryServiceClient::connect(format!(
        "http://{}",
        query.addr
    ))
    .await
    .expect("connect");
    let err = reader
        .get_article(GetArticleRequest {
            id: huge_id,
            ..Default::default()
        })
        .await
        .expect_err("bad id");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_small(&err);

    let err = reader
        .list_articles(ListArticlesRequest {
            filter: Some(ArticleFilter {
                // Just under the 4 MiB request limit.
                entities: vec!["e".repeat(60 * 1024); 64],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("bad filter");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_small(&err);

    let err = reader
        .list_articles(ListArticlesRequest {
            filter: Some(ArticleFilter {
                published_after: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: 2_000_000_000,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("bad timestamp");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    let err = reader
        .search_articles(SearchArticlesRequest {
            query: "body:*".into(),
            ..Default::default()
        })
        .await
        .expect_err("unsupported query");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(!err.message().to_lowercase().contains("schema"), "{err:?}");
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_and_oversized_requests_get_the_codes_clients_expect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest_with(&dir.path().join("ingest"), |c| c.max_message_bytes = 64 * 1024).await;
    let query = start_query(&dir.path().join("query"), ingest.addr).await;

    for (addr, path) in [
        (ingest.addr, "/sectorwire.ingest.v1.IngestService/IngestArticle"),
        (ingest.addr, "/sectorwire.ingest.v1.IngestService/DeleteArticle"),
        (query.addr, "/sectorwire.query.v1.QueryService/GetArticle"),
        (query.addr, "/sectorwire.query.v1.QueryService/SearchArticles"),
    ] {
        let err = raw_unary(addr, path, UNDECODABLE.to_vec())
            .await
            .expect_err("undecodable");
        assert_eq!(err.code(), Code::InvalidArgument, "{path}: {err:?}");
    }

    let oversized = IngestArticleRequest {
        content: generated_article(1).repeat(400).into_bytes(),
        ..Default::default()
    }
    .encode_to_vec();
    assert!(oversized.len() > 64 * 1024);
    let err = raw_unary(
        ingest.addr,
        "/sectorwire.ingest.v1.IngestService/IngestArticle",
        oversized,
    )
    .await
    .expect_err("oversized");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_stream_item_fails_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(dir.path()).await;
    let items: Vec<Vec<u8>> = (0..5)
        .map(|n| {
            if n == 2 {
                UNDECODABLE.to_vec()
            } else {
                IngestArticleRequest {
                    content: generated_article(n).into_bytes(),
                    ..Default::default()
                }
                .encode_to_vec()
            }
        })
        .collect();
    let mut client = raw_client(ingest.addr).await;
    client.ready().await.expect("ready");
    let mut responses = client
        .streaming(
            tonic::Request::new(tokio_stream::iter(items)),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/sectorwire.ingest.v1.IngestService/IngestArticles",
            ),
            RawCodec,
        )
        .await
        .expect("stream")
        .into_inner();
    let mut results = Vec::new();
    while let Some(raw) = responses.message().await.expect("the stream goes on") {
        results.push(IngestArticlesResponse::decode(raw.as_slice()).expect("response"));
    }
    let indices: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(indices, vec![0, 1, 2, 3, 4]);
    for r in &results {
        match (&r.result, r.index) {
            (Some(ingest_articles_response::Result::Error(e)), 2) => {
                assert_eq!(e.code, Code::InvalidArgument as i32, "{e:?}")
            }
            (Some(ingest_articles_response::Result::Ok(ok)), _) => assert!(ok.created),
            other => panic!("unexpected result {other:?}"),
        }
    }
    ingest.stop().await;
}
