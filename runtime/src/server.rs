//! The server options both services share, and the tonic server built from
//! them: connection limits, HTTP/2 keepalive, TLS and bearer tokens are
//! declared and wired once here, so the two services cannot drift apart.
//!
//! The connection flags keep each service's own names (`--ingest-max-connections`,
//! `--query-max-connections`, ...): a [`PortFlags`] type supplies them, so one
//! generic [`ServerArgs`] serves both. The security flags have the same names on
//! both services.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::Stream;
use tower::layer::util::{Identity, Stack};

use crate::auth::{AuthLayer, Secret, TokenError, TokenSource, Tokens};
use crate::conn::{incoming, Conn, ConnLimits};
use crate::tls::TlsError;

/// The names and defaults of one service's connection flags.
pub trait PortFlags: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// `--…-max-connections`.
    const MAX_CONNECTIONS: &'static str;
    /// Its environment variable.
    const MAX_CONNECTIONS_ENV: &'static str;
    /// `--…-handshake-timeout-ms`.
    const HANDSHAKE_TIMEOUT: &'static str;
    /// Its environment variable.
    const HANDSHAKE_TIMEOUT_ENV: &'static str;
    /// `--…-max-connection-age-secs`.
    const MAX_CONNECTION_AGE: &'static str;
    /// Its environment variable.
    const MAX_CONNECTION_AGE_ENV: &'static str;
    /// The concurrency flag.
    const CONCURRENCY: &'static str;
    /// Its environment variable.
    const CONCURRENCY_ENV: &'static str;
    /// Default concurrent requests per connection.
    const DEFAULT_CONCURRENCY: usize;
}

/// Connection limits and security of one server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs<P: PortFlags> {
    /// Calls in progress, across all connections, before new ones are shed
    /// with RESOURCE_EXHAUSTED and a retry hint (each connection is also held
    /// to this many).
    #[arg(long = P::CONCURRENCY, env = P::CONCURRENCY_ENV, default_value_t = P::DEFAULT_CONCURRENCY)]
    pub max_concurrent_requests: usize,
    /// Connections open at once; past it new ones are closed on accept
    /// (keep it under the process's file-descriptor limit).
    #[arg(long = P::MAX_CONNECTIONS, env = P::MAX_CONNECTIONS_ENV, default_value_t = 1024)]
    pub max_connections: usize,
    /// Time a new connection has to finish the TLS handshake (with TLS) and
    /// send the HTTP/2 preface, in ms.
    #[arg(long = P::HANDSHAKE_TIMEOUT, env = P::HANDSHAKE_TIMEOUT_ENV, default_value_t = 10_000)]
    pub handshake_timeout_ms: u64,
    /// Age after which a connection is asked to go away (GOAWAY) once its
    /// streams end, in seconds: idle connections last at most this long.
    #[arg(long = P::MAX_CONNECTION_AGE, env = P::MAX_CONNECTION_AGE_ENV, default_value_t = 300)]
    pub max_connection_age_secs: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub security: SecurityArgs,
    #[arg(skip)]
    #[allow(missing_docs)]
    pub _flags: PhantomData<P>,
}

/// TLS and tokens of a server (the same flags on both services).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SecurityArgs {
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "SECTORWIRE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM).
    #[arg(long, env = "SECTORWIRE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: accept only clients with a certificate this CA signed (PEM).
    #[arg(long, env = "SECTORWIRE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// File of write tokens (one per line; `#` comments): they may also read.
    /// With any token configured, every call but health and reflection needs one.
    #[arg(long, env = "SECTORWIRE_WRITE_TOKEN_FILE")]
    pub write_token_file: Option<PathBuf>,
    /// File of read tokens (one per line): read RPCs and the change feed.
    #[arg(long, env = "SECTORWIRE_READ_TOKEN_FILE")]
    pub read_token_file: Option<PathBuf>,
    /// A write token given directly (prefer the variable or the file: the
    /// command line is visible to other users).
    #[arg(long, env = "SECTORWIRE_WRITE_TOKEN", hide_env_values = true, hide = true)]
    pub write_token: Option<Secret>,
    /// A read token given directly.
    #[arg(long, env = "SECTORWIRE_READ_TOKEN", hide_env_values = true, hide = true)]
    pub read_token: Option<Secret>,
}

/// Why a server's security settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Tokens.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl SecurityArgs {
    fn tokens(&self) -> Result<Tokens, TokenError> {
        Tokens::load(
            TokenSource {
                file: self.write_token_file.as_deref(),
                value: self.write_token.as_ref().map(|s| (s, "SECTORWIRE_WRITE_TOKEN")),
            },
            TokenSource {
                file: self.read_token_file.as_deref(),
                value: self.read_token.as_ref().map(|s| (s, "SECTORWIRE_READ_TOKEN")),
            },
        )
    }
}

/// A server's settings, loaded and checked: make the tonic builder and the
/// accepted connections from it.
#[derive(Clone)]
pub struct Serving {
    limits: ConnLimits,
    concurrency: usize,
    max_connection_age: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mutual_tls: bool,
    auth: AuthLayer,
    tokens: bool,
}

/// The tonic server builder [`Serving::builder`] makes.
pub type Builder<L> = tonic::transport::Server<Stack<AuthLayer, Stack<L, Identity>>>;

impl<P: PortFlags> ServerArgs<P> {
    /// Reads the TLS files and tokens; `write_methods` are the full paths
    /// (`/package.Service/Method`) that need a write token.
    pub fn prepare(&self, write_methods: &'static [&'static str]) -> Result<Serving, SecurityError> {
        let security = &self.security;
        let tls = match (&security.tls_cert, &security.tls_key) {
            (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(
                cert,
                key,
                security.tls_client_ca.as_deref(),
            )?)),
            (None, None) if security.tls_client_ca.is_none() => None,
            (None, _) => {
                return Err(TlsError::Incomplete("--tls-key or --tls-client-ca", "--tls-cert").into())
            }
            (Some(_), None) => return Err(TlsError::Incomplete("--tls-cert", "--tls-key").into()),
        };
        let tokens = security.tokens()?;
        Ok(Serving {
            limits: ConnLimits {
                max_connections: self.max_connections,
                handshake_timeout: Duration::from_millis(self.handshake_timeout_ms.max(1)),
            },
            concurrency: self.max_concurrent_requests,
            max_connection_age: Duration::from_secs(self.max_connection_age_secs.max(1)),
            mutual_tls: tls.is_some() && security.tls_client_ca.is_some(),
            tls,
            tokens: tokens.enabled(),
            auth: AuthLayer::new(tokens, write_methods),
        })
    }
}

impl Serving {
    /// The tonic server: per-connection concurrency with load shedding,
    /// keepalive pings, a maximum connection age, and the token check on
    /// every route. `outer` wraps the token check, so what it sees (request
    /// ids, metrics) includes the calls refused for their credentials.
    pub fn builder<L>(&self, outer: L) -> Builder<L> {
        tonic::transport::Server::builder()
            .concurrency_limit_per_connection(self.concurrency)
            .load_shed(true)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .max_connection_age(self.max_connection_age)
            .layer(outer)
            .layer(self.auth.clone())
    }

    /// The cap on calls in progress across all connections (the services'
    /// `ShedLayer`).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The connections `listener` accepts, under the limits and with TLS
    /// when configured.
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> impl Stream<Item = std::io::Result<Conn>> + Send + 'static {
        incoming(listener, self.limits, self.tls.clone())
    }

    /// How the port is secured, for the start-up log line.
    pub fn describe(&self) -> &'static str {
        match (self.tls.is_some(), self.mutual_tls, self.tokens) {
            (false, _, false) => "plaintext, no tokens",
            (false, _, true) => "plaintext, tokens",
            (true, false, false) => "TLS, no tokens",
            (true, false, true) => "TLS, tokens",
            (true, true, false) => "mutual TLS, no tokens",
            (true, true, true) => "mutual TLS, tokens",
        }
    }
}
