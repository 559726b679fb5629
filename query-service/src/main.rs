//! `query-service`: runs one query replica (containers, clusters). For a laptop, `sectorwire up` runs both services
//! in one process. The command line and the start-up are shared with the
//! other service binary (`sectorwire_runtime::service_binary!`).

sectorwire_runtime::service_binary! {
    name: "query-service",
    about: "sectorwire query service",
    health_service: "sectorwire.query.v1.QueryService",
    config: sectorwire_query::QueryConfig,
    metrics_env: "SECTORWIRE_QUERY_METRICS_LISTEN",
    serve: sectorwire_query::serve,
}
