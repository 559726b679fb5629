//! Connections cannot be hoarded: one that never sends the HTTP/2 preface is
//! closed after the handshake timeout, and past the connection cap a new
//! connection is closed at once instead of waiting for a file descriptor.

use std::time::Duration;

use sectorwire_proto::ingest::GetIngestStatsRequest;
use sectorwire_proto::query::ListSectorsRequest;
use sectorwire_tests::*;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest_with(&dir.path().join("ingest"), |c| {
        c.server.handshake_timeout_ms = 300
    })
    .await;
    let query = start_query_with(&dir.path().join("query"), ingest.addr, |c| {
        c.server.handshake_timeout_ms = 300
    })
    .await;
    for addr in [ingest.addr, query.addr] {
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        closed_by_server(&mut silent, Duration::from_secs(5)).await;
    }
    // A real client is unaffected.
    let mut reader = query_client(query.addr).await;
    reader.list_sectors(ListSectorsRequest {}).await.expect("sectors");
    query.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest_with(dir.path(), |c| {
        c.server.max_connections = 3;
        c.server.handshake_timeout_ms = 60_000;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(ingest.addr).await.expect("connect"));
    }
    // Let the accept loop take all three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(ingest.addr).await.expect("the kernel accepts");
    closed_by_server(&mut over, Duration::from_secs(5)).await;

    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut client = ingest_client(ingest.addr).await;
    client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("slots are released when connections close");
    ingest.stop().await;
}
