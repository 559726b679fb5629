//! Requests are validated before the replica waits for `min_sequence`: a
//! malformed request that also asks for a sequence the replica will never
//! reach is refused with INVALID_ARGUMENT at once, not UNAVAILABLE after the
//! whole deadline.

use std::time::Duration;

use sectorwire_proto::query::{Consistency, GetArticleRequest, ListArticlesRequest};
use sectorwire_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_without_waiting_for_min_sequence() {
    let (_dir, ingest, query, _, _) = start_system().await;
    let mut client = query_client(query.addr).await;
    let unreachable = Some(Consistency {
        min_sequence: u64::MAX,
    });

    // A deadline far longer than the test's own timeout: only an answer that
    // does not wait for min_sequence arrives in time.
    let mut request = tonic::Request::new(GetArticleRequest {
        id: "not an id!".into(),
        consistency: unreachable,
    });
    request.set_timeout(Duration::from_secs(600));
    let status = tokio::time::timeout(Duration::from_secs(20), client.get_article(request))
        .await
        .expect("answered without waiting for min_sequence")
        .expect_err("malformed id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    let mut request = tonic::Request::new(ListArticlesRequest {
        page_size: -1,
        consistency: unreachable,
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(600));
    let status = tokio::time::timeout(Duration::from_secs(20), client.list_articles(request))
        .await
        .expect("answered without waiting for min_sequence")
        .expect_err("negative page size");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    // A well-formed request with the same consistency does wait, and says so.
    let mut request = tonic::Request::new(GetArticleRequest {
        id: "abc".into(),
        consistency: unreachable,
    });
    request.set_timeout(Duration::from_millis(300));
    let status = client
        .get_article(request)
        .await
        .expect_err("unreachable sequence");
    assert!(
        matches!(
            status.code(),
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
        ),
        "{status:?}"
    );

    query.stop().await;
    ingest.stop().await;
}
