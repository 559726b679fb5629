//! `query-service`: runs one query replica (containers, clusters). For a laptop, `sectorwire up` runs both services
//! in one process. The command line and the start-up are shared with the
//! other service binary (`sectorwire_runtime::service`).

use sectorwire_query::QueryConfig;
use sectorwire_runtime::metrics::MetricsListen;
use sectorwire_runtime::service::{service_main, ServiceSpec};

/// mimalloc rather than the system allocator: the services make many small
/// strings per article, and it measured less CPU per article (see README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The replica's configuration and where its metrics are served.
#[derive(clap::Args)]
struct Config {
    #[command(flatten)]
    service: QueryConfig,
    /// Address of the Prometheus `/metrics` endpoint, or `off`.
    #[arg(long, env = "SECTORWIRE_QUERY_METRICS_LISTEN", default_value = "off")]
    metrics_listen: MetricsListen,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let spec = ServiceSpec {
        name: "query-service",
        about: "sectorwire query service",
        health_service: "sectorwire.query.v1.QueryService",
    };
    service_main(
        spec,
        |config: &Config| config.service.listen,
        |config, listener, shutdown| {
            sectorwire_runtime::metrics_http::with_endpoint(
                config.metrics_listen,
                shutdown.clone(),
                sectorwire_query::serve(config.service, listener, shutdown),
            )
        },
    )
    .await?;
    Ok(())
}
