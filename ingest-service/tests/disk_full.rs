//! Disk full on a real filesystem: the store lives on a small tmpfs that a filler file
//! fills up. Issue 13: the write that hit ENOSPC was answered UNAVAILABLE yet published and
//! counted, then lost on restart with its sequence reused; after space returned, writes kept
//! failing until a restart, and the stop failed.
//!
//! Mounting needs root; where `mount` is impossible the test says so and skips (`.ci/run`
//! runs as root in its container and does run it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sectorwire_ingest::store::{SledStore, Store};
use sectorwire_ingest::IngestConfig;
use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_service_client::IngestServiceClient,
    subscribe_response, ArticleMetadata, IngestArticleRequest, SubscribeRequest,
};
use tokio_util::sync::CancellationToken;
use tonic::Code;

/// A tmpfs mounted for the test's lifetime.
struct Mount(tempfile::TempDir);

impl Mount {
    fn new(size: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Mount(dir)),
            other => {
                eprintln!("skipping: cannot mount a tmpfs (needs root): {other:?}");
                None
            }
        }
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

fn article(n: u32) -> IngestArticleRequest {
    // Distinct paragraphs (repeated ones are dropped as page furniture), ~6 KB per article.
    let body: String = (0..60)
        .map(|p| format!("Report {n} paragraph {p}: the port of Mombasa handled grain and fuel cargo.\n\n"))
        .collect();
    IngestArticleRequest {
        content: format!("Cargo report {n}\n\n{body}").into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: format!("disk-{n}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Fills the filesystem at `dir` up to about `leave` free bytes with a file.
fn fill(dir: &Path, leave: u64) {
    let size = free_bytes(dir).saturating_sub(leave);
    let filler = vec![0x5a_u8; usize::try_from(size).expect("size")];
    // A short write is fine: the point is a full disk.
    let _ = std::fs::write(dir.join("filler"), filler);
}

fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_loses_no_acknowledged_write_and_writes_resume_when_space_returns() {
    let Some(mount) = Mount::new("48m") else { return };
    let data = mount.path().join("ingest");
    std::fs::create_dir_all(&data).expect("data dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(sectorwire_ingest::serve(
        IngestConfig::new(addr, data.clone()),
        listener,
        shutdown.clone(),
    ));
    let mut client = loop {
        if let Ok(c) = IngestServiceClient::connect(format!("http://{addr}")).await {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Everything the change feed publishes, as a replica would apply it.
    let published: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
    let follower = tokio::spawn({
        let published = published.clone();
        async move {
            let mut stream = ChangeFeedServiceClient::connect(format!("http://{addr}"))
                .await
                .expect("feed client")
                .subscribe(SubscribeRequest {
                    after_sequence: 0,
                    heartbeat_millis: 50,
                })
                .await
                .expect("subscribe")
                .into_inner();
            while let Ok(Some(message)) = stream.message().await {
                if let Some(subscribe_response::Message::Event(event)) = message.message {
                    published
                        .lock()
                        .expect("lock")
                        .insert(event.sequence, event.article_id);
                }
            }
        }
    });

    client.ingest_article(article(0)).await.expect("first write");
    fill(mount.path(), 256 * 1024);
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut failed = 0;
    let mut n = 1;
    while failed < 5 && n < 3000 {
        match client.ingest_article(article(n)).await {
            Ok(ack) => {
                let ack = ack.into_inner();
                acked.insert(ack.sequence, ack.id);
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                failed += 1;
            }
        }
        n += 1;
    }
    assert!(failed > 0, "the filesystem never filled up");

    // Space returns: writes resume without a restart.
    std::fs::remove_file(mount.path().join("filler")).expect("remove filler");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let resumed = loop {
        match client.ingest_article(article(n)).await {
            Ok(ack) => break ack.into_inner(),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "writes did not resume: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    acked.insert(resumed.sequence, resumed.id);
    tokio::time::sleep(Duration::from_millis(300)).await;

    drop(client);
    shutdown.cancel();
    server
        .await
        .expect("join")
        .expect("a clean stop after the disk was full");
    let _ = follower.await;

    // On disk after the restart: every acknowledged article at its sequence, and exactly what
    // the feed published (no phantom a replica applied but the store lost).
    let store = SledStore::open(&data).expect("reopen after disk full");
    let log: BTreeMap<u64, String> = store
        .log_after(0, usize::MAX)
        .expect("log")
        .into_iter()
        .map(|e| (e.sequence, e.article_id))
        .collect();
    for (seq, id) in &acked {
        assert_eq!(
            log.get(seq),
            Some(id),
            "acknowledged article {id} at {seq} is on disk"
        );
        assert!(
            store.get(id).expect("get").is_some(),
            "acknowledged article {id} is stored"
        );
    }
    let published = published.lock().expect("lock").clone();
    assert_eq!(published, log, "the feed published exactly the durable log");
    assert_eq!(*log.keys().last().expect("log"), store.head());
    assert_eq!(log.len() as u64, store.head(), "dense log");
}
