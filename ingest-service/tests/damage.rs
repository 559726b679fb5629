//! Damaged stores are refused, never opened with acknowledged articles missing. Issue 13:
//! truncating sled's file, zeroing a 4 KiB page or flipping bytes in the middle made the
//! service start normally with up to 2,996 of 3,000 acknowledged articles gone, and reuse
//! their sequence numbers. Each damage below is applied to the real sled files of a store
//! whose writes were all acknowledged (flushed).

use std::fs::OpenOptions as FsOpen;
use std::os::unix::fs::FileExt;
use std::path::Path;

use sectorwire_ingest::store::{EncodedArticle, OpenOptions, SledStore, Store, StoreError, WriteOp};
use sectorwire_proto::article::Article;

const ARTICLES: u64 = 600;

/// A store of `ARTICLES` acknowledged articles (applied and flushed in batches, as the
/// committer does), closed. Returns its log id.
fn build(dir: &Path) -> String {
    let store = SledStore::open(dir).expect("open");
    for batch in 0..ARTICLES / 50 {
        let ops: Vec<WriteOp> = (0..50)
            .map(|i| {
                let n = batch * 50 + i;
                WriteOp::Upsert {
                    key: format!("source:{n}"),
                    article: EncodedArticle::new(Article {
                        id: format!("a{n}"),
                        title: format!("Article {n}"),
                        body: format!("Body of article {n}. ").repeat(40),
                        content_hash: format!("h{n}"),
                        ..Default::default()
                    }),
                }
            })
            .collect();
        store.apply(&ops, 1_700_000_000).expect("apply");
        store.flush().expect("flush");
    }
    assert_eq!(store.head(), ARTICLES);
    store.log_id()
}

/// Opening after `damage` either fails, or (when sled's own checks did not notice and
/// nothing was lost) yields the whole store. Never a store with fewer articles.
fn assert_never_silently_short(name: &str, damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let old_id = build(dir.path());
    damage(&dir.path().join("db"));
    match SledStore::open(dir.path()) {
        Err(StoreError::DataLoss(message)) => {
            eprintln!("{name}: refused: {message}");
            assert!(message.contains("--accept-data-loss"), "{name}: {message}");
            // The explicit override opens what is left under a new log id.
            if let Ok(store) = SledStore::open_with(
                dir.path(),
                OpenOptions {
                    accept_data_loss: true,
                },
            ) {
                assert_ne!(store.log_id(), old_id, "{name}: a new epoch after accepted loss");
                let head = store.head();
                store.flush().expect("flush");
                drop(store);
                let again = SledStore::open(dir.path()).expect("the new epoch opens without the flag");
                assert_eq!(again.head(), head, "{name}");
            }
        }
        Err(other) => eprintln!("{name}: refused by sled's own checks: {other}"),
        Ok(store) => {
            let complete = store.head() == ARTICLES
                && (0..ARTICLES).all(|n| matches!(store.get(&format!("a{n}")), Ok(Some(_))));
            assert!(
                complete,
                "{name}: opened silently with head {} of {ARTICLES}",
                store.head()
            );
            eprintln!("{name}: sled read everything back despite the damage");
        }
    }
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

#[test]
fn a_truncated_store_is_refused() {
    assert_never_silently_short("truncate", |db| {
        let file = FsOpen::new().write(true).open(db).expect("open db");
        file.set_len(len(db) / 2).expect("truncate");
    });
}

#[test]
fn a_store_with_a_zeroed_page_is_refused() {
    assert_never_silently_short("zero 4 KiB", |db| {
        let file = FsOpen::new().write(true).open(db).expect("open db");
        let at = (len(db) / 2) & !4095;
        file.write_all_at(&[0u8; 4096], at).expect("zero");
    });
}

#[test]
fn a_store_with_flipped_bytes_is_refused() {
    assert_never_silently_short("flip 64 bytes", |db| {
        let file = FsOpen::new().read(true).write(true).open(db).expect("open db");
        let at = len(db) / 2;
        let mut bytes = [0u8; 64];
        file.read_exact_at(&mut bytes, at).expect("read");
        for b in &mut bytes {
            *b = !*b;
        }
        file.write_all_at(&bytes, at).expect("flip");
    });
}

#[test]
fn a_store_with_scattered_damage_is_refused() {
    assert_never_silently_short("xor 200 bytes", |db| {
        let file = FsOpen::new().read(true).write(true).open(db).expect("open db");
        let size = len(db);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = x % size;
            let mut b = [0u8; 1];
            file.read_exact_at(&mut b, at).expect("read");
            b[0] ^= (x >> 32) as u8 | 1;
            file.write_all_at(&b, at).expect("write");
        }
    });
}

#[test]
fn a_missing_durable_record_is_refused() {
    assert_never_silently_short("delete the durable record", |db| {
        let dir = db.parent().expect("dir");
        std::fs::remove_file(dir.join(sectorwire_ingest::store::durable::FILE_NAME)).expect("remove");
    });
}
