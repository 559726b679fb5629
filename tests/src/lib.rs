//! Support for the end-to-end tests: start both services in-process on
//! `127.0.0.1:0` over real sled and tantivy directories, connect real gRPC
//! clients, and stop them gracefully so the same directories can be reopened.

pub mod pki;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sectorwire_ingest::IngestConfig;
use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_service_client::IngestServiceClient,
};
use sectorwire_proto::query::query_service_client::QueryServiceClient;
use sectorwire_query::QueryConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A running service: its address and how to stop it.
pub struct Running<E> {
    /// Bound address.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug> Running<E> {
    /// Graceful stop; panics if the service failed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("service did not stop within 30 s")
            .expect("service task panicked");
        result.expect("service returned an error");
    }
}

/// Starts the ingest service on an ephemeral port over `dir`.
pub async fn start_ingest(dir: &Path) -> Running<sectorwire_ingest::ServeError> {
    start_ingest_with(dir, |_| {}).await
}

/// Like [`start_ingest`], with configuration changes applied by `tune`.
pub async fn start_ingest_with(
    dir: &Path,
    tune: impl FnOnce(&mut IngestConfig),
) -> Running<sectorwire_ingest::ServeError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let mut config = IngestConfig::new(addr, dir.to_path_buf());
    tune(&mut config);
    let task = tokio::spawn(sectorwire_ingest::serve(config, listener, shutdown.clone()));
    Running { addr, shutdown, task }
}

/// Starts the ingest service over `dir` on `addr`, the address of one that
/// was just stopped (so a replica following that address now reaches this
/// one). Retries the bind briefly while the old socket is released.
pub async fn start_ingest_at(
    dir: &Path,
    addr: SocketAddr,
    tune: impl FnOnce(&mut IngestConfig),
) -> Running<sectorwire_ingest::ServeError> {
    let mut attempts = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(e) => {
                attempts += 1;
                assert!(attempts < 100, "rebinding {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let shutdown = CancellationToken::new();
    let mut config = IngestConfig::new(addr, dir.to_path_buf());
    tune(&mut config);
    let task = tokio::spawn(sectorwire_ingest::serve(config, listener, shutdown.clone()));
    Running { addr, shutdown, task }
}

/// Polls `probe` every 50 ms until it returns `Some`, failing the test with
/// `what` after 60 s (a bound on a hang, not a timing assertion).
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `grpc.health.v1` status of `service` at `addr`.
pub async fn health_status(
    addr: SocketAddr,
    service: &str,
) -> tonic_health::pb::health_check_response::ServingStatus {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let reply = HealthClient::new(channel(addr).await)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(reply.status).expect("known status")
}

/// Starts a query replica on an ephemeral port over `dir`, following `ingest`.
pub async fn start_query(dir: &Path, ingest: SocketAddr) -> Running<sectorwire_query::ServeError> {
    start_query_with(dir, ingest, |_| {}).await
}

/// Like [`start_query`], with configuration changes applied by `tune`.
pub async fn start_query_with(
    dir: &Path,
    ingest: SocketAddr,
    tune: impl FnOnce(&mut QueryConfig),
) -> Running<sectorwire_query::ServeError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let mut config = QueryConfig::new(addr, dir.to_path_buf(), format!("http://{ingest}"));
    tune(&mut config);
    let task = tokio::spawn(sectorwire_query::serve(config, listener, shutdown.clone()));
    Running { addr, shutdown, task }
}

/// What [`start_system`] starts: the data directory (removed when dropped),
/// the ingest service, the replica, a client of each.
pub type System = (
    tempfile::TempDir,
    Running<sectorwire_ingest::ServeError>,
    Running<sectorwire_query::ServeError>,
    IngestServiceClient<Channel>,
    QueryServiceClient<Channel>,
);

/// Starts an ingest service and one replica following it over a fresh
/// temporary directory, with their defaults, and connects a client of each:
/// the start-up most end-to-end tests share. Tests stop the services
/// themselves.
pub async fn start_system() -> System {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let query = start_query(&dir.path().join("query"), ingest.addr).await;
    let writer = ingest_client(ingest.addr).await;
    let reader = query_client(query.addr).await;
    (dir, ingest, query, writer, reader)
}

/// Reads a change-feed stream that was left stalled until its cut-off
/// status, checking that events arrive in order; the status and the last
/// sequence delivered before it.
pub async fn read_until_cut_off(
    stalled: &mut tonic::Streaming<sectorwire_proto::ingest::SubscribeResponse>,
) -> (tonic::Status, u64) {
    use sectorwire_proto::ingest::subscribe_response;
    let mut last = 0;
    let status = loop {
        let next = tokio::time::timeout(Duration::from_secs(10), stalled.message())
            .await
            .unwrap_or_else(|_| {
                panic!("no cut-off after {last} events: the subscriber was never seen as slow")
            });
        match next {
            Ok(Some(message)) => {
                if let Some(subscribe_response::Message::Event(event)) = message.message {
                    assert_eq!(event.sequence, last + 1);
                    last = event.sequence;
                }
            }
            Ok(None) => panic!("stream ended without a status"),
            Err(status) => break status,
        }
    };
    (status, last)
}

/// Copies a stopped store's directory, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Reads until the server closes the connection; panics if it stays open
/// for `within`.
pub async fn closed_by_server<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, within: Duration) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                // The server's SETTINGS frame or a GOAWAY: keep reading.
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for {within:?}"
    );
}

/// The ingest service's `GetIngestStats` at `addr`.
pub async fn ingest_stats(addr: SocketAddr) -> sectorwire_proto::ingest::IngestStats {
    ingest_client(addr)
        .await
        .get_ingest_stats(sectorwire_proto::ingest::GetIngestStatsRequest {})
        .await
        .expect("ingest stats")
        .into_inner()
}

/// The replica's `GetQueryStats` at `addr`.
pub async fn query_stats(addr: SocketAddr) -> sectorwire_proto::query::QueryStats {
    query_client(addr)
        .await
        .get_query_stats(sectorwire_proto::query::GetQueryStatsRequest {})
        .await
        .expect("query stats")
        .into_inner()
}

/// A change-feed subscription at `addr` from `after_sequence`, with
/// heartbeats every `heartbeat_millis`.
pub async fn subscribe(
    addr: SocketAddr,
    after_sequence: u64,
    heartbeat_millis: u32,
) -> tonic::Streaming<sectorwire_proto::ingest::SubscribeResponse> {
    feed_client(addr)
        .await
        .subscribe(sectorwire_proto::ingest::SubscribeRequest {
            after_sequence,
            heartbeat_millis,
        })
        .await
        .expect("subscribe")
        .into_inner()
}

/// A tokio runtime with two workers, for tests that drive async servers
/// from a synchronous property-test runner.
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A channel whose HTTP/2 receive windows are the protocol's 64 KiB
/// minimum, so a client that stops reading stops the server's sends soon.
pub async fn small_window_channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .expect("connect")
}

/// A channel to `addr`, retried while the server is starting.
pub async fn channel(addr: SocketAddr) -> Channel {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("uri");
    for _ in 0..100 {
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot connect to {addr}");
}

/// A client of the ingest service.
pub async fn ingest_client(addr: SocketAddr) -> IngestServiceClient<Channel> {
    IngestServiceClient::new(channel(addr).await).max_encoding_message_size(64 * 1024 * 1024)
}

/// A client of the change feed.
pub async fn feed_client(addr: SocketAddr) -> ChangeFeedServiceClient<Channel> {
    ChangeFeedServiceClient::new(channel(addr).await).max_decoding_message_size(64 * 1024 * 1024)
}

/// A client of the query service.
pub async fn query_client(addr: SocketAddr) -> QueryServiceClient<Channel> {
    QueryServiceClient::new(channel(addr).await).max_decoding_message_size(64 * 1024 * 1024)
}

pub use sectorwire_domain::testdata::shared_dir;

pub mod prometheus;

/// The seed articles, or `None` (after saying why) when `../shared/seeds` is
/// missing outside CI. Under CI (`CI=true`) a missing directory fails the
/// test: CI must exercise the real inputs.
pub fn seeds() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = sectorwire_domain::testdata::shared("seeds")?;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no .txt seeds", dir.display());
    Some(files)
}

/// Deterministic synthetic articles written for these tests: varied sectors,
/// countries and dates, so filters and pagination have something to chew on.
pub fn generated_article(n: usize) -> String {
    const TOPICS: [(&str, &str); 6] = [
        ("energy", "The pipeline will carry natural gas and the new solar power plant adds renewable electricity to the grid."),
        ("trade", "Exports rose as the two governments cut tariffs and signed a free trade agreement covering imports of machinery."),
        ("defence", "The armed forces held joint military exercises and the defence ministry ordered new fighter jets for the air force."),
        ("education", "Universities will exchange students and offer scholarships while schools expand teacher training programmes."),
        ("tourism", "Hotels reported record tourist arrivals as new direct flights made the coastal resorts easier to visit for travellers."),
        ("health", "Hospitals received vaccines and the health ministry expanded a programme against malaria and other diseases."),
    ];
    const PLACES: [&str; 4] = [
        "Kenya and Tanzania",
        "Chile and Peru",
        "Norway and Sweden",
        "Vietnam and Thailand",
    ];
    let (topic, sentence) = TOPICS[n % TOPICS.len()];
    let places = PLACES[(n / TOPICS.len()) % PLACES.len()];
    format!(
        "Test bulletin {n}: {places} talk {topic}\n\n\
         Officials from {places} met on day {n} of the talks. {sentence}\n\n\
         Both delegations said the {topic} plan number {n} would be reviewed next year. {sentence}\n"
    )
}

/// The request that ingests [`generated_article`] `n` as plain text.
pub fn text_request(n: usize) -> sectorwire_proto::ingest::IngestArticleRequest {
    sectorwire_proto::ingest::IngestArticleRequest {
        content: generated_article(n).into_bytes(),
        content_type: sectorwire_proto::ingest::ContentType::Text as i32,
        ..Default::default()
    }
}

/// Ingests `count` distinct bulletins tagged `tag` (source ids `tag-0`,
/// `tag-1`, …) one call at a time, and returns their ids in order.
pub async fn write_bulletins(addr: SocketAddr, tag: &str, count: usize) -> Vec<String> {
    let mut client = ingest_client(addr).await;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let ack = client
            .ingest_article(sectorwire_proto::ingest::IngestArticleRequest {
                content: format!("{tag} bulletin {n}\n\n{}", generated_article(n)).into_bytes(),
                content_type: sectorwire_proto::ingest::ContentType::Text as i32,
                metadata: Some(sectorwire_proto::ingest::ArticleMetadata {
                    source_id: format!("{tag}-{n}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("ingest")
            .into_inner();
        ids.push(ack.id);
    }
    ids
}

/// A codec that sends and receives raw message bytes, so tests can put on
/// the wire what no generated client would: undecodable or oversized
/// messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// Encoder/decoder half of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytes;

impl tonic::codec::Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

/// A raw gRPC client on `addr` for [`RawCodec`] calls.
pub async fn raw_client(addr: SocketAddr) -> tonic::client::Grpc<Channel> {
    tonic::client::Grpc::new(channel(addr).await)
}

/// Sends `body` as the request of unary `path` and returns the raw answer.
pub async fn raw_unary(
    addr: SocketAddr,
    path: &'static str,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut client = raw_client(addr).await;
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    client
        .unary(
            tonic::Request::new(body),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await
        .map(tonic::Response::into_inner)
}
