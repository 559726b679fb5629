//! Both services answer `grpc.health.v1` and list their services through
//! server reflection, over both `grpc.reflection.v1` and `v1alpha` (some
//! clients speak only the latter), so grpcurl and other generic clients work
//! unaided; each port lists only the services it serves.

use std::time::{Duration, Instant};

use sectorwire_tests::*;
use tonic::transport::Channel;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// `async fn $name(addr) -> Vec<String>`: the services listed over the
/// reflection protocol version `$version` (whose generated types live in
/// `tonic_reflection::pb::$version`), sorted.
macro_rules! list_services {
    ($name:ident, $version:ident) => {
        async fn $name(addr: std::net::SocketAddr) -> Vec<String> {
            use tonic_reflection::pb::$version::{
                server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
                server_reflection_response::MessageResponse, ServerReflectionRequest,
            };
            let request = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let mut responses = ServerReflectionClient::new(channel(addr).await)
                .server_reflection_info(tokio_stream::iter([request]))
                .await
                .expect(concat!("reflection ", stringify!($version)))
                .into_inner();
            let response = responses
                .message()
                .await
                .expect("message")
                .expect("one response");
            let mut names: Vec<String> = match response.message_response {
                Some(MessageResponse::ListServicesResponse(list)) => {
                    list.service.into_iter().map(|s| s.name).collect()
                }
                other => panic!("unexpected reflection response {other:?}"),
            };
            names.sort();
            names
        }
    };
}

list_services!(services_v1, v1);
list_services!(services_v1alpha, v1alpha);

/// `own` plus what every port serves, sorted.
fn expected(own: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = own
        .iter()
        .chain(&[
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ])
        .map(|s| s.to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection() {
    let (_dir, ingest, query, _, _) = start_system().await;
    let _ = query_client(query.addr).await;

    let ingest_services = expected(&[
        "sectorwire.ingest.v1.ChangeFeedService",
        "sectorwire.ingest.v1.IngestAdminService",
        "sectorwire.ingest.v1.IngestService",
    ]);
    let query_services = expected(&["sectorwire.query.v1.QueryService"]);
    assert_eq!(services_v1(ingest.addr).await, ingest_services, "ingest port, v1");
    assert_eq!(
        services_v1alpha(ingest.addr).await,
        ingest_services,
        "ingest port, v1alpha"
    );
    assert_eq!(services_v1(query.addr).await, query_services, "query port, v1");
    assert_eq!(
        services_v1alpha(query.addr).await,
        query_services,
        "query port, v1alpha"
    );

    sectorwire_runtime::check_health(&ingest.addr.to_string(), "sectorwire.ingest.v1.IngestService")
        .await
        .expect("ingest healthy");
    // The replica is ready once it has caught up with the (empty) log.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sectorwire_runtime::check_health(&query.addr.to_string(), "sectorwire.query.v1.QueryService")
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "query replica never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = sectorwire_runtime::check_health(&query.addr.to_string(), "no.such.Service").await;
    assert!(err.is_err());
    query.stop().await;
    ingest.stop().await;
}
