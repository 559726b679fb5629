//! Process plumbing shared by both services and the CLI, so every binary
//! logs, stops, checks health and accepts connections the same way. Kept out
//! of the contract crate so clients of `sectorwire-proto` link no clap or
//! tracing-subscriber.
//!
//! - [`init_tracing`] / [`LogFormat`]: log setup (pretty or JSON);
//! - [`shutdown_signal`]: Ctrl-C or SIGTERM;
//! - [`check_health`]: the `healthcheck` subcommands' client;
//! - [`incoming`]: accepted TCP connections with the options and limits
//!   servers need (connection cap, handshake timeout, TLS);
//! - [`server`]: the server flags both services share (limits, TLS,
//!   tokens) and the tonic builder made from them;
//! - [`auth`]: bearer tokens with read and write rights; [`tls`]: PEM
//!   files to rustls and tonic configurations; [`client`]: how clients
//!   use both;
//! - [`store`]: opening sled stores alike on both sides;
//! - [`metrics`], [`metrics_http`]: the Prometheus recorder and its bounded
//!   `/metrics` endpoint;
//! - [`rpc_layer`], [`request_id`]: per-call request ids, log spans and
//!   gRPC metrics, one tower layer for both servers.
#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod conn;
pub mod metrics;
pub mod metrics_http;
pub mod request_id;
pub mod rpc_layer;
pub mod server;
pub mod service;
pub mod store;
pub mod tls;

pub use conn::{incoming, ConnLimits};

use tracing_subscriber::{fmt, EnvFilter};

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal or anywhere).
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Installs the global `tracing` subscriber. `RUST_LOG` overrides the default
/// `info` level. Calling it twice is harmless (the second call is ignored), so
/// tests and the CLI can start services in one process.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: escape codes in a log file or
    // a pipe are noise (and `NO_COLOR` opts out everywhere).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
    let result = match format {
        LogFormat::Pretty => fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(ansi)
            .try_init(),
        LogFormat::Json => fmt().with_env_filter(filter).json().try_init(),
    };
    // An already-installed subscriber is fine: keep it.
    let _ = result;
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first. Servers pass it to
/// `serve_with_shutdown` so in-flight requests finish and stores flush.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The address is not a valid endpoint URI.
    #[error("invalid address {0}")]
    Address(String),
    /// Could not connect.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Address.
        addr: String,
        /// Cause.
        source: tonic::transport::Error,
    },
    /// The health RPC failed.
    #[error("health check of {service} failed: {0}", service = .1)]
    Rpc(tonic::Status, String),
    /// The service answered but is not serving.
    #[error("{0} is not serving (status {1})")]
    NotServing(String, i32),
    /// The client's TLS settings are unusable.
    #[error(transparent)]
    Client(#[from] client::ClientError),
}

/// Asks the `grpc.health.v1` service at `addr` whether `service` is SERVING.
/// Used by the `healthcheck` subcommands that container health checks run.
pub async fn check_health(addr: &str, service: &str) -> Result<(), HealthError> {
    check_health_with(addr, service, &client::ClientSecurity::default()).await
}

/// [`check_health`] over TLS as `security` says (health needs no token).
pub async fn check_health_with(
    addr: &str,
    service: &str,
    security: &client::ClientSecurity,
) -> Result<(), HealthError> {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let uri = security.uri(addr);
    let endpoint = security
        .endpoint(addr)?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(3));
    let channel = endpoint
        .connect()
        .await
        .map_err(|source| HealthError::Connect { addr: uri, source })?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await
        .map_err(|status| HealthError::Rpc(status, service.to_string()))?
        .into_inner();
    if response.status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        Err(HealthError::NotServing(service.to_string(), response.status))
    }
}

/// A configuration struct with every field at its clap default, ignoring the
/// environment: the one place defaults are written is the `#[arg]`
/// attributes, and constructors for tests and embedding start from this.
pub fn clap_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults")).mut_args(|arg| arg.env(None::<&str>));
    let matches = command.get_matches_from(["defaults"]);
    match T::from_arg_matches(&matches) {
        Ok(config) => config,
        // Only a declaration error (a field with no default) gets here: a bug
        // in the program, not something a user can cause.
        Err(error) => panic!("configuration defaults do not parse: {error}"),
    }
}

/// The URI a client connects to for `addr`: as given when it names a scheme,
/// else `http://{addr}`, so `host:port` works wherever an address is asked.
pub fn endpoint_uri(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

/// Server reflection over both `grpc.reflection.v1` and `v1alpha` (some
/// clients, Python's grpcio-reflection among them, speak only `v1alpha`),
/// advertising only `services` plus health and reflection themselves: all of
/// `contract` (an encoded descriptor set) is registered so every type
/// resolves, but a port lists only what it serves.
#[allow(clippy::type_complexity)]
pub fn reflection(
    contract: &'static [u8],
    services: &[&str],
) -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    tonic_reflection::server::Error,
> {
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(contract)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // Both versions' descriptors, so each version can describe the other too.
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
            .include_reflection_service(false);
        for name in services.iter().copied().chain(ADVERTISED_ALWAYS) {
            builder = builder.with_service_name(name);
        }
        builder
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// Services every port serves besides its own.
pub(crate) const ADVERTISED_ALWAYS: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];
