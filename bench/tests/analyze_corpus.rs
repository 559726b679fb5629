//! Held-out quality floor: macro-F1 on fold 0 (never trained or tuned on) of each labelled
//! corpus in ../shared/corpora must stay above a floor, so a lexicon or model change that
//! loses accuracy fails the build. Skips without the data (fails under CI=true).

mod common;
use sectorwire_bench::labelled as corpus;

use sectorwire_article::analyze::{tag_sectors, Sector, TaggerOptions};
use sectorwire_bench::metrics::{fold_of, Scores};

/// Floors sit a little under the measured held-out macro-F1 (see the eval command).
const FLOORS: &[(&str, f64)] = &[("bbc", 0.90), ("reuters21578", 0.86)];

#[test]
fn held_out_macro_f1_floor() {
    let Some(dir) = common::shared("corpora") else {
        return;
    };
    let corpora = corpus::load_dir(&dir).expect("corpora load");
    let opts = TaggerOptions::default();
    for (name, floor) in FLOORS {
        let c = corpora
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("corpus {name} missing"));
        let mut scores = Scores::new(&c.sectors);
        for d in c.docs.iter().filter(|d| fold_of(&d.id) == 0) {
            let pred: Vec<Sector> = tag_sectors(&d.title, &d.text, &opts)
                .iter()
                .map(|t| t.sector)
                .collect();
            scores.add(&pred, &d.truth);
        }
        let m = scores.macro_f1();
        println!("{name}: held-out macro-F1 {m:.3} (floor {floor})");
        assert!(m >= *floor, "{name}: held-out macro-F1 {m:.3} < {floor}");
    }
}
