//! Accepted connections with limits, for both servers: Nagle off, at most
//! `max_connections` open (past it a new connection is closed at once and
//! logged, rather than every socket waiting until the process runs out of
//! file descriptors), and a connection that has not sent the HTTP/2
//! preface within `handshake_timeout` is closed (hyper itself waits for it
//! forever).
//!
//! With TLS the handshake happens here too, not in tonic: it then holds a
//! connection slot like any other connection, and one deadline covers the
//! TLS handshake and the HTTP/2 preface after it (counted in decrypted
//! bytes), so a client that stalls in either is cut off alike. Handshakes
//! run in their own tasks, so a slow one never holds up the accept loop.

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
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
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

/// The transport under a connection.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An accepted connection holding its slot until it is dropped.
pub struct Conn {
    stream: Io,
    _slot: OwnedSemaphorePermit,
    /// Preface bytes still expected, and the deadline for them.
    preface_left: usize,
    handshake: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match &self.stream {
            Io::Plain(tcp) => tcp.connect_info(),
            Io::Tls(tls) => tls.get_ref().0.connect_info(),
        }
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
        let result = match &mut this.stream {
            Io::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        };
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

/// Runs `$call` on the transport under a connection, whichever it is.
macro_rules! on_io {
    ($self:ident, $io:ident => $call:expr) => {
        match &mut $self.stream {
            Io::Plain($io) => {
                let $io = Pin::new($io);
                $call
            }
            Io::Tls(tls) => {
                let $io = Pin::new(tls.as_mut());
                $call
            }
        }
    };
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        on_io!(self, io => io.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_io!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_io!(self, io => io.poll_shutdown(cx))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_io!(self, io => io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Io::Plain(tcp) => tcp.is_write_vectored(),
            Io::Tls(tls) => tls.is_write_vectored(),
        }
    }
}

/// Accepts connections from `listener` under `limits`, for
/// `serve_with_incoming_shutdown`; with `tls`, each is a TLS connection
/// (see the module docs).
///
/// Nagle's algorithm is off: tonic only sets `TCP_NODELAY` on listeners it
/// binds itself; the services bind their own (so `127.0.0.1:0` can report
/// its port), and with Nagle on a response split across two writes waits
/// for the client's delayed ACK, which shows up as multi-millisecond tail
/// latency on small RPCs.
pub fn incoming(
    listener: TcpListener,
    limits: ConnLimits,
    tls: Option<TlsAcceptor>,
) -> impl Stream<Item = io::Result<Conn>> + Send + 'static {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let listener = Arc::new(listener);
    accept_loop(listener, slots, limits, tls)
}

fn accept_loop(
    listener: Arc<TcpListener>,
    slots: Arc<Semaphore>,
    limits: ConnLimits,
    tls: Option<TlsAcceptor>,
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
            let deadline = tokio::time::Instant::now() + limits.handshake_timeout;
            let conn = move |stream| Conn {
                stream,
                _slot: slot,
                preface_left: PREFACE_LEN,
                handshake: Some(Box::pin(tokio::time::sleep_until(deadline))),
            };
            match &tls {
                None => {
                    if tx.send(Ok(conn(Io::Plain(stream)))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let accept = acceptor.accept(stream);
                    let tx = tx.clone();
                    // The slot moves into the task: a pending handshake counts.
                    tokio::spawn(async move {
                        match tokio::time::timeout_at(deadline, accept).await {
                            Ok(Ok(tls)) => {
                                let _ = tx.send(Ok(conn(Io::Tls(Box::new(tls))))).await;
                            }
                            Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
