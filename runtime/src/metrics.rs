//! Prometheus metrics for both services: one process-wide recorder behind
//! the `metrics` facade, rendered by `metrics-exporter-prometheus`, served
//! by [`crate::metrics_http`].
//!
//! Off until [`install`] runs (the `--metrics-listen` flag does it): until
//! then every `metrics::counter!` and friends is a no-op, so a service run
//! without metrics pays nothing. The recorder is global because the facade
//! is; `sectorwire up` runs both services in one process and so serves both
//! on one endpoint (their series have distinct names or labels).
//!
//! Figures that a stats RPC already computes (articles, log head, replica
//! applied sequence and lag, ...) are not tracked twice: a service registers
//! an [`on_scrape`] hook that calls its stats handler at scrape time and
//! sets gauges from the answer, so `/metrics` and `sectorwire stats` agree by
//! construction.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// gRPC calls started, by `grpc_service`, `grpc_method`, `grpc_type` (the
/// names and labels of go-grpc-prometheus, so existing dashboards work).
pub const GRPC_STARTED: &str = "grpc_server_started_total";
/// gRPC calls finished, with `grpc_code` besides the labels of
/// [`GRPC_STARTED`]; a stream counts when it ends.
pub const GRPC_HANDLED: &str = "grpc_server_handled_total";
/// Seconds from a call's request headers to its status (a stream's whole life).
pub const GRPC_HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
/// Work refused to protect the service, by `reason`: counted where it is
/// shed, because a shed `IngestArticles` item is reported inside an OK stream.
pub const SHED: &str = "sectorwire_shed_total";

/// Upper bounds of the latency buckets, in seconds: sub-millisecond reads up
/// to long-lived streams.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];
/// Upper bounds for size histograms (items per batch): powers of two.
const SIZE_BUCKETS: [f64; 13] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];
/// Histograms whose name ends so hold sizes, not durations.
const SIZE_SUFFIXES: [&str; 2] = ["_ops", "_events"];

/// How often histogram samples are folded into their buckets when nobody
/// scrapes: the exporter keeps raw samples until then, so without upkeep an
/// unscraped process would grow without bound.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Why metrics could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Another global `metrics` recorder is installed (not ours).
    #[error("another metrics recorder is already installed")]
    ForeignRecorder,
    /// The bucket configuration was refused.
    #[error("metrics setup: {0}")]
    Build(String),
    /// The endpoint's address could not be bound.
    #[error("binding the metrics endpoint {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS's reason.
        source: std::io::Error,
    },
}

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls return
/// the same handle) and starts its upkeep thread.
pub fn install() -> Result<&'static PrometheusHandle, MetricsError> {
    let installed = HANDLE.get_or_init(|| {
        let build = || -> Result<PrometheusHandle, String> {
            let mut builder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .map_err(|e| e.to_string())?;
            for suffix in SIZE_SUFFIXES {
                builder = builder
                    .set_buckets_for_metric(Matcher::Suffix(suffix.into()), &SIZE_BUCKETS)
                    .map_err(|e| e.to_string())?;
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|_| FOREIGN.to_string())?;
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("sectorwire-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                })
                .map_err(|e| e.to_string())?;
            Ok(handle)
        };
        build()
    });
    match installed {
        Ok(handle) => Ok(handle),
        Err(e) if e == FOREIGN => Err(MetricsError::ForeignRecorder),
        Err(e) => Err(MetricsError::Build(e.clone())),
    }
}

const FOREIGN: &str = "foreign recorder";

/// HELP texts of the metrics every service shares; each service describes
/// its own where it records them.
fn describe() {
    metrics::describe_counter!(GRPC_STARTED, "gRPC calls started on the server");
    metrics::describe_counter!(
        GRPC_HANDLED,
        "gRPC calls finished on the server, by status code (streams when they end)"
    );
    metrics::describe_histogram!(
        GRPC_HANDLING_SECONDS,
        metrics::Unit::Seconds,
        "time from a call's request headers to its status"
    );
    metrics::describe_counter!(SHED, "work refused to protect the service, by reason");
}

/// Counts one unit of shed work under `reason` (a fixed, short name).
pub fn shed(reason: &'static str) {
    metrics::counter!(SHED, "reason" => reason).increment(1);
}

/// The Prometheus text of everything recorded, after running the scrape
/// hooks; `None` while metrics are off.
pub async fn render() -> Option<String> {
    let handle = HANDLE.get()?.as_ref().ok()?;
    run_scrape_hooks().await;
    Some(handle.render())
}

/// Where the `/metrics` endpoint listens: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsListen(pub Option<SocketAddr>);

impl FromStr for MetricsListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "off" | "none" => Ok(MetricsListen(None)),
            addr => addr
                .parse()
                .map(|a| MetricsListen(Some(a)))
                .map_err(|_| format!("{addr:?} is neither `off` nor an address like 0.0.0.0:9464")),
        }
    }
}

impl fmt::Display for MetricsListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{addr}"),
            None => f.write_str("off"),
        }
    }
}

/// A gauge raised by one while this value lives (streams, subscribers).
#[must_use = "the gauge falls again when this is dropped"]
pub struct InFlight(metrics::Gauge);

impl InFlight {
    /// Raises the gauge `name` by one until the returned value is dropped.
    pub fn new(name: &'static str) -> Self {
        let gauge = metrics::gauge!(name);
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

type Hook = Box<dyn Fn() -> Option<BoxFuture<'static, ()>> + Send + Sync>;

fn hooks() -> &'static Mutex<BTreeMap<u64, Hook>> {
    static HOOKS: OnceLock<Mutex<BTreeMap<u64, Hook>>> = OnceLock::new();
    HOOKS.get_or_init(Default::default)
}

/// Longest a scrape waits for one hook: a stuck stats handler must not hang
/// the endpoint (its gauges keep their last values).
const HOOK_TIMEOUT: Duration = Duration::from_secs(2);

async fn run_scrape_hooks() {
    let pending: Vec<BoxFuture<'static, ()>> = match hooks().lock() {
        Ok(hooks) => hooks.values().filter_map(|hook| hook()).collect(),
        Err(_) => return,
    };
    for future in pending {
        if tokio::time::timeout(HOOK_TIMEOUT, future).await.is_err() {
            tracing::warn!("a metrics scrape hook took longer than {HOOK_TIMEOUT:?}; skipped");
        }
    }
}

/// Runs `collect(&target)` before every scrape while the returned guard
/// lives. The registry keeps only a weak reference, so a service that stops
/// releases `target` (and the stores behind it) when it drops the guard.
pub fn on_scrape<T: Send + Sync + 'static>(
    target: T,
    collect: fn(Arc<T>) -> BoxFuture<'static, ()>,
) -> ScrapeHook {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let target = Arc::new(target);
    let weak: Weak<T> = Arc::downgrade(&target);
    let hook: Hook = Box::new(move || weak.upgrade().map(collect));
    if let Ok(mut hooks) = hooks().lock() {
        hooks.insert(id, hook);
    }
    ScrapeHook { id, _target: target }
}

/// Keeps a scrape hook registered; see [`on_scrape`].
#[must_use = "the hook is removed when this is dropped"]
pub struct ScrapeHook {
    id: u64,
    _target: Arc<dyn Send + Sync>,
}

impl Drop for ScrapeHook {
    fn drop(&mut self) {
        if let Ok(mut hooks) = hooks().lock() {
            hooks.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_is_an_address_or_off() {
        assert_eq!("off".parse::<MetricsListen>(), Ok(MetricsListen(None)));
        assert_eq!("".parse::<MetricsListen>(), Ok(MetricsListen(None)));
        let on: MetricsListen = "127.0.0.1:9464".parse().expect("address");
        assert_eq!(on.to_string(), "127.0.0.1:9464");
        assert!("9464".parse::<MetricsListen>().is_err());
    }
}
