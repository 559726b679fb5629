//! `/metrics` and request ids end to end: both services on `127.0.0.1:0`
//! with the metrics endpoint on an ephemeral port, real calls (some
//! failing, some streaming), then a scrape over HTTP parsed as Prometheus
//! reads it. One test per file: the recorder and the log subscriber are
//! process-wide.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sectorwire_proto::ingest::{ingest_articles_response, IngestArticleRequest};
use sectorwire_proto::query::{
    Consistency, GetArticleRequest, GetQueryStatsRequest, SearchArticlesRequest, WatchArticlesRequest,
};
use sectorwire_runtime::metrics::MetricsListen;
use sectorwire_tests::prometheus::{http_get, scrape, Exposition};
use sectorwire_tests::{start_system, text_request};
use tokio_util::sync::CancellationToken;
use tonic::Code;

/// Log lines written by the services during the test.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

fn article(n: usize) -> IngestArticleRequest {
    text_request(n)
}

fn with_id<T>(message: T, id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().expect("metadata value"));
    request
}

fn echoed(metadata: &tonic::metadata::MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .expect("x-request-id echoed")
        .to_str()
        .expect("ASCII")
        .to_string()
}

fn handled(e: &Exposition, method: &str, code: &str) -> f64 {
    e.sum(
        "grpc_server_handled_total",
        &[("grpc_method", method), ("grpc_code", code)],
    )
    .unwrap_or(0.0)
}

/// Scrapes until `ready` holds (streams are counted when the server drops
/// them, a moment after the client does).
async fn scrape_until(addr: std::net::SocketAddr, ready: impl Fn(&Exposition) -> bool) -> Exposition {
    for _ in 0..400 {
        let e = scrape(addr).await;
        if ready(&e) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    scrape(addr).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_method_and_code_and_logs_carry_request_ids() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,sectorwire_runtime=debug",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let shutdown = CancellationToken::new();
    let endpoint = sectorwire_runtime::metrics_http::start(
        MetricsListen(Some("127.0.0.1:0".parse().expect("addr"))),
        &shutdown,
    )
    .await
    .expect("metrics endpoint")
    .expect("metrics on");
    let metrics = endpoint.local_addr();
    let (_dir, ingest, query, mut writer, mut reader) = start_system().await;

    // Three good articles; the first names its request id.
    let first = writer
        .ingest_article(with_id(article(0), "test-req-1"))
        .await
        .expect("ingest");
    assert_eq!(echoed(first.metadata()), "test-req-1");
    let mut head = first.into_inner().sequence;
    for n in 1..3 {
        head = writer
            .ingest_article(article(n))
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    // One invalid article, with an id that is not a sane token: the error
    // (a trailers-only response) carries a fresh id instead.
    let invalid = IngestArticleRequest {
        content: b"   ".to_vec(),
        ..Default::default()
    };
    let status = writer
        .ingest_article(with_id(invalid, "not a \"sane\" id"))
        .await
        .expect_err("empty content is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fresh = echoed(status.metadata());
    assert_eq!(fresh.len(), 16, "a generated id: {fresh}");
    assert!(fresh.chars().all(|c| c.is_ascii_hexdigit()), "{fresh}");

    // A bidirectional stream of two good items and one bad: one call, OK.
    let items = vec![
        article(10),
        IngestArticleRequest {
            content: b" ".to_vec(),
            ..Default::default()
        },
        article(11),
    ];
    let mut results = writer
        .ingest_articles(with_id(tokio_stream::iter(items), "stream-req"))
        .await
        .expect("stream");
    assert_eq!(echoed(results.metadata()), "stream-req");
    let results = results.get_mut();
    while let Some(item) = results.message().await.expect("item") {
        if let Some(ingest_articles_response::Result::Ok(ok)) = item.result {
            head = head.max(ok.sequence);
        }
    }

    // Reads: one that waits for the writes, one NOT_FOUND, one watch the
    // client abandons.
    reader
        .search_articles(SearchArticlesRequest {
            query: "trade".into(),
            consistency: Some(Consistency { min_sequence: head }),
            ..Default::default()
        })
        .await
        .expect("search");
    let missing = reader
        .get_article(GetArticleRequest {
            id: "0000000000000000aaaa".into(),
            ..Default::default()
        })
        .await
        .expect_err("no such article");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let watch = reader
        .watch_articles(WatchArticlesRequest::default())
        .await
        .expect("watch");
    let watching = scrape(metrics).await;
    assert_eq!(
        watching.sum("sectorwire_query_watch_streams", &[]),
        Some(1.0),
        "one watch stream open"
    );
    drop(watch);

    // The call is counted when the RPC layer sees the cancel; the gauge falls when the watch
    // task lets go of its slot, a moment later: wait for both.
    let e = scrape_until(metrics, |e| {
        handled(e, "WatchArticles", "CANCELLED") >= 1.0
            && e.sum("sectorwire_query_watch_streams", &[]) == Some(0.0)
    })
    .await;
    assert_eq!(handled(&e, "IngestArticle", "OK"), 3.0);
    assert_eq!(handled(&e, "IngestArticle", "INVALID_ARGUMENT"), 1.0);
    assert_eq!(
        e.sum(
            "grpc_server_handled_total",
            &[
                ("grpc_service", "sectorwire.ingest.v1.IngestService"),
                ("grpc_method", "IngestArticles"),
                ("grpc_type", "bidi_stream"),
                ("grpc_code", "OK"),
            ]
        ),
        Some(1.0)
    );
    assert_eq!(handled(&e, "SearchArticles", "OK"), 1.0);
    assert_eq!(handled(&e, "GetArticle", "NOT_FOUND"), 1.0);
    assert_eq!(
        handled(&e, "WatchArticles", "CANCELLED"),
        1.0,
        "an abandoned stream"
    );
    assert_eq!(
        e.sum("grpc_server_started_total", &[("grpc_method", "IngestArticle")]),
        Some(4.0)
    );
    // Latency: one histogram series per method, every call in it.
    assert!(
        e.check_histogram("grpc_server_handling_seconds")
            .expect("histogram")
            >= 5
    );
    assert_eq!(
        e.sum(
            "grpc_server_handling_seconds_count",
            &[("grpc_method", "IngestArticle")]
        ),
        Some(4.0)
    );
    // Articles by result, stream items included.
    assert_eq!(
        e.sum("sectorwire_ingest_articles_total", &[("result", "CREATED")]),
        Some(5.0)
    );
    assert_eq!(
        e.sum(
            "sectorwire_ingest_articles_total",
            &[("result", "INVALID_ARGUMENT")]
        ),
        Some(2.0)
    );
    // The write path: stored articles, group commits and their sizes.
    assert_eq!(e.sum("sectorwire_ingest_articles_stored", &[]), Some(5.0));
    assert_eq!(e.sum("sectorwire_ingest_log_head", &[]), Some(head as f64));
    let fsyncs = e.sum("sectorwire_ingest_fsyncs_total", &[]).expect("fsyncs");
    assert!(
        (1.0..=5.0).contains(&fsyncs),
        "{fsyncs} group commits for 5 articles"
    );
    e.check_histogram("sectorwire_ingest_commit_batch_ops")
        .expect("batch sizes");
    assert_eq!(
        e.sum("sectorwire_ingest_commit_batch_ops_sum", &[]),
        Some(5.0),
        "every stored article went through one batch"
    );
    assert!(e.sum("sectorwire_ingest_queue_depth", &[]).is_some());
    assert_eq!(
        e.sum("sectorwire_feed_subscribers", &[]),
        Some(1.0),
        "the replica follows"
    );
    // The replica, as GetQueryStats reports it.
    let stats = reader
        .get_query_stats(GetQueryStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(
        e.sum("sectorwire_replica_applied_sequence", &[]),
        Some(head as f64)
    );
    assert_eq!(stats.applied_sequence, head);
    assert_eq!(e.sum("sectorwire_replica_lag", &[]), Some(0.0));
    assert_eq!(e.sum("sectorwire_replica_head_sequence", &[]), Some(head as f64));
    assert_eq!(e.sum("sectorwire_replica_ready", &[]), Some(1.0));
    assert_eq!(e.sum("sectorwire_replica_connected", &[]), Some(1.0));
    e.check_histogram("sectorwire_replica_apply_batch_events")
        .expect("apply batches");
    assert_eq!(e.sum("sectorwire_query_watch_streams", &[]), Some(0.0));

    // The endpoint answers only GET /metrics.
    assert_eq!(http_get(metrics, "GET", "/other").await.0, 404);
    assert_eq!(http_get(metrics, "POST", "/metrics").await.0, 405);

    // Every log line of a call carries its id.
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("request_id=test-req-1"))
        .unwrap_or_else(|| panic!("no log line names the request id:\n{text}"));
    assert!(line.contains("IngestArticle"), "{line}");
    assert!(
        text.lines()
            .any(|l| l.contains("request_id=stream-req") && l.contains("code=\"OK\"")),
        "the stream's line names its id and final code:\n{text}"
    );

    query.stop().await;
    ingest.stop().await;
    shutdown.cancel();
}
