//! Log-replacement fault rounds: under a running query replica the ingest
//! store is swapped for another log at the same address, and the replica
//! must never mix the two. Each round takes one of three replacements:
//!
//! - an empty store (a new log);
//! - the store restored from an older copy (the same log id, rewound), then
//!   written past the replica's position again;
//! - the same store restarted with `--accept-data-loss` after its durable
//!   record went missing (the same articles and sequences, a new log id);
//!
//! with and without `--rebuild-on-new-log` in turn, and with the replica
//! running through the swap or down during it. Afterwards every
//! article the replica serves must come from the log it reports following,
//! at that log's sequence, and that log must be complete in it: the old one
//! when the replica stopped (which it must, with a reason), the new one when
//! it rebuilt. `bench/fault-rounds.sh` runs more rounds
//! (`SECTORWIRE_FAULT_ROUNDS`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use sectorwire_proto::ingest::subscribe_response;
use sectorwire_proto::query::BatchGetArticlesRequest;
use sectorwire_tests::*;
use tonic_health::pb::health_check_response::ServingStatus;

const QUERY_SERVICE: &str = "sectorwire.query.v1.QueryService";

/// Article id → sequence of its current version.
type Live = BTreeMap<String, u64>;

/// The log id and what the log holds live, read back through the feed.
async fn read_log(addr: SocketAddr) -> (String, u64, Live) {
    let stats = ingest_stats(addr).await;
    let mut stream = subscribe(addr, 0, 100).await;
    let mut live = Live::new();
    let mut seen = 0;
    while seen < stats.log_head {
        let message = stream.message().await.expect("feed").expect("feed open");
        if let Some(subscribe_response::Message::Event(event)) = message.message {
            seen = event.sequence;
            match event.article {
                Some(article) => {
                    live.insert(article.id, event.sequence);
                }
                None if !event.superseded => {
                    live.remove(&event.article_id);
                }
                None => {}
            }
        }
    }
    (stats.log_id, stats.log_head, live)
}

/// What the replica serves of `ids`: id → sequence.
async fn served(addr: SocketAddr, ids: &BTreeSet<String>) -> Live {
    query_client(addr)
        .await
        .batch_get_articles(BatchGetArticlesRequest {
            ids: ids.iter().cloned().collect(),
            ..Default::default()
        })
        .await
        .expect("batch get")
        .into_inner()
        .articles
        .into_iter()
        .map(|a| (a.id, a.sequence))
        .collect()
}

#[derive(Default)]
struct Tally {
    rounds: u64,
    stopped: u64,
    rebuilt: u64,
    /// Articles served that are not the followed log's (or at another sequence).
    foreign: usize,
    /// Articles of the followed log the replica does not serve.
    missing: usize,
}

async fn round(round: u64, tally: &mut Tally) {
    let kind = round % 3;
    let rebuild = round % 2 == 1;
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("ingest");
    let ingest = start_ingest(&first).await;
    let addr = ingest.addr;
    write_bulletins(addr, &format!("r{round}-a"), 20).await;
    let ingest = if kind == 1 {
        // Keep a copy of the store at this point to restore later.
        ingest.stop().await;
        copy_dir(&first, &dir.path().join("older-copy"));
        let ingest = start_ingest_at(&first, addr, |_| {}).await;
        write_bulletins(addr, &format!("r{round}-b"), 10).await;
        ingest
    } else {
        ingest
    };
    let (old_log, old_head, old_live) = read_log(addr).await;
    let replica = start_query_with(&dir.path().join("query"), addr, |c| {
        c.rebuild_on_new_log = rebuild
    })
    .await;
    eventually("the replica to catch up", || async {
        (query_stats(replica.addr).await.applied_sequence == old_head).then_some(())
    })
    .await;

    // Half the rounds swap the store while the replica is down, so it first
    // meets the new log when that has already passed its position.
    let offline = round % 4 >= 2;
    let replica = if offline {
        replica.stop().await;
        None
    } else {
        Some(replica)
    };
    ingest.stop().await;
    let (what, ingest) = match kind {
        0 => (
            "empty store",
            start_ingest_at(&dir.path().join("other"), addr, |_| {}).await,
        ),
        1 => (
            "older copy",
            start_ingest_at(&dir.path().join("older-copy"), addr, |_| {}).await,
        ),
        _ => {
            std::fs::remove_file(first.join("sectorwire-durable")).expect("remove the durable record");
            let ingest = start_ingest_at(&first, addr, |c| c.accept_data_loss = true).await;
            ("accepted data loss", ingest)
        }
    };
    // The new log passes the replica's position.
    write_bulletins(addr, &format!("r{round}-c"), 25).await;
    let (new_log, new_head, new_live) = read_log(addr).await;
    assert!(new_head > old_head, "round {round}: the new log is longer");
    let replica = match replica {
        Some(replica) => replica,
        None => {
            start_query_with(&dir.path().join("query"), addr, |c| {
                c.rebuild_on_new_log = rebuild
            })
            .await
        }
    };

    let (expected_log, expected) = if rebuild {
        eventually("the replica to rebuild from the new log", || async {
            let stats = query_stats(replica.addr).await;
            let serving = health_status(replica.addr, QUERY_SERVICE).await == ServingStatus::Serving;
            (stats.log_id == new_log && stats.applied_sequence == new_head && serving).then_some(())
        })
        .await;
        tally.rebuilt += 1;
        (new_log, new_live.clone())
    } else {
        let stats = eventually("the replica to stop", || async {
            let stats = query_stats(replica.addr).await;
            (!stats.stopped_reason.is_empty()).then_some(stats)
        })
        .await;
        eventually("a stopped replica to report NOT_SERVING", || async {
            (health_status(replica.addr, QUERY_SERVICE).await == ServingStatus::NotServing).then_some(())
        })
        .await;
        eprintln!("round {round} ({what}): stopped: {}", stats.stopped_reason);
        tally.stopped += 1;
        (old_log, old_live.clone())
    };
    let stats = query_stats(replica.addr).await;
    assert_eq!(
        stats.log_id, expected_log,
        "round {round}: the log the replica reports"
    );
    let ids: BTreeSet<String> = old_live.keys().chain(new_live.keys()).cloned().collect();
    let holds = served(replica.addr, &ids).await;
    let foreign = holds
        .iter()
        .filter(|(id, seq)| expected.get(*id) != Some(seq))
        .count();
    let missing = expected
        .iter()
        .filter(|(id, seq)| holds.get(*id) != Some(seq))
        .count();
    eprintln!(
        "round {round} ({what}, rebuild {rebuild}, replica offline {offline}): {} served, {foreign} foreign, {missing} missing",
        holds.len()
    );
    tally.rounds += 1;
    tally.foreign += foreign;
    tally.missing += missing;
    replica.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_never_mix_two_logs() {
    let rounds: u64 = std::env::var("SECTORWIRE_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut tally = Tally::default();
    for n in 0..rounds {
        round(n, &mut tally).await;
    }
    println!(
        "log replacement rounds: {} ({} stopped, {} rebuilt); mixed-log applications = {}, followed-log articles missing = {}",
        tally.rounds, tally.stopped, tally.rebuilt, tally.foreign, tally.missing
    );
    assert_eq!((tally.foreign, tally.missing), (0, 0));
}
