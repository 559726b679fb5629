//! `ingest-service`: runs the ingest service alone (containers, clusters). For a laptop, `sectorwire up` runs both services
//! in one process. The command line and the start-up are shared with the
//! other service binary (`sectorwire_runtime::service`).

use sectorwire_ingest::IngestConfig;
use sectorwire_runtime::service::{service_main, ServiceSpec};

/// mimalloc rather than the system allocator: the services make many small
/// strings per article, and it measured less CPU per article (see README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let spec = ServiceSpec {
        name: "ingest-service",
        about: "sectorwire ingest service",
        health_service: "sectorwire.ingest.v1.IngestService",
    };
    service_main(
        spec,
        |config: &IngestConfig| config.listen,
        sectorwire_ingest::serve,
    )
    .await?;
    Ok(())
}
