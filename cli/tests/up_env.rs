//! `sectorwire` with no subcommand is `sectorwire up`, and both take their
//! listen addresses from the same flags and environment variables.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn healthy(addr: SocketAddr, service: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(sectorwire_runtime::check_health(&addr.to_string(), service))
        .is_ok()
}

/// Starts `sectorwire` with no subcommand on two ports nothing listened on
/// a moment ago; `None` when it exited at once (another test took a port
/// between our check and its bind), so the caller can try other ports.
fn start_on_free_ports(dir: &std::path::Path) -> Option<(KillOnDrop, SocketAddr, SocketAddr, SocketAddr)> {
    let (ingest, query, metrics) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sectorwire"))
        .current_dir(dir)
        .env("SECTORWIRE_INGEST_LISTEN", ingest.to_string())
        .env("SECTORWIRE_QUERY_LISTEN", query.to_string())
        .env("SECTORWIRE_DATA_DIR", dir.join("data"))
        .env("SECTORWIRE_METRICS_LISTEN", metrics.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sectorwire");
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if healthy(ingest, "sectorwire.ingest.v1.IngestService")
            && healthy(query, "sectorwire.query.v1.QueryService")
        {
            return Some((child, ingest, query, metrics));
        }
        if let Ok(Some(_)) = child.0.try_wait() {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "services did not come up on {ingest} and {query}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn no_subcommand_honours_the_listen_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = (0..5).find_map(|_| start_on_free_ports(dir.path()));
    let (_child, ingest, query, metrics) =
        started.expect("sectorwire kept exiting: the listen variables are not honoured");
    assert!(healthy(ingest, "sectorwire.ingest.v1.IngestService"));
    assert!(healthy(query, "sectorwire.query.v1.QueryService"));
    assert!(
        dir.path().join("data/ingest").is_dir(),
        "SECTORWIRE_DATA_DIR is honoured too"
    );
    // One endpoint for the process serves both services' series, and so
    // does SECTORWIRE_METRICS_LISTEN.
    let text = scrape(metrics);
    for family in [
        "sectorwire_ingest_log_head",
        "sectorwire_replica_applied_sequence",
        "grpc_server_handled_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
}

/// `GET /metrics` over plain HTTP/1.1: the body.
fn scrape(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics port");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}
