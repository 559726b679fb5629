//! The buffer between a server-streaming handler's producer task and the
//! response stream, shared by the change feed and `WatchArticles`.
//!
//! - It is bounded in bytes (the encoded size of what waits in it) as well as
//!   in messages: a count alone let a stalled stream of 12 MB articles hold
//!   gigabytes.
//! - A consumer that leaves it full for longer than the slow-consumer timeout
//!   is cut off, and the cut-off status overtakes what is still buffered
//!   (which is dropped, freeing it at once). Queued behind the buffer, the
//!   status reached a slow client only after everything else, which a
//!   client that had stopped reading never got to.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;
use tonic::Status;

/// Bounds of one stream's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most messages waiting.
    pub messages: usize,
    /// Most encoded bytes waiting; a single larger message still goes
    /// through, alone.
    pub bytes: usize,
    /// How long a full buffer may stay full before the consumer is cut off.
    pub slow_timeout: Duration,
}

/// Why a send did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The consumer is gone.
    Closed,
    /// The consumer was cut off for being too slow; the status is on its way.
    TooSlow,
}

/// A buffered message and the stream position it takes the consumer to.
type Item<T> = (Result<T, Status>, u64, OwnedSemaphorePermit);

/// Why the producer ended the stream early.
enum Cut {
    TooSlow,
    Failed(Status),
}

/// Builds the cut-off status from the position of the last message the
/// consumer was given, the one it resumes after.
pub type TooSlow = Box<dyn Fn(u64) -> Status + Send>;

/// The producer half.
pub struct Sender<T> {
    tx: mpsc::Sender<Item<T>>,
    bytes: Arc<Semaphore>,
    budget: u32,
    slow_timeout: Duration,
    cut: Option<oneshot::Sender<Cut>>,
}

/// The consumer half: a stream for a tonic response.
pub struct Receiver<T> {
    rx: Option<mpsc::Receiver<Item<T>>>,
    cut: Option<oneshot::Receiver<Cut>>,
    delivered: u64,
    too_slow: TooSlow,
}

/// A bounded outbox (see the module docs) for a stream that starts after
/// position `start`; `too_slow` words the cut-off status.
pub fn channel<T: prost::Message>(bounds: Bounds, start: u64, too_slow: TooSlow) -> (Sender<T>, Receiver<T>) {
    let budget = u32::try_from(bounds.bytes).unwrap_or(u32::MAX).max(1);
    let (tx, rx) = mpsc::channel(bounds.messages.max(1));
    let (cut_tx, cut_rx) = oneshot::channel();
    (
        Sender {
            tx,
            bytes: Arc::new(Semaphore::new(budget as usize)),
            budget,
            slow_timeout: bounds.slow_timeout,
            cut: Some(cut_tx),
        },
        Receiver {
            rx: Some(rx),
            cut: Some(cut_rx),
            delivered: start,
            too_slow,
        },
    )
}

impl<T: prost::Message> Sender<T> {
    fn weight(&self, item: &Result<T, Status>) -> u32 {
        let len = match item {
            Ok(message) => message.encoded_len(),
            Err(status) => status.message().len() + status.details().len(),
        };
        u32::try_from(len).unwrap_or(u32::MAX).clamp(1, self.budget)
    }

    /// Sends `item`, which takes the consumer to `position`, waiting while
    /// the buffer is full; after the slow timeout the consumer is cut off
    /// and everything buffered is dropped.
    pub async fn send(&mut self, item: Result<T, Status>, position: u64) -> Result<(), SendError> {
        let weight = self.weight(&item);
        let bytes = self.bytes.clone();
        let tx = self.tx.clone();
        let sent = tokio::time::timeout(self.slow_timeout, async move {
            let permit = bytes
                .acquire_many_owned(weight)
                .await
                .map_err(|_| SendError::Closed)?;
            tx.send((item, position, permit))
                .await
                .map_err(|_| SendError::Closed)
        })
        .await;
        match sent {
            Ok(result) => result,
            Err(_) => {
                if let Some(cut) = self.cut.take() {
                    let _ = cut.send(Cut::TooSlow);
                }
                Err(SendError::TooSlow)
            }
        }
    }

    /// Sends `item` only if it fits now (heartbeats: skipping one is fine).
    pub fn try_send(&self, item: Result<T, Status>, position: u64) -> Result<(), SendError> {
        let weight = self.weight(&item);
        let Ok(permit) = self.bytes.clone().try_acquire_many_owned(weight) else {
            return Ok(());
        };
        match self.tx.try_send((item, position, permit)) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Ends the stream with `status` ahead of anything still buffered.
    pub fn fail(&mut self, status: Status) {
        if let Some(cut) = self.cut.take() {
            let _ = cut.send(Cut::Failed(status));
        }
    }

    /// Resolves when the consumer is gone.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

impl<T> Receiver<T> {
    fn cut_status(&self, cut: Cut) -> Status {
        match cut {
            Cut::TooSlow => (self.too_slow)(self.delivered),
            Cut::Failed(status) => status,
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(cut) = this.cut.as_mut() {
            match Pin::new(cut).poll(cx) {
                Poll::Ready(Ok(cut)) => {
                    // Drop what is buffered: the consumer resumes after the
                    // last message it was given, which the status names.
                    this.cut = None;
                    this.rx = None;
                    return Poll::Ready(Some(Err(this.cut_status(cut))));
                }
                // The producer ended without a cut-off.
                Poll::Ready(Err(_)) => this.cut = None,
                Poll::Pending => {}
            }
        }
        let Some(rx) = this.rx.as_mut() else {
            return Poll::Ready(None);
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some((item, position, permit))) => {
                drop(permit);
                this.delivered = position;
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.rx = None;
                // A cut-off sent just before the producer ended.
                match this.cut.take().map(|mut cut| cut.try_recv()) {
                    Some(Ok(cut)) => Poll::Ready(Some(Err(this.cut_status(cut)))),
                    _ => Poll::Ready(None),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use prost::Message;

    fn bounds(bytes: usize) -> Bounds {
        Bounds {
            messages: 1000,
            bytes,
            slow_timeout: Duration::from_millis(50),
        }
    }

    fn too_slow() -> TooSlow {
        Box::new(|after| Status::resource_exhausted(format!("slow after {after}")))
    }

    fn message(len: usize) -> crate::ingest::Heartbeat {
        // A message whose encoding grows with `len`: a varint of `len` bits.
        crate::ingest::Heartbeat {
            head_sequence: 1u64 << (len.min(63)),
        }
    }

    #[tokio::test]
    async fn bounded_in_bytes_and_cut_off_status_overtakes_the_buffer() {
        let (mut tx, mut rx) = channel::<crate::ingest::Heartbeat>(bounds(40), 7, too_slow());
        let mut sent = 0;
        loop {
            match tx.send(Ok(message(60)), 100 + sent).await {
                Ok(()) => sent += 1,
                Err(e) => {
                    assert_eq!(e, SendError::TooSlow);
                    break;
                }
            }
        }
        let weight = message(60).encoded_len() as u64;
        assert_eq!(
            sent,
            40 / weight,
            "the byte budget, not the message count, stopped it"
        );
        let first = rx.next().await.expect("status").expect_err("cut-off first");
        assert_eq!(first.code(), tonic::Code::ResourceExhausted);
        assert_eq!(first.message(), "slow after 7", "nothing was delivered");
        assert!(rx.next().await.is_none(), "the buffer was dropped");

        // After one delivered message, the status names its position.
        let (mut tx, mut rx) = channel::<crate::ingest::Heartbeat>(bounds(40), 7, too_slow());
        tx.send(Ok(message(60)), 8).await.expect("sent");
        assert!(rx.next().await.expect("item").is_ok());
        while tx.send(Ok(message(60)), 9).await.is_ok() {}
        let status = rx.next().await.expect("status").expect_err("cut-off");
        assert_eq!(status.message(), "slow after 8");
    }

    #[tokio::test]
    async fn a_message_larger_than_the_budget_goes_through_alone() {
        let (mut tx, mut rx) = channel::<crate::query::WatchArticlesResponse>(bounds(8), 0, too_slow());
        let big = crate::query::WatchArticlesResponse {
            article: Some(crate::article::Article {
                body: "x".repeat(1000),
                ..Default::default()
            }),
            sequence: 1,
        };
        tx.send(Ok(big.clone()), 1).await.expect("fits alone");
        drop(tx);
        assert_eq!(rx.next().await.expect("item").expect("ok"), big);
        assert!(rx.next().await.is_none());
    }
}
