//! `ingest-service`: runs the ingest service alone (containers, clusters). For a laptop, `sectorwire up` runs both services
//! in one process. The command line and the start-up are shared with the
//! other service binary (`sectorwire_runtime::service_binary!`).

sectorwire_runtime::service_binary! {
    name: "ingest-service",
    about: "sectorwire ingest service",
    health_service: "sectorwire.ingest.v1.IngestService",
    config: sectorwire_ingest::IngestConfig,
    metrics_env: "SECTORWIRE_INGEST_METRICS_LISTEN",
    serve: sectorwire_ingest::serve,
}
