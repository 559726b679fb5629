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
fn start_on_free_ports(dir: &std::path::Path) -> Option<(KillOnDrop, SocketAddr, SocketAddr)> {
    let (ingest, query) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sectorwire"))
        .current_dir(dir)
        .env("SECTORWIRE_INGEST_LISTEN", ingest.to_string())
        .env("SECTORWIRE_QUERY_LISTEN", query.to_string())
        .env("SECTORWIRE_DATA_DIR", dir.join("data"))
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
            return Some((child, ingest, query));
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
    let (_child, ingest, query) =
        started.expect("sectorwire kept exiting: the listen variables are not honoured");
    assert!(healthy(ingest, "sectorwire.ingest.v1.IngestService"));
    assert!(healthy(query, "sectorwire.query.v1.QueryService"));
    assert!(
        dir.path().join("data/ingest").is_dir(),
        "SECTORWIRE_DATA_DIR is honoured too"
    );
}
