//! One tower layer around each gRPC server that observes every call:
//!
//! - a request id (the caller's `x-request-id` when sane, else a new one),
//!   echoed in the response headers and carried by an `rpc` tracing span
//!   that is entered whenever the call's handler or its response stream is
//!   polled, so every log line of the call names it;
//! - `grpc_server_started_total`, `grpc_server_handled_total` (by status
//!   code) and `grpc_server_handling_seconds` per method.
//!
//! The status is read where gRPC puts it: the response headers of a
//! trailers-only response (tonic answers an error returned by a handler that
//! way), else the trailers at the end of the body. A stream is therefore
//! counted when it ends, with its final status; one the client abandons
//! (reset, deadline, disconnect) is counted `CANCELLED` when the server drops
//! it. Methods are labelled from the port's own descriptor set; a path that
//! names no method of the port is labelled `unknown`, so callers cannot grow
//! the number of series.
//!
//! tonic's per-connection load shedding answers before user layers run, so
//! requests shed there appear in no `grpc_server_*` series.
//!
//! Put it outside `sectorwire_proto::status::TransportStatusLayer` (add it
//! first) so the codes counted are the ones clients receive.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use metrics::{Label, SharedString};
use prost::Message;
use tracing::Instrument;

use crate::metrics::{GRPC_HANDLED, GRPC_HANDLING_SECONDS, GRPC_STARTED};
use crate::request_id;

/// Labels of one method: `grpc_service`, `grpc_method`, `grpc_type`.
#[derive(Debug)]
struct Method {
    labels: [Label; 3],
    /// `Service/Method`, for logs.
    name: SharedString,
}

impl Method {
    fn new(service: &str, method: &str, kind: &'static str) -> Self {
        let shared = |s: &str| SharedString::from(Arc::<str>::from(s));
        Method {
            labels: [
                Label::new("grpc_service", shared(service)),
                Label::new("grpc_method", shared(method)),
                Label::from_static_parts("grpc_type", kind),
            ],
            name: shared(&format!("{service}/{method}")),
        }
    }
}

/// The methods one port serves, by request path.
#[derive(Debug)]
struct Methods {
    by_path: HashMap<String, Arc<Method>>,
    unknown: Arc<Method>,
}

impl Methods {
    fn new(contract: &[u8], services: &[&str]) -> Self {
        let sets: [&[u8]; 4] = [
            contract,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ];
        let mut by_path = HashMap::new();
        for set in sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
                tracing::warn!("a descriptor set does not decode; its methods are labelled unknown");
                continue;
            };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let name = service.name.unwrap_or_default();
                    let full = if package.is_empty() {
                        name
                    } else {
                        format!("{package}.{name}")
                    };
                    let served = services.contains(&full.as_str())
                        || crate::ADVERTISED_ALWAYS.contains(&full.as_str());
                    if !served {
                        continue;
                    }
                    for method in service.method {
                        let method_name = method.name.unwrap_or_default();
                        let kind = match (
                            method.client_streaming.unwrap_or(false),
                            method.server_streaming.unwrap_or(false),
                        ) {
                            (false, false) => "unary",
                            (false, true) => "server_stream",
                            (true, false) => "client_stream",
                            (true, true) => "bidi_stream",
                        };
                        by_path.insert(
                            format!("/{full}/{method_name}"),
                            Arc::new(Method::new(&full, &method_name, kind)),
                        );
                    }
                }
            }
        }
        Methods {
            by_path,
            unknown: Arc::new(Method::new("unknown", "unknown", "unknown")),
        }
    }

    fn get(&self, path: &str) -> Arc<Method> {
        self.by_path.get(path).unwrap_or(&self.unknown).clone()
    }
}

/// The layer; build one per server with the services its port serves (the
/// same list as its reflection).
#[derive(Debug, Clone)]
pub struct RpcLayer {
    methods: Arc<Methods>,
}

impl RpcLayer {
    /// Observes the methods of `services` (full names) found in `contract`
    /// (an encoded descriptor set), plus health and reflection.
    pub fn new(contract: &[u8], services: &[&str]) -> Self {
        RpcLayer {
            methods: Arc::new(Methods::new(contract, services)),
        }
    }
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = Rpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Rpc {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service [`RpcLayer`] makes.
#[derive(Debug, Clone)]
pub struct Rpc<S> {
    inner: S,
    methods: Arc<Methods>,
}

impl<S, B, RB> tower::Service<Request<B>> for Rpc<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RpcBody<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let method = self.methods.get(request.uri().path());
        let id = match request.headers().get(request_id::HEADER) {
            Some(given) => request_id::accepted(given.as_bytes()).map(str::to_string),
            None => None,
        }
        .unwrap_or_else(request_id::generate);
        // `id` holds only header-safe characters, so this cannot fail.
        let header = HeaderValue::from_str(&id).ok();
        if let Some(header) = &header {
            // Handlers see the id that is logged, whatever the caller sent.
            request.headers_mut().insert(request_id::HEADER, header.clone());
        }
        let span = tracing::info_span!("rpc", request_id = %id, method = %method.name);
        metrics::counter!(GRPC_STARTED, method.labels.to_vec()).increment(1);
        let mut outcome = Outcome {
            method,
            start: Instant::now(),
            span: span.clone(),
            done: false,
        };
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let response = match response.await {
                    Ok(response) => response,
                    Err(error) => {
                        outcome.finish("UNKNOWN");
                        return Err(error);
                    }
                };
                let (mut parts, body) = response.into_parts();
                if let Some(header) = header {
                    parts.headers.insert(request_id::HEADER, header);
                }
                // A trailers-only response: the status is in the headers.
                let outcome = match status_code(&parts.headers) {
                    Some(code) => {
                        outcome.finish(code);
                        None
                    }
                    None => Some(outcome),
                };
                Ok(Response::from_parts(parts, RpcBody { inner: body, outcome }))
            }
            .instrument(span),
        )
    }
}

/// A call's pending record: written once, at its status or when it is
/// dropped without one.
struct Outcome {
    method: Arc<Method>,
    start: Instant,
    span: tracing::Span,
    done: bool,
}

impl Outcome {
    fn finish(&mut self, code: &'static str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let elapsed = self.start.elapsed();
        let labels = self.method.labels.to_vec();
        metrics::histogram!(GRPC_HANDLING_SECONDS, labels.clone()).record(elapsed.as_secs_f64());
        let mut handled = labels;
        handled.push(Label::from_static_parts("grpc_code", code));
        metrics::counter!(GRPC_HANDLED, handled).increment(1);
        self.span.in_scope(|| {
            tracing::debug!(code, elapsed_ms = elapsed.as_secs_f64() * 1e3, "rpc finished");
        });
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        // No status was seen: the client went away and the server dropped
        // the call (or its stream) unfinished.
        self.finish("CANCELLED");
    }
}

pin_project_lite::pin_project! {
    /// A response body that enters the call's span while it is polled and
    /// records the call's status from its trailers.
    pub struct RpcBody<B> {
        #[pin]
        inner: B,
        outcome: Option<Outcome>,
    }
}

impl<B: Body> Body for RpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let span = this.outcome.as_ref().map(|o| o.span.clone());
        let _entered = span.as_ref().map(tracing::Span::enter);
        let polled = this.inner.poll_frame(cx);
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(|t| status_code(t).unwrap_or("UNKNOWN")),
            // The stream broke, or ended without a status.
            Poll::Ready(Some(Err(_)) | None) => Some("UNKNOWN"),
            Poll::Pending => None,
        };
        if let Some(code) = code {
            if let Some(mut outcome) = this.outcome.take() {
                outcome.finish(code);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The name of the `grpc-status` in `headers`, if there is one.
fn status_code(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?;
    let code: i32 = value.to_str().ok()?.trim().parse().ok()?;
    Some(code_name(code))
}

/// The canonical name of a gRPC status code (`UNKNOWN` for numbers outside
/// the 17 defined, so the label stays bounded).
pub fn code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_follow_the_grpc_numbering() {
        assert_eq!(code_name(0), "OK");
        assert_eq!(code_name(3), "INVALID_ARGUMENT");
        assert_eq!(code_name(8), "RESOURCE_EXHAUSTED");
        assert_eq!(code_name(16), "UNAUTHENTICATED");
        assert_eq!(code_name(17), "UNKNOWN");
        assert_eq!(code_name(-1), "UNKNOWN");
    }

    #[test]
    fn methods_come_from_the_ports_own_services() {
        let methods = Methods::new(tonic_health::pb::FILE_DESCRIPTOR_SET, &[]);
        let check = methods.get("/grpc.health.v1.Health/Check");
        assert_eq!(&*check.name, "grpc.health.v1.Health/Check");
        assert_eq!(check.labels[2].value(), "unary");
        assert_eq!(
            methods.get("/grpc.health.v1.Health/Watch").labels[2].value(),
            "server_stream"
        );
        assert_eq!(
            methods
                .get("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
                .labels[2]
                .value(),
            "bidi_stream"
        );
        // Anything else shares one label set, however many paths are tried.
        assert_eq!(methods.get("/x.Y/Z").labels[0].value(), "unknown");
        assert_eq!(
            methods.get("/grpc.health.v1.Health/Nope").labels[1].value(),
            "unknown"
        );
    }
}
