//! The sled implementation of [`Store`]: four trees written in one
//! transaction per batch.
//!
//! - `articles`: id → `Article` protobuf (versioned, evolvable);
//! - `keys`: idempotency key → id;
//! - `log`: big-endian sequence → `ChangeEvent` protobuf holding only
//!   `{sequence, kind, article_id, recorded_at}` (the article is written once);
//! - `meta`: schema version, log head, article count.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use prost::Message;
use sectorwire_proto::article::{Article, ChangeEvent, ChangeKind};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::durable::{log_id_hex, new_log_id, DurableMark, MarkFile};
use super::{BackupInfo, Store, StoreCounts, StoreError, WriteOp, WriteOutcome};

/// Bumped when the on-disk layout changes incompatibly.
pub const SCHEMA_VERSION: &str = "sectorwire-ingest/1";

const META_SCHEMA: &[u8] = b"schema";
const META_HEAD: &[u8] = b"head";
const META_COUNT: &[u8] = b"count";
/// The log id (see [`super::durable`]), also in the durable mark.
const META_LOG_ID: &[u8] = b"log_id";
/// Written by [`Store::reopen`] to prove the disk takes writes again.
const META_PROBE: &[u8] = b"probe";

/// One open sled database and its trees.
struct Trees {
    db: sled::Db,
    articles: sled::Tree,
    keys: sled::Tree,
    log: sled::Tree,
    meta: sled::Tree,
}

/// sled-backed store. Opening takes sled's exclusive lock on the directory.
///
/// The database sits behind a lock so that [`Store::reopen`] can drop it and open it again:
/// after an IO error sled refuses every later operation, and the writes applied since the
/// last flush may or may not be on disk, so the only state to continue from is what a fresh
/// open reads back.
pub struct SledStore {
    dir: PathBuf,
    trees: RwLock<Option<Arc<Trees>>>,
    head: AtomicU64,
    log_id: RwLock<[u8; 16]>,
    mark: std::sync::Mutex<MarkFile>,
}

/// How to open a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Open a store that has lost acknowledged data anyway, with the counters rebuilt from
    /// what is left and a new log id, so followers see a different log and rebuild.
    pub accept_data_loss: bool,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking the schema version and
    /// that the log head and the articles agree.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, OpenOptions::default())
    }

    /// Opens the store in `dir`, checking it against the durable mark: a store that holds
    /// less than was acknowledged is refused unless `options.accept_data_loss`.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let trees = Trees::open_sled(dir)?;
        let (head, log_id, mark) = trees.verify(dir, options.accept_data_loss)?;
        Ok(SledStore {
            dir: dir.to_path_buf(),
            trees: RwLock::new(Some(Arc::new(trees))),
            head: AtomicU64::new(head),
            log_id: RwLock::new(log_id),
            mark: std::sync::Mutex::new(mark),
        })
    }

    /// The log id as hex.
    pub fn log_id_hex(&self) -> String {
        self.log_id.read().map(|id| log_id_hex(&id)).unwrap_or_default()
    }

    fn trees(&self) -> Result<Arc<Trees>, StoreError> {
        self.trees
            .read()
            .map_err(|_| StoreError::Poisoned("store"))?
            .clone()
            .ok_or(StoreError::Closed)
    }

    /// Bytes the database occupies on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.trees().map_or(0, |t| t.db.size_on_disk().unwrap_or(0))
    }
}

impl Trees {
    fn open_sled(dir: &Path) -> Result<Self, StoreError> {
        let db = sectorwire_runtime::store::open_with(
            sectorwire_runtime::store::config(dir)
                // Our own flush before each ack is what makes writes durable;
                // the background flush only bounds loss for writes nobody
                // waits for.
                .flush_every_ms(Some(1000)),
            dir,
        )?;
        let trees = Trees {
            articles: db.open_tree("articles")?,
            keys: db.open_tree("keys")?,
            log: db.open_tree("log")?,
            meta: db.open_tree("meta")?,
            db,
        };
        trees.check_schema()?;
        Ok(trees)
    }

    /// Compares the store with the durable mark. Returns the head, the log id and the mark
    /// file to record further commits in. Refuses a store below its mark, with a different
    /// log id, or whose log and counters disagree, unless `accept_loss`: then the counters are
    /// rebuilt from what is there and a new log epoch starts.
    fn verify(&self, dir: &Path, accept_loss: bool) -> Result<(u64, [u8; 16], MarkFile), StoreError> {
        let recorded = read_u64(self.meta.get(META_HEAD)?.as_deref(), "meta head")?;
        let count = read_u64(self.meta.get(META_COUNT)?.as_deref(), "meta count")?;
        let last = self.check_last_event()?;
        let events = self.log.len() as u64;
        let stored_id: Option<[u8; 16]> = self
            .meta
            .get(META_LOG_ID)?
            .and_then(|v| v.as_ref().try_into().ok());
        let mark = MarkFile::read(dir);
        let mut problems = Vec::new();
        if last != recorded {
            problems.push(format!(
                "the log ends at {last} but the store's head says {recorded}"
            ));
        }
        if events != last {
            problems.push(format!(
                "the log holds {events} events, but its sequences run to {last}"
            ));
        }
        let mut generation = 0;
        match &mark {
            Err(e) => problems.push(e.to_string()),
            Ok(None) if stored_id.is_some() => problems.push(format!(
                "the durable-head record {} is missing",
                dir.join(super::durable::FILE_NAME).display()
            )),
            Ok(None) => {}
            Ok(Some((found_generation, mark))) => {
                generation = *found_generation;
                if stored_id != Some(mark.log_id) {
                    problems.push(format!(
                        "the store's log id {} is not the recorded {}",
                        stored_id
                            .as_ref()
                            .map_or_else(|| "(none)".to_string(), log_id_hex),
                        log_id_hex(&mark.log_id)
                    ));
                }
                if last < mark.head {
                    problems.push(format!(
                        "{} acknowledged change-log events are missing: the log ends at {last}, {} were durable",
                        mark.head - last,
                        mark.head
                    ));
                } else if last == mark.head && count != mark.count {
                    problems.push(format!(
                        "{count} articles are counted where {} were durable",
                        mark.count
                    ));
                }
            }
        }
        if !problems.is_empty() && !accept_loss {
            return Err(StoreError::DataLoss(format!(
                "{}. Options: restore this directory from a backup, or from a copy taken before the damage; \
                 or start from what is left with --accept-data-loss, which rebuilds the counters and begins a new \
                 log epoch (query replicas must then rebuild)",
                problems.join("; ")
            )));
        }
        let fresh = stored_id.is_none() || !problems.is_empty();
        if !problems.is_empty() {
            tracing::warn!(problems = %problems.join("; "), "accepting data loss: starting a new log epoch");
            let count = self.articles.len() as u64;
            self.meta.insert(META_HEAD, &last.to_be_bytes())?;
            self.meta.insert(META_COUNT, &count.to_be_bytes())?;
        }
        let (log_id, file) = match (fresh, &mark, stored_id) {
            (false, Ok(Some(_)), Some(id)) => (id, MarkFile::open(dir, generation)?),
            _ => {
                // A new store, one made before marks existed, or a new epoch.
                let id = new_log_id();
                self.meta.insert(META_LOG_ID, &id[..])?;
                self.db.flush()?;
                let count = read_u64(self.meta.get(META_COUNT)?.as_deref(), "meta count")?;
                let file = MarkFile::create(
                    dir,
                    &DurableMark {
                        log_id: id,
                        head: last,
                        count,
                    },
                )?;
                (id, file)
            }
        };
        Ok((last, log_id, file))
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

    /// The last log sequence; its event must decode.
    fn check_last_event(&self) -> Result<u64, StoreError> {
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
        Ok(last)
    }
}

/// Copies every entry of `from` into `to`, a batch at a time.
fn copy_tree(from: &sled::Tree, to: &sled::Tree) -> Result<(), StoreError> {
    const BATCH: usize = 1024;
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    for entry in from.iter() {
        let (key, value) = entry?;
        batch.insert(key, value);
        pending += 1;
        if pending == BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    to.apply_batch(batch)?;
    Ok(())
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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
        let trees = self.trees()?;
        let result = (&trees.articles, &trees.keys, &trees.log, &trees.meta).transaction(
            |(articles, keys, log, meta)| {
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
            },
        );
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
        let trees = self.trees()?;
        trees.db.flush()?;
        // Only the committer applies, and it flushes after each apply: the head is durable now.
        let mark = DurableMark {
            log_id: *self.log_id.read().map_err(|_| StoreError::Poisoned("log id"))?,
            head: self.head(),
            count: read_u64(trees.meta.get(META_COUNT)?.as_deref(), "meta count")?,
        };
        self.mark
            .lock()
            .map_err(|_| StoreError::Poisoned("durable mark"))?
            .record(&mark)
    }

    fn log_id(&self) -> String {
        self.log_id_hex()
    }

    fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.trees.write().map_err(|_| StoreError::Poisoned("store"))?;
        // Dropping the last handle releases sled's directory lock (after its background
        // threads stop; `open_sled` waits for that).
        drop(slot.take());
        let trees = Trees::open_sled(&self.dir)?;
        // What was acknowledged must still be there; a reopen never accepts loss.
        let (head, log_id, mark) = trees.verify(&self.dir, false)?;
        trees.meta.insert(META_PROBE, &now_nanos().to_be_bytes())?;
        trees.db.flush()?;
        self.head.store(head, Ordering::SeqCst);
        if let Ok(mut id) = self.log_id.write() {
            *id = log_id;
        }
        if let Ok(mut file) = self.mark.lock() {
            *file = mark;
        }
        *slot = Some(Arc::new(trees));
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Article>, StoreError> {
        match self.trees()?.articles.get(id.as_bytes())? {
            Some(bytes) => Ok(Some(decode_article(id, &bytes)?)),
            None => Ok(None),
        }
    }

    fn log_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        let start = after.saturating_add(1).to_be_bytes();
        let mut events = Vec::new();
        for entry in self.trees()?.log.range(start..).take(limit) {
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

    fn backup(&self, to: &Path) -> Result<BackupInfo, StoreError> {
        let in_use = match std::fs::read_dir(to) {
            Ok(mut entries) => entries.next().is_some(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(StoreError::BackupTarget(format!("{}: {e}", to.display()))),
        };
        if in_use {
            return Err(StoreError::BackupTarget(format!(
                "{} is not empty; a backup goes into a new directory",
                to.display()
            )));
        }
        let from = self.trees()?;
        let copy = Trees::open_sled(to)?;
        for (source, target) in [
            (&from.articles, &copy.articles),
            (&from.keys, &copy.keys),
            (&from.log, &copy.log),
            (&from.meta, &copy.meta),
        ] {
            copy_tree(source, target)?;
        }
        // Its own proof of work, not the source's.
        copy.meta.remove(META_PROBE)?;
        copy.db.flush()?;
        let log_id = *self.log_id.read().map_err(|_| StoreError::Poisoned("log id"))?;
        let head = read_u64(copy.meta.get(META_HEAD)?.as_deref(), "meta head")?;
        let articles = read_u64(copy.meta.get(META_COUNT)?.as_deref(), "meta count")?;
        MarkFile::create(
            to,
            &DurableMark {
                log_id,
                head,
                count: articles,
            },
        )?;
        Ok(BackupInfo {
            log_id: log_id_hex(&log_id),
            head,
            articles,
        })
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts {
            articles: read_u64(self.trees()?.meta.get(META_COUNT)?.as_deref(), "meta count")?,
            head: self.head(),
            disk_bytes: self.disk_bytes(),
        })
    }
}
