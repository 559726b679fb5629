//! Sector tagging: turns lexicon hits and the trained model's probabilities into scored,
//! multi-label tags whose evidence is the body sentences that best justify each one.
//!
//! Decision rule, per sector, and where each number comes from (all fitted by the `train`
//! command on folds 1-4 of the labelled corpora; fold 0 is only ever scored):
//! - Lexicon evidence = per distinct cue term, its weight x position factor (title 2.5, lead
//!   1.5, body 1) x (1 + 0.5 ln count), summed, divided by sqrt(1 + words / 400); or, if
//!   larger, the same sum over the best run of five sentences (a passage devoted to the
//!   sector). The length unit 400 won a grid search (100-1600 words, none).
//! - Sectors no corpus labels (defence, education, tourism, climate, health, science, media):
//!   tagged when evidence >= the lexicon threshold, one value for all sectors, fitted as the
//!   threshold that maximises the mean macro-F1 of the lexicon alone on the labelled sectors.
//! - Sectors a corpus labels: tagged when the model's probability passes its threshold
//!   (chosen by maximising out-of-fold F1 in 4-fold cross-validation, folded into the bias so
//!   that 0.5 is the cut); or when lexicon evidence reaches twice the lexicon threshold (the
//!   corpora label one topic per story, so they never ask for this, but other news needs it);
//!   or when evidence reaches the sector's gate and the model's probability its floor. Gate
//!   and floor are the most permissive pair whose out-of-fold F1 stays within 0.01 of the rule
//!   without them: as much say for the curated lexicon as the labelled data tolerates.
//! - Score = max(model probability, lexicon score), the lexicon score mapping whichever
//!   evidence threshold applies to 0.5. A tag needs at least one evidence sentence or a title cue.

use super::lexicon::{Hit, LEXICON};
use super::model::{Gate, MODEL};
use super::taxonomy::Sector;
use super::text::FastMap;
use super::{Evidence, SectorTag, Span};

/// Where a cue sits changes how much it says about the article: headlines state the topic,
/// the lead summarises it, the rest of the body wanders.
const TITLE_FACTOR: f32 = 2.5;
const LEAD_FACTOR: f32 = 1.5;
/// Sentences that count as the lead.
const LEAD_SENTENCES: usize = 3;
/// Smallest model weight that makes a word evidence (weights of selected words run to ~12).
const MODEL_EVIDENCE_WEIGHT: f32 = 2.0;
/// How much one unit of model weight counts against one unit of lexicon weight when ranking
/// evidence sentences.
const MODEL_EVIDENCE_SCALE: f32 = 0.1;
/// At most this many evidence sentences per tag.
const MAX_EVIDENCE: usize = 5;

/// Knobs of the tagger, exposed so that evaluation can compare the lexicon alone with the
/// lexicon plus model, and re-fit the lexicon scale on labelled data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaggerOptions {
    /// Use the trained model for the sectors it covers (otherwise lexicon only).
    pub use_model: bool,
    /// Length-normalised lexicon evidence at which a sector scored by the lexicon alone
    /// reaches 0.5 and is tagged. Fitted on the training folds of the labelled corpora.
    pub lexicon_threshold: f32,
    /// Tag threshold on the score.
    pub threshold: f32,
}

impl Default for TaggerOptions {
    fn default() -> Self {
        // The fitted values travel with the trained model (data/model.tsv) so that they can
        // never disagree with the per-sector gates fitted alongside them.
        TaggerOptions {
            use_model: true,
            lexicon_threshold: MODEL.lexicon_threshold().unwrap_or(LEXICON_THRESHOLD),
            threshold: 0.5,
        }
    }
}

/// Fallback for [`TaggerOptions::lexicon_threshold`] when the model file does not set it, and
/// the unit of the lexicon features the model sees.
pub const LEXICON_THRESHOLD: f32 = 2.5;
/// Body length (in words) over which lexicon evidence is normalised: evidence is divided by
/// sqrt(1 + words / LENGTH_UNIT), so long articles need proportionally more cues. Chosen by a
/// grid search (100 to 1600 words, and none) on the training folds; `train` reports it.
pub const LENGTH_UNIT: f32 = 400.0;

/// Length-normalised lexicon evidence per sector (indexed like [`Sector::ALL`]); the `train`
/// command uses it to fit how the lexicon and the model are combined.
pub fn lexicon_evidence(title: &str, body: &str) -> [f32; 16] {
    let sentences = super::sentences::split(body);
    lexicon_scan(title, body, &sentences).evidence
}

struct LexiconScan {
    evidence: [f32; 16],
    title_hits: Vec<Hit>,
    body_hits: Vec<Hit>,
    /// Sentence index of each body hit.
    body_sent: Vec<Option<usize>>,
}

/// Lexicon hits of the body (with their sentences) and the evidence per sector.
fn lexicon_scan(title: &str, body: &str, sentences: &[Span]) -> LexiconScan {
    let title_hits = LEXICON.hits(title);
    let body_hits = LEXICON.hits(body);
    let body_sent: Vec<Option<usize>> = body_hits
        .iter()
        .map(|h| sentence_of(sentences, h.start))
        .collect();
    let raw = lexicon_raw(&title_hits, &body_hits, &body_sent);
    let words = body.split_whitespace().count() as f32;
    let lf = (1.0 + words / LENGTH_UNIT).sqrt();
    let window = window_evidence(&body_hits, &body_sent, sentences.len());
    let mut evidence = [0f32; 16];
    for i in 0..16 {
        evidence[i] = (raw[i] / lf).max(window[i]);
    }
    LexiconScan {
        evidence,
        title_hits,
        body_hits,
        body_sent,
    }
}

/// Sentences in the window of [`window_evidence`].
const WINDOW: usize = 5;

/// The strongest lexicon evidence found in any run of [`WINDOW`] consecutive sentences. A long
/// article with one passage devoted to a sector ("... energy resources ... oil and gas ...
/// petroleum ... energy security") is about that sector too, even though its whole-article
/// evidence is diluted by length.
fn window_evidence(hits: &[Hit], sent: &[Option<usize>], n: usize) -> [f32; 16] {
    let mut per: Vec<Vec<&Hit>> = vec![Vec::new(); n];
    for (h, s) in hits.iter().zip(sent) {
        if let Some(list) = s.and_then(|i| per.get_mut(i)) {
            list.push(h);
        }
    }
    // A term's weight is fixed per sector, so a window's evidence only depends on how often
    // each (sector, term) occurs in it: slide the window, adjusting counts and sums.
    let contribution = |w: f32, c: u32| {
        if c == 0 {
            0.0
        } else {
            w * (1.0 + 0.5 * (c as f32).ln())
        }
    };
    let mut counts: FastMap<(usize, u32), (f32, u32)> = FastMap::default();
    let mut sum = [0f32; 16];
    let mut best = [0f32; 16];
    let mut apply = |h: &Hit, delta: i32, sum: &mut [f32; 16]| {
        let si = h.sector.index();
        let e = counts.entry((si, h.term)).or_insert((h.weight, 0));
        let before = contribution(e.0, e.1);
        e.1 = (e.1 as i32 + delta).max(0) as u32;
        sum[si] += contribution(e.0, e.1) - before;
    };
    for end in 0..n {
        for h in &per[end] {
            apply(h, 1, &mut sum);
        }
        if end >= WINDOW {
            for h in &per[end - WINDOW] {
                apply(h, -1, &mut sum);
            }
        }
        for i in 0..16 {
            best[i] = best[i].max(sum[i]);
        }
    }
    best
}

/// Maps evidence onto [0, 1] so that `threshold_evidence` lands on 0.5.
fn lexicon_score(evidence: f32, threshold_evidence: f32) -> f32 {
    1.0 - (-std::f32::consts::LN_2 * evidence / threshold_evidence.max(1e-3)).exp()
}

/// The tags plus, per sector, every sentence that supports it (used for country pairs).
pub(crate) struct Tagging {
    pub tags: Vec<SectorTag>,
    pub support: Vec<(Sector, Vec<usize>)>,
}

/// Index of the sentence holding byte `pos`, if any.
fn sentence_of(sentences: &[Span], pos: usize) -> Option<usize> {
    let i = sentences.partition_point(|s| s.end <= pos);
    sentences.get(i).filter(|s| s.start <= pos).map(|_| i)
}

/// Lexicon evidence per sector: each distinct term counts once at its best position, plus a
/// damped bonus for repetition, so one word repeated many times cannot carry a tag alone.
fn lexicon_raw(title_hits: &[Hit], body_hits: &[Hit], body_sent: &[Option<usize>]) -> [f32; 16] {
    // (sector, term) -> (best factor-weighted weight, count)
    let mut acc: FastMap<(usize, u32), (f32, u32)> = FastMap::default();
    for h in title_hits {
        let e = acc.entry((h.sector.index(), h.term)).or_insert((0.0, 0));
        e.0 = e.0.max(h.weight * TITLE_FACTOR);
        e.1 += 1;
    }
    for (h, si) in body_hits.iter().zip(body_sent) {
        let f = match si {
            Some(i) if *i < LEAD_SENTENCES => LEAD_FACTOR,
            _ => 1.0,
        };
        let e = acc.entry((h.sector.index(), h.term)).or_insert((0.0, 0));
        e.0 = e.0.max(h.weight * f);
        e.1 += 1;
    }
    let mut raw = [0f32; 16];
    for ((si, _), (w, n)) in acc {
        raw[si] += w * (1.0 + 0.5 * (n as f32).ln());
    }
    raw
}

pub(crate) fn tag(title: &str, body: &str, sentences: &[Span], opts: &TaggerOptions) -> Tagging {
    let scan_lex = lexicon_scan(title, body, sentences);
    let (evidence, body_hits, body_sent, title_hits) = (
        scan_lex.evidence,
        scan_lex.body_hits,
        scan_lex.body_sent,
        scan_lex.title_hits,
    );
    let scan = if opts.use_model {
        Some(MODEL.scan(title, body, sentences))
    } else {
        None
    };

    let mut tags = Vec::new();
    let mut support = Vec::new();
    for s in Sector::ALL {
        let si = s.index();
        let evidence = evidence[si];
        // Where the model covers a sector, the lexicon may still tag on strong evidence (the
        // per-sector gate fitted by `train`): the corpora are narrow and the lexicon keeps
        // the tagger general on other news.
        let score = match scan.as_ref().and_then(|sc| sc.prob[si]) {
            Some(p) => {
                let gate = MODEL.lexicon_gate(s).unwrap_or(Gate {
                    evidence: opts.lexicon_threshold,
                    floor: 0.0,
                    cap: opts.lexicon_threshold,
                });
                let needed = if p >= gate.floor {
                    gate.evidence.min(gate.cap)
                } else {
                    gate.cap
                };
                p.max(lexicon_score(evidence, needed))
            }
            None => lexicon_score(evidence, opts.lexicon_threshold),
        };
        if score.is_nan() || score < opts.threshold {
            continue;
        }
        // Evidence strength per sentence: lexicon weights plus positive model weights.
        let mut strength = vec![0f32; sentences.len()];
        let mut terms: Vec<Vec<String>> = vec![Vec::new(); sentences.len()];
        // Only words the model weighs heavily explain a tag; the long tail of small weights
        // moves the score but says nothing to a reader.
        let mut lexical = vec![false; sentences.len()];
        for (h, sent) in body_hits.iter().zip(&body_sent) {
            if h.sector != s {
                continue;
            }
            if let Some(i) = *sent {
                let surface = body.get(h.start..h.end).unwrap_or("").to_lowercase();
                if !terms[i].contains(&surface) {
                    strength[i] += h.weight;
                    terms[i].push(surface);
                }
                lexical[i] = true;
            }
        }
        if let Some(sc) = scan.as_ref().filter(|_| MODEL.covers(s)) {
            for (i, ids) in sc.sentence_feats.iter().enumerate() {
                let mut pos: Vec<(f32, u32)> = ids
                    .iter()
                    .map(|&id| (MODEL.weight(id, s), id))
                    .filter(|(w, _)| *w >= MODEL_EVIDENCE_WEIGHT)
                    .collect();
                pos.sort_by(|a, b| b.0.total_cmp(&a.0));
                // Model weights run to ~12 against lexicon weights of ~1; scaled down so that a
                // sentence with curated cues outranks one with a few heavy corpus words.
                for (w, id) in pos.iter().take(3) {
                    strength[i] += *w * MODEL_EVIDENCE_SCALE;
                    let term = MODEL.term(*id).to_string();
                    if !terms[i].iter().any(|t| t.starts_with(term.as_str())) {
                        terms[i].push(term);
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..sentences.len()).filter(|&i| strength[i] > 0.0).collect();
        order.sort_by(|&a, &b| strength[b].total_cmp(&strength[a]).then(a.cmp(&b)));
        let evidence: Vec<Evidence> = order
            .iter()
            .take(MAX_EVIDENCE)
            .map(|&i| Evidence {
                span: sentences[i],
                terms: std::mem::take(&mut terms[i]),
            })
            .collect();
        // A tag must show why: no evidence sentence and no cue in the title, no tag.
        if evidence.is_empty() && !title_hits.iter().any(|h| h.sector == s) {
            continue;
        }
        let mut supp: Vec<usize> = (0..sentences.len()).filter(|&i| lexical[i]).collect();
        supp.extend(order.iter().take(MAX_EVIDENCE));
        supp.sort_unstable();
        supp.dedup();
        support.push((s, supp));
        tags.push(SectorTag {
            sector: s,
            score: score.clamp(0.0, 1.0),
            evidence,
        });
    }
    tags.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.sector.cmp(&b.sector)));
    Tagging { tags, support }
}
