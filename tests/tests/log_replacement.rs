//! Log identity: the ingest store is replaced under a running query replica
//! (ingest stopped, a new one started on an empty directory at the same
//! address). The replica must never apply the new log's events on top of
//! the old model: without `--rebuild-on-new-log` it stops, says why, reports
//! NOT_SERVING and keeps answering from the old log; with it, it empties its
//! model and serves exactly the new log.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use sectorwire_proto::ingest::SubscribeRequest;
use sectorwire_proto::query::{BatchGetArticlesRequest, Consistency, GetArticleRequest};
use sectorwire_query::server::FOLLOWER_HEALTH;
use sectorwire_tests::*;
use tonic_health::pb::health_check_response::ServingStatus;

const QUERY_SERVICE: &str = "sectorwire.query.v1.QueryService";

/// Ingests generated articles `range` and returns their ids.
async fn write(addr: SocketAddr, range: std::ops::Range<usize>) -> BTreeSet<String> {
    let mut client = ingest_client(addr).await;
    let mut ids = BTreeSet::new();
    for n in range {
        let ack = client
            .ingest_article(text_request(n))
            .await
            .expect("ingest")
            .into_inner();
        ids.insert(ack.id);
    }
    ids
}

async fn ingest_log(addr: SocketAddr) -> (String, u64) {
    let stats = ingest_stats(addr).await;
    (stats.log_id, stats.log_head)
}

/// Which of `ids` the replica serves.
async fn served(addr: SocketAddr, ids: &BTreeSet<String>) -> BTreeSet<String> {
    let found = query_client(addr)
        .await
        .batch_get_articles(BatchGetArticlesRequest {
            ids: ids.iter().cloned().collect(),
            ..Default::default()
        })
        .await
        .expect("batch get")
        .into_inner();
    found.articles.into_iter().map(|a| a.id).collect()
}

async fn caught_up(addr: SocketAddr, head: u64) {
    eventually("the replica to apply the log head and serve", || async move {
        let stats = query_stats(addr).await;
        let serving = health_status(addr, QUERY_SERVICE).await == ServingStatus::Serving;
        (stats.applied_sequence == head && serving).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_messages_name_the_log_and_its_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    write(ingest.addr, 0..5).await;
    let (log_id, head) = ingest_log(ingest.addr).await;
    assert_eq!(log_id.len(), 32, "a log id in hex: {log_id:?}");
    assert_eq!(head, 5);
    let mut stream = feed_client(ingest.addr)
        .await
        .subscribe(SubscribeRequest {
            after_sequence: 0,
            heartbeat_millis: 50,
        })
        .await
        .expect("subscribe")
        .into_inner();
    // Backlog events and then heartbeats: every one names the log and its head.
    for _ in 0..7 {
        let message = stream.message().await.expect("feed").expect("open stream");
        assert_eq!(message.log_id, log_id);
        assert_eq!(message.head_sequence, head);
    }
    drop(stream);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_log_stops_the_replica_or_rebuilds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = start_ingest(&dir.path().join("ingest-old")).await;
    let addr = old.addr;
    let old_ids = write(addr, 0..10).await;
    let (old_log, old_head) = ingest_log(addr).await;
    let replica_dir = dir.path().join("query");
    let replica = start_query(&replica_dir, addr).await;
    caught_up(replica.addr, old_head).await;
    assert_eq!(query_stats(replica.addr).await.log_id, old_log);

    // Replace the store: same address, empty directory, a longer log.
    old.stop().await;
    let new = start_ingest_at(&dir.path().join("ingest-new"), addr, |_| {}).await;
    let new_ids = write(addr, 100..115).await;
    let (new_log, new_head) = ingest_log(addr).await;
    assert_ne!(new_log, old_log);
    assert!(new_head > old_head, "the new log passes the old position");

    // (a) Without the flag: stopped, with the reason, NOT_SERVING; the old
    // articles still answer and nothing of the new log was applied.
    let stats = eventually("the replica to stop on the new log", || async {
        let stats = query_stats(replica.addr).await;
        (!stats.stopped_reason.is_empty()).then_some(stats)
    })
    .await;
    assert!(
        stats.stopped_reason.contains(&new_log),
        "{}",
        stats.stopped_reason
    );
    assert!(
        stats.stopped_reason.contains("--rebuild-on-new-log"),
        "{}",
        stats.stopped_reason
    );
    assert_eq!(stats.log_id, old_log);
    assert_eq!(stats.ingest_log_id, new_log);
    assert_eq!(stats.applied_sequence, old_head);
    eventually("the stopped replica to report NOT_SERVING", || async {
        let mut all = Vec::new();
        for service in [QUERY_SERVICE, "", FOLLOWER_HEALTH] {
            all.push(health_status(replica.addr, service).await);
        }
        all.iter().all(|s| *s == ServingStatus::NotServing).then_some(())
    })
    .await;
    // It keeps hearing from ingest (it re-checks the log), and applies nothing.
    assert!(stats.millis_since_ingest_heard.is_some());
    let _ = write(addr, 200..203).await;
    eventually("the stopped replica to check the log again", || async {
        let stats = query_stats(replica.addr).await;
        (stats.head_sequence == new_head + 3).then_some(())
    })
    .await;
    let stats = query_stats(replica.addr).await;
    assert_eq!(
        stats.applied_sequence, old_head,
        "nothing of the new log is applied"
    );
    assert_eq!(
        served(replica.addr, &old_ids).await,
        old_ids,
        "the old articles still answer"
    );
    assert!(
        served(replica.addr, &new_ids).await.is_empty(),
        "no article of the new log"
    );
    // A writer's sequence belongs to the new log: the stopped replica must not
    // read it as a position in its own (old_head may well be past it).
    let behind = query_client(replica.addr)
        .await
        .get_article(GetArticleRequest {
            id: old_ids.iter().next().cloned().unwrap_or_default(),
            consistency: Some(Consistency { min_sequence: 1 }),
        })
        .await
        .expect_err("min_sequence on a stopped replica");
    assert_eq!(behind.code(), tonic::Code::Unavailable, "{behind:?}");

    // A restart does not forget which log the model holds.
    replica.stop().await;
    let replica = start_query(&replica_dir, addr).await;
    let stats = eventually("the restarted replica to stop again", || async {
        let stats = query_stats(replica.addr).await;
        (!stats.stopped_reason.is_empty()).then_some(stats)
    })
    .await;
    assert_eq!(stats.applied_sequence, old_head);
    assert_eq!(stats.articles, old_ids.len() as u64);
    assert!(served(replica.addr, &new_ids).await.is_empty());
    replica.stop().await;

    // (b) With the flag: the model is emptied and rebuilt from sequence 0 of
    // the new log, and then serves exactly its articles.
    let (_, new_head) = ingest_log(addr).await;
    let replica = start_query_with(&replica_dir, addr, |c| c.rebuild_on_new_log = true).await;
    caught_up(replica.addr, new_head).await;
    let stats = query_stats(replica.addr).await;
    assert_eq!(stats.log_id, new_log);
    assert!(stats.stopped_reason.is_empty(), "{}", stats.stopped_reason);
    assert_eq!(stats.lag, 0);
    let all_new = {
        let mut ids = new_ids.clone();
        ids.extend(write(addr, 200..203).await);
        ids
    };
    caught_up(replica.addr, new_head).await;
    assert_eq!(served(replica.addr, &all_new).await, all_new);
    assert!(
        served(replica.addr, &old_ids).await.is_empty(),
        "no article of the old log"
    );
    assert_eq!(query_stats(replica.addr).await.articles, all_new.len() as u64);

    replica.stop().await;
    new.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_health_tell_lag_and_silence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest_dir = dir.path().join("ingest");
    let ingest = start_ingest(&ingest_dir).await;
    let addr = ingest.addr;
    write(addr, 0..10).await;
    let replica = start_query(&dir.path().join("query"), addr).await;
    caught_up(replica.addr, 10).await;
    let stats = eventually("the follower to report itself healthy", || async {
        let up = health_status(replica.addr, FOLLOWER_HEALTH).await == ServingStatus::Serving;
        up.then_some(query_stats(replica.addr).await)
    })
    .await;
    assert_eq!((stats.head_sequence, stats.lag), (10, 0));
    assert!(stats.connected);
    assert!(stats.millis_since_ingest_heard.is_some());
    assert!(stats.follow_error.is_empty(), "{}", stats.follow_error);

    // Ingest goes away: the follower says so, the head stays as last heard,
    // and the time since ingest was heard from grows. Reads still answer.
    ingest.stop().await;
    let stats = eventually("the follower to report the lost link", || async {
        let down = health_status(replica.addr, FOLLOWER_HEALTH).await == ServingStatus::NotServing;
        let stats = query_stats(replica.addr).await;
        (down && !stats.connected && !stats.follow_error.is_empty()).then_some(stats)
    })
    .await;
    assert_eq!((stats.head_sequence, stats.lag), (10, 0));
    let since = stats.millis_since_ingest_heard.expect("heard before");
    eventually("the silence to grow", || async {
        let now = query_stats(replica.addr).await.millis_since_ingest_heard;
        now.is_some_and(|m| m > since).then_some(())
    })
    .await;
    assert_eq!(
        health_status(replica.addr, QUERY_SERVICE).await,
        ServingStatus::Serving
    );

    // Ingest back (same store): following resumes and the error clears.
    let ingest = start_ingest_at(&ingest_dir, addr, |_| {}).await;
    write(addr, 10..15).await;
    caught_up(replica.addr, 15).await;
    eventually("the follower to recover", || async {
        let up = health_status(replica.addr, FOLLOWER_HEALTH).await == ServingStatus::Serving;
        let stats = query_stats(replica.addr).await;
        (up && stats.follow_error.is_empty() && stats.lag == 0).then_some(())
    })
    .await;
    replica.stop().await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewound_log_written_past_the_replica_is_caught_by_its_last_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("ingest");
    let ingest = start_ingest(&store).await;
    let addr = ingest.addr;
    write(addr, 0..5).await;
    ingest.stop().await;
    let older = dir.path().join("older");
    copy_dir(&store, &older);
    let ingest = start_ingest_at(&store, addr, |_| {}).await;
    let old_ids = write(addr, 5..10).await;
    let replica_dir = dir.path().join("query");
    let replica = start_query(&replica_dir, addr).await;
    caught_up(replica.addr, 10).await;
    replica.stop().await;

    // The older copy comes back (same log id) and is written past 10 while
    // the replica is away: by head and id alone it looks like its log.
    ingest.stop().await;
    let restored = start_ingest_at(&older, addr, |_| {}).await;
    let other_ids = write(addr, 300..310).await;
    let replica = start_query(&replica_dir, addr).await;
    let stats = eventually("the replica to stop on the rewritten log", || async {
        let stats = query_stats(replica.addr).await;
        (!stats.stopped_reason.is_empty()).then_some(stats)
    })
    .await;
    assert!(
        stats.stopped_reason.contains("another event at sequence 10"),
        "{}",
        stats.stopped_reason
    );
    assert_eq!(stats.applied_sequence, 10);
    assert_eq!(served(replica.addr, &old_ids).await, old_ids);
    assert!(served(replica.addr, &other_ids).await.is_empty());
    replica.stop().await;
    restored.stop().await;
}
