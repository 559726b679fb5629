//! Shared by the tests that run the `ingest-service` binary.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts the binary; `Err(log)` when it exits before listening (a refused store).
pub async fn start(dir: &Path) -> Result<(Child, SocketAddr), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ingest-service"))
        .args([
            "--ingest-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--ingest-data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ingest-service");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut log = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if value["fields"]["message"] == "ingest service listening" {
                return value["fields"]["addr"]
                    .as_str()
                    .and_then(|a| a.parse::<SocketAddr>().ok());
            }
        }
        None
    })
    .await
    .expect("ingest-service neither listened nor exited in 30 s");
    match found {
        Some(addr) => {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok((child, addr))
        }
        None => {
            let output = child.wait_with_output().await.expect("wait");
            log.push_str(&String::from_utf8_lossy(&output.stderr));
            Err(log)
        }
    }
}
