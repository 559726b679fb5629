//! `eval`: scores the sector tagger on labelled corpora (per-sector precision, recall, F1 and
//! macro-F1 over the sectors each corpus labels), separately on the held-out fold 0 that nothing
//! was trained or tuned on and on the training folds 1-4, and on the hand-labelled seeds.
//!
//!     cargo run --release --bin eval -- /work/shared/corpora
//!     cargo run --release --bin eval -- my.jsonl --labels labels.json [--corpus reuters21578]
//!
//! `--min-sentences`, `--sentence-cue`, `--devoted-cue`, `--spread-sectors` and
//! `--list-sectors` override the tagger's sentence-count rule for multi-topic articles, and
//! `--brief` prints only the macro-F1 lines: that is how the rule's values were searched (read
//! the training-fold lines only; see the tagger's `SENTENCE_MIN`).

use sectorwire_bench::labelled as corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use corpus::{Corpus, Doc};
use sectorwire_article::analyze::classifier::{self, Model};
use sectorwire_article::analyze::{tag_sectors, Sector, TaggerOptions};
use sectorwire_bench::metrics::{fold_of, Scores};

#[derive(Parser)]
#[command(about = "Per-sector P/R/F1 of the sector tagger on labelled news")]
struct Args {
    /// A corpora folder with labels.json, or one .jsonl file (then --labels is required).
    path: PathBuf,
    /// Label mapping for a single .jsonl file.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Entry of a nested labels file to use for a single .jsonl (default: its folder name).
    #[arg(long)]
    corpus: Option<String>,
    /// Seed articles folder (default: <path>/../seeds when it exists).
    #[arg(long)]
    seeds: Option<PathBuf>,
    /// Hand labels for the seeds: {"file.txt": ["sector", ...]}.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/seed_labels.json"))]
    seed_labels: PathBuf,
    /// Score the lexicon alone (no trained model).
    #[arg(long)]
    lexicon_only: bool,
    /// Override the lexicon threshold (default: the fitted value shipped with the model).
    #[arg(long)]
    lexicon_threshold: Option<f32>,
    /// Override the sentence-count rule's minimum number of evidence sentences (0: off).
    #[arg(long)]
    min_sentences: Option<usize>,
    /// Override the cue weight one sentence needs to count as evidence.
    #[arg(long)]
    sentence_cue: Option<f32>,
    /// Override the cue weight at which one sentence alone tags its sector.
    #[arg(long)]
    devoted_cue: Option<f32>,
    /// Override how many sectors must reach the sentence count for the rule to apply.
    #[arg(long)]
    spread_sectors: Option<usize>,
    /// Override from how many sectors a sentence counts as a list of areas (0: never).
    #[arg(long)]
    list_sectors: Option<usize>,
    /// Override the secondary-sector rule's share of the top probability (0: off).
    #[arg(long)]
    secondary_ratio: Option<f32>,
    /// Override the secondary-sector rule's probability floor.
    #[arg(long)]
    secondary_floor: Option<f32>,
    /// Turn the fields-of-cooperation rule on or off (default: on).
    #[arg(long)]
    list_fields: Option<bool>,
    /// Print every document's false and missed tags.
    #[arg(long)]
    show_errors: bool,
    /// Only print macro-F1 per corpus split (for threshold searches).
    #[arg(long)]
    brief: bool,
    /// Score every document as one set instead of held-out / train folds.
    #[arg(long)]
    no_split: bool,
    /// Cross-validate: a folder with model-fold1.tsv .. model-fold4.tsv (`train --held-out K`)
    /// and optionally model-fold0.tsv (default: the embedded model, trained with fold 0 held
    /// out). Each document is tagged by the model that never read its fold, and the figures
    /// are pooled over all five folds. `bench/cv.sh` trains the models and runs this.
    #[arg(long)]
    cv_models: Option<PathBuf>,
}

/// One model per fold, each trained without that fold.
type FoldModels = [&'static Model; 5];

fn load_cv_models(dir: &Path) -> Result<FoldModels, String> {
    let mut out: Vec<&'static Model> = Vec::new();
    for k in 0..5 {
        let path = dir.join(format!("model-fold{k}.tsv"));
        let model: &'static Model = match std::fs::read_to_string(&path) {
            // Lives as long as the process, which is what the tagger's options borrow for.
            Ok(tsv) => Box::leak(Box::new(Model::from_tsv(&tsv))),
            Err(_) if k == 0 => classifier::embedded(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        out.push(model);
    }
    out.try_into().map_err(|_| "five fold models".to_string())
}

/// Set by `--show-errors`: print each document's wrong tags.
static SHOW_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by `--brief`: print only the macro-F1 lines.
static BRIEF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Multi-sector documents (two or more true sectors among those the corpus labels): how
/// many of their true sectors were tagged, and how many documents got all of them.
#[derive(Default)]
struct MultiSector {
    docs: usize,
    all_tagged: usize,
    truth: usize,
    found: usize,
}

impl MultiSector {
    fn add(&mut self, pred: &[Sector], truth: &[Sector]) {
        if truth.len() < 2 {
            return;
        }
        let found = truth.iter().filter(|s| pred.contains(s)).count();
        self.docs += 1;
        self.truth += truth.len();
        self.found += found;
        self.all_tagged += usize::from(found == truth.len());
    }

    fn line(&self) -> String {
        if self.docs == 0 {
            return "multi-sector: no documents with two or more sectors".to_string();
        }
        format!(
            "multi-sector ({} docs): sector recall {:.3}, all sectors tagged {:.3}",
            self.docs,
            self.found as f64 / self.truth as f64,
            self.all_tagged as f64 / self.docs as f64
        )
    }
}

/// The tagger options for one document: the same for all, or with the model of its fold.
type OptsFor<'a> = &'a dyn Fn(&Doc) -> TaggerOptions;

fn report(title: &str, sectors: &[Sector], docs: &[&Doc], opts: OptsFor) -> f64 {
    let mut scores = Scores::new(sectors);
    let mut multi = MultiSector::default();
    for d in docs {
        let pred: Vec<Sector> = tag_sectors(&d.title, &d.text, &opts(d))
            .iter()
            .map(|t| t.sector)
            .filter(|s| sectors.contains(s))
            .collect();
        scores.add(&pred, &d.truth);
        multi.add(&pred, &d.truth);
        if SHOW_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
            let extra: Vec<&str> = pred
                .iter()
                .filter(|s| !d.truth.contains(s))
                .map(|s| s.slug())
                .collect();
            let missed: Vec<&str> = d
                .truth
                .iter()
                .filter(|s| !pred.contains(s))
                .map(|s| s.slug())
                .collect();
            if !extra.is_empty() || !missed.is_empty() {
                println!(
                    "  {title} | {} | extra {extra:?} missed {missed:?} | {}",
                    d.id, d.title
                );
            }
        }
    }
    if BRIEF.load(std::sync::atomic::Ordering::Relaxed) {
        let m = scores.macro_f1();
        println!(
            "  {title}: macro-F1 {m:.3} present {:.3}; {}",
            scores.macro_f1_present(),
            multi.line()
        );
        return m;
    }
    println!("{title} ({} docs)", docs.len());
    println!(
        "  {:<12} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "sector", "P", "R", "F1", "tp", "fp", "fn"
    );
    for (s, c) in &scores.per_sector {
        println!(
            "  {:<12} {:>6.3} {:>6.3} {:>6.3} {:>6} {:>6} {:>6}",
            s.slug(),
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    let m = scores.macro_f1();
    println!("  macro-F1 {m:.3}");
    println!("  {}", multi.line());
    println!(
        "  macro-F1 over sectors present {:.3}\n",
        scores.macro_f1_present()
    );
    m
}

fn eval_corpus(c: &Corpus, opts: &TaggerOptions, no_split: bool, cv: Option<(&FoldModels, bool)>) {
    let sectors: Vec<&str> = c.sectors.iter().map(|s| s.slug()).collect();
    println!(
        "== {} ({} docs; sectors: {})",
        c.name,
        c.docs.len(),
        sectors.join(", ")
    );
    let same = |_: &Doc| *opts;
    if let Some((models, threshold_given)) = cv {
        // Each document is tagged by the model that never read its fold, with that model's
        // own lexicon threshold unless the command line fixed one.
        let by_fold = |d: &Doc| {
            let m = models[fold_of(&d.id) as usize];
            TaggerOptions {
                model: Some(m),
                lexicon_threshold: if threshold_given {
                    opts.lexicon_threshold
                } else {
                    m.lexicon_threshold().unwrap_or(opts.lexicon_threshold)
                },
                ..*opts
            }
        };
        for k in 0..5 {
            let fold: Vec<&Doc> = c.docs.iter().filter(|d| fold_of(&d.id) == k).collect();
            let brief = BRIEF.swap(true, std::sync::atomic::Ordering::Relaxed);
            report(&format!("fold {k} by its model"), &c.sectors, &fold, &by_fold);
            BRIEF.store(brief, std::sync::atomic::Ordering::Relaxed);
        }
        // Rule values are chosen on folds 1-4 so that fold 0 stays unseen by the choice too.
        let tuning: Vec<&Doc> = c.docs.iter().filter(|d| fold_of(&d.id) != 0).collect();
        let brief = BRIEF.swap(true, std::sync::atomic::Ordering::Relaxed);
        report(
            "folds 1-4 pooled (rule values are chosen here)",
            &c.sectors,
            &tuning,
            &by_fold,
        );
        BRIEF.store(brief, std::sync::atomic::Ordering::Relaxed);
        let all: Vec<&Doc> = c.docs.iter().collect();
        report(
            "cross-validated, all 5 folds pooled (each document tagged by a model that never read it)",
            &c.sectors,
            &all,
            &by_fold,
        );
        return;
    }
    if no_split {
        let all: Vec<&Doc> = c.docs.iter().collect();
        report("all documents", &c.sectors, &all, &same);
        return;
    }
    let held: Vec<&Doc> = c.docs.iter().filter(|d| fold_of(&d.id) == 0).collect();
    let train: Vec<&Doc> = c.docs.iter().filter(|d| fold_of(&d.id) != 0).collect();
    report(
        "held-out fold 0 (never trained or tuned on)",
        &c.sectors,
        &held,
        &same,
    );
    report("training folds 1-4", &c.sectors, &train, &same);
}

fn eval_seeds(dir: &Path, labels: &Path, opts: &TaggerOptions) -> Result<(), String> {
    let text = std::fs::read_to_string(labels).map_err(|e| format!("{}: {e}", labels.display()))?;
    let map: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", labels.display()))?;
    let mut docs = Vec::new();
    for (file, slugs) in &map {
        let raw = std::fs::read_to_string(dir.join(file))
            .map_err(|e| format!("{}: {e}", dir.join(file).display()))?;
        let (title, body) = corpus::read_seed(&raw);
        let mut truth: Vec<Sector> = slugs.iter().filter_map(|s| Sector::from_slug(s)).collect();
        truth.sort();
        docs.push(Doc {
            id: file.clone(),
            title,
            text: body,
            labels: truth.iter().map(|s| s.slug().to_string()).collect(),
            truth,
        });
    }
    println!(
        "== seeds ({} articles, hand labels {})",
        docs.len(),
        labels.display()
    );
    for d in docs
        .iter()
        .filter(|_| !BRIEF.load(std::sync::atomic::Ordering::Relaxed))
    {
        let tags = tag_sectors(&d.title, &d.text, opts);
        let pred: Vec<String> = tags
            .iter()
            .map(|t| format!("{}:{:.2}", t.sector.slug(), t.score))
            .collect();
        let truth: Vec<&str> = d.truth.iter().map(|s| s.slug()).collect();
        println!(
            "  {}\n    truth: {}\n    tagged: {}",
            d.id,
            truth.join(" "),
            pred.join(" ")
        );
    }
    let refs: Vec<&Doc> = docs.iter().collect();
    report("seeds, all 16 sectors", &Sector::ALL, &refs, &|_| *opts);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    BRIEF.store(args.brief, std::sync::atomic::Ordering::Relaxed);
    SHOW_ERRORS.store(args.show_errors, std::sync::atomic::Ordering::Relaxed);
    let defaults = TaggerOptions::default();
    let opts = TaggerOptions {
        use_model: !args.lexicon_only,
        lexicon_threshold: args.lexicon_threshold.unwrap_or(defaults.lexicon_threshold),
        min_sentences: args.min_sentences.unwrap_or(defaults.min_sentences),
        sentence_cue: args.sentence_cue.unwrap_or(defaults.sentence_cue),
        devoted_cue: args.devoted_cue.unwrap_or(defaults.devoted_cue),
        spread_sectors: args.spread_sectors.unwrap_or(defaults.spread_sectors),
        list_sectors: args.list_sectors.unwrap_or(defaults.list_sectors),
        list_fields: args.list_fields.unwrap_or(defaults.list_fields),
        secondary_ratio: args.secondary_ratio.unwrap_or(defaults.secondary_ratio),
        secondary_floor: args.secondary_floor.unwrap_or(defaults.secondary_floor),
        ..defaults
    };
    let cv_models = match args.cv_models.as_deref().map(load_cv_models).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cv = cv_models.as_ref().map(|m| (m, args.lexicon_threshold.is_some()));
    let corpora = if !args.path.exists() {
        Err(format!("{} not found", args.path.display()))
    } else if args.path.is_dir() {
        corpus::load_dir(&args.path)
    } else {
        match &args.labels {
            Some(l) => corpus::load_file(&args.path, l, args.corpus.as_deref()).map(|c| vec![c]),
            None => Err("a single .jsonl needs --labels".to_string()),
        }
    };
    let corpora = match corpora {
        Ok(c) => c,
        Err(e) => {
            eprintln!("eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    for c in &corpora {
        eval_corpus(c, &opts, args.no_split, cv);
    }
    let seeds = args.seeds.clone().or_else(|| {
        let guess = args.path.join("../seeds");
        (args.path.is_dir() && guess.is_dir()).then_some(guess)
    });
    if let Some(dir) = seeds {
        if let Err(e) = eval_seeds(&dir, &args.seed_labels, &opts) {
            eprintln!("eval: seeds: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
