//! TLS material from PEM files: the servers' rustls configuration (with an
//! optional client CA for mutual TLS) and the clients' tonic configuration.
//! Everything is read and checked at start-up, so a wrong path or a key that
//! does not match its certificate stops the process with a clear message
//! instead of failing each connection later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The only application protocol the servers speak over TLS.
const ALPN_H2: &[u8] = b"h2";

/// Why TLS material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds no usable item.
    #[error("reading {what} from {path}: {reason}")]
    Pem {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
    /// One of a certificate/key pair was given without the other.
    #[error("{0} needs {1} as well")]
    Incomplete(&'static str, &'static str),
    /// rustls refused the material (e.g. the key does not match the certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA file could not make a verifier.
    #[error("client CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The ring provider, named once: tonic's client side uses ring too, and
/// naming it here means no process-wide default has to be installed.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in the PEM file at `path` (at least one).
pub fn read_certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |reason: String| TlsError::Pem {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error("no CERTIFICATE block".to_string()));
    }
    Ok(certs)
}

/// The first private key in the PEM file at `path` (PKCS#8, PKCS#1 or SEC1).
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        what: "private key",
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The server side: `cert`/`key` identify the server; with `client_ca`,
/// every client must present a certificate that CA signed (mutual TLS).
/// HTTP/2 is the only protocol offered (ALPN), as gRPC clients expect.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = read_certificates(cert, "server certificate")?;
    let key = read_private_key(key)?;
    let builder =
        rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certificates(ca, "client CA certificate")? {
                roots.add(cert)?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// PEM files a client uses: the CA that signed the server's certificate and,
/// for mutual TLS, the client's own certificate and key.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsFiles {
    /// CA certificate(s) to verify the server against.
    pub ca: Option<PathBuf>,
    /// Client certificate (mutual TLS).
    pub cert: Option<PathBuf>,
    /// Client private key (mutual TLS).
    pub key: Option<PathBuf>,
}

impl ClientTlsFiles {
    /// Whether any TLS option was given.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// tonic's client configuration, after checking every file parses. No
    /// system roots are built in, so TLS needs the CA (`None` when nothing
    /// was given: plaintext).
    pub fn load(&self) -> Result<Option<tonic::transport::ClientTlsConfig>, TlsError> {
        if !self.is_set() {
            return Ok(None);
        }
        let ca = self.ca.as_deref().ok_or(TlsError::Incomplete(
            "a client certificate or key",
            "the CA certificate (--tls-ca) to verify the server",
        ))?;
        read_certificates(ca, "CA certificate")?;
        let mut config = tonic::transport::ClientTlsConfig::new().ca_certificate(
            tonic::transport::Certificate::from_pem(read(ca, "CA certificate")?),
        );
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                read_certificates(cert, "client certificate")?;
                read_private_key(key)?;
                config = config.identity(tonic::transport::Identity::from_pem(
                    read(cert, "client certificate")?,
                    read(key, "private key")?,
                ));
            }
            (Some(_), None) => return Err(TlsError::Incomplete("a client certificate", "its key")),
            (None, Some(_)) => return Err(TlsError::Incomplete("a client key", "its certificate")),
            (None, None) => {}
        }
        Ok(Some(config))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Pem {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
