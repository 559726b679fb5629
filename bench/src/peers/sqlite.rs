//! SQLite FTS5 as a peer: the library bundled by `rusqlite` (FTS5 compiled
//! in), WAL with `synchronous=FULL` (every commit fsyncs the log), an
//! external-content FTS5 table over the articles table (the text is stored
//! once), `bm25` ranking and `snippet` excerpts. It runs inside the bench
//! process: that is how an embedded database is used.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::{params, Connection, TransactionBehavior};

use super::corpus::Doc;

const SCHEMA: &str = "
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content='articles', content_rowid='rowid', tokenize='porter unicode61'
);
";

/// A database file in its own temp dir, deleted on drop.
pub struct Db {
    path: PathBuf,
    dir: tempfile::TempDir,
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(60))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// The bundled SQLite's version, for the report.
pub fn version() -> &'static str {
    rusqlite::version()
}

impl Db {
    pub fn create() -> anyhow::Result<Db> {
        let dir = tempfile::Builder::new()
            .prefix("sectorwire-peers-sqlite")
            .tempdir()?;
        let path = dir.path().join("articles.db");
        open(&path)?
            .execute_batch(SCHEMA)
            .context("creating the SQLite schema")?;
        Ok(Db { path, dir })
    }

    /// Loads `docs` from `clients` threads, each with its own connection and
    /// `batch` articles per transaction (SQLite has one writer at a time:
    /// the others wait on its lock). Returns the time to the last commit.
    pub fn load(&self, docs: &[Doc], clients: usize, batch: usize) -> anyhow::Result<Duration> {
        let parts = super::partition(docs, clients);
        let mut conns = Vec::new();
        for _ in 0..parts.len() {
            conns.push(open(&self.path)?);
        }
        let start = Instant::now();
        std::thread::scope(|scope| {
            let handles: Vec<_> = conns
                .into_iter()
                .zip(parts)
                .map(|(mut conn, part)| {
                    scope.spawn(move || -> rusqlite::Result<()> {
                        for chunk in part.chunks(batch.max(1)) {
                            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                            {
                                let mut article = tx.prepare_cached(
                                    "INSERT INTO articles (id, title, body) VALUES (?1, ?2, ?3)",
                                )?;
                                let mut fts = tx.prepare_cached(
                                    "INSERT INTO articles_fts (rowid, title, body) VALUES (?1, ?2, ?3)",
                                )?;
                                for d in chunk {
                                    article.execute(params![d.id, d.title, d.body])?;
                                    let rowid = tx.last_insert_rowid();
                                    fts.execute(params![rowid, d.title, d.body])?;
                                }
                            }
                            tx.commit()?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a SQLite loader panicked"))?
                    .context("loading SQLite")?;
            }
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(start.elapsed())
    }

    /// Bytes of the database after checkpointing the WAL into it.
    pub fn disk_bytes(&self) -> anyhow::Result<u64> {
        let conn = open(&self.path)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        Ok(super::footprint::dir_bytes(self.dir.path()))
    }

    /// `size` read connections for concurrent queries.
    pub fn pool(&self, size: usize) -> anyhow::Result<Pool> {
        let mut conns = Vec::new();
        for _ in 0..size.max(1) {
            conns.push(open(&self.path)?);
        }
        Ok(Pool {
            permits: Arc::new(tokio::sync::Semaphore::new(conns.len())),
            conns: Arc::new(Mutex::new(conns)),
        })
    }
}

/// Top 10 by `bm25` (title weighted 2.5× body, as sectorwire boosts titles)
/// with a `snippet` of each hit's body.
const SEARCH: &str = "
SELECT a.id, a.title, snippet(articles_fts, 1, '<b>', '</b>', '…', 24)
FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid
WHERE articles_fts MATCH ?1
ORDER BY bm25(articles_fts, 2.5, 1.0)
LIMIT 10";

const GET: &str = "SELECT id, title, body FROM articles WHERE id = ?1";

/// Read connections behind a semaphore: each query takes one on the blocking
/// thread pool, so at most `size` run at once and the rest wait their turn.
#[derive(Clone)]
pub struct Pool {
    permits: Arc<tokio::sync::Semaphore>,
    conns: Arc<Mutex<Vec<Connection>>>,
}

impl Pool {
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = self.permits.clone().acquire_owned().await?;
        let conns = self.conns.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conns
                .lock()
                .map_err(|_| anyhow::anyhow!("pool poisoned"))?
                .pop()
                .context("no free connection")?;
            let result = f(&conn);
            if let Ok(mut c) = conns.lock() {
                c.push(conn);
            }
            drop(permit);
            Ok(result?)
        })
        .await?
    }

    /// Ranked search (words ANDed, each quoted): the hits' count.
    pub async fn search(&self, query: &str) -> anyhow::Result<usize> {
        let expr: Vec<String> = query.split_whitespace().map(|w| format!("\"{w}\"")).collect();
        let expr = expr.join(" ");
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(SEARCH)?;
            let rows = stmt.query_map([expr], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut n = 0;
            for row in rows {
                row?;
                n += 1;
            }
            Ok(n)
        })
        .await
    }

    /// Primary-key lookup: whether the row was found.
    pub async fn get(&self, id: String) -> anyhow::Result<bool> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(GET)?;
            let mut rows = stmt.query([id])?;
            Ok(match rows.next()? {
                Some(r) => {
                    let _: (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    true
                }
                None => false,
            })
        })
        .await
    }
}
