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
//! - Multi-topic articles (at least 4 sectors each with >= 3 sentences holding a clear cue,
//!   sentences that list five or more sectors not counting):
//!   each such sector, and any sector with one sentence devoted to it, is tagged at the
//!   threshold whatever the model says (see [`SENTENCE_MIN`]; fitted on folds 1-4 by `eval`).
//! - Fields of cooperation: a sector the body names in a list of what two parties cooperate on
//!   ("talks covered the economic, trade, and energy sectors", "energy cooperation") is tagged
//!   at the threshold, with that sentence among its evidence (see [`listed_fields`]).
//! - Secondary sectors: a sector the model covers whose probability is close enough to the
//!   article's top one is tagged at the threshold (see [`SECONDARY_RATIO`]).
//! - Score = max(model probability, lexicon score), the lexicon score mapping whichever
//!   evidence threshold applies to 0.5. A tag needs at least one evidence sentence or a title cue.

use super::classifier::{Gate, Model, Scan, MODEL};
use super::lexicon::{Hit, LEXICON};
use super::tokens::FastMap;
use super::Sector;
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
#[derive(Debug, Clone, Copy)]
pub struct TaggerOptions {
    /// Use the trained model for the sectors it covers (otherwise lexicon only).
    pub use_model: bool,
    /// Length-normalised lexicon evidence at which a sector scored by the lexicon alone
    /// reaches 0.5 and is tagged. Fitted on the training folds of the labelled corpora.
    pub lexicon_threshold: f32,
    /// Tag threshold on the score.
    pub threshold: f32,
    /// Sentence-count rule for multi-topic articles (0 turns it off): in a multi-topic
    /// article, a sector with at least this many distinct sentences whose own cue weight
    /// reaches [`TaggerOptions::sentence_cue`] is tagged whatever the model says. See
    /// [`SENTENCE_MIN`] for the rule and how its values were chosen.
    pub min_sentences: usize,
    /// Distinct-term lexicon weight one sentence needs to count as evidence for a sector.
    pub sentence_cue: f32,
    /// Distinct-term lexicon weight at which a single sentence is devoted to a sector and
    /// tags it on its own.
    pub devoted_cue: f32,
    /// Number of sectors that must each reach the sentence count for the article to count
    /// as multi-topic, which the sentence-count rule needs.
    pub spread_sectors: usize,
    /// A sentence with cues of this many sectors or more is a list of areas ("trade,
    /// investment, science and technology, transport and tourism") and is evidence for none
    /// of them in the sentence-count rule (0: no such limit).
    pub list_sectors: usize,
    /// Tag every sector the body names as a field of cooperation ("talks covered the
    /// economic, trade, and energy sectors", "energy cooperation"); see [`listed_fields`].
    pub list_fields: bool,
    /// The trained model to use instead of the embedded one (None: the embedded one). Set
    /// [`TaggerOptions::lexicon_threshold`] from the same model, as [`Default`] does for the
    /// embedded one.
    pub model: Option<&'static Model>,
    /// Secondary sectors (0 turns it off): a sector the model covers is also tagged when its
    /// probability reaches this share of the article's top probability and at least
    /// [`TaggerOptions::secondary_floor`]. See [`SECONDARY_RATIO`].
    pub secondary_ratio: f32,
    /// The least probability (0.5 = the sector's own threshold) for a secondary sector.
    pub secondary_floor: f32,
}

impl Default for TaggerOptions {
    fn default() -> Self {
        // The fitted values travel with the trained model (data/model.tsv) so that they can
        // never disagree with the per-sector gates fitted alongside them.
        TaggerOptions {
            use_model: true,
            lexicon_threshold: MODEL.lexicon_threshold().unwrap_or(LEXICON_THRESHOLD),
            threshold: 0.5,
            min_sentences: SENTENCE_MIN,
            sentence_cue: SENTENCE_CUE,
            devoted_cue: DEVOTED_CUE,
            spread_sectors: SPREAD_SECTORS,
            list_sectors: LIST_SECTORS,
            list_fields: true,
            model: None,
            secondary_ratio: SECONDARY_RATIO,
            secondary_floor: SECONDARY_FLOOR,
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

/// Sentence-count rule for multi-topic articles. The corpora label one topic per story (BBC)
/// or a few (Reuters), so the model learns to pick an article's main sectors, and
/// length-normalised evidence dilutes a sector that a long article discusses in a few
/// sentences among many. General news (bilateral relations, state visits, summits, country
/// profiles) discusses trade, energy, culture, transport... a sentence or two each, and
/// readers expect every such sector tagged.
///
/// The rule: a body sentence is evidence for a sector when its distinct cue terms of that
/// sector weigh >= `SENTENCE_CUE` (one clear cue, or a weaker pair), unless it holds cues of
/// `LIST_SECTORS` sectors or more: then it is a list of cooperation areas ("trade,
/// investment, science and technology, transport and tourism"), which says nothing about any
/// one of them. An article is multi-topic when at least `SPREAD_SECTORS` sectors each have at
/// least `SENTENCE_MIN` evidence sentences; in a multi-topic article every such sector is
/// tagged, and so is any sector one sentence of which carries >= `DEVOTED_CUE` (a sentence
/// devoted to it), whatever the model says. Single-topic stories rarely reach the breadth
/// condition, so the labelled corpora (single-topic, or nearly) barely notice the rule.
///
/// The values come from a grid search over these five knobs, scored on the training folds
/// of the labelled corpora only: the admissible settings cost the corpora almost nothing,
/// and among those the one that best matches the hand-labelled seeds won. The search, its
/// ranges and its figures are in `bench/README.md` ("Choosing the multi-topic rule").
pub const SENTENCE_MIN: usize = 3;
/// See [`SENTENCE_MIN`].
pub const SENTENCE_CUE: f32 = 1.0;
/// See [`SENTENCE_MIN`].
pub const DEVOTED_CUE: f32 = 3.0;
/// See [`SENTENCE_MIN`].
pub const SPREAD_SECTORS: usize = 4;
/// See [`SENTENCE_MIN`].
pub const LIST_SECTORS: usize = 5;

/// Secondary sectors. Newswire items often cover two sectors, one of them less (tanker
/// attacks in the Gulf: shipping and crude oil; an oil company buying another: energy and
/// the acquisition). The model's per-sector thresholds are fitted one sector at a time, so
/// a second topic often lands just under its own threshold. Relative to the article's top
/// probability it still stands out from unrelated sectors, so a sector is tagged when its
/// probability is at least `SECONDARY_RATIO` x the top one and at least `SECONDARY_FLOOR`
/// (0.5 being its own threshold). The values won a grid search scored with cross-validated
/// models on folds 1-4 (`eval --cv-models`): the most multi-sector recall whose macro-F1
/// stays at or above the tagger without the rule on both corpora; figures in
/// bench/README.md ("Secondary sectors").
pub const SECONDARY_RATIO: f32 = 0.45;
/// See [`SECONDARY_RATIO`].
pub const SECONDARY_FLOOR: f32 = 0.4;

/// Per sector: how many body sentences carry distinct cue weight >= `cue`, and the largest
/// distinct cue weight of any one sentence. Each term counts once per sentence.
fn sentence_support(
    hits: &[Hit],
    sent: &[Option<usize>],
    cue: f32,
    list_sectors: usize,
) -> ([u32; Sector::COUNT], [f32; Sector::COUNT]) {
    let mut count = [0u32; Sector::COUNT];
    let mut best = [0f32; Sector::COUNT];
    let mut i = 0;
    // Hits come in text order, so each sentence's hits are one run.
    let mut seen: Vec<(usize, u32)> = Vec::new();
    while i < hits.len() {
        let Some(cur) = sent[i] else {
            i += 1;
            continue;
        };
        let mut sum = [0f32; Sector::COUNT];
        seen.clear();
        while i < hits.len() && sent[i] == Some(cur) {
            let h = &hits[i];
            let key = (h.sector.index(), h.term);
            if !seen.contains(&key) {
                seen.push(key);
                sum[key.0] += h.weight;
            }
            i += 1;
        }
        let sectors = sum.iter().filter(|&&w| w > 0.0).count();
        if list_sectors > 0 && sectors >= list_sectors {
            continue;
        }
        for k in 0..16 {
            if sum[k] > 0.0 {
                best[k] = best[k].max(sum[k]);
                if sum[k] >= cue {
                    count[k] += 1;
                }
            }
        }
    }
    (count, best)
}

/// Words that make an adjacent sector cue a field of cooperation ("energy cooperation",
/// "cooperation in trade").
const COOPERATION_WORDS: &[&str] = &[
    "cooperation",
    "co-operation",
    "collaboration",
    "collaborations",
    "cooperate",
    "collaborate",
    "partnership",
    "partnerships",
];
/// Words that make a list of sector cues a list of fields ("the economic, trade, and
/// energy sectors"); alone next to one cue ("the oil sector") they say nothing more than
/// the cue.
const FIELD_WORDS: &[&str] = &[
    "sector",
    "sectors",
    "field",
    "fields",
    "area",
    "areas",
    "sphere",
    "spheres",
    "domain",
    "domains",
    "ties",
    "links",
    "exchanges",
    // "joint projects in energy, infrastructure and the defence industry", "common
    // challenges such as climate change, terrorism": with two or more sectors, a list of
    // what the parties work on together.
    "projects",
    "challenges",
];
/// What may stand between two items of one list: separators and the glue of list phrases
/// ("cooperation in the trade and investment spheres", "fields such as trade, energy").
/// Not "between": "collaboration between art and technology" names the partners.
const LIST_GLUE: &[&str] = &[
    "and",
    "or",
    "the",
    "in",
    "of",
    "on",
    "for",
    "as",
    "well",
    "such",
    "including",
    "include",
    "like",
    "both",
    "its",
    "their",
    "our",
    "across",
    "also",
    "especially",
];
/// Longest gap (bytes) between two items of one list.
const LIST_GAP: usize = 32;

/// Per sector, the first body sentence that names it as a field of cooperation, if any.
///
/// Why: articles about bilateral relations state what two countries cooperate on in lists
/// ("cooperation in trade, commerce, and defense", "areas for collaboration such as
/// technology, education, healthcare, and tourism", "energy cooperation"). Each listed
/// field is a sector the article covers (it is the question readers ask of such articles),
/// although one list item is too little evidence for the scores above.
///
/// Rule: in one sentence, sector cues and cooperation or field words are chained when only
/// separators and list glue ([`LIST_GLUE`]) stand between them, at most [`LIST_GAP`]
/// bytes apart. A chain names fields of cooperation when it holds a cooperation word, or a
/// field word and cues of two or more sectors; each sector in it is then listed.
fn listed_fields(
    body: &str,
    hits: &[Hit],
    sent: &[Option<usize>],
    sentences: &[Span],
) -> [Option<usize>; Sector::COUNT] {
    let mut out = [None; Sector::COUNT];
    let mut i = 0;
    // (start, end, Some(sector) for a cue | None for a cooperation word, is_field)
    let mut items: Vec<(usize, usize, Option<Sector>, bool)> = Vec::new();
    while i < hits.len() {
        let Some(cur) = sent[i] else {
            i += 1;
            continue;
        };
        let first = i;
        while i < hits.len() && sent[i] == Some(cur) {
            i += 1;
        }
        let Some(span) = sentences.get(cur) else {
            continue;
        };
        let Some(text) = body.get(span.start..span.end) else {
            continue;
        };
        items.clear();
        for h in &hits[first..i] {
            // A cue that is itself a cooperation word ("cooperation" cues politics) names
            // no field.
            let surface = body.get(h.start..h.end).unwrap_or("").to_ascii_lowercase();
            if COOPERATION_WORDS.contains(&surface.as_str()) || FIELD_WORDS.contains(&surface.as_str()) {
                continue;
            }
            items.push((h.start, h.end, Some(h.sector), false));
        }
        let mut has_context = false;
        for (off, word) in word_spans(text) {
            // Capitalised, the word is part of a name ("Organisation for Economic
            // Co-operation and Development"), not a statement about cooperation.
            if !word.starts_with(|c: char| c.is_ascii_lowercase()) {
                continue;
            }
            let lower = word.to_ascii_lowercase();
            let coop = COOPERATION_WORDS.contains(&lower.as_str());
            let field = FIELD_WORDS.contains(&lower.as_str());
            if coop || field {
                has_context = true;
                let start = span.start + off;
                items.push((start, start + word.len(), None, field));
            }
        }
        if !has_context {
            continue;
        }
        items.sort_by_key(|it| (it.0, it.1));
        // Walk the items in order, cutting a chain wherever the gap is not list glue.
        let mut chain_start = 0;
        for k in 0..=items.len() {
            let linked = k < items.len() && k > chain_start && is_list_gap(body, items[k - 1].1, items[k].0);
            if k < items.len() && (k == chain_start || linked) {
                continue;
            }
            let chain = &items[chain_start..k];
            let coop = chain.iter().any(|it| it.2.is_none() && !it.3);
            let field = chain.iter().any(|it| it.3);
            let mut sectors: Vec<Sector> = chain.iter().filter_map(|it| it.2).collect();
            sectors.sort();
            sectors.dedup();
            if !sectors.is_empty() && (coop || (field && sectors.len() >= 2)) {
                for s in sectors {
                    out[s.index()].get_or_insert(cur);
                }
            }
            chain_start = k;
        }
    }
    out
}

/// Words of a sentence with their byte offsets (letters, digits and inner hyphens).
fn word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '-';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// True when `body[from..to]` only holds list separators and glue words.
fn is_list_gap(body: &str, from: usize, to: usize) -> bool {
    if to < from {
        // Overlapping items (a cue inside a longer one) belong together.
        return true;
    }
    if to - from > LIST_GAP {
        return false;
    }
    let Some(gap) = body.get(from..to) else {
        return false;
    };
    gap.split(|c: char| c.is_whitespace() || matches!(c, ',' | '&' | '/' | ';' | ':'))
        .filter(|w| !w.is_empty())
        .all(|w| LIST_GLUE.contains(&w.to_ascii_lowercase().as_str()))
}

/// Length-normalised lexicon evidence per sector (indexed like [`Sector::ALL`]); the `train`
/// command uses it to fit how the lexicon and the model are combined.
pub fn lexicon_evidence(title: &str, body: &str) -> [f32; Sector::COUNT] {
    let sentences = super::sentences::split(body);
    lexicon_scan(title, body, &sentences).evidence
}

struct LexiconScan {
    evidence: [f32; Sector::COUNT],
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
    let words = super::tokens::count_words(body) as f32;
    let lf = (1.0 + words / LENGTH_UNIT).sqrt();
    let window = window_evidence(&body_hits, &body_sent, sentences.len());
    let mut evidence = [0f32; Sector::COUNT];
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
fn window_evidence(hits: &[Hit], sent: &[Option<usize>], n: usize) -> [f32; Sector::COUNT] {
    // Hits bucketed by sentence in one flat array (a counting sort that keeps text order within
    // a sentence): a vector per sentence cost an allocation each.
    let mut offsets = vec![0usize; n + 1];
    for &i in sent.iter().flatten().filter(|&&i| i < n) {
        offsets[i + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut flat = vec![0usize; offsets[n]];
    for (k, s) in sent.iter().enumerate() {
        let Some(i) = s.filter(|&i| i < n) else {
            continue;
        };
        // In bounds: sentence i owns flat[offsets[i]..offsets[i + 1]] and fills it once.
        flat[fill[i]] = k;
        fill[i] += 1;
    }
    let per = |i: usize| {
        flat[offsets[i]..offsets[i + 1]]
            .iter()
            .filter_map(|&k| hits.get(k))
    };
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
    let mut sum = [0f32; Sector::COUNT];
    let mut best = [0f32; Sector::COUNT];
    let mut apply = |h: &Hit, delta: i32, sum: &mut [f32; Sector::COUNT]| {
        let si = h.sector.index();
        let e = counts.entry((si, h.term)).or_insert((h.weight, 0));
        let before = contribution(e.0, e.1);
        e.1 = (e.1 as i32 + delta).max(0) as u32;
        sum[si] += contribution(e.0, e.1) - before;
    };
    for end in 0..n {
        for h in per(end) {
            apply(h, 1, &mut sum);
        }
        if end >= WINDOW {
            for h in per(end - WINDOW) {
                apply(h, -1, &mut sum);
            }
        }
        for i in 0..16 {
            best[i] = best[i].max(sum[i]);
        }
    }
    best
}

/// Model features of a sentence that explain a tag of sector `s`.
const TOP_FEATURES: usize = 3;

/// A feature of a sentence heavy enough to be evidence for `sector`.
#[derive(Clone, Copy)]
struct StrongFeature {
    sector: Sector,
    weight: f32,
    id: u32,
}

/// Per sentence, its features whose weight for some sector reaches [`MODEL_EVIDENCE_WEIGHT`],
/// in feature order. Computed once per article: looking weights up for every tagged sector
/// and every feature of every sentence was a large share of tagging, and few features are
/// this heavy.
fn strong_features(model: &Model, sentence_feats: &[Vec<u32>]) -> Vec<Vec<StrongFeature>> {
    sentence_feats
        .iter()
        .map(|ids| {
            let mut out = Vec::new();
            for &id in ids {
                // One entry per sector (see `Model::weights`).
                for &(sector, weight) in model.weights(id) {
                    if weight >= MODEL_EVIDENCE_WEIGHT {
                        out.push(StrongFeature { sector, weight, id });
                    }
                }
            }
            out
        })
        .collect()
}

/// The [`TOP_FEATURES`] heaviest strong features of a sentence for `s`, heaviest first, ties
/// in feature order; kept in a fixed array rather than a sorted vector per sentence.
fn top_model_features(strong: &[StrongFeature], s: Sector) -> [Option<(f32, u32)>; TOP_FEATURES] {
    let mut top: [Option<(f32, u32)>; TOP_FEATURES] = [None; TOP_FEATURES];
    for f in strong.iter().filter(|f| f.sector == s) {
        let w = f.weight;
        // After every kept feature at least as heavy, so equal weights keep feature order.
        let Some(slot) = top.iter().position(|t| t.is_none_or(|(tw, _)| tw < w)) else {
            continue;
        };
        top.copy_within(slot..TOP_FEATURES - 1, slot + 1);
        top[slot] = Some((w, f.id));
    }
    top
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
fn lexicon_raw(title_hits: &[Hit], body_hits: &[Hit], body_sent: &[Option<usize>]) -> [f32; Sector::COUNT] {
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
    let mut raw = [0f32; Sector::COUNT];
    for ((si, _), (w, n)) in acc {
        raw[si] += w * (1.0 + 0.5 * (n as f32).ln());
    }
    raw
}

pub(crate) fn tag(title: &str, body: &str, sentences: &[Span], opts: &TaggerOptions) -> Tagging {
    let scan_lex = lexicon_scan(title, body, sentences);
    let model: &Model = opts.model.unwrap_or(&MODEL);
    let scan = if opts.use_model {
        Some(model.scan(title, body, sentences))
    } else {
        None
    };
    let listed = if opts.list_fields {
        listed_fields(body, &scan_lex.body_hits, &scan_lex.body_sent, sentences)
    } else {
        [None; Sector::COUNT]
    };
    let scores = sector_scores(model, &scan_lex, scan.as_ref(), &listed, opts);

    let mut tags = Vec::new();
    let mut support = Vec::new();
    // Filled on the first tagged sector the model covers.
    let mut strong: Option<Vec<Vec<StrongFeature>>> = None;
    for s in Sector::ALL {
        let si = s.index();
        let score = scores[si];
        if score.is_nan() || score < opts.threshold {
            continue;
        }
        let mut strength = sentence_strength(
            model,
            s,
            body,
            &scan_lex,
            sentences.len(),
            scan.as_ref(),
            &mut strong,
        );
        let order = evidence_order(&strength.strength, listed[si]);
        let evidence: Vec<Evidence> = order
            .iter()
            .take(MAX_EVIDENCE)
            .map(|&i| Evidence {
                span: sentences[i],
                terms: std::mem::take(&mut strength.terms[i]),
            })
            .collect();
        // A tag must show why: no evidence sentence and no cue in the title, no tag.
        if evidence.is_empty() && !scan_lex.title_hits.iter().any(|h| h.sector == s) {
            continue;
        }
        let mut supp: Vec<usize> = (0..sentences.len()).filter(|&i| strength.lexical[i]).collect();
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

/// Each sector's score: the model's probability where it covers the sector (the lexicon
/// may still tag on strong evidence), the lexicon's elsewhere, raised to the threshold for
/// a sector discussed across the article, named as a field of cooperation, or a secondary
/// topic.
fn sector_scores(
    model: &Model,
    scan_lex: &LexiconScan,
    scan: Option<&Scan>,
    listed: &[Option<usize>; Sector::COUNT],
    opts: &TaggerOptions,
) -> [f32; Sector::COUNT] {
    let (sent_count, sent_best) = if opts.min_sentences > 0 {
        sentence_support(
            &scan_lex.body_hits,
            &scan_lex.body_sent,
            opts.sentence_cue,
            opts.list_sectors,
        )
    } else {
        ([0; Sector::COUNT], [0.0; Sector::COUNT])
    };
    let breadth = sent_count
        .iter()
        .filter(|&&n| n > 0 && n as usize >= opts.min_sentences)
        .count();
    let multi_topic = breadth >= opts.spread_sectors;
    let top_prob = scan.map_or(0.0, |sc| sc.prob.iter().flatten().fold(0f32, |a, &p| a.max(p)));

    let mut scores = [0f32; Sector::COUNT];
    for s in Sector::ALL {
        let si = s.index();
        let evidence = scan_lex.evidence[si];
        let spread = opts.min_sentences > 0
            && multi_topic
            && (sent_count[si] as usize >= opts.min_sentences || sent_best[si] >= opts.devoted_cue);
        // Where the model covers a sector, the lexicon may still tag on strong evidence (the
        // per-sector gate fitted by `train`): the corpora are narrow and the lexicon keeps
        // the tagger general on other news.
        let prob = scan.and_then(|sc| sc.prob[si]);
        // Close enough to the article's main topic (see [`SECONDARY_RATIO`]).
        let secondary = prob.is_some_and(|p| {
            opts.secondary_ratio > 0.0 && p >= opts.secondary_floor && p >= opts.secondary_ratio * top_prob
        });
        let score = match prob {
            Some(p) => {
                let gate = model.lexicon_gate(s).unwrap_or(Gate {
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
        // Discussed in several sentences (or one devoted sentence), named as a field of
        // cooperation, or a secondary topic: tagged at the threshold.
        scores[si] = if spread || listed[si].is_some() || secondary {
            score.max(opts.threshold)
        } else {
            score
        };
    }
    scores
}

/// Per body sentence, how strongly it speaks of one sector and through which words.
struct SentenceStrength {
    /// Lexicon weights plus scaled positive model weights.
    strength: Vec<f32>,
    /// The words that gave it, as shown to a reader.
    terms: Vec<Vec<String>>,
    /// Whether a lexicon cue of the sector stands in it.
    lexical: Vec<bool>,
}

/// Evidence strength of each sentence for sector `s`: lexicon weights plus positive model
/// weights. `strong` caches the model's heavy features per sentence across sectors.
fn sentence_strength(
    model: &Model,
    s: Sector,
    body: &str,
    scan_lex: &LexiconScan,
    sentence_count: usize,
    scan: Option<&Scan>,
    strong: &mut Option<Vec<Vec<StrongFeature>>>,
) -> SentenceStrength {
    let mut strength = vec![0f32; sentence_count];
    let mut terms: Vec<Vec<String>> = vec![Vec::new(); sentence_count];
    // Only words the model weighs heavily explain a tag; the long tail of small weights
    // moves the score but says nothing to a reader.
    let mut lexical = vec![false; sentence_count];
    for (h, sent) in scan_lex.body_hits.iter().zip(&scan_lex.body_sent) {
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
    if let Some(sc) = scan.filter(|_| model.covers(s)) {
        let strong = strong.get_or_insert_with(|| strong_features(model, &sc.sentence_feats));
        for (i, feats) in strong.iter().enumerate() {
            let pos = top_model_features(feats, s);
            // Model weights run to ~12 against lexicon weights of ~1; scaled down so that a
            // sentence with curated cues outranks one with a few heavy corpus words.
            for (w, id) in pos.iter().flatten() {
                strength[i] += *w * MODEL_EVIDENCE_SCALE;
                let term = model.term(*id);
                if !terms[i].iter().any(|t| t.starts_with(term)) {
                    terms[i].push(term.to_string());
                }
            }
        }
    }
    SentenceStrength {
        strength,
        terms,
        lexical,
    }
}

/// Sentences with any evidence, strongest first (ties in text order); the sentence naming
/// the sector as a field of cooperation (`listed`) is shown whatever its rank.
fn evidence_order(strength: &[f32], listed: Option<usize>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..strength.len()).filter(|&i| strength[i] > 0.0).collect();
    order.sort_by(|&a, &b| strength[b].total_cmp(&strength[a]).then(a.cmp(&b)));
    if let Some(l) = listed {
        if let Some(pos) = order.iter().position(|&i| i == l).filter(|&p| p >= MAX_EVIDENCE) {
            order.remove(pos);
            order.insert(MAX_EVIDENCE - 1, l);
        }
    }
    order
}
