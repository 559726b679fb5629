//! The durable mark: an fsynced record of the log's identity, head and article count,
//! kept in a small file beside sled's own files and rewritten after every group commit.
//!
//! sled recovers from a damaged file by keeping what it can read and dropping the rest, and
//! then opens normally: a truncated or partly overwritten store used to start with
//! acknowledged articles missing and hand their sequence numbers out again. With the mark,
//! opening compares what sled read back against what was acknowledged, from a file sled
//! never writes.
//!
//! The file holds two 64-byte slots written alternately, each with a generation and a
//! checksum, so a write torn by a crash leaves the other slot intact. One `fdatasync` per
//! group commit, after sled's own flush: a crash between the two leaves the mark behind the
//! store, never ahead of it.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::StoreError;

/// Name of the mark file inside the data directory.
pub const FILE_NAME: &str = "sectorwire-durable";

const SLOT: usize = 64;
const MAGIC: &[u8; 4] = b"SWD1";
/// Bytes of a slot covered by its checksum.
const BODY: usize = 4 + 8 + 8 + 8 + 16;

/// What was durable at the last group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurableMark {
    /// Identity of the log (its epoch): new for every store and after accepted data loss.
    pub log_id: [u8; 16],
    /// Newest durable log sequence.
    pub head: u64,
    /// Live articles at that sequence.
    pub count: u64,
}

/// The open mark file.
pub struct MarkFile {
    file: File,
    generation: u64,
}

fn encode(mark: &DurableMark, generation: u64) -> [u8; SLOT] {
    let mut slot = [0u8; SLOT];
    slot[..4].copy_from_slice(MAGIC);
    slot[4..12].copy_from_slice(&generation.to_be_bytes());
    slot[12..20].copy_from_slice(&mark.head.to_be_bytes());
    slot[20..28].copy_from_slice(&mark.count.to_be_bytes());
    slot[28..44].copy_from_slice(&mark.log_id);
    let check = blake3::hash(&slot[..BODY]);
    slot[BODY..BODY + 8].copy_from_slice(&check.as_bytes()[..8]);
    slot
}

fn decode(slot: &[u8]) -> Option<(u64, DurableMark)> {
    let word = |r: std::ops::Range<usize>| {
        slot.get(r)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    };
    if slot.len() < BODY + 8
        || &slot[..4] != MAGIC
        || slot[BODY..BODY + 8] != blake3::hash(&slot[..BODY]).as_bytes()[..8]
    {
        return None;
    }
    let mut log_id = [0u8; 16];
    log_id.copy_from_slice(&slot[28..44]);
    Some((
        word(4..12)?,
        DurableMark {
            log_id,
            head: word(12..20)?,
            count: word(20..28)?,
        },
    ))
}

impl MarkFile {
    /// The newest valid mark in `dir`: `Ok(None)` when there is no mark file, an error when
    /// there is one and neither slot is valid.
    pub fn read(dir: &Path) -> Result<Option<(u64, DurableMark)>, StoreError> {
        let mut bytes = Vec::new();
        match File::open(dir.join(FILE_NAME)) {
            Ok(mut file) => file.read_to_end(&mut bytes).map_err(io)?,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let newest = bytes
            .chunks(SLOT)
            .filter_map(decode)
            .max_by_key(|(generation, _)| *generation);
        match newest {
            Some(found) => Ok(Some(found)),
            None => Err(StoreError::DataLoss(format!(
                "the durable-head record {} is damaged ({} bytes, no valid slot)",
                dir.join(FILE_NAME).display(),
                bytes.len()
            ))),
        }
    }

    /// Creates (or replaces) the mark file in `dir` with `mark`, durably.
    pub fn create(dir: &Path, mark: &DurableMark) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let mut both = encode(mark, 1).to_vec();
        both.extend_from_slice(&encode(mark, 0));
        file.write_all_at(&both, 0).map_err(io)?;
        file.sync_all().map_err(io)?;
        // The new directory entry must be durable too.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(MarkFile { file, generation: 1 })
    }

    /// Opens the existing mark file for further records after `generation`.
    pub fn open(dir: &Path, generation: u64) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(FILE_NAME))
            .map_err(io)?;
        Ok(MarkFile { file, generation })
    }

    /// Records `mark` durably, overwriting the older slot.
    pub fn record(&mut self, mark: &DurableMark) -> Result<(), StoreError> {
        let generation = self.generation + 1;
        let offset = (generation % 2) * SLOT as u64;
        self.file
            .write_all_at(&encode(mark, generation), offset)
            .map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.generation = generation;
        Ok(())
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: "durable-head record",
        source: e,
    }
}

/// A fresh log id: 128 bits from the clock, the process and the standard library's
/// per-process random hash keys, through BLAKE3.
pub fn new_log_id() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut input = Vec::with_capacity(32);
    input.extend_from_slice(&nanos.to_be_bytes());
    input.extend_from_slice(&hasher.finish().to_be_bytes());
    input.extend_from_slice(&std::process::id().to_be_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&blake3::hash(&input).as_bytes()[..16]);
    id
}

/// Lower-case hex of a log id.
pub fn log_id_hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(head: u64) -> DurableMark {
        DurableMark {
            log_id: [7; 16],
            head,
            count: head / 2,
        }
    }

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_slot_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(MarkFile::read(dir.path()).expect("read").is_none());
        let mut file = MarkFile::create(dir.path(), &mark(0)).expect("create");
        file.record(&mark(5)).expect("record");
        file.record(&mark(9)).expect("record");
        assert_eq!(
            MarkFile::read(dir.path()).expect("read").map(|m| m.1),
            Some(mark(9))
        );
        // Tear the newest slot: the previous mark is read back.
        let raw = OpenOptions::new()
            .write(true)
            .open(dir.path().join(FILE_NAME))
            .expect("open");
        raw.write_all_at(&[0xff; 8], (SLOT + 12) as u64).expect("tear");
        assert_eq!(
            MarkFile::read(dir.path()).expect("read").map(|m| m.1),
            Some(mark(5))
        );
        // Both torn: a clear error, not a fresh start.
        raw.write_all_at(&[0xff; 8], 12).expect("tear");
        assert!(matches!(MarkFile::read(dir.path()), Err(StoreError::DataLoss(_))));
    }

    #[test]
    fn log_ids_differ() {
        assert_ne!(new_log_id(), new_log_id());
    }
}
