//! The whole `main` of a service binary, written once: both binaries parse
//! the same shape of command line (their configuration, `--log-format`, a
//! `healthcheck` subcommand), bind, serve until a signal, and report errors
//! the same way.

use std::future::Future;
use std::net::SocketAddr;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::ClientSecurity;
use crate::tls::ClientTlsFiles;
use crate::{check_health_with, init_tracing, shutdown_signal, HealthError, LogFormat};

/// A service binary's whole program: mimalloc as the allocator, the
/// service's configuration plus the address of its `/metrics` endpoint (flag
/// `--metrics-listen`, environment `$metrics_env`), and [`service_main`]
/// running `$serve` behind that endpoint. Both binaries are this macro with
/// their own names, so what they share is written once.
///
/// mimalloc rather than the system allocator: the services make many small
/// strings per article, and it measured less CPU per article (see README).
/// The calling crate depends on `mimalloc`, `clap`, `tokio` and `anyhow`.
#[macro_export]
macro_rules! service_binary {
    (
        name: $name:literal,
        about: $about:literal,
        health_service: $health:literal,
        config: $config:ty,
        metrics_env: $metrics_env:literal,
        serve: $serve:path $(,)?
    ) => {
        #[global_allocator]
        static ALLOCATOR: ::mimalloc::MiMalloc = ::mimalloc::MiMalloc;

        /// The service's configuration and where its metrics are served.
        #[derive(::clap::Args)]
        struct Config {
            #[command(flatten)]
            service: $config,
            /// Address of the Prometheus `/metrics` endpoint, or `off`.
            #[arg(long, env = $metrics_env, default_value = "off")]
            metrics_listen: $crate::metrics::MetricsListen,
        }

        #[::tokio::main]
        async fn main() -> ::anyhow::Result<()> {
            let spec = $crate::service::ServiceSpec {
                name: $name,
                about: $about,
                health_service: $health,
            };
            $crate::service::service_main(
                spec,
                |config: &Config| config.service.listen,
                |config, listener, shutdown| {
                    $crate::metrics_http::with_endpoint(
                        config.metrics_listen,
                        shutdown.clone(),
                        $serve(config.service, listener, shutdown),
                    )
                },
            )
            .await?;
            Ok(())
        }
    };
}

/// What differs between the service binaries.
pub struct ServiceSpec {
    /// Binary name, for `--help`.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// The gRPC service whose health `healthcheck` asks for.
    pub health_service: &'static str,
}

#[derive(Parser)]
struct ServiceCli<C: Args> {
    #[command(flatten)]
    config: C,
    /// Log format.
    #[arg(long, env = "SECTORWIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<ServiceCommand>,
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Exits 0 when the service reports SERVING (container health checks).
    Healthcheck {
        /// Address to check; by default the configured listen address.
        #[arg(long)]
        addr: Option<String>,
        /// Check over TLS, verifying the service against this CA (PEM).
        #[arg(long = "tls-ca", env = "SECTORWIRE_TLS_CA")]
        tls_ca: Option<std::path::PathBuf>,
        /// Client certificate when the service requires one (mutual TLS);
        /// by default the service's own, which the check runs beside.
        #[arg(long = "tls-cert", env = "SECTORWIRE_TLS_CERT", requires = "tls_ca")]
        tls_cert: Option<std::path::PathBuf>,
        /// Key of --tls-cert.
        #[arg(long = "tls-key", env = "SECTORWIRE_TLS_KEY", requires = "tls_ca")]
        tls_key: Option<std::path::PathBuf>,
    },
}

/// Why a service binary stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum MainError {
    /// The command line or environment is invalid (clap prints the details).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// The listen address could not be bound.
    #[error("binding {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS's reason.
        #[source]
        source: std::io::Error,
    },
    /// `healthcheck` found the service not serving.
    #[error(transparent)]
    Unhealthy(#[from] HealthError),
    /// The service failed.
    #[error(transparent)]
    Serve(Box<dyn std::error::Error + Send + Sync>),
}

/// Parses the command line into configuration `C`, then either runs the
/// health check or binds `listen(&config)` and runs `serve` until Ctrl-C or
/// SIGTERM.
pub async fn service_main<C, Fut, E>(
    spec: ServiceSpec,
    listen: fn(&C) -> SocketAddr,
    serve: impl FnOnce(C, TcpListener, CancellationToken) -> Fut,
) -> Result<(), MainError>
where
    C: Args + FromArgMatches,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let matches = ServiceCli::<C>::command()
        .name(spec.name)
        .about(spec.about)
        .version(env!("CARGO_PKG_VERSION"))
        // Exits with clap's own message and code on --help or a usage error.
        .get_matches();
    let cli = ServiceCli::<C>::from_arg_matches(&matches)?;
    init_tracing(cli.log_format);
    let addr = listen(&cli.config);
    if let Some(ServiceCommand::Healthcheck {
        addr: checked,
        tls_ca,
        tls_cert,
        tls_key,
    }) = cli.command
    {
        let checked = checked.unwrap_or_else(|| local_address(addr));
        // The CA turns TLS on (clap refuses a certificate without it: a
        // plaintext check of a TLS service could only fail).
        let files = ClientTlsFiles {
            ca: tls_ca,
            cert: tls_cert,
            key: tls_key,
        };
        let security = ClientSecurity::load(&files, None, None).map_err(HealthError::from)?;
        check_health_with(&checked, spec.health_service, &security).await?;
        return Ok(());
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MainError::Bind { addr, source })?;
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    serve(cli.config, listener, shutdown)
        .await
        .map_err(|e| MainError::Serve(Box::new(e)))
}

/// The address a health check on this machine reaches a service listening
/// on `listen` by: a wildcard listen address is reached over loopback.
fn local_address(listen: SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    // No scheme: http or https by whether the check uses TLS.
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_checked_over_loopback() {
        assert_eq!(local_address("0.0.0.0:50051".parse().unwrap()), "127.0.0.1:50051");
        assert_eq!(local_address("10.1.2.3:7".parse().unwrap()), "10.1.2.3:7");
    }
}
