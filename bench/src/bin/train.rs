//! `train`: fits the sector model on the training folds (1-4) of labelled corpora and writes
//! article/src/analyze/data/model.tsv (the library embeds it, so rebuild after training). Fold 0 is
//! never read. It fits, in order:
//! 1. the lexicon threshold for sectors no corpus labels: one value, maximising the mean
//!    macro-F1 of the lexicon alone on the labelled sectors;
//! 2. per labelled sector, an L2-regularised logistic regression over the model's word
//!    features, on the corpora that label the sector plus auxiliary negatives from the others
//!    (see `aux_negative`), with the 1500 heaviest words kept and the model refitted on them;
//! 3. its decision threshold, maximising out-of-fold F1 (4-fold cross-validation inside folds
//!    1-4, feature selection redone in each fold), folded into the bias so that the library
//!    tags at probability 0.5;
//! 4. its lexicon gate (see the tagger's documentation), on the same out-of-fold predictions.
//!
//! With `--head-min N`, a sector made of several corpus labels also gets one regression per
//! label carried by N training documents or more, and its probability is the largest of its
//! heads' (threshold and gate fitted on that maximum). Off in the shipped model; see the
//! flag for why.
//!
//!     cargo run --release --bin train -- /work/shared/corpora
//!
//! `--held-out K --out F` trains on the other four folds instead, never reading fold K: the
//! models `eval --cv-models` needs to score every fold as unseen (`bench/cv.sh` runs all).

use sectorwire_bench::labelled as corpus;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sectorwire_article::analyze::classifier::features;
use sectorwire_article::analyze::{lexicon_evidence, Sector, LENGTH_UNIT};
use sectorwire_bench::metrics::{fold_of, Confusion};

#[derive(Parser)]
#[command(about = "Train the sector model on folds 1-4 of labelled corpora")]
struct Args {
    /// Corpora folder with labels.json.
    path: PathBuf,
    /// Output weights file.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../article/src/analyze/data/model.tsv"))]
    out: PathBuf,
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// L2 penalty per example (out-of-fold F1 is flat from 1e-4 to 1e-3; 1e-5 overfits).
    #[arg(long, default_value_t = 1e-4)]
    l2: f32,
    /// Adagrad learning rate.
    #[arg(long, default_value_t = 0.5)]
    lr: f32,
    /// Minimum document frequency (in the training folds) of a feature word.
    #[arg(long, default_value_t = 3)]
    min_df: usize,
    /// Keep at most this many weights per sector (largest magnitude first).
    #[arg(long, default_value_t = 1500)]
    top: usize,
    /// Lexicon evidence, as a multiple of the lexicon threshold, from which the lexicon tags a
    /// model-covered sector whatever the model says.
    #[arg(long, default_value_t = 2.0)]
    gate_cap: f32,
    /// How much out-of-fold F1 (on the corpora) the lexicon gate may cost a sector, beyond the
    /// cap, in exchange for tagging what the lexicon finds on other news.
    #[arg(long, default_value_t = 0.01)]
    gate_tolerance: f64,
    /// Drop weights smaller than this in magnitude (after refitting on the selected words).
    #[arg(long, default_value_t = 0.005)]
    min_weight: f32,
    /// A corpus label that maps to a sector gets its own head when the sector is a union of
    /// several labels and this many training documents carry it (0: sector heads only, as
    /// shipped: at 20, cross-validated BBC macro-F1 rose 0.003 but multi-sector recall fell
    /// 0.011 at the secondary rule's values; bench/README.md, "Label heads").
    #[arg(long, default_value_t = 0)]
    head_min: usize,
    /// The fold never read (0 for the shipped model). Another value trains the model that
    /// `eval --cv-models` scores on that fold, for a cross-validated figure of the tagger.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..5))]
    held_out: u64,
}

struct Example {
    x: Vec<(u32, f32)>,
    /// Lexicon evidence (normalised with LENGTH_UNIT) and the body length in words.
    lex_raw: [f32; Sector::COUNT],
    words: f32,
    fold: u64,
    corpus: usize,
    truth: Vec<Sector>,
    /// The corpus labels behind `truth`.
    labels: Vec<String>,
}

/// Deterministic shuffling without a rand dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Model probabilities under which the gate may still let the lexicon tag (1.0 = never).
const GATE_FLOORS: &[f32] = &[0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 1.0];

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

struct Lr {
    w: Vec<f32>,
    b: f32,
}

impl Lr {
    fn predict(&self, x: &[(u32, f32)]) -> f32 {
        sigmoid(self.b + x.iter().map(|&(f, v)| self.w[f as usize] * v).sum::<f32>())
    }
}

fn train(
    examples: &[&Example],
    y: &[bool],
    dims: usize,
    mask: Option<&[bool]>,
    args: &Args,
    seed: u64,
) -> Lr {
    let mut m = Lr {
        w: vec![0.0; dims],
        b: 0.0,
    };
    let mut g2 = vec![1e-6f32; dims];
    let mut gb2 = 1e-6f32;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = Lcg(seed);
    for _ in 0..args.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &i in &order {
            let ex = examples[i];
            let g = m.predict(&ex.x) - if y[i] { 1.0 } else { 0.0 };
            for &(f, v) in &ex.x {
                let f = f as usize;
                if mask.is_some_and(|m| !m[f]) {
                    continue;
                }
                let grad = g * v + args.l2 * m.w[f];
                g2[f] += grad * grad;
                m.w[f] -= args.lr * grad / g2[f].sqrt();
            }
            gb2 += g * g;
            m.b -= args.lr * g / gb2.sqrt();
        }
    }
    m
}

/// Length units tried for lexicon normalisation (words); the last one means "no normalisation".
const LEX_UNITS: &[f32] = &[100.0, 200.0, 400.0, 800.0, 1600.0, 1e9];

/// Lexicon evidence re-normalised for another length unit (the library uses LENGTH_UNIT).
fn evidence(e: &Example, s: Sector, unit: f32) -> f32 {
    let raw = e.lex_raw[s.index()] * (1.0 + e.words / LENGTH_UNIT).sqrt();
    raw / (1.0 + e.words / unit).sqrt()
}

/// Feature selection: the `top` heaviest words of a model fitted on all features. Models are
/// then refitted on those words only, so the bias and the kept weights absorb what the dropped
/// words carried. Done inside each cross-validation fold too, so out-of-fold scores stay honest.
fn select(full: &Lr, top: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..full.w.len()).collect();
    order.sort_by(|&a, &b| full.w[b].abs().total_cmp(&full.w[a].abs()).then(a.cmp(&b)));
    let mut mask = vec![false; full.w.len()];
    for &i in order.iter().take(top) {
        mask[i] = true;
    }
    mask
}

/// Auxiliary negatives: documents of a corpus that does not label sector `s` but whose own
/// labels make `s` implausible. Reuters-21578 (1987 business and commodity wires) has no sport,
/// entertainment or technology stories; BBC sport and entertainment stories are not about
/// trade, energy, farming or shipping. Without them a model trained on one corpus fires on the
/// other's vocabulary (the BBC-trained technology model tagged one Reuters earnings report in
/// seven). Politics gets none: both corpora discuss governments.
fn aux_negative(s: Sector, e: &Example) -> bool {
    use Sector::*;
    let implausible_for: &[Sector] = match s {
        Sport | Culture | Technology => {
            return e
                .truth
                .iter()
                .all(|t| matches!(t, Finance | Trade | Energy | Agriculture | Transport))
        }
        Trade | Energy | Agriculture | Transport => &[Sport, Culture],
        _ => return false,
    };
    !e.truth.is_empty() && e.truth.iter().all(|t| implausible_for.contains(t))
}

fn aux_flag(e: &Example, covering: &[usize]) -> bool {
    !covering.contains(&e.corpus)
}

fn best_threshold(probs: &[(f32, bool)]) -> (f32, f64) {
    let mut best = (0.5f32, -1.0f64);
    for k in 5..96 {
        let t = k as f32 / 100.0;
        let mut c = Confusion::default();
        for &(p, y) in probs {
            c.add(p >= t, y);
        }
        if c.f1() > best.1 {
            best = (t, c.f1());
        }
    }
    best
}

fn main() -> ExitCode {
    let args = Args::parse();
    let corpora = match corpus::load_dir(&args.path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("train: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (terms, examples) = training_examples(&corpora, args.min_df, args.held_out);
    eprintln!(
        "train: {} training documents, {} features",
        examples.len(),
        terms.len()
    );

    let mut out = String::new();
    out.push_str(
        "# Trained sector model (logistic regression per sector over unit-length log-count word features).\n",
    );
    if args.held_out == 0 {
        out.push_str("# Written by: cargo run --release --bin train -- <corpora>; trained on folds 1-4 only (fold = FNV-1a(id) % 5).\n");
    } else {
        let _ = writeln!(
            out,
            "# Written by: cargo run --release --bin train -- <corpora> --held-out {}; fold {} never read (fold = FNV-1a(id) % 5).",
            args.held_out, args.held_out
        );
    }
    let _ = writeln!(
        out,
        "# epochs={} l2={} lr={} min_df={} top={} min_weight={}. Biases include the threshold shift -logit(t).",
        args.epochs, args.l2, args.lr, args.min_df, args.top, args.min_weight
    );
    // 1. The lexicon on its own: one threshold for all sectors, fitted on the labelled sectors
    //    (mean of the corpora's macro-F1 on folds 1-4); the sectors no corpus labels inherit it.
    //    The length unit is checked on the same grid (the library fixes LENGTH_UNIT).
    for &unit in LEX_UNITS {
        let (t, f1) = fit_lexicon_threshold(&corpora, &examples, unit);
        eprintln!("train: lexicon alone, length unit {unit}: threshold {t:.1}, mean macro-F1 {f1:.3}");
    }
    let (lex_t, lex_f1) = fit_lexicon_threshold(&corpora, &examples, LENGTH_UNIT);
    let _ = writeln!(
        out,
        "# Lexicon alone, length unit {LENGTH_UNIT}, fitted on folds 1-4 (mean macro-F1 {lex_f1:.3}):"
    );
    let _ = writeln!(out, "lexicon_threshold\t{lex_t:.2}");
    let mut sectors: Vec<Sector> = corpora.iter().flat_map(|c| c.sectors.iter().copied()).collect();
    sectors.sort();
    sectors.dedup();
    let mut weights_out = String::new();
    for s in sectors {
        let fit = fit_sector(s, &corpora, &examples, terms.len(), lex_t, &args);
        let gate = fit.gate;
        eprintln!(
            "train: {:<12} {} docs, {} positive, {} label heads, threshold {:.2}, out-of-fold F1 {:.3}; lexicon gate {:.2} floor {:.2} -> F1 {:.3}",
            s.slug(),
            fit.docs,
            fit.positive,
            fit.label_heads.len(),
            fit.threshold,
            fit.f1,
            gate.0,
            gate.1,
            gate.2
        );
        let _ = writeln!(
            out,
            "# {}: {}threshold {:.2} (out-of-fold F1 {:.3} on folds 1-4); lexicon gate {:.2} floor {:.2} (F1 {:.3})",
            s.slug(),
            match fit.label_heads.len() {
                0 => String::new(),
                n => format!("{n} label heads, "),
            },
            fit.threshold,
            fit.f1,
            gate.0,
            gate.1,
            gate.2
        );
        let _ = writeln!(out, "bias\t{}\t{:.5}", s.slug(), fit.bias);
        for h in &fit.label_heads {
            let _ = writeln!(out, "head\t{}\t{}\t{:.5}", s.slug(), h.label, h.bias);
        }
        let _ = writeln!(
            out,
            "lexicon\t{}\t{:.3}\t{:.3}\t{:.3}",
            s.slug(),
            gate.0,
            gate.1,
            fit.cap
        );
        for (i, w) in &fit.weights {
            let _ = writeln!(weights_out, "w\t{}\t{}\t{:.3}", terms[*i], s.slug(), w);
        }
        for h in &fit.label_heads {
            for (i, w) in &h.weights {
                let _ = writeln!(
                    weights_out,
                    "hw\t{}\t{}\t{}\t{:.3}",
                    terms[*i],
                    s.slug(),
                    h.label,
                    w
                );
            }
        }
    }
    out.push_str(&weights_out);
    if let Err(e) = std::fs::write(&args.out, out) {
        eprintln!("train: {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("train: wrote {}", args.out.display());
    ExitCode::SUCCESS
}

/// The vocabulary (terms in at least `min_df` training documents, sorted) and the training
/// examples (every fold but `held_out`) with their features as vocabulary ids.
fn training_examples(
    corpora: &[corpus::Corpus],
    min_df: usize,
    held_out: u64,
) -> (Vec<String>, Vec<Example>) {
    // Vocabulary from the training folds only.
    let mut vocab: HashMap<String, u32> = HashMap::new();
    let mut df: HashMap<String, usize> = HashMap::new();
    // Word features (as strings until the vocabulary is known) and the example they belong to.
    let mut raw: Vec<(Vec<(String, f32)>, Example)> = Vec::new();
    for (ci, c) in corpora.iter().enumerate() {
        for d in &c.docs {
            let fold = fold_of(&d.id);
            if fold == held_out {
                continue;
            }
            let f = features(&d.title, &d.text);
            for (t, _) in &f {
                *df.entry(t.clone()).or_default() += 1;
            }
            let lex = lexicon_evidence(&d.title, &d.text);
            let words = d.text.split_whitespace().count() as f32;
            raw.push((
                f,
                Example {
                    x: Vec::new(),
                    lex_raw: lex,
                    words,
                    fold,
                    corpus: ci,
                    truth: d.truth.clone(),
                    labels: d.labels.clone(),
                },
            ));
        }
    }
    let mut terms: Vec<String> = df
        .iter()
        .filter(|(_, &n)| n >= min_df)
        .map(|(t, _)| t.clone())
        .collect();
    terms.sort();
    for (i, t) in terms.iter().enumerate() {
        vocab.insert(t.clone(), i as u32);
    }
    let examples: Vec<Example> = raw
        .into_iter()
        .map(|(f, mut e)| {
            e.x = f
                .iter()
                .filter_map(|(t, v)| vocab.get(t).map(|&i| (i, *v)))
                .collect();
            e
        })
        .collect();
    (terms, examples)
}

/// The lexicon's one threshold for length unit `unit`: the grid point with the best mean
/// over the corpora of their macro-F1 on the labelled sectors.
fn fit_lexicon_threshold(corpora: &[corpus::Corpus], examples: &[Example], unit: f32) -> (f32, f64) {
    let mut best = (1.0f32, -1.0f64);
    for k in 4..=60 {
        let t = k as f32 * 0.1;
        let mut total = 0.0;
        for (ci, c) in corpora.iter().enumerate() {
            let mut macro_f1 = 0.0;
            for &s in &c.sectors {
                let mut conf = Confusion::default();
                for e in examples.iter().filter(|e| e.corpus == ci) {
                    conf.add(evidence(e, s, unit) >= t, e.truth.contains(&s));
                }
                macro_f1 += conf.f1();
            }
            total += macro_f1 / c.sectors.len().max(1) as f64;
        }
        let score = total / corpora.len().max(1) as f64;
        if score > best.1 {
            best = (t, score);
        }
    }
    best
}

/// What [`fit_sector`] found for one sector.
struct SectorFit {
    docs: usize,
    positive: usize,
    /// The model's threshold and its out-of-fold F1.
    threshold: f32,
    f1: f64,
    /// The lexicon gate: (evidence, model floor, out-of-fold F1, articles tagged).
    gate: (f32, f32, f64, usize),
    /// Lexicon evidence that always tags.
    cap: f32,
    /// The model's bias with the threshold shift folded in.
    bias: f32,
    /// Selected weights heavy enough to keep, by vocabulary id.
    weights: Vec<(usize, f32)>,
    /// Heads of the corpus labels that make up the sector (see [`label_heads`]).
    label_heads: Vec<LabelHead>,
}

/// A head fitted on one corpus label of a sector; its bias carries the sector's threshold
/// shift, since the sector's probability is the largest of its heads'.
struct LabelHead {
    label: String,
    bias: f32,
    weights: Vec<(usize, f32)>,
}

/// The corpus labels of sector `s` that get a head: those carried by at least `min`
/// documents of `data`, when `s` is made of two labels or more (one label's head would
/// repeat the sector's). Sorted, so training is reproducible.
fn label_heads(
    s: Sector,
    corpora: &[corpus::Corpus],
    covering: &[usize],
    data: &[&Example],
    min: usize,
) -> Vec<String> {
    let mine: Vec<&String> = covering
        .iter()
        .flat_map(|&ci| corpora[ci].label_sectors.iter())
        .filter(|(_, sectors)| sectors.contains(&s))
        .map(|(l, _)| l)
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for e in data {
        for l in e.labels.iter().filter(|l| mine.contains(l)) {
            *count.entry(l.as_str()).or_default() += 1;
        }
    }
    if min == 0 || count.len() < 2 {
        return Vec::new();
    }
    let mut out: Vec<String> = count
        .into_iter()
        .filter(|&(_, n)| n >= min)
        .map(|(l, _)| l.to_string())
        .collect();
    out.sort();
    out
}

/// Trains sector `s`'s model on the corpora that label it (plus auxiliary negatives), fits
/// its threshold and lexicon gate on out-of-fold predictions, then retrains on all folds.
fn fit_sector(
    s: Sector,
    corpora: &[corpus::Corpus],
    examples: &[Example],
    n_terms: usize,
    lex_t: f32,
    args: &Args,
) -> SectorFit {
    let covering: Vec<usize> = (0..corpora.len())
        .filter(|&i| corpora[i].sectors.contains(&s))
        .collect();
    let data: Vec<&Example> = examples
        .iter()
        .filter(|e| covering.contains(&e.corpus) || aux_negative(s, e))
        .collect();
    let aux: Vec<bool> = data.iter().map(|e| !covering.contains(&e.corpus)).collect();
    let y: Vec<bool> = data
        .iter()
        .map(|e| !aux_flag(e, &covering) && e.truth.contains(&s))
        .collect();
    let labels = label_heads(s, corpora, &covering, &data, args.head_min);
    // Targets per head: the sector's first, then each label's.
    let mut targets: Vec<Vec<bool>> = vec![y.clone()];
    for l in &labels {
        targets.push(
            data.iter()
                .map(|e| !aux_flag(e, &covering) && e.labels.contains(l))
                .collect(),
        );
    }
    let (oof, oof_idx) = out_of_fold(&data, &y, &targets, &aux, n_terms, args);
    let (t, f1) = best_threshold(&oof);
    let evs: Vec<f32> = oof_idx
        .iter()
        .map(|&i| evidence(data[i], s, LENGTH_UNIT))
        .collect();
    let cap = lex_t * args.gate_cap.max(1.0);
    let gate = fit_gate(&oof, &evs, t, lex_t, cap, args.gate_tolerance);
    let shift = (t / (1.0 - t)).ln();
    let mut fitted = targets.iter().map(|yh| {
        let mask = select(&train(&data, yh, n_terms, None, args, 7), args.top);
        let m = train(&data, yh, n_terms, Some(&mask), args, 99);
        let weights: Vec<(usize, f32)> =
            m.w.iter()
                .copied()
                .enumerate()
                .filter(|&(i, w)| mask[i] && w.abs() >= args.min_weight)
                .collect();
        (m.b - shift, weights)
    });
    let (bias, weights) = fitted.next().unwrap_or_default();
    let label_heads = labels
        .into_iter()
        .zip(fitted)
        .map(|(label, (bias, weights))| LabelHead { label, bias, weights })
        .collect();
    SectorFit {
        docs: data.len(),
        positive: y.iter().filter(|&&b| b).count(),
        threshold: t,
        f1,
        gate,
        cap,
        bias,
        weights,
        label_heads,
    }
}

/// Out-of-fold predictions over the training folds with their indices into `data`, for fitting the
/// threshold: labelled documents only, never auxiliary negatives. One head is trained per
/// target and the prediction is the largest, as the library scores a sector.
fn out_of_fold(
    data: &[&Example],
    y: &[bool],
    targets: &[Vec<bool>],
    aux: &[bool],
    n_terms: usize,
    args: &Args,
) -> (Vec<(f32, bool)>, Vec<usize>) {
    let mut oof: Vec<(f32, bool)> = Vec::new();
    let mut oof_idx: Vec<usize> = Vec::new();
    for k in (0..5u64).filter(|&k| k != args.held_out) {
        let (tr, te): (Vec<usize>, Vec<usize>) = (0..data.len()).partition(|&i| data[i].fold != k);
        let tr_ex: Vec<&Example> = tr.iter().map(|&i| data[i]).collect();
        let models: Vec<Lr> = targets
            .iter()
            .map(|yh| {
                let tr_y: Vec<bool> = tr.iter().map(|&i| yh[i]).collect();
                let mask_k = select(&train(&tr_ex, &tr_y, n_terms, None, args, k + 10), args.top);
                train(&tr_ex, &tr_y, n_terms, Some(&mask_k), args, k)
            })
            .collect();
        // Thresholds are fitted on labelled documents only, never on auxiliary negatives.
        let te: Vec<usize> = te.into_iter().filter(|&i| !aux[i]).collect();
        oof.extend(te.iter().map(|&i| {
            let p = models.iter().map(|m| m.predict(&data[i].x)).fold(0f32, f32::max);
            (p, y[i])
        }));
        oof_idx.extend(te.iter().copied());
    }
    (oof, oof_idx)
}

/// The lexicon gate. The corpora label one or two topics per story while the lexicon
///    also finds the secondary ones, so on them the model alone scores best; on other
///    news (long multi-topic articles) the lexicon is the better judge. The gate lets
///    the lexicon tag a covered sector when its evidence reaches `g` and the model's
///    probability is at least `floor`: the most permissive (g, floor) whose out-of-fold
///    F1 stays within `tolerance` of the model alone. Strong lexicon evidence (`cap`)
///    always tags; the fitted (g, floor) rule comes on top of that baseline.
fn fit_gate(
    oof: &[(f32, bool)],
    evs: &[f32],
    t: f32,
    lex_t: f32,
    cap: f32,
    tolerance: f64,
) -> (f32, f32, f64, usize) {
    let shifted: Vec<f32> = oof.iter().map(|&(p, _)| sigmoid(logit(p) - logit(t))).collect();
    let rule = |g: f32, floor: f32| {
        let mut conf = Confusion::default();
        let mut tagged = 0usize;
        for (j, &(_, y)) in oof.iter().enumerate() {
            let tag = shifted[j] >= 0.5 || evs[j] >= cap || (evs[j] >= g && shifted[j] >= floor);
            tagged += usize::from(tag);
            conf.add(tag, y);
        }
        (conf.f1(), tagged)
    };
    let (base_f1, base_tagged) = rule(cap, 1.0);
    let mut gate = (cap, 1.0f32, base_f1, base_tagged);
    for k in 0..=8 {
        let g = lex_t * (1.0 + k as f32 * 0.125);
        for &floor in GATE_FLOORS {
            let (f, tagged) = rule(g, floor);
            if f + 1e-9 >= base_f1 - tolerance && tagged > gate.3 {
                gate = (g, floor, f, tagged);
            }
        }
    }
    gate
}
