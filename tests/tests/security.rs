//! TLS and bearer tokens on real servers (certificates made at test time):
//! a client must trust the right CA, mutual TLS wants a certificate from the
//! client CA, TLS connections still obey the connection cap and the
//! handshake timeout, the query replica follows a secured ingest service,
//! and every RPC of every port answers each kind of credential as its
//! rights say.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sectorwire_proto::ingest::{GetIngestStatsRequest, IngestArticleRequest};
use sectorwire_proto::query::{Consistency, GetArticleRequest};
use sectorwire_runtime::client::{AuthChannel, ClientSecurity};
use sectorwire_runtime::tls::ClientTlsFiles;
use sectorwire_tests::pki::Pki;
use sectorwire_tests::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tonic::Code;

const WRITE_TOKEN: &str = "write-token-0123456789";
const READ_TOKEN: &str = "read-token-0123456789";

struct Setup {
    dir: tempfile::TempDir,
    pki: Pki,
    write_tokens: PathBuf,
    read_tokens: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    std::fs::create_dir_all(&pki_dir).expect("pki dir");
    let pki = Pki::generate(&pki_dir);
    let write_tokens = dir.path().join("write-tokens");
    std::fs::write(&write_tokens, format!("# test\n{WRITE_TOKEN}\n")).expect("write tokens");
    let read_tokens = dir.path().join("read-tokens");
    std::fs::write(&read_tokens, format!("{READ_TOKEN}\n")).expect("read tokens");
    Setup {
        dir,
        pki,
        write_tokens,
        read_tokens,
    }
}

/// What a server is given.
#[derive(Clone, Copy)]
struct Secure {
    tls: bool,
    mutual: bool,
    tokens: bool,
}

fn secure(s: &Setup, how: Secure) -> impl Fn(&mut sectorwire_runtime::server::SecurityArgs) + Clone + '_ {
    move |args| {
        if how.tls {
            args.tls_cert = Some(s.pki.server_cert.clone());
            args.tls_key = Some(s.pki.server_key.clone());
        }
        if how.mutual {
            args.tls_client_ca = Some(s.pki.ca.clone());
        }
        if how.tokens {
            args.write_token_file = Some(s.write_tokens.clone());
            args.read_token_file = Some(s.read_tokens.clone());
        }
    }
}

fn client(ca: Option<&Path>, identity: Option<(&Path, &Path)>, token: Option<&Path>) -> ClientSecurity {
    let files = ClientTlsFiles {
        ca: ca.map(Path::to_path_buf),
        cert: identity.map(|(c, _)| c.to_path_buf()),
        key: identity.map(|(_, k)| k.to_path_buf()),
    };
    ClientSecurity::load(&files, token, None).expect("client settings")
}

async fn connect(addr: std::net::SocketAddr, security: &ClientSecurity) -> Result<AuthChannel, String> {
    security
        .connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .map_err(|e| format!("connect: {e:?}"))
}

/// Asks the ingest service for its stats; the error says where it failed.
async fn stats(addr: std::net::SocketAddr, security: &ClientSecurity) -> Result<(), String> {
    let channel = connect(addr, security).await?;
    sectorwire_proto::ingest::ingest_service_client::IngestServiceClient::new(channel)
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .map(|_| ())
        .map_err(|status| format!("call: {status:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_clients_need_the_right_ca() {
    let s = setup();
    let tune = tls_only(&s);
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| tune(&mut c.server.security)).await;
    // Retried while the server starts.
    let mut result = Err(String::new());
    for _ in 0..100 {
        result = stats(ingest.addr, &client(Some(&s.pki.ca), None, None)).await;
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    result.expect("the right CA gets through");
    stats(ingest.addr, &client(None, None, None))
        .await
        .expect_err("a plaintext client must not get through to a TLS server");
    let wrong_ca = stats(ingest.addr, &client(Some(&s.pki.other_ca), None, None))
        .await
        .expect_err("a server certificate from another CA must be refused");
    assert!(wrong_ca.contains("UnknownIssuer"), "{wrong_ca}");
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_a_client_certificate_from_the_client_ca() {
    let s = setup();
    let tune = secure(
        &s,
        Secure {
            tls: true,
            mutual: true,
            tokens: false,
        },
    );
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| tune(&mut c.server.security)).await;
    let mut result = Err(String::new());
    let own = client(
        Some(&s.pki.ca),
        Some((&s.pki.client_cert, &s.pki.client_key)),
        None,
    );
    for _ in 0..100 {
        result = stats(ingest.addr, &own).await;
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    result.expect("a client certificate from the client CA gets through");
    stats(ingest.addr, &client(Some(&s.pki.ca), None, None))
        .await
        .expect_err("no client certificate");
    stats(
        ingest.addr,
        &client(
            Some(&s.pki.ca),
            Some((&s.pki.other_client_cert, &s.pki.other_client_key)),
            None,
        ),
    )
    .await
    .expect_err("a client certificate from another CA");
    ingest.stop().await;
}

/// A raw TLS connection to `addr` that trusts `ca` and offers HTTP/2, as a
/// gRPC client would, but then sends nothing.
async fn raw_tls(addr: std::net::SocketAddr, ca: &Path) -> tokio_rustls::client::TlsStream<TcpStream> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in sectorwire_runtime::tls::read_certificates(ca, "CA").expect("CA") {
        roots.add(cert).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

fn tls_only(s: &Setup) -> impl Fn(&mut sectorwire_runtime::server::SecurityArgs) + Clone + '_ {
    secure(
        s,
        Secure {
            tls: true,
            mutual: false,
            tokens: false,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_that_stall_are_closed_after_the_handshake_timeout() {
    let s = setup();
    let tune = tls_only(&s);
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| {
        tune(&mut c.server.security);
        c.server.handshake_timeout_ms = 300;
    })
    .await;
    // No TLS handshake at all.
    let mut silent = TcpStream::connect(ingest.addr).await.expect("connect");
    closed_by_server(&mut silent, Duration::from_secs(5)).await;
    // Half a ClientHello.
    let mut stalled = TcpStream::connect(ingest.addr).await.expect("connect");
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    closed_by_server(&mut stalled, Duration::from_secs(5)).await;
    // A finished TLS handshake, then no HTTP/2 preface.
    let mut quiet = raw_tls(ingest.addr, &s.pki.ca).await;
    closed_by_server(&mut quiet, Duration::from_secs(5)).await;
    stats(ingest.addr, &client(Some(&s.pki.ca), None, None))
        .await
        .expect("a real client is unaffected");
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshakes_in_progress_count_against_the_connection_cap() {
    let s = setup();
    let tune = tls_only(&s);
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| {
        tune(&mut c.server.security);
        c.server.handshake_timeout_ms = 60_000;
        c.server.max_connections = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(ingest.addr).await.expect("connect");
        tcp.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
        held.push(tcp);
    }
    // Let the accept loop take both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(ingest.addr).await.expect("the kernel accepts");
    closed_by_server(&mut over, Duration::from_secs(5)).await;
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stats(ingest.addr, &client(Some(&s.pki.ca), None, None))
        .await
        .expect("slots are released when connections close");
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replica_follows_over_mutual_tls_with_a_read_token() {
    let s = setup();
    let all = Secure {
        tls: true,
        mutual: true,
        tokens: true,
    };
    let tune = secure(&s, all);
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| tune(&mut c.server.security)).await;
    let query = start_query_with(&s.dir.path().join("query"), ingest.addr, |c| {
        tune(&mut c.server.security);
        c.server.security.tls_client_ca = None;
        c.ingest_addr = ingest.addr.to_string();
        c.feed.ingest_tls_ca = Some(s.pki.ca.clone());
        c.feed.ingest_tls_cert = Some(s.pki.client_cert.clone());
        c.feed.ingest_tls_key = Some(s.pki.client_key.clone());
        c.feed.ingest_token_file = Some(s.read_tokens.clone());
    })
    .await;
    let writer = client(
        Some(&s.pki.ca),
        Some((&s.pki.client_cert, &s.pki.client_key)),
        Some(&s.write_tokens),
    );
    let mut ack = None;
    for _ in 0..100 {
        if let Ok(channel) = connect(ingest.addr, &writer).await {
            let mut ingest_client =
                sectorwire_proto::ingest::ingest_service_client::IngestServiceClient::new(channel);
            ack = Some(
                ingest_client
                    .ingest_article(IngestArticleRequest {
                        content: generated_article(1).into_bytes(),
                        ..Default::default()
                    })
                    .await
                    .expect("ingest with the write token")
                    .into_inner(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ack = ack.expect("ingest reachable over mutual TLS");
    let reader = client(Some(&s.pki.ca), None, Some(&s.read_tokens));
    let mut article = None;
    for _ in 0..100 {
        if let Ok(channel) = connect(query.addr, &reader).await {
            let mut query_client =
                sectorwire_proto::query::query_service_client::QueryServiceClient::new(channel);
            article = query_client
                .get_article(tonic::Request::new(GetArticleRequest {
                    id: ack.id.clone(),
                    consistency: Some(Consistency {
                        min_sequence: ack.sequence,
                    }),
                }))
                .await
                .expect("read with the read token")
                .into_inner()
                .article;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(article.expect("replicated").id, ack.id);
    query.stop().await;
    ingest.stop().await;
}

/// Which credential a call carries.
#[derive(Debug, Clone, Copy)]
enum Credential {
    None,
    Unknown,
    NotBearer,
    Read,
    Write,
}

impl Credential {
    fn header(self) -> Option<String> {
        match self {
            Credential::None => None,
            Credential::Unknown => Some("Bearer not-a-token".to_string()),
            Credential::NotBearer => Some(format!("Basic {WRITE_TOKEN}")),
            Credential::Read => Some(format!("Bearer {READ_TOKEN}")),
            Credential::Write => Some(format!("Bearer {WRITE_TOKEN}")),
        }
    }
}

/// What a method requires, written here independently of the servers' own lists.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    Read,
    Write,
}

fn needs(path: &str) -> Needs {
    const WRITES: [&str; 4] = [
        "/sectorwire.ingest.v1.IngestService/IngestArticle",
        "/sectorwire.ingest.v1.IngestService/IngestArticles",
        "/sectorwire.ingest.v1.IngestService/DeleteArticle",
        "/sectorwire.ingest.v1.IngestAdminService/CreateBackup",
    ];
    if path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.") {
        Needs::Nothing
    } else if WRITES.contains(&path) {
        Needs::Write
    } else {
        Needs::Read
    }
}

/// The code a call must end with, `None` for "got past the token check"
/// (the call itself may still fail, e.g. INVALID_ARGUMENT for an empty request).
fn expected(needs: Needs, credential: Credential) -> Option<Code> {
    use Credential as C;
    match (needs, credential) {
        (Needs::Nothing, _) => None,
        (_, C::None | C::Unknown | C::NotBearer) => Some(Code::Unauthenticated),
        (Needs::Write, C::Read) => Some(Code::PermissionDenied),
        (_, C::Read | C::Write) => None,
    }
}

/// Every method of the contract's services, by package, plus health and
/// reflection (served by both ports).
fn methods(package: &str) -> Vec<String> {
    let set =
        prost_types::FileDescriptorSet::decode(sectorwire_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let mut paths: Vec<String> = set
        .file
        .iter()
        .filter(|file| file.package() == package)
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service
                    .method
                    .iter()
                    .map(move |m| format!("/{}.{}/{}", file.package(), service.name(), m.name()))
            })
        })
        .collect();
    assert!(!paths.is_empty(), "no services in {package}");
    paths.extend(
        [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .map(String::from),
    );
    paths
}

/// Calls `path` with one empty request message and `credential`: `None`
/// when the server accepted the call (its response headers came), else the
/// status it ended with at once. Streaming and unary calls alike: on the
/// wire a unary request is a stream of one message.
async fn call(channel: &tonic::transport::Channel, path: &str, credential: Credential) -> Option<Code> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(tokio_stream::iter([Vec::<u8>::new()]));
    request.set_timeout(Duration::from_secs(10));
    if let Some(header) = credential.header() {
        request
            .metadata_mut()
            .insert("authorization", header.parse().expect("header"));
    }
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path.to_string()).expect("path");
    match grpc.streaming(request, path, RawCodec).await {
        Ok(_) => None,
        Err(status) => Some(status.code()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_each_credential_as_its_rights_say() {
    let s = setup();
    let tune = secure(
        &s,
        Secure {
            tls: false,
            mutual: false,
            tokens: true,
        },
    );
    let ingest = start_ingest_with(&s.dir.path().join("ingest"), |c| tune(&mut c.server.security)).await;
    let query = start_query_with(&s.dir.path().join("query"), ingest.addr, |c| {
        tune(&mut c.server.security);
        c.feed.ingest_token_file = Some(s.read_tokens.clone());
    })
    .await;
    let ports = [
        (ingest.addr, "sectorwire.ingest.v1"),
        (query.addr, "sectorwire.query.v1"),
    ];
    let credentials = [
        Credential::None,
        Credential::Unknown,
        Credential::NotBearer,
        Credential::Read,
        Credential::Write,
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (addr, package) in ports {
        let channel = sectorwire_tests::channel(addr).await;
        for path in methods(package) {
            for credential in credentials {
                let want = expected(needs(&path), credential);
                let got = call(&channel, &path, credential).await;
                // "Accepted" means any outcome but the two the token check gives.
                let accepted = |code: Option<Code>| {
                    !matches!(code, Some(Code::Unauthenticated | Code::PermissionDenied))
                };
                let ok = match want {
                    None => accepted(got),
                    Some(code) => got == Some(code),
                };
                if !ok {
                    failures.push(format!("{path} with {credential:?}: got {got:?}, want {want:?}"));
                }
                checked += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} calls:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every write method exists in the contract (a renamed RPC would
    // otherwise silently become a read).
    let ingest_methods = methods("sectorwire.ingest.v1");
    for write in sectorwire_ingest::server::WRITE_METHODS {
        assert!(
            ingest_methods.iter().any(|m| m == write),
            "{write} is not in the contract"
        );
    }
    query.stop().await;
    ingest.stop().await;
}
