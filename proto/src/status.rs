//! Statuses shared by both services so every client sees errors reported the
//! same way, and so no error can carry more than a few kilobytes: bad input
//! gets INVALID_ARGUMENT with one `google.rpc.BadRequest` field violation per
//! offending field, overload gets RESOURCE_EXHAUSTED with a `RetryInfo`
//! hint, and internal failures get a stable message while their detail goes
//! to the log only.
//!
//! Bounds matter because statuses travel in HTTP/2 trailers: a client's
//! default header-list limit is a few KiB to 16 KiB, and a status that
//! echoed a 1 MB id made standard clients report RESOURCE_EXHAUSTED (their
//! own header limit) instead of the INVALID_ARGUMENT the server meant.

use std::fmt::Display;
use std::time::Duration;

use tonic::codegen::http;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Most bytes of a caller's value echoed back in an error.
pub const MAX_ECHO: usize = 100;
/// Most bytes of a status message.
pub const MAX_MESSAGE: usize = 512;
/// Most bytes of one field violation's field path or description.
pub const MAX_VIOLATION_TEXT: usize = 256;
/// Most field violations in one status; the rest are summarised in one more.
pub const MAX_VIOLATIONS: usize = 16;

/// `text` cut to at most `max` bytes on a character boundary, with an
/// ellipsis and the original length when something was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let suffix = format!("… ({} bytes)", text.len());
    let keep = max.saturating_sub(suffix.len());
    let mut end = keep.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &text[..end])
}

/// A caller's value quoted for an error message, at most [`MAX_ECHO`] bytes
/// of it (plus quotes and a length note).
pub fn echo(value: &str) -> String {
    if value.len() <= MAX_ECHO {
        return format!("{value:?}");
    }
    let mut end = MAX_ECHO;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &value[..end], value.len())
}

/// A request field the caller got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path, e.g. `metadata.url` or `filter.sectors[0]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// INVALID_ARGUMENT carrying the violations as a BadRequest detail. Message,
/// field paths, descriptions and the number of violations are all clipped,
/// so the status stays a few KiB whatever the request held.
pub fn invalid_argument(message: impl Into<String>, violations: &[Violation]) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations.iter().take(MAX_VIOLATIONS) {
        details.add_bad_request_violation(
            clip(&v.field, MAX_VIOLATION_TEXT),
            clip(&v.description, MAX_VIOLATION_TEXT),
        );
    }
    if violations.len() > MAX_VIOLATIONS {
        details.add_bad_request_violation(
            "",
            format!("{} more violations not listed", violations.len() - MAX_VIOLATIONS),
        );
    }
    Status::with_error_details(Code::InvalidArgument, clip(&message.into(), MAX_MESSAGE), details)
}

/// RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail: the request was
/// shed before any work was done, so retrying after `retry_after` is safe.
pub fn overloaded(message: impl Into<String>, retry_after: Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(
        Code::ResourceExhausted,
        clip(&message.into(), MAX_MESSAGE),
        details,
    )
}

/// INTERNAL with a stable message naming what failed; the error itself (an
/// io error, a storage engine's text) is logged, never sent, because it
/// describes our machine rather than anything the caller can act on.
pub fn internal(what: &str, error: &dyn Display) -> Status {
    tracing::error!(%error, "{what}");
    Status::internal(format!("internal error: {what}"))
}

/// UNAVAILABLE with a stable message; the cause is logged only.
pub fn unavailable(what: &str, error: &dyn Display) -> Status {
    tracing::warn!(%error, "{what}");
    Status::unavailable(what.to_string())
}

/// The status a client should see for one tonic produced while reading a
/// request: tonic reports an over-limit message as OUT_OF_RANGE and an
/// undecodable one as INTERNAL, where gRPC clients expect RESOURCE_EXHAUSTED
/// and INVALID_ARGUMENT. Anything else keeps its code, with its message
/// clipped.
pub fn from_transport(status: &Status) -> Status {
    let message = status.message();
    if status.code() == Code::OutOfRange && message.starts_with(TONIC_TOO_LARGE) {
        return Status::resource_exhausted(clip(
            &format!(
                "request message too large: {}",
                &message[TONIC_TOO_LARGE.len()..].trim_start_matches(": ")
            ),
            MAX_MESSAGE,
        ));
    }
    if status.code() == Code::Internal && message.starts_with(TONIC_DECODE) {
        return Status::invalid_argument("request is not a valid protobuf message");
    }
    Status::new(status.code(), clip(message, MAX_MESSAGE))
}

/// How tonic (0.14) begins the message of an over-limit request; a test
/// pins it, so a tonic upgrade that rewords it fails loudly.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";
/// How prost's decode errors begin when tonic's stock codec reports them.
const TONIC_DECODE: &str = "failed to decode Protobuf message";

/// Tower layer that gives tonic's own request-reading errors the codes
/// [`from_transport`] picks. tonic answers a unary request it cannot read
/// before any handler runs, as a trailers-only response (the status in the
/// response headers), so the mapping has to happen around the server; stream
/// items that fail reach the handlers, which call [`from_transport`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TransportStatusLayer;

impl<S> tower::Layer<S> for TransportStatusLayer {
    type Service = TransportStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TransportStatus(inner)
    }
}

/// The service [`TransportStatusLayer`] makes.
#[derive(Debug, Clone)]
pub struct TransportStatus<S>(S);

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for TransportStatus<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let response = self.0.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            remap_headers(response.headers_mut());
            Ok(response)
        })
    }
}

fn remap_headers(headers: &mut http::HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if !matches!(status.code(), Code::OutOfRange | Code::Internal) {
        return;
    }
    let mapped = from_transport(&status);
    if mapped.code() == status.code() {
        return;
    }
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if mapped.add_header(headers).is_err() {
        tracing::warn!("cannot write a remapped status into response headers");
    }
}

/// Tower layer that sheds calls past `max_in_flight` in flight across every
/// connection, at once, with RESOURCE_EXHAUSTED and a `RetryInfo` delay.
/// tonic's own per-connection limit answers an overloaded connection with a
/// bare RESOURCE_EXHAUSTED (no retry hint) from outside the services, where
/// no layer of ours can amend it; with this cap at or under that limit, a
/// call is shed here first. A call holds its slot until its response
/// headers are sent (the whole call, for unary ones).
#[derive(Debug, Clone)]
pub struct ShedLayer {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    retry_after: Duration,
}

impl ShedLayer {
    /// A cap of `max_in_flight` calls (at least 1); shed calls are told to
    /// retry after `retry_after`.
    pub fn new(max_in_flight: usize, retry_after: Duration) -> Self {
        ShedLayer {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1))),
            retry_after,
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Shed {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ShedLayer`] makes.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    layer: ShedLayer,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Shed<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.layer.slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let response = self.inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop(slot);
                    response
                })
            }
            Err(_) => {
                let status = overloaded(
                    "too many calls in progress; retry after the delay given",
                    self.layer.retry_after,
                );
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the cap, a call is answered at once with RESOURCE_EXHAUSTED and a
    /// retry delay; once a call ends, its slot serves the next one.
    #[tokio::test]
    async fn shed_layer_sheds_past_the_cap_with_a_retry_hint() {
        use tower::{Layer, Service, ServiceExt};
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let held = std::sync::Arc::new(tokio::sync::Mutex::new(Some(held)));
        let inner = tower::service_fn(move |_: http::Request<()>| {
            let held = held.clone();
            async move {
                if let Some(wait) = held.lock().await.take() {
                    let _ = wait.await;
                }
                Ok::<_, std::convert::Infallible>(http::Response::new(String::from("served")))
            }
        });
        let mut service = ShedLayer::new(1, Duration::from_millis(250)).layer(inner);
        let first = service.ready().await.expect("ready").call(http::Request::new(()));
        let first = tokio::spawn(first);
        tokio::task::yield_now().await;
        let shed = service
            .ready()
            .await
            .expect("ready")
            .call(http::Request::new(()))
            .await
            .expect("answered");
        let status = Status::from_header_map(shed.headers()).expect("a trailers-only status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.get_details_retry_info().and_then(|r| r.retry_delay),
            Some(Duration::from_millis(250))
        );
        release.send(()).expect("first call waiting");
        let first = first.await.expect("joined").expect("served");
        assert_eq!(first.body(), "served");
        let next = service
            .ready()
            .await
            .expect("ready")
            .call(http::Request::new(()))
            .await
            .expect("served");
        assert_eq!(next.body(), "served", "the slot was released");
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("short", 10), "short");
        let long = "é".repeat(1000);
        let cut = clip(&long, 100);
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with("(2000 bytes)"));
    }

    #[test]
    fn echo_quotes_at_most_max_echo_bytes() {
        assert_eq!(echo("ab"), "\"ab\"");
        let quoted = echo(&"x".repeat(1_000_000));
        assert!(quoted.len() < MAX_ECHO + 32, "{}", quoted.len());
        assert!(quoted.contains("1000000 bytes"));
    }

    #[test]
    fn invalid_argument_is_bounded_whatever_the_violations() {
        let huge = "v".repeat(60_000);
        let violations: Vec<Violation> = (0..64)
            .map(|i| Violation::new(format!("filter.entities[{i}]"), huge.clone()))
            .collect();
        let status = invalid_argument(huge.clone(), &violations);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().len() <= MAX_MESSAGE);
        assert!(status.details().len() < 8 * 1024, "{}", status.details().len());
        let listed = status
            .get_details_bad_request()
            .expect("bad request")
            .field_violations;
        assert_eq!(listed.len(), MAX_VIOLATIONS + 1);
        assert!(listed.last().unwrap().description.contains("48 more"));
    }

    #[test]
    fn overloaded_carries_a_retry_hint() {
        let status = overloaded("busy", Duration::from_millis(250));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let retry = status.get_details_retry_info().expect("retry info");
        assert_eq!(retry.retry_delay, Some(Duration::from_millis(250)));
    }

    #[test]
    fn internal_hides_the_cause() {
        let cause = std::io::Error::from_raw_os_error(28);
        let status = internal("writing the store", &cause);
        assert_eq!(status.message(), "internal error: writing the store");
        assert!(!status.message().contains("28"));
    }

    #[test]
    fn transport_statuses_get_the_codes_clients_expect() {
        let too_large = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        let mapped = from_transport(&too_large);
        assert_eq!(mapped.code(), Code::ResourceExhausted);
        assert!(
            mapped.message().contains("found 5000000 bytes"),
            "{}",
            mapped.message()
        );
        let undecodable = Status::internal("failed to decode Protobuf message: invalid wire type");
        assert_eq!(from_transport(&undecodable).code(), Code::InvalidArgument);
        assert_eq!(from_transport(&Status::cancelled("gone")).code(), Code::Cancelled);
    }
}
