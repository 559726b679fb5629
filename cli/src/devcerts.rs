//! `sectorwire dev-certs DIR`: everything a secured test setup needs, made
//! locally with rcgen: a CA, one server certificate for the service names
//! and loopback, a client certificate, and a write and a read token. For
//! development and tests only: the CA key is not kept (nothing more can be
//! signed) and the files are world-readable so a container's non-root user
//! can read a bind mount.

use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Names every server certificate carries besides the extra ones asked for.
const SERVER_NAMES: [&str; 5] = ["localhost", "127.0.0.1", "::1", "ingest", "query"];

fn write(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
}

/// A random token: 32 bytes from the system's generator, hex.
fn token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `ca.pem`, `server.pem`/`server.key` (for the service names,
/// loopback and `extra_names`; usable as a client certificate too, so a
/// service's health check can present it), `client.pem`/`client.key`,
/// `write.token` and `read.token` into `dir`.
pub fn run(dir: &Path, extra_names: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "sectorwire development CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    write(dir, "ca.pem", &ca.self_signed(&ca_key)?.pem())?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf =
        |names: Vec<String>, usages: Vec<ExtendedKeyUsagePurpose>| -> anyhow::Result<(String, String)> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(names.clone())?;
            params
                .distinguished_name
                .push(DnType::CommonName, names.first().cloned().unwrap_or_default());
            params.extended_key_usages = usages;
            Ok((params.signed_by(&key, &issuer)?.pem(), key.serialize_pem()))
        };
    let mut names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
    names.extend(extra_names.iter().cloned());
    let (server, server_key) = leaf(
        names,
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    )?;
    write(dir, "server.pem", &server)?;
    write(dir, "server.key", &server_key)?;
    let (client, client_key) = leaf(
        vec!["client".to_string()],
        vec![ExtendedKeyUsagePurpose::ClientAuth],
    )?;
    write(dir, "client.pem", &client)?;
    write(dir, "client.key", &client_key)?;
    write(dir, "write.token", &format!("{}\n", token()?))?;
    write(dir, "read.token", &format!("{}\n", token()?))?;
    eprintln!(
        "wrote ca.pem, server.pem/.key, client.pem/.key, write.token, read.token to {} (development only)",
        dir.display()
    );
    Ok(())
}
