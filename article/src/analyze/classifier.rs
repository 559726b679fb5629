//! The trained linear sector model (data/model.tsv, written by the `train` command): one
//! logistic regression per sector that a labelled corpus teaches, over the same word features
//! for every sector. It is only as big as its non-zero weights and stays explainable: each
//! weight is a word, so evidence sentences are the ones holding the heaviest positive words.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::tokens::{for_each_token, word_set, FastMap, FastSet, PreHashedMap, PreHashedSet};
use super::Sector;
use super::Span;

const MODEL_TSV: &str = include_str!("data/model.tsv");

/// Title words count this many times a body word: headlines state the topic.
pub const TITLE_WEIGHT: f32 = 3.0;

/// Function words carry no topic and would only dilute the length normalisation.
const STOPWORDS: &[&str] = &[
    "the", "of", "to", "and", "in", "a", "an", "for", "on", "is", "was", "it", "its", "at", "by", "be", "as",
    "that", "this", "with", "from", "are", "were", "has", "have", "had", "he", "she", "his", "her", "they",
    "their", "we", "our", "or", "not", "but", "which", "will", "would", "been", "also", "said", "says",
    "there", "than", "so", "if", "who", "them", "these", "those", "into", "out", "up", "about", "after",
    "over", "more", "all", "one", "two", "can", "could", "may", "i", "you", "do", "did", "no", "some", "any",
    "such", "other", "new", "last", "year",
];

static STOPWORD_SET: LazyLock<FastSet<&'static str>> = LazyLock::new(|| word_set(STOPWORDS));
static STOPWORD_HASHES: LazyLock<PreHashedSet<u64>> =
    LazyLock::new(|| STOPWORDS.iter().map(|w| token_hash(w)).collect());

fn is_stopword(t: &str) -> bool {
    t.len() <= 5 && STOPWORD_SET.contains(t)
}

/// The model's document representation: every non-stopword token with weight
/// `1 + ln(count)` (title tokens counted [`TITLE_WEIGHT`] times), scaled to unit length.
/// Training and inference both go through this function, so they cannot drift apart.
pub fn features(title: &str, body: &str) -> Vec<(String, f32)> {
    let mut counts: HashMap<String, f32> = HashMap::new();
    let mut buf = String::new();
    for_each_token(title, &mut buf, |t| {
        if !is_stopword(t) {
            *counts.entry(t.to_string()).or_default() += TITLE_WEIGHT;
        }
    });
    for_each_token(body, &mut buf, |t| {
        if !is_stopword(t) {
            *counts.entry(t.to_string()).or_default() += 1.0;
        }
    });
    normalise(counts)
}

fn normalise(counts: HashMap<String, f32>) -> Vec<(String, f32)> {
    let mut v: Vec<(String, f32)> = counts.into_iter().map(|(t, c)| (t, 1.0 + c.ln())).collect();
    // Sorted before summing so that training is bit-for-bit reproducible.
    v.sort_by(|a, b| a.0.cmp(&b.0));
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
}

/// Weights of one feature word: per sector for evidence (the heaviest of its heads), per head
/// for scoring.
struct Feature {
    term: String,
    weights: Vec<(Sector, f32)>,
    heads: Vec<(u32, f32)>,
}

/// One logistic regression of the model. A sector has its own head and may have one per
/// frequent corpus label that maps to it (Reuters' `crude` and `nat-gas` for energy, `acq`
/// and `money-fx` for finance): a sector is a union of unlike topics, which one linear
/// model separates worse than several, and the narrower heads find a second topic of an
/// article that the broad one, pulled toward the sector's commonest stories, misses. The
/// sector's probability is the largest of its heads'.
struct Head {
    sector: Sector,
    /// Already shifted by the sector's threshold, like the sector head's bias.
    bias: f32,
}

/// When the lexicon may tag a sector the model covers: from `evidence` if the model's
/// probability is at least `floor`, and from `cap` whatever the model says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gate {
    pub evidence: f32,
    pub floor: f32,
    pub cap: f32,
}

/// A trained sector model. The library embeds the one `train` wrote to data/model.tsv;
/// [`Model::from_tsv`] loads another (a model trained with a different fold held out), so
/// that `eval` can cross-validate the whole tagger without rebuilding it.
pub struct Model {
    /// Every head, sector heads and label heads; biases already shifted so that probability
    /// 0.5 is the sector's tuned threshold.
    heads: Vec<Head>,
    /// Sectors with at least one head.
    covered: [bool; Sector::COUNT],
    /// Lexicon evidence from which the lexicon tags a model-covered sector, and the model
    /// probability it needs at least (see `train`).
    gate: [Option<Gate>; Sector::COUNT],
    lexicon_threshold: Option<f32>,
    /// Vocabulary keyed by [`token_hash`] (only looked up, so a cheap hasher is safe).
    vocab: PreHashedMap<u64, u32>,
    feats: Vec<Feature>,
}

pub(crate) static MODEL: LazyLock<Model> = LazyLock::new(|| Model::parse(MODEL_TSV));

/// The model the library embeds and tags with by default.
pub fn embedded() -> &'static Model {
    &MODEL
}

/// What one pass of the model over an article yields.
pub(crate) struct Scan {
    /// Probability per sector (threshold at 0.5), None where the model has no opinion.
    pub prob: [Option<f32>; Sector::COUNT],
    /// Per sentence, the vocabulary features it contains (deduplicated).
    pub sentence_feats: Vec<Vec<u32>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("sectors", &self.covered.iter().filter(|&&c| c).count())
            .field("heads", &self.heads.len())
            .field("features", &self.feats.len())
            .field("lexicon_threshold", &self.lexicon_threshold)
            .finish()
    }
}

impl Model {
    /// Reads a model in the format `train` writes; lines it does not understand are skipped,
    /// as for the embedded model.
    pub fn from_tsv(tsv: &str) -> Model {
        Model::parse(tsv)
    }

    fn parse(tsv: &str) -> Model {
        let mut gate = [None; Sector::COUNT];
        let mut lexicon_threshold = None;
        let mut heads: Vec<Head> = Vec::new();
        // (sector slug, label) -> head index; the sector head's label is "".
        let mut head_of: HashMap<(String, String), u32> = HashMap::new();
        let rows: Vec<Vec<&str>> = tsv
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').collect())
            .collect();
        // Heads first, so that weight lines may come in any order.
        for cols in &rows {
            let (slug, label, b) = match cols.as_slice() {
                ["bias", slug, b] => (*slug, "", *b),
                ["head", slug, label, b] => (*slug, *label, *b),
                _ => continue,
            };
            if let (Some(sector), Ok(bias)) = (Sector::from_slug(slug), b.parse::<f32>()) {
                if let std::collections::hash_map::Entry::Vacant(e) =
                    head_of.entry((slug.to_string(), label.to_string()))
                {
                    e.insert(heads.len() as u32);
                    heads.push(Head { sector, bias });
                }
            }
        }
        let mut vocab: PreHashedMap<u64, u32> = PreHashedMap::default();
        let mut feats: Vec<Feature> = Vec::new();
        for cols in &rows {
            match cols.as_slice() {
                ["lexicon_threshold", v] => lexicon_threshold = v.parse::<f32>().ok(),
                ["lexicon", slug, g, floor, cap] => {
                    if let (Some(s), Ok(evidence), Ok(floor), Ok(cap)) = (
                        Sector::from_slug(slug),
                        g.parse::<f32>(),
                        floor.parse::<f32>(),
                        cap.parse::<f32>(),
                    ) {
                        gate[s.index()] = Some(Gate { evidence, floor, cap });
                    }
                }
                ["w", term, slug, w] | ["hw", term, slug, _, w] => {
                    let label = if cols[0] == "hw" { cols[3] } else { "" };
                    let Some(&h) = head_of.get(&(slug.to_string(), label.to_string())) else {
                        continue;
                    };
                    let Ok(w) = w.parse::<f32>() else {
                        continue;
                    };
                    let id = *vocab.entry(token_hash(term)).or_insert_with(|| {
                        feats.push(Feature {
                            term: (*term).to_string(),
                            weights: Vec::new(),
                            heads: Vec::new(),
                        });
                        (feats.len() - 1) as u32
                    });
                    let f = &mut feats[id as usize];
                    f.heads.push((h, w));
                    let sector = heads[h as usize].sector;
                    match f.weights.iter_mut().find(|(s, _)| *s == sector) {
                        Some(e) => e.1 = e.1.max(w),
                        None => f.weights.push((sector, w)),
                    }
                }
                _ => {}
            }
        }
        let mut covered = [false; Sector::COUNT];
        for h in &heads {
            covered[h.sector.index()] = true;
        }
        Model {
            heads,
            covered,
            gate,
            lexicon_threshold,
            vocab,
            feats,
        }
    }

    /// Sectors the model was trained on.
    pub(crate) fn covers(&self, s: Sector) -> bool {
        self.covered[s.index()]
    }

    /// Fitted lexicon threshold for sectors the model does not cover.
    pub fn lexicon_threshold(&self) -> Option<f32> {
        self.lexicon_threshold
    }

    /// Lexicon evidence threshold and model-probability floor for a model-covered sector.
    pub(crate) fn lexicon_gate(&self, s: Sector) -> Option<Gate> {
        self.gate[s.index()]
    }

    /// The feature word behind an id.
    pub(crate) fn term(&self, id: u32) -> &str {
        self.feats.get(id as usize).map_or("", |f| f.term.as_str())
    }

    /// A feature's weight for each sector that uses it, one entry per sector (the heaviest
    /// of the sector's heads), in the order the file first names the sector.
    pub(crate) fn weights(&self, id: u32) -> &[(Sector, f32)] {
        self.feats.get(id as usize).map_or(&[], |f| f.weights.as_slice())
    }

    /// Scores an article and records which features each sentence holds (for evidence).
    pub(crate) fn scan(&self, title: &str, body: &str, sentences: &[Span]) -> Scan {
        // 64-bit token hash -> (count, vocabulary id): one lookup and no allocation per token.
        // A collision would merge two words' counts; at 64 bits it does not happen in practice.
        // Keeps FNV: the norm and the dot products below sum in this map's iteration order,
        // which the hasher decides, and scores must stay bit-for-bit stable.
        let mut counts: FastMap<u64, (f32, Option<u32>)> =
            FastMap::with_capacity_and_hasher((body.len() / 12).min(8192), Default::default());
        // Returns the vocabulary id of a counted token; stopwords are recognised by the same
        // hash, so each token is hashed once.
        let mut add = |h: u64, len: usize, w: f32| -> Option<u32> {
            if len <= 5 && STOPWORD_HASHES.contains(&h) {
                return None;
            }
            if let Some(e) = counts.get_mut(&h) {
                e.0 += w;
                return e.1;
            }
            let id = self.vocab.get(&h).copied();
            counts.insert(h, (w, id));
            id
        };
        for_each_token_hash(title, |h, len| {
            add(h, len, TITLE_WEIGHT);
        });
        let mut sentence_feats = Vec::with_capacity(sentences.len());
        // One scratch buffer for all sentences; each keeps an exact-size copy.
        let mut ids: Vec<u32> = Vec::with_capacity(64);
        for sp in sentences {
            let text = body.get(sp.start..sp.end).unwrap_or("");
            ids.clear();
            for_each_token_hash(text, |h, len| ids.extend(add(h, len, 1.0)));
            ids.sort_unstable();
            ids.dedup();
            sentence_feats.push(ids.to_vec());
        }
        let norm = counts
            .values()
            .map(|(c, _)| (1.0 + c.ln()).powi(2))
            .sum::<f32>()
            .sqrt();
        let mut dot = vec![0f32; self.heads.len()];
        if norm > 0.0 {
            for (c, id) in counts.values() {
                let Some(f) = id.and_then(|id| self.feats.get(id as usize)) else {
                    continue;
                };
                let x = (1.0 + c.ln()) / norm;
                for &(h, w) in &f.heads {
                    dot[h as usize] += x * w;
                }
            }
        }
        let mut prob: [Option<f32>; Sector::COUNT] = [None; Sector::COUNT];
        for (h, d) in self.heads.iter().zip(&dot) {
            let p = sigmoid(h.bias + d);
            let slot = &mut prob[h.sector.index()];
            *slot = Some(slot.map_or(p, |q| q.max(p)));
        }
        Scan { prob, sentence_feats }
    }
}

/// [`for_each_token`] fused with [`token_hash`]: calls `f` with the hash and byte length of
/// each token, hashing the lowercased bytes as they are read instead of building the token
/// in a buffer and hashing it again. Must yield exactly what `token_hash` gives on the
/// tokens of `for_each_token` (the tests check this), since the vocabulary is keyed by it.
fn for_each_token_hash(s: &str, mut f: impl FnMut(u64, usize)) {
    use sectorwire_domain::hash::{fnv1a_step, FNV_OFFSET};
    let bytes = s.as_bytes();
    let (mut h, mut len, mut chars) = (FNV_OFFSET, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            if b.is_ascii_alphabetic() {
                h = fnv1a_step(h, b.to_ascii_lowercase());
                len += 1;
                chars += 1;
                continue;
            }
        } else {
            let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
                break;
            };
            i += c.len_utf8();
            if c.is_alphabetic() {
                let mut enc = [0u8; 4];
                for lc in c.to_lowercase() {
                    for &lb in lc.encode_utf8(&mut enc).as_bytes() {
                        h = fnv1a_step(h, lb);
                        len += 1;
                    }
                }
                chars += 1;
                continue;
            }
        }
        if chars >= 2 {
            f(h, len);
        }
        (h, len, chars) = (FNV_OFFSET, 0, 0);
    }
    if chars >= 2 {
        f(h, len);
    }
}

/// FNV-1a 64 of a token, the key of the scan-time maps.
fn token_hash(t: &str) -> u64 {
    sectorwire_domain::hash::fnv1a(t.as_bytes())
}

pub(crate) fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sector's probability is its most confident head's, and a label head's weights count
    /// for that head only (a bug here would add them to the sector head's score).
    #[test]
    fn label_heads_take_the_largest_probability() {
        let tsv = "bias\tenergy\t-2.0\nhead\tenergy\tcrude\t-2.0\nbias\ttrade\t-2.0\n\
                   w\ttariff\ttrade\t5.0\nw\tpipeline\tenergy\t5.0\nhw\ttanker\tenergy\tcrude\t5.0\n\
                   hw\tpipeline\tenergy\tcrude\t-5.0\n";
        let m = Model::from_tsv(tsv);
        let prob = |body: &str| {
            let sents = crate::analyze::split_sentences(body);
            m.scan("", body, &sents).prob
        };
        let e = Sector::Energy.index();
        let t = Sector::Trade.index();
        let (only_tanker, only_pipeline, neither) = (prob("tanker"), prob("pipeline"), prob("harbour"));
        let p = |x: Option<f32>| x.unwrap_or(f32::NAN);
        // One word, unit length: each head scores sigmoid(-2 + 5) when its word is present.
        assert!((p(only_tanker[e]) - sigmoid(3.0)).abs() < 1e-5);
        assert!((p(only_pipeline[e]) - sigmoid(3.0)).abs() < 1e-5);
        assert!((p(neither[e]) - sigmoid(-2.0)).abs() < 1e-5);
        assert!((p(only_tanker[t]) - sigmoid(-2.0)).abs() < 1e-5);
        assert_eq!(only_tanker[Sector::Culture.index()], None);
        // A sector with any head is covered; one without is left to the lexicon.
        assert!(m.covers(Sector::Energy) && !m.covers(Sector::Culture));
    }

    #[test]
    fn fused_token_hash_matches_tokeniser() {
        let text = "Oil PRICES rose 3.5% in Türkiye; İstanbul ΣΑΣ straße x y-z ǅemal ß.";
        let mut buf = String::new();
        let mut want = Vec::new();
        for_each_token(text, &mut buf, |t| want.push((token_hash(t), t.len())));
        let mut got = Vec::new();
        for_each_token_hash(text, |h, len| got.push((h, len)));
        assert_eq!(got, want);
    }
}
