//! The sled implementation of [`Store`]: four trees written in one
//! transaction per batch.
//!
//! - `articles`: id → `Article` protobuf (versioned, evolvable);
//! - `keys`: idempotency key → id;
//! - `log`: big-endian sequence → `ChangeEvent` protobuf holding only
//!   `{sequence, kind, article_id, recorded_at}` (the article is written once);
//! - `meta`: schema version, log head, article count.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use sectorwire_proto::article::{Article, ChangeEvent, ChangeKind};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{Store, StoreCounts, StoreError, WriteOp, WriteOutcome};

/// Bumped when the on-disk layout changes incompatibly.
pub const SCHEMA_VERSION: &str = "sectorwire-ingest/1";

const META_SCHEMA: &[u8] = b"schema";
const META_HEAD: &[u8] = b"head";
const META_COUNT: &[u8] = b"count";

/// sled-backed store. Opening takes sled's exclusive lock on the directory.
pub struct SledStore {
    db: sled::Db,
    articles: sled::Tree,
    keys: sled::Tree,
    log: sled::Tree,
    meta: sled::Tree,
    head: AtomicU64,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking the schema version and
    /// that the log head and the articles agree.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sectorwire_runtime::store::open_with(
            sectorwire_runtime::store::config(dir)
                // Our own flush before each ack is what makes writes durable;
                // the background flush only bounds loss for writes nobody
                // waits for.
                .flush_every_ms(Some(1000)),
            dir,
        )?;
        let store = SledStore {
            articles: db.open_tree("articles")?,
            keys: db.open_tree("keys")?,
            log: db.open_tree("log")?,
            meta: db.open_tree("meta")?,
            head: AtomicU64::new(0),
            db,
        };
        store.check_schema()?;
        let head = store.check_log()?;
        store.head.store(head, Ordering::SeqCst);
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.meta.get(META_SCHEMA)? {
            Some(found) if found.as_ref() == SCHEMA_VERSION.as_bytes() => Ok(()),
            Some(found) => Err(StoreError::SchemaVersion {
                found: String::from_utf8_lossy(&found).into_owned(),
                expected: SCHEMA_VERSION.to_string(),
            }),
            None => {
                // A directory with data but no schema marker is not ours.
                let foreign = !self.articles.is_empty() || !self.log.is_empty();
                if foreign {
                    return Err(StoreError::SchemaVersion {
                        found: "none".into(),
                        expected: SCHEMA_VERSION.to_string(),
                    });
                }
                self.meta.insert(META_SCHEMA, SCHEMA_VERSION.as_bytes())?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// The head recorded in `meta` must be the last log key, and the last
    /// event must decode; otherwise the directory is damaged.
    fn check_log(&self) -> Result<u64, StoreError> {
        let recorded = read_u64(self.meta.get(META_HEAD)?.as_deref(), "meta head")?;
        let last = match self.log.last()? {
            Some((k, v)) => {
                let seq = read_u64(Some(&k), "log key")?;
                ChangeEvent::decode(v.as_ref()).map_err(|e| StoreError::Corrupt {
                    what: format!("log event {seq}"),
                    detail: e.to_string(),
                })?;
                seq
            }
            None => 0,
        };
        if last != recorded {
            return Err(StoreError::Corrupt {
                what: "log head".into(),
                detail: format!("meta says {recorded}, log ends at {last}"),
            });
        }
        Ok(last)
    }

    /// Bytes the database occupies on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn read_u64(bytes: Option<&[u8]>, what: &str) -> Result<u64, StoreError> {
    match bytes {
        None => Ok(0),
        Some(b) => b
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                what: what.to_string(),
                detail: format!("{} bytes, expected 8", b.len()),
            }),
    }
}

fn decode_article(id: &str, bytes: &[u8]) -> Result<Article, StoreError> {
    Article::decode(bytes).map_err(|e| StoreError::Corrupt {
        what: format!("article {id}"),
        detail: e.to_string(),
    })
}

impl Store for SledStore {
    fn apply(&self, ops: &[WriteOp], now_seconds: i64) -> Result<Vec<WriteOutcome>, StoreError> {
        let now = sectorwire_proto::timestamp(now_seconds);
        let result =
            (&self.articles, &self.keys, &self.log, &self.meta).transaction(|(articles, keys, log, meta)| {
                let abort = |e: StoreError| ConflictableTransactionError::Abort(e);
                let mut head = read_u64(meta.get(META_HEAD)?.as_deref(), "meta head").map_err(abort)?;
                let mut count = read_u64(meta.get(META_COUNT)?.as_deref(), "meta count").map_err(abort)?;
                let mut outcomes = Vec::with_capacity(ops.len());
                for op in ops {
                    match op {
                        WriteOp::Upsert { key, article } => {
                            let existing = match articles.get(article.id().as_bytes())? {
                                Some(bytes) => Some(decode_article(article.id(), &bytes).map_err(abort)?),
                                None => None,
                            };
                            if let Some(old) = &existing {
                                if old.content_hash == article.content_hash() {
                                    outcomes.push(WriteOutcome::Unchanged(old.sequence));
                                    continue;
                                }
                            }
                            head += 1;
                            let ingested_at = existing.as_ref().and_then(|o| o.ingested_at).unwrap_or(now);
                            articles
                                .insert(article.id().as_bytes(), article.stamped(head, now, ingested_at))?;
                            keys.insert(key.as_bytes(), article.id().as_bytes())?;
                            let event = ChangeEvent {
                                sequence: head,
                                kind: ChangeKind::Upsert as i32,
                                article_id: article.id().to_string(),
                                recorded_at: Some(now),
                                article: None,
                                superseded: false,
                            };
                            log.insert(&head.to_be_bytes(), event.encode_to_vec())?;
                            if existing.is_some() {
                                outcomes.push(WriteOutcome::Updated(head));
                            } else {
                                count += 1;
                                outcomes.push(WriteOutcome::Created(head));
                            }
                        }
                        WriteOp::Delete { id } => {
                            if articles.remove(id.as_bytes())?.is_none() {
                                outcomes.push(WriteOutcome::NotFound);
                                continue;
                            }
                            head += 1;
                            count = count.saturating_sub(1);
                            let event = ChangeEvent {
                                sequence: head,
                                kind: ChangeKind::Delete as i32,
                                article_id: id.clone(),
                                recorded_at: Some(now),
                                article: None,
                                superseded: false,
                            };
                            log.insert(&head.to_be_bytes(), event.encode_to_vec())?;
                            outcomes.push(WriteOutcome::Deleted(head));
                        }
                    }
                }
                meta.insert(META_HEAD, &head.to_be_bytes())?;
                meta.insert(META_COUNT, &count.to_be_bytes())?;
                Ok((outcomes, head))
            });
        match result {
            Ok((outcomes, head)) => {
                self.head.store(head, Ordering::SeqCst);
                Ok(outcomes)
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Article>, StoreError> {
        match self.articles.get(id.as_bytes())? {
            Some(bytes) => Ok(Some(decode_article(id, &bytes)?)),
            None => Ok(None),
        }
    }

    fn log_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        let start = after.saturating_add(1).to_be_bytes();
        let mut events = Vec::new();
        for entry in self.log.range(start..).take(limit) {
            let (key, value) = entry?;
            let seq = read_u64(Some(&key), "log key")?;
            let event = ChangeEvent::decode(value.as_ref()).map_err(|e| StoreError::Corrupt {
                what: format!("log event {seq}"),
                detail: e.to_string(),
            })?;
            events.push(event);
        }
        Ok(events)
    }

    fn head(&self) -> u64 {
        self.head.load(Ordering::SeqCst)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts {
            articles: read_u64(self.meta.get(META_COUNT)?.as_deref(), "meta count")?,
            head: self.head(),
            disk_bytes: self.disk_bytes(),
        })
    }
}
