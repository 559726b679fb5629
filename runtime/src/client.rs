//! How a client reaches a secured service: TLS from PEM files (the scheme
//! becomes `https`) and a bearer token sent on every call. Used by the CLI,
//! the query service's feed connection and the `healthcheck` subcommands,
//! so all of them take the same files the same way.

use std::path::Path;
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::auth::{BearerToken, Secret, TokenError, TokenSource};
use crate::tls::{ClientTlsFiles, TlsError};

/// A channel that sends the client's token on every call.
pub type AuthChannel = InterceptedService<Channel, BearerToken>;

/// Why a client's security settings could not be used, or it could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The address is not a valid URI.
    #[error("invalid address {0:?}")]
    Address(String),
    /// `https://` was asked for without TLS files.
    #[error("{0} uses https but no CA certificate was given (--tls-ca): no system roots are built in")]
    NoCa(String),
    /// The transport refused the settings or could not connect.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// TLS and token of one client, loaded and checked.
#[derive(Debug, Clone, Default)]
pub struct ClientSecurity {
    tls: Option<ClientTlsConfig>,
    token: BearerToken,
}

impl ClientSecurity {
    /// Loads the TLS files and the token (from `token_file`, else `token`).
    pub fn load(
        tls: &ClientTlsFiles,
        token_file: Option<&Path>,
        token: Option<(&Secret, &'static str)>,
    ) -> Result<Self, ClientError> {
        let source = match token_file {
            Some(file) => TokenSource {
                file: Some(file),
                value: None,
            },
            None => TokenSource {
                file: None,
                value: token,
            },
        };
        Ok(ClientSecurity {
            tls: tls.load()?,
            token: BearerToken::from_source(source)?,
        })
    }

    /// Whether TLS is used.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The URI for `addr`: as given when it names a scheme (an `http://`
    /// address is upgraded to `https://` when TLS is configured), else
    /// `http://` or `https://` by whether TLS is configured.
    pub fn uri(&self, addr: &str) -> String {
        match (addr.split_once("://"), self.tls()) {
            (Some(("http", rest)), true) => format!("https://{rest}"),
            (Some(_), _) => addr.to_string(),
            (None, true) => format!("https://{addr}"),
            (None, false) => format!("http://{addr}"),
        }
    }

    /// An endpoint for `addr` with TLS applied (no connection made yet).
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint, ClientError> {
        let uri = self.uri(addr);
        let endpoint =
            Endpoint::from_shared(uri.clone()).map_err(|_| ClientError::Address(addr.to_string()))?;
        match &self.tls {
            Some(tls) => Ok(endpoint.tls_config(tls.clone())?),
            None if uri.starts_with("https://") => Err(ClientError::NoCa(uri)),
            None => Ok(endpoint),
        }
    }

    /// `channel` with this client's token attached to every call.
    pub fn authorize(&self, channel: Channel) -> AuthChannel {
        InterceptedService::new(channel, self.token.clone())
    }

    /// Connects to `addr` within `timeout`.
    pub async fn connect(&self, addr: &str, timeout: Duration) -> Result<AuthChannel, ClientError> {
        let channel = self.endpoint(addr)?.connect_timeout(timeout).connect().await?;
        Ok(self.authorize(channel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_follows_tls() {
        let plain = ClientSecurity::default();
        assert_eq!(plain.uri("host:1"), "http://host:1");
        assert_eq!(plain.uri("https://host:1"), "https://host:1");
        assert!(matches!(
            plain.endpoint("https://host:1"),
            Err(ClientError::NoCa(_))
        ));
        let tls = ClientSecurity {
            tls: Some(ClientTlsConfig::new()),
            ..ClientSecurity::default()
        };
        assert_eq!(tls.uri("host:1"), "https://host:1");
        assert_eq!(tls.uri("http://host:1"), "https://host:1");
    }
}
