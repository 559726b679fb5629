//! The `/metrics` endpoint: a small HTTP/1.1 server on its own port (hyper,
//! already linked by tonic). The exporter's own listener accepts without a
//! cap or timeouts; this one is bounded like the gRPC ports: at most
//! [`MAX_CONNECTIONS`] at once (closed on accept past it), the request head
//! within [`HEAD_TIMEOUT`] and at most [`MAX_HEAD_BYTES`], one request per
//! connection, and the whole exchange within [`CONNECTION_TIMEOUT`] (a
//! scraper that stops reading is cut off).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::metrics::{self, MetricsError, MetricsListen};

/// Scrapes served at once; Prometheus opens one per target.
pub const MAX_CONNECTIONS: usize = 8;
/// Time to send the request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole connection, request and response.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest request head read.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The text exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running `/metrics` endpoint; it stops when dropped or at shutdown.
pub struct MetricsEndpoint {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl MetricsEndpoint {
    /// The bound address (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Installs the recorder and serves `/metrics` on `listen` until `shutdown`
/// (or until the returned handle is dropped); `None` when `listen` is off.
pub async fn start(
    listen: MetricsListen,
    shutdown: &CancellationToken,
) -> Result<Option<MetricsEndpoint>, MetricsError> {
    let Some(addr) = listen.0 else {
        return Ok(None);
    };
    metrics::install()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let stop = shutdown.child_token();
    tokio::spawn(accept_loop(listener, stop.clone()));
    tracing::info!(%addr, "metrics endpoint listening on /metrics");
    Ok(Some(MetricsEndpoint { addr, stop }))
}

/// Why a service run under [`with_endpoint`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WithMetricsError<E: std::error::Error + 'static> {
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The service failed.
    #[error(transparent)]
    Service(E),
}

/// Starts the endpoint (when `listen` is not off), then runs `service`; the
/// endpoint stops with it. For the service binaries' `main`.
pub async fn with_endpoint<E: std::error::Error + 'static>(
    listen: MetricsListen,
    shutdown: CancellationToken,
    service: impl Future<Output = Result<(), E>>,
) -> Result<(), WithMetricsError<E>> {
    let _endpoint = start(listen, &shutdown).await?;
    service.await.map_err(WithMetricsError::Service)
}

async fn accept_loop(listener: TcpListener, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "metrics endpoint: connection refused at the limit");
            continue;
        };
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer));
            tokio::select! {
                () = stop.cancelled() => {}
                done = tokio::time::timeout(CONNECTION_TIMEOUT, connection) => match done {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "metrics endpoint: connection failed"),
                    Err(_) => tracing::debug!(%peer, "metrics endpoint: connection timed out"),
                },
            }
        });
    }
}

async fn answer(request: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => match metrics::render().await {
            Some(text) => (StatusCode::OK, text),
            None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are off\n".to_string()),
        },
        (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_string()),
        _ => (StatusCode::NOT_FOUND, "metrics are at /metrics\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(CONTENT_TYPE),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn get(addr: SocketAddr, extra_header: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{extra_header}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        Ok(response)
    }

    #[tokio::test]
    async fn the_endpoint_is_bounded_in_connections_and_head_size() {
        let shutdown = CancellationToken::new();
        let endpoint = start(
            MetricsListen(Some("127.0.0.1:0".parse().expect("addr"))),
            &shutdown,
        )
        .await
        .expect("start")
        .expect("on");
        let addr = endpoint.local_addr();
        metrics::shed("test");
        let ok = get(addr, "").await.expect("scrape");
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("sectorwire_shed_total{reason=\"test\"} 1"), "{ok}");

        // Idle connections hold every slot: the next one is closed at once.
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let refused = get(addr, "").await.unwrap_or_default();
        assert_eq!(refused, "", "a connection past the cap gets no answer");
        drop(idle);
        let mut answered = String::new();
        for _ in 0..100 {
            answered = get(addr, "").await.unwrap_or_default();
            if !answered.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            answered.starts_with("HTTP/1.1 200"),
            "slots come back: {answered}"
        );

        // A request head past the limit is refused, not buffered.
        let huge = format!("X-Padding: {}\r\n", "a".repeat(MAX_HEAD_BYTES + 1));
        let refused = get(addr, &huge).await.unwrap_or_default();
        assert!(
            refused.is_empty() || refused.starts_with("HTTP/1.1 431"),
            "{refused}"
        );
        shutdown.cancel();
    }
}
