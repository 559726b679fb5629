//! Fault rounds against the real `ingest-service` binary: each round acknowledges articles,
//! damages the store (corrupted sled file, or a full filesystem), restarts, and counts
//! acknowledged articles that are gone and starts that went ahead silently with data missing.
//! Both must be zero. Log-replacement rounds need a query replica too and live in
//! `tests/tests/log_replacement_rounds.rs`. `bench/fault-rounds.sh` runs more rounds of both
//! (`SECTORWIRE_FAULT_ROUNDS`);
//! the disk-full rounds need `mount` (root) and are skipped with a message without it.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use sectorwire_proto::ingest::{
    change_feed_service_client::ChangeFeedServiceClient, ingest_service_client::IngestServiceClient,
    subscribe_response, ArticleMetadata, GetIngestStatsRequest, IngestArticleRequest, SubscribeRequest,
};

use support::start;

fn article(round: u64, n: u64) -> IngestArticleRequest {
    let body: String = (0..20)
        .map(|p| format!("Round {round} report {n} part {p}: grain and fuel moved through Mombasa.\n\n"))
        .collect();
    IngestArticleRequest {
        content: format!("Cargo round {round} number {n}\n\n{body}").into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: format!("r{round}-{n}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Ingests until `count` acks or `stop_after_errors` failures; returns seq → id acknowledged.
async fn ingest(
    addr: SocketAddr,
    round: u64,
    from: u64,
    count: u64,
    stop_after_errors: u32,
) -> BTreeMap<u64, String> {
    let mut client = IngestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut acked = BTreeMap::new();
    let mut errors = 0;
    let mut n = from;
    while (acked.len() as u64) < count && errors < stop_after_errors {
        match client.ingest_article(article(round, n)).await {
            Ok(ack) => {
                let ack = ack.into_inner();
                acked.insert(ack.sequence, ack.id);
            }
            Err(_) => errors += 1,
        }
        n += 1;
    }
    acked
}

/// The log as the change feed serves it: seq → article id.
async fn read_log(addr: SocketAddr) -> BTreeMap<u64, String> {
    let head = IngestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect")
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner()
        .log_head;
    let mut stream = ChangeFeedServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect feed")
        .subscribe(SubscribeRequest {
            after_sequence: 0,
            heartbeat_millis: 100,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let mut log = BTreeMap::new();
    while (log.len() as u64) < head {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("feed stalled")
            .expect("feed error")
            .expect("feed closed");
        if let Some(subscribe_response::Message::Event(event)) = message.message {
            log.insert(event.sequence, event.article_id);
        }
    }
    log
}

fn lost(acked: &BTreeMap<u64, String>, log: &BTreeMap<u64, String>) -> usize {
    acked.iter().filter(|(seq, id)| log.get(seq) != Some(id)).count()
}

/// One of the damages issue 13 reported, applied to sled's file.
fn damage(db: &Path, kind: u64) -> &'static str {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(db)
        .expect("open db");
    let len = file.metadata().expect("metadata").len();
    match kind % 4 {
        0 => {
            file.set_len(len / 2).expect("truncate");
            "truncate to half"
        }
        1 => {
            file.write_all_at(&[0u8; 4096], (len / 2) & !4095).expect("zero");
            "zero a 4 KiB page"
        }
        2 => {
            let mut bytes = [0u8; 64];
            file.read_exact_at(&mut bytes, len / 2).expect("read");
            bytes.iter_mut().for_each(|b| *b = !*b);
            file.write_all_at(&bytes, len / 2).expect("flip");
            "flip 64 bytes"
        }
        _ => {
            let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ kind;
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut b = [0u8; 1];
                file.read_exact_at(&mut b, x % len).expect("read");
                b[0] ^= (x >> 32) as u8 | 1;
                file.write_all_at(&b, x % len).expect("xor");
            }
            "xor 200 random bytes"
        }
    }
}

#[derive(Default)]
struct Tally {
    rounds: u64,
    refused: u64,
    lost: usize,
    silent: u64,
}

async fn corruption_round(round: u64, tally: &mut Tally) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = start(dir.path()).await.expect("fresh store starts");
    let acked = ingest(addr, round, 0, 40, 3).await;
    child.start_kill().expect("kill");
    child.wait().await.expect("wait");
    let what = damage(&dir.path().join("db"), round);
    tally.rounds += 1;
    match start(dir.path()).await {
        Err(log) => {
            assert!(
                log.contains("--accept-data-loss") || log.contains("corrupt"),
                "round {round}: refused without naming the loss:\n{log}"
            );
            tally.refused += 1;
            eprintln!("round {round} ({what}): start refused");
        }
        Ok((mut child, addr)) => {
            let missing = lost(&acked, &read_log(addr).await);
            eprintln!("round {round} ({what}): started, {missing} acknowledged articles missing");
            if missing > 0 {
                tally.silent += 1;
                tally.lost += missing;
            }
            child.start_kill().expect("kill");
            child.wait().await.expect("wait");
        }
    }
}

async fn disk_full_round(round: u64, tally: &mut Tally) -> bool {
    let mount = tempfile::tempdir().expect("tempdir");
    let mounted = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping disk-full rounds: cannot mount a tmpfs (needs root)");
        return false;
    }
    let data = mount.path().join("ingest");
    std::fs::create_dir_all(&data).expect("dir");
    let (mut child, addr) = start(&data).await.expect("start");
    let mut acked = ingest(addr, round, 0, 5, 3).await;
    let avail = String::from_utf8_lossy(
        &StdCommand::new("df")
            .args(["--output=avail", "-B1"])
            .arg(mount.path())
            .output()
            .expect("df")
            .stdout,
    )
    .lines()
    .nth(1)
    .and_then(|l| l.trim().parse::<u64>().ok())
    .unwrap_or(0);
    let _ = std::fs::write(
        mount.path().join("filler"),
        vec![0u8; avail.saturating_sub(256 * 1024) as usize],
    );
    acked.extend(ingest(addr, round, 100, 10_000, 5).await);
    std::fs::remove_file(mount.path().join("filler")).expect("free space");
    // Writes resume by themselves.
    let resumed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let more = ingest(addr, round, 20_000, 1, 1).await;
            if !more.is_empty() {
                return more;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("writes resumed after space returned");
    acked.extend(resumed);
    child.start_kill().expect("kill");
    child.wait().await.expect("wait");
    tally.rounds += 1;
    match start(&data).await {
        Err(log) => panic!("round {round}: the store was refused after a disk-full episode:\n{log}"),
        Ok((mut child, addr)) => {
            let missing = lost(&acked, &read_log(addr).await);
            eprintln!(
                "round {round} (disk full): {} acknowledged, {missing} missing after restart",
                acked.len()
            );
            tally.lost += missing;
            child.start_kill().expect("kill");
            child.wait().await.expect("wait");
        }
    }
    let _ = StdCommand::new("umount").arg("-l").arg(mount.path()).status();
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rounds_lose_no_acknowledged_article_and_never_start_silently() {
    let rounds: u64 = std::env::var("SECTORWIRE_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut tally = Tally::default();
    for round in 0..rounds {
        corruption_round(round, &mut tally).await;
    }
    let corruption = tally.rounds;
    let mut disk_full = 0;
    for round in 0..rounds.div_ceil(4) {
        if !disk_full_round(1000 + round, &mut tally).await {
            break;
        }
        disk_full += 1;
    }
    println!(
        "fault rounds: {corruption} corruption ({} refused at start), {disk_full} disk full (log replacement: sectorwire-tests log_replacement_rounds); acknowledged lost = {}, silent starts = {}",
        tally.refused, tally.lost, tally.silent
    );
    assert_eq!((tally.lost, tally.silent), (0, 0));
}
