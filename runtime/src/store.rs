//! Opening sled stores. The ingest store and a query replica's copy hold the
//! same records, so both open sled with the same settings and the same
//! patience for a lock another handle is releasing.

use std::path::Path;
use std::time::{Duration, Instant};

/// Segment size of new stores. sled writes any page larger than a quarter
/// segment to a file of its own, and a leaf of a few dozen ~8 KB article
/// records passes a quarter of sled's 512 KiB default: with the default,
/// consolidating a full leaf created a blob file per rewrite.
const SEGMENT_SIZE: usize = 8 << 20;

/// How long [`open`] waits for a directory lock held by this process.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the directory lock.
    #[error("data directory {dir} is locked by another process (is another service using it?)")]
    Locked {
        /// The store's directory.
        dir: String,
        /// sled's report.
        #[source]
        source: std::io::Error,
    },
    /// sled could not open the store.
    #[error("cannot open the store in {dir}")]
    Sled {
        /// The store's directory.
        dir: String,
        /// sled's report.
        #[source]
        source: sled::Error,
    },
}

/// sled settings for a store of article records in `dir`.
pub fn config(dir: &Path) -> sled::Config {
    sled::Config::new().path(dir).segment_size(segment_size(dir))
}

/// The segment size to open `dir` with: what an existing store was created
/// with (sled refuses to open a store with another size, so stores made
/// before [`SEGMENT_SIZE`] keep theirs), else [`SEGMENT_SIZE`].
fn segment_size(dir: &Path) -> usize {
    // sled's `conf` is text lines followed by a binary CRC-32, hence the lossy decode.
    std::fs::read(dir.join("conf"))
        .ok()
        .and_then(|conf| {
            String::from_utf8_lossy(&conf)
                .lines()
                .find_map(|line| line.strip_prefix("segment_size:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(SEGMENT_SIZE)
}

/// Opens the store in `dir` (see [`config`]), waiting briefly while its
/// directory lock is held. sled releases the lock from a background thread
/// some milliseconds after the last handle is dropped, so an in-process
/// restart (tests, `sectorwire up` after a failed start) would otherwise fail
/// spuriously. A lock held by another process still fails, saying so.
pub fn open(dir: &Path) -> Result<sled::Db, OpenError> {
    open_with(config(dir), dir)
}

/// [`open`] with settings of the caller's, made from [`config`].
pub fn open_with(config: sled::Config, dir: &Path) -> Result<sled::Db, OpenError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            // sled reports the lock as an `Other` IO error with this text.
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.to_string().contains("could not acquire lock") =>
            {
                if Instant::now() >= deadline {
                    return Err(OpenError::Locked {
                        dir: dir.display().to_string(),
                        source: e,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(OpenError::Sled {
                    dir: dir.display().to_string(),
                    source,
                })
            }
        }
    }
}
