//! Bearer tokens with two rights: a read token may call every read RPC
//! (get, list, search, stats, watch, the change feed); a write token may
//! also ingest and delete. Health and reflection stay open, so probes and
//! generic tools work without a secret.
//!
//! The check is a tower layer on the whole server (not a per-service
//! interceptor), so no service can be added without it, and it decides by
//! the request path alone before any body is read. Tokens are kept only as
//! BLAKE3 digests and compared digest to digest (constant time, and the
//! length of a token leaks nothing), and are never logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::http;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::Status;

/// A token given on the command line or in the environment: its `Debug`
/// output hides it, so configuration can be logged.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// What a method requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health and reflection.
    Open,
    /// A read or write token.
    Read,
    /// A write token.
    Write,
}

/// Paths every port serves without a token.
const OPEN_PREFIXES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// What calling `path` requires on a server whose write methods are
/// `write_methods` (full paths, `/package.Service/Method`). Anything not
/// open and not listed as a write needs a read token, so a new RPC is
/// never open by accident.
pub fn access(path: &str, write_methods: &[&str]) -> Access {
    if OPEN_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        Access::Open
    } else if write_methods.contains(&path) {
        Access::Write
    } else {
        Access::Read
    }
}

/// Why tokens could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("reading token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A token is empty or has characters a header cannot carry.
    #[error("{origin}: a token must be non-empty printable ASCII without spaces")]
    Invalid {
        /// Where the token came from (file name or variable; never the token).
        origin: String,
    },
}

/// The tokens a server accepts, as digests.
#[derive(Clone, Default)]
pub struct Tokens {
    read: Vec<blake3::Hash>,
    write: Vec<blake3::Hash>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("read", &self.read.len())
            .field("write", &self.write.len())
            .finish()
    }
}

/// Whether a token is well formed: what `Bearer <token>` in a header can carry.
fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The tokens in a token file: one per line (several allow rotation without
/// downtime); blank lines and lines starting with `#` are skipped.
fn tokens_in(text: &str, origin: &Path) -> Result<Vec<String>, TokenError> {
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    if tokens.is_empty() || !tokens.iter().all(|t| valid_token(t)) {
        return Err(TokenError::Invalid {
            origin: origin.display().to_string(),
        });
    }
    Ok(tokens)
}

/// A token given in a file or directly (environment), for [`Tokens::load`]
/// and client credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenSource<'a> {
    /// A token file.
    pub file: Option<&'a Path>,
    /// The token itself, and the variable or flag it came from.
    pub value: Option<(&'a Secret, &'static str)>,
}

impl TokenSource<'_> {
    /// Every token of this source (none when nothing was given).
    pub fn tokens(&self) -> Result<Vec<String>, TokenError> {
        let mut tokens = Vec::new();
        if let Some(path) = self.file {
            let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            tokens.extend(tokens_in(&text, path)?);
        }
        if let Some((secret, origin)) = self.value {
            let token = secret.expose().trim();
            if !valid_token(token) {
                return Err(TokenError::Invalid {
                    origin: origin.to_string(),
                });
            }
            tokens.push(token.to_string());
        }
        Ok(tokens)
    }
}

impl Tokens {
    /// Tokens from the write and read sources. With none at all, every call
    /// is allowed (a development setup); with any, every call but health and
    /// reflection needs one.
    pub fn load(write: TokenSource<'_>, read: TokenSource<'_>) -> Result<Self, TokenError> {
        let digest = |tokens: Vec<String>| tokens.iter().map(|t| blake3::hash(t.as_bytes())).collect();
        Ok(Tokens {
            write: digest(write.tokens()?),
            read: digest(read.tokens()?),
        })
    }

    /// Whether calls are checked at all.
    pub fn enabled(&self) -> bool {
        !self.read.is_empty() || !self.write.is_empty()
    }

    /// Decides a call that requires `needs`, given its `authorization`
    /// header: UNAUTHENTICATED for no token, a malformed header or an unknown
    /// token; PERMISSION_DENIED for a read token on a write method.
    pub fn check(&self, authorization: Option<&[u8]>, needs: Access) -> Result<(), Status> {
        if needs == Access::Open || !self.enabled() {
            return Ok(());
        }
        let token = authorization
            .and_then(|value| value.strip_prefix(b"Bearer "))
            .ok_or_else(|| Status::unauthenticated("this call needs `authorization: Bearer <token>`"))?;
        let presented = blake3::hash(token);
        // Every digest is compared (no early exit), each in constant time.
        let is_write = self
            .write
            .iter()
            .fold(false, |found, known| found | (*known == presented));
        let is_read = self
            .read
            .iter()
            .fold(false, |found, known| found | (*known == presented));
        match (needs, is_write, is_read) {
            (_, true, _) | (Access::Read, _, true) => Ok(()),
            (Access::Write, false, true) => Err(Status::permission_denied(
                "a read token cannot write: this call needs a write token",
            )),
            _ => Err(Status::unauthenticated("unknown token")),
        }
    }
}

/// The tower layer that enforces [`Tokens`] on a server.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    tokens: Arc<Tokens>,
    write_methods: &'static [&'static str],
}

impl AuthLayer {
    /// Checks `tokens`; `write_methods` are the full paths that need a write token.
    pub fn new(tokens: Tokens, write_methods: &'static [&'static str]) -> Self {
        AuthLayer {
            tokens: Arc::new(tokens),
            write_methods,
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for Auth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let needs = access(request.uri().path(), self.layer.write_methods);
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        match self.layer.tokens.check(header, needs) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(status) => {
                tracing::debug!(path = request.uri().path(), code = ?status.code(), "call refused");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

/// A client interceptor that sends `authorization: Bearer <token>` on every
/// call (nothing when there is no token).
#[derive(Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "BearerToken(set)"
        } else {
            "BearerToken(none)"
        })
    }
}

impl BearerToken {
    /// The first token of `source`, if any.
    pub fn from_source(source: TokenSource<'_>) -> Result<Self, TokenError> {
        let Some(token) = source.tokens()?.into_iter().next() else {
            return Ok(BearerToken(None));
        };
        let mut value: MetadataValue<Ascii> =
            format!("Bearer {token}")
                .parse()
                .map_err(|_| TokenError::Invalid {
                    origin: "client token".to_string(),
                })?;
        // Kept out of HPACK's dynamic table, as HTTP/2 advises for credentials.
        value.set_sensitive(true);
        Ok(BearerToken(Some(value)))
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITES: &[&str] = &["/pkg.Svc/Write"];

    fn tokens() -> Tokens {
        let write = Secret("w-token".to_string());
        let read = Secret("r-token".to_string());
        Tokens::load(
            TokenSource {
                file: None,
                value: Some((&write, "W")),
            },
            TokenSource {
                file: None,
                value: Some((&read, "R")),
            },
        )
        .expect("tokens")
    }

    #[test]
    fn methods_are_read_unless_open_or_listed_as_writes() {
        assert_eq!(access("/grpc.health.v1.Health/Check", WRITES), Access::Open);
        assert_eq!(
            access(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                WRITES
            ),
            Access::Open
        );
        assert_eq!(access("/pkg.Svc/Write", WRITES), Access::Write);
        assert_eq!(access("/pkg.Svc/Read", WRITES), Access::Read);
        assert_eq!(access("/grpc.health.v1.HealthX/Check", WRITES), Access::Read);
        assert_eq!(access("/unknown", WRITES), Access::Read);
    }

    #[test]
    fn rights_follow_the_token() {
        let t = tokens();
        let code =
            |header: Option<&str>, needs| t.check(header.map(str::as_bytes), needs).map_err(|s| s.code());
        use tonic::Code::{PermissionDenied, Unauthenticated};
        assert_eq!(code(None, Access::Open), Ok(()));
        assert_eq!(code(None, Access::Read), Err(Unauthenticated));
        assert_eq!(code(Some("Bearer nope"), Access::Read), Err(Unauthenticated));
        assert_eq!(code(Some("Basic r-token"), Access::Read), Err(Unauthenticated));
        assert_eq!(code(Some("Bearer r-token"), Access::Read), Ok(()));
        assert_eq!(code(Some("Bearer r-token"), Access::Write), Err(PermissionDenied));
        assert_eq!(code(Some("Bearer w-token"), Access::Write), Ok(()));
        assert_eq!(code(Some("Bearer w-token"), Access::Read), Ok(()));
        assert_eq!(code(Some("Bearer w-token "), Access::Write), Err(Unauthenticated));
    }

    #[test]
    fn no_tokens_means_no_checks() {
        assert_eq!(
            Tokens::default().check(None, Access::Write).map_err(|s| s.code()),
            Ok(())
        );
    }

    #[test]
    fn token_files_hold_one_token_per_line_and_comments() {
        let path = Path::new("tokens");
        assert_eq!(
            tokens_in("# rotated 2026-01\nold-one\n\n  new-one  \n", path).expect("tokens"),
            ["old-one", "new-one"]
        );
        assert!(tokens_in("\n# only a comment\n", path).is_err());
        assert!(tokens_in("two words\n", path).is_err());
    }

    #[test]
    fn secrets_and_tokens_do_not_print() {
        let secret = Secret("hunter2".to_string());
        assert!(!format!("{secret:?}").contains("hunter2"));
        let printed = format!("{:?}", tokens());
        assert!(
            !printed.contains("w-token") && !printed.contains("r-token"),
            "{printed}"
        );
        let bearer = BearerToken::from_source(TokenSource {
            file: None,
            value: Some((&secret, "T")),
        })
        .expect("bearer");
        assert!(!format!("{bearer:?}").contains("hunter2"));
    }
}
