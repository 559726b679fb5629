//! In-process services for load tests: real servers on `127.0.0.1:0` over
//! real directories, stopped gracefully.

use std::net::SocketAddr;
use std::path::Path;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running service.
pub struct Service<E> {
    /// Bound address.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Display> Service<E> {
    /// Stops the service and waits for it to flush.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Starts an ingest service over `dir`.
pub async fn ingest(dir: &Path) -> anyhow::Result<Service<sectorwire_ingest::ServeError>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(sectorwire_ingest::serve(
        sectorwire_ingest::IngestConfig::new(addr, dir.to_path_buf()),
        listener,
        shutdown.clone(),
    ));
    Ok(Service { addr, shutdown, task })
}

/// Starts a query replica over `dir` following `ingest`.
pub async fn query(dir: &Path, ingest: SocketAddr) -> anyhow::Result<Service<sectorwire_query::ServeError>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(sectorwire_query::serve(
        sectorwire_query::QueryConfig::new(addr, dir.to_path_buf(), format!("http://{ingest}")),
        listener,
        shutdown.clone(),
    ));
    Ok(Service { addr, shutdown, task })
}

/// Connects a channel, retrying briefly while the server starts.
pub async fn channel(addr: SocketAddr) -> anyhow::Result<tonic::transport::Channel> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
    let mut last = None;
    for _ in 0..100 {
        match endpoint.connect().await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(anyhow::anyhow!("cannot connect to {addr}: {last:?}"))
}
