//! Both services answer `grpc.health.v1` and list their services through
//! server reflection, so grpcurl and other generic clients work unaided.

use sectorwire_tests::*;
use tonic_reflection::pb::v1::{
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse, ServerReflectionRequest,
};

async fn services(addr: std::net::SocketAddr) -> Vec<String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.message().await.expect("message").expect("one response");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let query = start_query(&dir.path().join("query"), ingest.addr).await;

    let listed = services(ingest.addr).await;
    for name in [
        "sectorwire.ingest.v1.IngestService",
        "sectorwire.ingest.v1.ChangeFeedService",
        "grpc.health.v1.Health",
    ] {
        assert!(listed.iter().any(|s| s == name), "{name} missing from {listed:?}");
    }
    let listed = services(query.addr).await;
    assert!(
        listed.iter().any(|s| s == "sectorwire.query.v1.QueryService"),
        "{listed:?}"
    );

    sectorwire_runtime::check_health(&ingest.addr.to_string(), "sectorwire.ingest.v1.IngestService")
        .await
        .expect("ingest healthy");
    sectorwire_runtime::check_health(&query.addr.to_string(), "sectorwire.query.v1.QueryService")
        .await
        .expect("query healthy");
    let err = sectorwire_runtime::check_health(&query.addr.to_string(), "no.such.Service").await;
    assert!(err.is_err());
    query.stop().await;
    ingest.stop().await;
}
