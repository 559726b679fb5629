//! The read model: article records in this replica's own sled database plus
//! the tantivy index, kept in step by [`ReadModel::apply`].
//!
//! Crash consistency: a batch is written to tantivy (commit payload = last
//! sequence) and then to sled (records + `applied` in one atomic
//! transaction). On open the replica resumes from the lower of the two
//! positions; applying an event twice is harmless (upserts replace, deletes
//! of missing ids are no-ops), so index and records never disagree.
//!
//! Log identity: the model records the id of the change log it was built
//! from (`log_id` in `meta`, written before the first event of that log is
//! applied) and, when that log was seen rewound below the applied sequence,
//! that it diverged. A rebuild for a new log ([`ReadModel::rebuild`]) first
//! records its intent (`rebuild` in `meta`, flushed), then empties the
//! index and the records and starts over at sequence 0 under the new id; an
//! interrupted rebuild is finished on open, so a crash never leaves old
//! records under the new log's id.
//!
//! sled is not flushed per batch: the change log is the system of record, so
//! a batch sled loses in a crash (it flushes every 500 ms, and on close) is
//! simply applied again from the feed. A second fsync per batch would only
//! add to the time an article takes to become visible.

use std::path::Path;
use std::sync::Mutex;

use prost::Message;
use sectorwire_proto::article::{Article, ChangeEvent, ChangeKind};
use sectorwire_proto::feed::RawChangeEvent;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use tantivy::IndexWriter;
use tokio::sync::watch;

use crate::index::{IndexError, SearchIndex};

const META_APPLIED: &[u8] = b"applied";
/// Id of the change log the model was built from.
const META_LOG_ID: &[u8] = b"log_id";
/// Id of a log seen rewound below the applied sequence: never followed again.
const META_DIVERGED: &[u8] = b"diverged";
/// Id of the log a rebuild started for; present only while the rebuild runs.
const META_REBUILD: &[u8] = b"rebuild";
/// The last event applied, without its article: on resume the follower asks
/// for it again and compares, which tells a log rewritten after a rewind
/// (same id, head grown past the model again) from the one it applied.
const META_LAST_EVENT: &[u8] = b"last_event";

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
        let model = ReadModel {
            db,
            articles,
            meta,
            index,
            writer: Mutex::new(writer),
            applied,
        };
        if let Some(log_id) = model.meta_text(META_REBUILD)? {
            tracing::warn!(%log_id, "finishing a rebuild of the read model interrupted by a stop");
            model.finish_rebuild(&log_id)?;
        }
        Ok(model)
    }

    fn meta_text(&self, key: &[u8]) -> Result<Option<String>, ModelError> {
        Ok(self
            .meta
            .get(key)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Id of the change log this model was built from (`None` for a model
    /// that has not followed any log yet, or was made before log ids).
    pub fn log_id(&self) -> Result<Option<String>, ModelError> {
        self.meta_text(META_LOG_ID)
    }

    /// Id of a log this model saw rewound below its applied sequence.
    pub fn diverged(&self) -> Result<Option<String>, ModelError> {
        self.meta_text(META_DIVERGED)
    }

    /// The last event applied (sequence, kind, article id, recording time;
    /// no article), if the model recorded one.
    pub fn last_event(&self) -> Result<Option<ChangeEvent>, ModelError> {
        match self.meta.get(META_LAST_EVENT)? {
            Some(bytes) => ChangeEvent::decode(bytes.as_ref())
                .map(Some)
                .map_err(|e| ModelError::Corrupt(format!("last applied event: {e}"))),
            None => Ok(None),
        }
    }

    /// Records `log_id` as the log this model follows, durably, before any
    /// of its events are applied.
    pub fn adopt_log(&self, log_id: &str) -> Result<(), ModelError> {
        self.meta.insert(META_LOG_ID, log_id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Records, durably, that `log_id` went back below what this model
    /// applied: its later events need not continue what the model holds.
    pub fn mark_diverged(&self, log_id: &str) -> Result<(), ModelError> {
        self.meta.insert(META_DIVERGED, log_id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Empties the model and starts it over at sequence 0 of log `log_id`.
    /// The intent is flushed first, so a stop in the middle is finished on
    /// the next open instead of leaving old records under the new id.
    pub fn rebuild(&self, log_id: &str) -> Result<(), ModelError> {
        self.meta.insert(META_REBUILD, log_id.as_bytes())?;
        self.db.flush()?;
        self.finish_rebuild(log_id)
    }

    fn finish_rebuild(&self, log_id: &str) -> Result<(), ModelError> {
        {
            let mut writer = self.writer.lock().map_err(|_| ModelError::WriterPoisoned)?;
            writer
                .delete_all_documents()
                .map_err(|e| ModelError::Index(e.into()))?;
            self.index.commit(&mut writer, 0)?;
        }
        self.articles.clear()?;
        let mut batch = sled::Batch::default();
        batch.insert(META_APPLIED, &0u64.to_be_bytes());
        batch.insert(META_LOG_ID, log_id.as_bytes());
        batch.remove(META_DIVERGED);
        batch.remove(META_REBUILD);
        batch.remove(META_LAST_EVENT);
        self.meta.apply_batch(batch)?;
        self.db.flush()?;
        self.applied.send_replace(0);
        Ok(())
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

    /// Applies a batch of consecutive events (see [`ReadModel::apply_raw`]).
    pub fn apply(&self, events: &[ChangeEvent]) -> Result<u64, ModelError> {
        let raw: Vec<RawChangeEvent> = events.iter().map(RawChangeEvent::from).collect();
        self.apply_raw(&raw)
    }

    /// Applies a batch of consecutive events, atomically per store and
    /// durably, then publishes the new applied sequence. Events at or below
    /// the applied sequence are skipped. Each article is stored in the bytes
    /// it arrived in and decoded once, for the index.
    pub fn apply_raw(&self, events: &[RawChangeEvent]) -> Result<u64, ModelError> {
        let from = self.applied();
        let fresh: Vec<&RawChangeEvent> = events.iter().filter(|e| e.sequence > from).collect();
        let Some(last_event) = fresh.last() else {
            return Ok(from);
        };
        let last = last_event.sequence;
        let fingerprint = ChangeEvent {
            superseded: false,
            ..last_event.header()
        }
        .encode_to_vec();
        let started = std::time::Instant::now();
        // Per fresh event, the id an upsert stores its record under (the
        // record's own id, as the index keys it).
        let mut upsert_ids: Vec<Option<String>> = Vec::with_capacity(fresh.len());
        {
            let mut writer = self.writer.lock().map_err(|_| ModelError::WriterPoisoned)?;
            for event in &fresh {
                let mut id = None;
                match ChangeKind::try_from(event.kind) {
                    Ok(ChangeKind::Upsert) if !event.superseded => {
                        let decoded = event
                            .decode_article()
                            .map_err(|e| ModelError::Corrupt(format!("event {}: {e}", event.sequence)))?;
                        if let Some(article) = decoded {
                            self.index.stage_upsert(&writer, &article)?;
                            id = Some(article.id);
                        }
                    }
                    Ok(ChangeKind::Delete) => self.index.stage_delete(&writer, &event.article_id),
                    _ => {}
                }
                upsert_ids.push(id);
            }
            self.index.commit(&mut writer, last)?;
        }
        let result = (&self.articles, &self.meta).transaction(|(articles, meta)| {
            for (event, id) in fresh.iter().zip(&upsert_ids) {
                match (ChangeKind::try_from(event.kind), id, &event.article) {
                    (Ok(ChangeKind::Upsert), Some(id), Some(bytes)) => {
                        articles.insert(id.as_bytes(), bytes.as_ref())?;
                    }
                    (Ok(ChangeKind::Delete), _, _) => {
                        articles.remove(event.article_id.as_bytes())?;
                    }
                    _ => {}
                }
            }
            meta.insert(META_APPLIED, &last.to_be_bytes())?;
            meta.insert(META_LAST_EVENT, fingerprint.as_slice())?;
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
