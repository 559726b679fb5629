//! Online backup: `IngestAdminService.CreateBackup` while writes go on gives a
//! store that opens as the identical log (same id, same events at the same
//! sequences, up to the backup's head). A replica that followed the original
//! up to that point keeps following the restored store, and a new replica
//! builds from it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use sectorwire_proto::ingest::{
    ingest_admin_service_client::IngestAdminServiceClient, subscribe_response, CreateBackupRequest,
};
use sectorwire_proto::query::{BatchGetArticlesRequest, GetQueryStatsRequest};
use sectorwire_tests::*;

/// sequence → (article id, recorded_at) as the feed serves it.
type Log = BTreeMap<u64, (String, Option<prost_types::Timestamp>)>;

async fn read_log(addr: SocketAddr) -> (String, Log) {
    let stats = ingest_stats(addr).await;
    let mut stream = subscribe(addr, 0, 100).await;
    let mut log = Log::new();
    while (log.len() as u64) < stats.log_head {
        let message = stream.message().await.expect("feed").expect("open");
        if let Some(subscribe_response::Message::Event(e)) = message.message {
            log.insert(e.sequence, (e.article_id, e.recorded_at));
        }
    }
    (stats.log_id, log)
}

async fn applied(addr: SocketAddr) -> u64 {
    query_client(addr)
        .await
        .get_query_stats(GetQueryStatsRequest {})
        .await
        .expect("stats")
        .into_inner()
        .applied_sequence
}

async fn served_count(addr: SocketAddr, ids: &[String]) -> usize {
    query_client(addr)
        .await
        .batch_get_articles(BatchGetArticlesRequest {
            ids: ids.to_vec(),
            ..Default::default()
        })
        .await
        .expect("batch get")
        .into_inner()
        .articles
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_restores_to_the_identical_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backups = dir.path().join("backups");
    let ingest = start_ingest_with(&dir.path().join("ingest"), |c| {
        c.backup_root = Some(backups.clone())
    })
    .await;
    let addr = ingest.addr;
    let first = write_bulletins(addr, "first", 10).await;
    let replica_dir = dir.path().join("query");
    let replica = start_query(&replica_dir, addr).await;
    eventually("the replica to catch up", || async {
        (applied(replica.addr).await == 10).then_some(())
    })
    .await;
    replica.stop().await;

    // The backup is taken while another client writes.
    let writer = tokio::spawn(write_bulletins(addr, "during", 30));
    let mut admin = IngestAdminServiceClient::new(channel(addr).await);
    let backup = admin
        .create_backup(CreateBackupRequest {
            name: "nightly-1".into(),
        })
        .await
        .expect("backup")
        .into_inner();
    let during = writer.await.expect("writer");
    let (log_id, original) = read_log(addr).await;
    assert_eq!(backup.log_id, log_id);
    assert!(
        backup.log_head >= 10 && backup.log_head <= 40,
        "head {}",
        backup.log_head
    );
    assert_eq!(backup.articles, backup.log_head, "one event per new article");

    // Refused: a name that leaves the root, and one already taken.
    let refused = admin
        .create_backup(CreateBackupRequest { name: "../x".into() })
        .await
        .expect_err("a name outside the root");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let refused = admin
        .create_backup(CreateBackupRequest {
            name: "nightly-1".into(),
        })
        .await
        .expect_err("an existing backup");
    assert_eq!(refused.code(), tonic::Code::AlreadyExists);
    ingest.stop().await;

    // Restore: the backup directory as the store, at the same address.
    let restored = start_ingest_at(std::path::Path::new(&backup.path), addr, |_| {}).await;
    let (restored_id, restored_log) = read_log(addr).await;
    assert_eq!(restored_id, log_id, "the same log id");
    let prefix: Log = original
        .range(..=backup.log_head)
        .map(|(s, e)| (*s, e.clone()))
        .collect();
    assert_eq!(restored_log, prefix, "the same events at the same sequences");
    let after = write_bulletins(addr, "after", 3).await;

    // The replica that stopped at 10 follows the restored log on, and a new
    // replica builds from it; both serve the same articles.
    let replica = start_query(&replica_dir, addr).await;
    let fresh = start_query(&dir.path().join("fresh"), addr).await;
    let head = backup.log_head + 3;
    for r in [&replica, &fresh] {
        eventually("a replica to follow the restored log", || async {
            (applied(r.addr).await == head).then_some(())
        })
        .await;
        let stats = query_client(r.addr)
            .await
            .get_query_stats(GetQueryStatsRequest {})
            .await
            .expect("stats")
            .into_inner();
        assert!(stats.stopped_reason.is_empty(), "{}", stats.stopped_reason);
        assert_eq!(stats.log_id, log_id);
        assert_eq!(stats.articles, head);
        assert_eq!(served_count(r.addr, &first).await, first.len());
        assert_eq!(served_count(r.addr, &after).await, after.len());
        let kept = during.len() - (40 - backup.log_head) as usize;
        assert_eq!(
            served_count(r.addr, &during).await,
            kept,
            "writes after the backup are not in it"
        );
    }
    replica.stop().await;
    fresh.stop().await;
    restored.stop().await;
}
