//! Certificates made at test time (rcgen): a CA, a server certificate for
//! `localhost` and `127.0.0.1` and a client certificate signed by it, and
//! an unrelated CA for the wrong-CA cases. Written as PEM files, as the
//! services and the CLI read them.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM files in a directory.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA that signed `server` and `client`.
    pub ca: PathBuf,
    /// Server certificate (`localhost`, `127.0.0.1`).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// Client certificate (mutual TLS).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca: PathBuf,
    /// A client certificate signed by `other_ca`.
    pub other_client_cert: PathBuf,
    /// Its key.
    pub other_client_key: PathBuf,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).expect("certificate");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write PEM");
    path
}

impl Pki {
    /// Makes everything in `dir`.
    pub fn generate(dir: &Path) -> Pki {
        let (ca_pem, issuer) = ca("sectorwire test CA");
        let (other_pem, other_issuer) = ca("unrelated test CA");
        let (server, server_key) = leaf(
            &issuer,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = leaf(&issuer, &["client.test"], ExtendedKeyUsagePurpose::ClientAuth);
        let (other_client, other_client_key) = leaf(
            &other_issuer,
            &["stranger.test"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            ca: write(dir, "ca.pem", &ca_pem),
            server_cert: write(dir, "server.pem", &server),
            server_key: write(dir, "server.key", &server_key),
            client_cert: write(dir, "client.pem", &client),
            client_key: write(dir, "client.key", &client_key),
            other_ca: write(dir, "other-ca.pem", &other_pem),
            other_client_cert: write(dir, "other-client.pem", &other_client),
            other_client_key: write(dir, "other-client.key", &other_client_key),
        }
    }
}
