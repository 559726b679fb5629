//! Real news pages stay far inside the parser's per-article work budget
//! (`parse::work`), so the budget only ever refuses markup built to be slow.
//! Reads the article-extraction pages in ../shared (skips without them,
//! fails under CI=true).

mod common;

use std::io::Read;

use sectorwire_article::parse::{parse, work, ContentType, Hints};

/// A quarter of the budget's per-byte rate: real pages must leave a wide margin.
const MAX_REAL_UNITS_PER_BYTE: f64 = work::UNITS_PER_BYTE as f64 / 4.0;

#[test]
fn real_pages_cost_a_fraction_of_the_work_budget() {
    let Some(dir) = common::shared("corpora/article-extraction/html") else {
        return;
    };
    let mut pages = 0;
    let mut worst = (0.0f64, String::new());
    for entry in std::fs::read_dir(&dir).expect("pages dir") {
        let path = entry.expect("entry").path();
        let mut raw = Vec::new();
        let file = std::fs::File::open(&path).expect("page");
        if path.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut raw)
                .expect("gunzip");
        } else {
            std::io::BufReader::new(file).read_to_end(&mut raw).expect("read");
        }
        let (result, units) = work::measure(|| parse(&raw, ContentType::Html, &Hints::default()));
        let per_byte = units as f64 / raw.len().max(1) as f64;
        assert!(
            !matches!(
                result,
                Err(sectorwire_article::parse::ParseError::TooComplex { .. })
            ),
            "{} refused as too complex",
            path.display()
        );
        if per_byte > worst.0 {
            worst = (per_byte, path.display().to_string());
        }
        pages += 1;
    }
    assert!(pages > 0, "no pages in {}", dir.display());
    println!("{pages} pages; most work per byte {:.2} ({})", worst.0, worst.1);
    assert!(
        worst.0 <= MAX_REAL_UNITS_PER_BYTE,
        "{} costs {:.2} units per byte (limit {MAX_REAL_UNITS_PER_BYTE})",
        worst.1,
        worst.0
    );
}
