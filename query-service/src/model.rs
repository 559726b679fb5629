//! The read model: article records in this replica's own sled database plus
//! the tantivy index, kept in step by [`ReadModel::apply`].
//!
//! Crash consistency: a batch is written to tantivy (commit payload = last
//! sequence) and then to sled (records + `applied` in one atomic
//! transaction). On open the replica resumes from the lower of the two
//! positions; applying an event twice is harmless (upserts replace, deletes
//! of missing ids are no-ops), so index and records never disagree.
//!
//! sled is not flushed per batch: the change log is the system of record, so
//! a batch sled loses in a crash (it flushes every 500 ms, and on close) is
//! simply applied again from the feed. A second fsync per batch would only
//! add to the time an article takes to become visible.

use std::path::Path;
use std::sync::Mutex;

use prost::Message;
use sectorwire_proto::article::{Article, ChangeEvent, ChangeKind};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use tantivy::IndexWriter;
use tokio::sync::watch;

use crate::index::{IndexError, SearchIndex};

const META_APPLIED: &[u8] = b"applied";

/// Errors of the read model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// sled failed.
    #[error("read model store: {0}")]
    Sled(#[from] sled::Error),
    /// tantivy failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A stored record does not decode.
    #[error("corrupt read-model record {0}")]
    Corrupt(String),
    /// The records database could not be opened (e.g. locked by another
    /// replica using the same directory).
    #[error("read model records: {0}")]
    Locked(String),
    /// The writer lock was poisoned by a panic elsewhere.
    #[error("index writer unavailable")]
    WriterPoisoned,
}

/// Records + index of one query replica.
pub struct ReadModel {
    db: sled::Db,
    articles: sled::Tree,
    meta: sled::Tree,
    index: SearchIndex,
    writer: Mutex<IndexWriter>,
    applied: watch::Sender<u64>,
}

impl ReadModel {
    /// Opens the model under `dir` (`records/` for sled, `index/` for tantivy).
    pub fn open(dir: &Path) -> Result<Self, ModelError> {
        let records = dir.join("records");
        let db = sectorwire_runtime::store::open(&records).map_err(|e| ModelError::Locked(e.to_string()))?;
        let articles = db.open_tree("articles")?;
        let meta = db.open_tree("meta")?;
        let index = SearchIndex::open(&dir.join("index"))?;
        let writer = index.writer()?;
        let recorded = meta
            .get(META_APPLIED)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        let resume = recorded.min(index.committed_sequence()?);
        let (applied, _) = watch::channel(resume);
        Ok(ReadModel {
            db,
            articles,
            meta,
            index,
            writer: Mutex::new(writer),
            applied,
        })
    }

    /// Last sequence applied to both records and index.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Changes of the applied sequence (for read-your-writes waits and watch
    /// streams).
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Makes every applied batch durable in sled (on shutdown: batches are
    /// not flushed one by one, see the module notes).
    pub fn flush(&self) -> Result<(), ModelError> {
        self.db.flush()?;
        Ok(())
    }

    /// The search index (read side).
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// One record.
    pub fn get(&self, id: &str) -> Result<Option<Article>, ModelError> {
        match self.articles.get(id.as_bytes())? {
            Some(bytes) => Article::decode(bytes.as_ref())
                .map(Some)
                .map_err(|e| ModelError::Corrupt(format!("{id}: {e}"))),
            None => Ok(None),
        }
    }

    /// Applies a batch of consecutive events, atomically per store and
    /// durably, then publishes the new applied sequence. Events at or below
    /// the applied sequence are skipped.
    pub fn apply(&self, events: &[ChangeEvent]) -> Result<u64, ModelError> {
        let from = self.applied();
        let fresh: Vec<&ChangeEvent> = events.iter().filter(|e| e.sequence > from).collect();
        let Some(last) = fresh.last().map(|e| e.sequence) else {
            return Ok(from);
        };
        let started = std::time::Instant::now();
        {
            let mut writer = self.writer.lock().map_err(|_| ModelError::WriterPoisoned)?;
            for event in &fresh {
                match (ChangeKind::try_from(event.kind), &event.article) {
                    (Ok(ChangeKind::Upsert), Some(article)) if !event.superseded => {
                        self.index.stage_upsert(&writer, article)?;
                    }
                    (Ok(ChangeKind::Delete), _) => self.index.stage_delete(&writer, &event.article_id),
                    _ => {}
                }
            }
            self.index.commit(&mut writer, last)?;
        }
        let result = (&self.articles, &self.meta).transaction(|(articles, meta)| {
            for event in &fresh {
                match (ChangeKind::try_from(event.kind), &event.article) {
                    (Ok(ChangeKind::Upsert), Some(article)) if !event.superseded => {
                        articles.insert(article.id.as_bytes(), article.encode_to_vec())?;
                    }
                    (Ok(ChangeKind::Delete), _) => {
                        articles.remove(event.article_id.as_bytes())?;
                    }
                    _ => {}
                }
            }
            meta.insert(META_APPLIED, &last.to_be_bytes())?;
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(())) => {
                return Err(ModelError::Corrupt("transaction aborted".into()))
            }
        }
        self.applied.send_replace(last);
        crate::telemetry::applied(fresh.len(), started.elapsed());
        Ok(last)
    }

    /// Articles in the model.
    pub fn len(&self) -> u64 {
        self.index.num_docs()
    }

    /// Whether the model holds no article.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
