//! Accepted connections with limits, for both servers: Nagle off, at most
//! `max_connections` open (past it a new connection is closed at once and
//! logged, rather than every socket waiting until the process runs out of
//! file descriptors), and a connection that has not sent the HTTP/2
//! preface within `handshake_timeout` is closed (hyper itself waits for it
//! forever).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes of the HTTP/2 client connection preface.
const PREFACE_LEN: usize = 24;

/// Limits on accepted connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time a new connection has to send the HTTP/2 preface.
    pub handshake_timeout: Duration,
}

/// An accepted connection holding its slot until it is dropped.
pub struct Conn {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    /// Preface bytes still expected, and the deadline for them.
    preface_left: usize,
    handshake: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.handshake.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface within the handshake timeout",
                )));
            }
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.handshake.is_some() {
            let read = buf.filled().len() - before;
            this.preface_left = this.preface_left.saturating_sub(read);
            if this.preface_left == 0 {
                this.handshake = None;
            }
        }
        result
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accepts connections from `listener` under `limits`, for
/// `serve_with_incoming_shutdown`.
///
/// Nagle's algorithm is off: tonic only sets `TCP_NODELAY` on listeners it
/// binds itself; the services bind their own (so `127.0.0.1:0` can report
/// its port), and with Nagle on a response split across two writes waits
/// for the client's delayed ACK, which shows up as multi-millisecond tail
/// latency on small RPCs.
pub fn incoming(
    listener: TcpListener,
    limits: ConnLimits,
) -> impl Stream<Item = io::Result<Conn>> + Send + 'static {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let listener = Arc::new(listener);
    accept_loop(listener, slots, limits)
}

fn accept_loop(
    listener: Arc<TcpListener>,
    slots: Arc<Semaphore>,
    limits: ConnLimits,
) -> impl Stream<Item = io::Result<Conn>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Conn>>(1);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer): (TcpStream, SocketAddr) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: say so, back off
                    // briefly rather than spin, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max = limits.max_connections, "connection refused: at the connection limit");
                drop(stream);
                continue;
            };
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            let conn = Conn {
                stream,
                _slot: slot,
                preface_left: PREFACE_LEN,
                handshake: Some(Box::pin(tokio::time::sleep(limits.handshake_timeout))),
            };
            if tx.send(Ok(conn)).await.is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
