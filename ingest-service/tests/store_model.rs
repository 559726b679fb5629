//! Model-based test of the sled store: random sequences of ingest, re-ingest,
//! update, delete and reopen, checked against a plain in-memory model after
//! every step — outcomes, records, the change log, and counters.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sectorwire_ingest::store::{EncodedArticle, SledStore, Store, WriteOp, WriteOutcome};
use sectorwire_proto::article::{Article, ChangeKind};

#[derive(Debug, Clone)]
enum Op {
    /// Ingest article `key` with content version `version`.
    Ingest { key: u8, version: u8 },
    /// Delete article `key`.
    Delete { key: u8 },
    /// Close and reopen the store.
    Reopen,
    /// Several ingests in one batch (one transaction).
    Batch(Vec<(u8, u8)>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..6, 0u8..3).prop_map(|(key, version)| Op::Ingest { key, version }),
        2 => (0u8..6).prop_map(|key| Op::Delete { key }),
        1 => Just(Op::Reopen),
        2 => prop::collection::vec((0u8..6, 0u8..3), 1..6).prop_map(Op::Batch),
    ]
}

fn upsert(key: u8, version: u8) -> WriteOp {
    WriteOp::Upsert {
        key: format!("source:k{key}"),
        article: EncodedArticle::new(Article {
            id: format!("id{key}"),
            body: format!("body of {key} version {version}"),
            content_hash: format!("{key}-{version}"),
            ..Default::default()
        }),
    }
}

/// The model: live articles (id → (hash, sequence)) and the log
/// (sequence → (kind, id)).
#[derive(Default)]
struct Model {
    live: BTreeMap<String, (String, u64)>,
    log: Vec<(ChangeKind, String)>,
}

impl Model {
    fn ingest(&mut self, key: u8, version: u8) -> WriteOutcome {
        let id = format!("id{key}");
        let hash = format!("{key}-{version}");
        match self.live.get(&id) {
            Some((h, seq)) if *h == hash => WriteOutcome::Unchanged(*seq),
            existing => {
                let updated = existing.is_some();
                self.log.push((ChangeKind::Upsert, id.clone()));
                let seq = self.log.len() as u64;
                self.live.insert(id, (hash, seq));
                if updated {
                    WriteOutcome::Updated(seq)
                } else {
                    WriteOutcome::Created(seq)
                }
            }
        }
    }

    fn delete(&mut self, key: u8) -> WriteOutcome {
        let id = format!("id{key}");
        if self.live.remove(&id).is_none() {
            return WriteOutcome::NotFound;
        }
        self.log.push((ChangeKind::Delete, id));
        WriteOutcome::Deleted(self.log.len() as u64)
    }
}

fn check(store: &SledStore, model: &Model) {
    for key in 0..6u8 {
        let id = format!("id{key}");
        let stored = store.get(&id).expect("get");
        match (stored, model.live.get(&id)) {
            (Some(a), Some((hash, seq))) => {
                assert_eq!(&a.content_hash, hash, "{id}");
                assert_eq!(a.sequence, *seq, "{id}");
            }
            (None, None) => {}
            (s, m) => panic!("{id}: store {:?} vs model {m:?}", s.map(|a| a.sequence)),
        }
    }
    let log = store.log_after(0, usize::MAX).expect("log");
    assert_eq!(log.len(), model.log.len());
    for (i, (event, (kind, id))) in log.iter().zip(&model.log).enumerate() {
        assert_eq!(event.sequence, i as u64 + 1, "dense sequences");
        assert_eq!(event.kind, *kind as i32);
        assert_eq!(&event.article_id, id);
    }
    let counts = store.counts().expect("counts");
    assert_eq!(counts.head, model.log.len() as u64);
    assert_eq!(counts.articles, model.live.len() as u64);
    // Resuming from any point yields exactly the rest of the log.
    for after in 0..=model.log.len() as u64 {
        let rest = store.log_after(after, 3).expect("log");
        let expected: Vec<u64> = (after + 1..=model.log.len() as u64).take(3).collect();
        assert_eq!(rest.iter().map(|e| e.sequence).collect::<Vec<_>>(), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SledStore::open(dir.path()).expect("open");
        let mut model = Model::default();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Ingest { key, version } => {
                    let out = store.apply(&[upsert(key, version)], step as i64).expect("apply");
                    prop_assert_eq!(out, vec![model.ingest(key, version)]);
                }
                Op::Delete { key } => {
                    let out = store.apply(&[WriteOp::Delete { id: format!("id{key}") }], 0).expect("apply");
                    prop_assert_eq!(out, vec![model.delete(key)]);
                }
                Op::Batch(items) => {
                    let ops: Vec<WriteOp> = items.iter().map(|(k, v)| upsert(*k, *v)).collect();
                    let out = store.apply(&ops, 0).expect("apply");
                    let expected: Vec<WriteOutcome> = items.iter().map(|(k, v)| model.ingest(*k, *v)).collect();
                    prop_assert_eq!(out, expected);
                }
                Op::Reopen => {
                    store.flush().expect("flush");
                    drop(store);
                    store = SledStore::open(dir.path()).expect("reopen");
                }
            }
            check(&store, &model);
        }
        store.flush().expect("flush");
        drop(store);
        let store = SledStore::open(dir.path()).expect("final reopen");
        check(&store, &model);
    }
}

#[test]
fn foreign_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("articles")
            .expect("tree")
            .insert("x", "y")
            .expect("insert");
        db.flush().expect("flush");
    }
    // The refusal names the schema, not sled's segment size: a directory made with sled's
    // default 512 KiB segments is opened with the size it was made with.
    let err = SledStore::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("schema version"), "{err}");
}
