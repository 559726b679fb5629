//! Evaluation arithmetic shared by the `eval` and `train` commands and the corpus tests, so
//! that all of them split the data the same way and score it the same way.

use sectorwire_domain::Sector;

/// Deterministic fold (0..5) of a document id: FNV-1a 64 of its bytes, mod 5. Fold 0 is the
/// held-out test fold that neither training nor tuning may look at.
pub fn fold_of(id: &str) -> u64 {
    sectorwire_domain::hash::fnv1a(id.as_bytes()) % 5
}

/// Counts for one sector.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Confusion {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Confusion {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

/// Per-sector confusion over a fixed list of sectors, plus the macro average of F1.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub per_sector: Vec<(Sector, Confusion)>,
}

impl Scores {
    pub fn new(sectors: &[Sector]) -> Scores {
        Scores {
            per_sector: sectors.iter().map(|&s| (s, Confusion::default())).collect(),
        }
    }
    /// Records one document: the predicted and the true sector sets.
    pub fn add(&mut self, predicted: &[Sector], actual: &[Sector]) {
        for (s, c) in &mut self.per_sector {
            c.add(predicted.contains(s), actual.contains(s));
        }
    }
    /// Macro-F1 over the sectors that occur in the truth or the predictions (for small sets
    /// such as the seeds, where most sectors never occur).
    pub fn macro_f1_present(&self) -> f64 {
        let present: Vec<f64> = self
            .per_sector
            .iter()
            .filter(|(_, c)| c.tp + c.fp + c.fn_ > 0)
            .map(|(_, c)| c.f1())
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    pub fn macro_f1(&self) -> f64 {
        if self.per_sector.is_empty() {
            return 0.0;
        }
        self.per_sector.iter().map(|(_, c)| c.f1()).sum::<f64>() / self.per_sector.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stable_and_spread() {
        assert_eq!(fold_of("reuters-1"), fold_of("reuters-1"));
        let mut n = [0; 5];
        for i in 0..1000 {
            n[fold_of(&format!("doc-{i}")) as usize] += 1;
        }
        assert!(n.iter().all(|&c| c > 150), "{n:?}");
    }

    #[test]
    fn f1_arithmetic() {
        let mut s = Scores::new(&[Sector::Trade]);
        s.add(&[Sector::Trade], &[Sector::Trade]);
        s.add(&[Sector::Trade], &[]);
        s.add(&[], &[Sector::Trade]);
        assert!((s.macro_f1() - 0.5).abs() < 1e-9);
    }
}
