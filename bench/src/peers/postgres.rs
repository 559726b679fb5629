//! PostgreSQL as a peer: a temporary cluster from Debian's packages on
//! loopback, full-text search the way its documentation sets it up (a stored
//! weighted `tsvector` column with a GIN index, `ts_rank` + `ts_headline`),
//! durable commits (`synchronous_commit=on`, `fsync=on`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_postgres::{Client, NoTls, Statement};

use super::corpus::Doc;

/// Newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `postgres`
/// (Debian keeps them off `PATH`), else the directory of `postgres` on `PATH`.
pub fn find_bin() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    majors.sort();
    if let Some((_, bin)) = majors.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|p| p.join("postgres").exists() && p.join("initdb").exists())
    })
}

/// `postgres --version`, for the report.
pub fn version(bin: &Path) -> String {
    Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// PostgreSQL refuses to run as root: then the cluster runs as `nobody`.
fn run_as() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse::<u32>()
        .ok()?;
    if uid != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("nobody:"))?;
    let mut fields = line.split(':').skip(2);
    let uid = fields.next()?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some((uid, gid))
}

/// A running temporary cluster; stopped (fast shutdown) and deleted on drop.
pub struct Cluster {
    child: Child,
    pub port: u16,
    /// Deleted after the server stopped (fields drop after `drop`).
    _dir: tempfile::TempDir,
}

const USER: &str = "bench";

impl Cluster {
    /// `initdb` into a temp dir, then `postgres` on 127.0.0.1 and a free port.
    pub async fn start(bin: &Path) -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("sectorwire-peers-pg").tempdir()?;
        let owner = run_as();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("giving the cluster's directory to nobody")?;
        }
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .env("LC_ALL", "C")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_owner(&mut initdb, owner);
        let out = initdb.output().context("running initdb")?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last = None;
        for _ in 0..5 {
            let port = free_port()?;
            let log = std::fs::File::create(dir.path().join("postgres.log"))?;
            let mut postgres = Command::new(bin.join("postgres"));
            postgres.arg("-D").arg(&data);
            for setting in [
                "listen_addresses=127.0.0.1".to_string(),
                format!("port={port}"),
                "unix_socket_directories=".to_string(),
                "synchronous_commit=on".to_string(),
                "fsync=on".to_string(),
                "full_page_writes=on".to_string(),
                "max_connections=50".to_string(),
            ] {
                postgres.arg("-c").arg(setting);
            }
            postgres
                .env("LC_ALL", "C")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            as_owner(&mut postgres, owner);
            let mut child = postgres.spawn().context("starting postgres")?;
            match wait_ready(&mut child, port, &dir.path().join("postgres.log")).await {
                Ok(()) => {
                    return Ok(Cluster {
                        child,
                        port,
                        _dir: dir,
                    })
                }
                Err(e) => {
                    stop(&mut child);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("postgres did not start")))
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Waits until the server accepts a connection, or fails with its log's tail.
async fn wait_ready(child: &mut Child, port: u16, log: &Path) -> anyhow::Result<()> {
    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("postgres exited with {status}: {}", tail());
        }
        if connect(port).await.is_ok() {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "postgres not ready after 60 s: {}",
            tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fast shutdown (SIGINT), then SIGKILL if it takes over 10 s.
fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn as_owner(command: &mut Command, owner: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One connection; its driver task runs until the client is dropped.
pub async fn connect(port: u16) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={USER} dbname=postgres connect_timeout=5"),
        NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The table as PostgreSQL's documentation recommends for ranked search: a
/// stored weighted `tsvector` (title A, body B: `ts_rank` weighs A 2.5× B,
/// as sectorwire boosts titles) and a GIN index over it.
const SCHEMA: &str = "
DROP TABLE IF EXISTS articles;
CREATE TABLE articles (
    id text PRIMARY KEY,
    title text NOT NULL,
    body text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED
);
CREATE INDEX articles_tsv ON articles USING gin (tsv);
";

/// Drops and recreates the table.
pub async fn reset(port: u16) -> anyhow::Result<()> {
    let client = connect(port).await?;
    client.batch_execute(SCHEMA).await?;
    client.batch_execute("CHECKPOINT").await?;
    Ok(())
}

/// Loads `docs` through `clients` connections, each committing `batch` rows
/// per statement (one transaction, durable on return). Returns the time from
/// the first row sent to the last commit acknowledged.
pub async fn load(port: u16, docs: &[Doc], clients: usize, batch: usize) -> anyhow::Result<Duration> {
    let parts = super::partition(docs, clients);
    let mut conns = Vec::new();
    for _ in 0..parts.len() {
        let client = connect(port).await?;
        let insert = client
            .prepare(
                "INSERT INTO articles (id, title, body) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])",
            )
            .await?;
        conns.push((client, insert));
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for ((client, insert), part) in conns.into_iter().zip(parts) {
        let batch = batch.max(1);
        tasks.push(tokio::spawn(async move {
            for chunk in part.chunks(batch) {
                let ids: Vec<&str> = chunk.iter().map(|d| d.id.as_str()).collect();
                let titles: Vec<&str> = chunk.iter().map(|d| d.title.as_str()).collect();
                let bodies: Vec<&str> = chunk.iter().map(|d| d.body.as_str()).collect();
                client.execute(&insert, &[&ids, &titles, &bodies]).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed())
}

/// Bytes of the table with its TOAST data and indexes (primary key, GIN).
pub async fn table_bytes(port: u16) -> anyhow::Result<u64> {
    let client = connect(port).await?;
    let row = client
        .query_one("SELECT pg_total_relation_size('articles')::bigint", &[])
        .await?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

/// Top 10 by `ts_rank`, with a `ts_headline` excerpt of each hit's body
/// (computed for the 10 hits only).
const SEARCH: &str = "
SELECT id, title, ts_headline('english', body, q, 'MaxWords=35, MinWords=15, MaxFragments=1') AS headline
FROM (SELECT id, title, body, q, ts_rank(tsv, q) AS rank
      FROM articles, plainto_tsquery('english', $1) AS q
      WHERE tsv @@ q
      ORDER BY rank DESC
      LIMIT 10) AS top
ORDER BY rank DESC";

const GET: &str = "SELECT id, title, body FROM articles WHERE id = $1";

/// A pool of connections with the search and lookup statements prepared.
#[derive(Clone)]
pub struct Pool(Arc<Vec<(Client, Statement, Statement)>>);

impl Pool {
    pub async fn open(port: u16, size: usize) -> anyhow::Result<Pool> {
        let mut conns = Vec::new();
        for _ in 0..size.max(1) {
            let client = connect(port).await?;
            let search = client.prepare(SEARCH).await?;
            let get = client.prepare(GET).await?;
            conns.push((client, search, get));
        }
        Ok(Pool(Arc::new(conns)))
    }

    /// Ranked search: the hits' count.
    pub async fn search(&self, i: u64, query: &str) -> anyhow::Result<usize> {
        let (client, search, _) = &self.0[i as usize % self.0.len()];
        Ok(client.query(search, &[&query]).await?.len())
    }

    /// Primary-key lookup: whether the row was found.
    pub async fn get(&self, i: u64, id: &str) -> anyhow::Result<bool> {
        let (client, _, get) = &self.0[i as usize % self.0.len()];
        Ok(client.query_opt(get, &[&id]).await?.is_some())
    }
}
