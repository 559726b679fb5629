//! Scores the HTML body extractor on an article-extraction benchmark directory
//! (`html/<id>.html.gz` pages plus `ground-truth.json` with each page's `articleBody`),
//! so changes to the extraction rules are judged by numbers rather than by eye.
//!
//! The measure follows the benchmark's definition: bodies are cut into 4-token shingles
//! (tokens are runs of word characters, case kept); per page, true positives, false
//! positives and false negatives are counted over shingle multisets and normalised to
//! sum to 1; precision and recall are averaged over pages (a page with nothing to score
//! on one side is left out of that side's mean, as upstream does); F1 is taken of the
//! two means. Only the public `sectorwire_article::parse` API is used, so this binary can
//! live in any crate that depends on the library.

use clap::Parser;
use flate2::read::GzDecoder;
use sectorwire_article::parse::{parse_with, ContentType, ExtractOptions, Extraction, Hints};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Score body extraction on an article-extraction benchmark")]
struct Args {
    /// Benchmark directory holding ground-truth.json and html/ID.html.gz.
    dir: PathBuf,
    /// Print only the overall line, not one line per page.
    #[arg(long)]
    quiet: bool,
    /// Write each extracted body to DIR/ID.txt for inspection.
    #[arg(long, value_name = "DIR")]
    dump: Option<PathBuf>,
    /// Score only pages whose id starts with this prefix.
    #[arg(long)]
    only: Option<String>,
    /// Score bodies read from DIR/ID.txt (another extractor's output) instead of
    /// running the parser.
    #[arg(long, value_name = "DIR")]
    predictions: Option<PathBuf>,
    /// Shingle length in tokens.
    #[arg(long, default_value_t = 4)]
    ngram: usize,
    /// Score the fallback method alone (the largest coherent block of prose).
    #[arg(long)]
    fallback_only: bool,
    /// Main bodies shorter than this (bytes) are compared with the fallback's (see
    /// `ExtractOptions::fallback_below_bytes`; default: the library's).
    #[arg(long)]
    fallback_below: Option<usize>,
    /// How many times longer the fallback's body must be to replace a short main one.
    #[arg(long)]
    fallback_gain: Option<f32>,
    /// Cross-validate by site in K folds: pages are grouped by their URL's host, every
    /// site's pages fall in one fold, the extraction knobs are chosen on the other folds
    /// and scored on the held-out one.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
}

fn main() {
    let args = Args::parse();
    let result = match args.cv {
        Some(k) => run_cv(&args, k),
        None => run(&args),
    };
    if let Err(e) = result {
        eprintln!("extract_eval: {e}");
        std::process::exit(1);
    }
}

/// One benchmark page: id, URL, true body, raw HTML.
struct Page {
    id: String,
    url: String,
    truth: String,
    html: Vec<u8>,
}

fn load(args: &Args) -> Result<Vec<Page>, String> {
    let gt_path = args.dir.join("ground-truth.json");
    let gt_text = std::fs::read_to_string(&gt_path).map_err(|e| format!("{}: {e}", gt_path.display()))?;
    let gt: serde_json::Value =
        serde_json::from_str(&gt_text).map_err(|e| format!("{}: {e}", gt_path.display()))?;
    let gt = gt.as_object().ok_or("ground-truth.json is not an object")?;
    let mut ids: Vec<&String> = gt.keys().collect();
    ids.sort();
    let mut pages = Vec::new();
    for id in ids {
        if args.only.as_deref().is_some_and(|p| !id.starts_with(p)) {
            continue;
        }
        let field = |k: &str| {
            gt[id.as_str()]
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let html = if args.predictions.is_some() {
            Vec::new()
        } else {
            read_gz(&args.dir.join("html").join(format!("{id}.html.gz")))?
        };
        pages.push(Page {
            id: id.clone(),
            url: field("url"),
            truth: field("articleBody"),
            html,
        });
    }
    if pages.is_empty() {
        return Err("no pages to score".into());
    }
    Ok(pages)
}

/// What one extraction of one page gave: its score, and whether the page was refused.
struct Outcome {
    score: (f64, f64, f64),
    body: String,
    method: Option<Extraction>,
    error: Option<String>,
}

fn extract(page: &Page, opts: &ExtractOptions, ngram: usize) -> Outcome {
    let (body, method, error) = match parse_with(&page.html, ContentType::Html, &Hints::default(), opts) {
        Ok(a) => (a.body(), Some(a.extraction), None),
        Err(e) => (String::new(), None, Some(e.to_string())),
    };
    Outcome {
        score: shingle_match(&page.truth, &body, ngram),
        body,
        method,
        error,
    }
}

fn run(args: &Args) -> Result<(), String> {
    let pages = load(args)?;
    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let defaults = ExtractOptions::default();
    let opts = ExtractOptions {
        fallback_only: args.fallback_only,
        fallback_below_bytes: args.fallback_below.unwrap_or(defaults.fallback_below_bytes),
        fallback_gain: args.fallback_gain.unwrap_or(defaults.fallback_gain),
    };
    let mut scores: Vec<(f64, f64, f64)> = Vec::new();
    let mut bytes_total = 0usize;
    let mut parse_time = 0f64;
    let mut refused = 0usize;
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    for page in &pages {
        let outcome = match &args.predictions {
            Some(dir) => {
                let body = std::fs::read_to_string(dir.join(format!("{}.txt", page.id))).unwrap_or_default();
                Outcome {
                    score: shingle_match(&page.truth, &body, args.ngram),
                    body,
                    method: None,
                    error: None,
                }
            }
            None => {
                bytes_total += page.html.len();
                let started = Instant::now();
                let o = extract(page, &opts, args.ngram);
                parse_time += started.elapsed().as_secs_f64();
                o
            }
        };
        if let Some(dir) = &args.dump {
            let _ = std::fs::write(dir.join(format!("{}.txt", page.id)), &outcome.body);
        }
        refused += usize::from(outcome.error.is_some());
        if let Some(m) = outcome.method {
            *methods.entry(format!("{m:?}")).or_insert(0) += 1;
        }
        let (tp, fp, fn_) = outcome.score;
        scores.push(outcome.score);
        if !args.quiet {
            let p = precision(tp, fp, fn_);
            let r = recall(tp, fp, fn_);
            let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
            let note = match (&outcome.error, outcome.method) {
                (Some(e), _) => format!("  error: {e}"),
                (None, Some(Extraction::HtmlFallback)) => "  (fallback)".to_string(),
                _ => String::new(),
            };
            println!(
                "{}  P={p:.3} R={r:.3} F1={f:.3}  {}{note}",
                page.id.chars().take(12).collect::<String>(),
                page.url
            );
        }
    }
    let (p, r, f1) = summarise(&scores);
    print!(
        "overall pages={} precision={p:.4} recall={r:.4} F1={f1:.4}",
        scores.len()
    );
    if bytes_total > 0 {
        print!(
            " ({:.1} MB in {:.2}s of parsing, {:.1} MB/s)",
            bytes_total as f64 / 1e6,
            parse_time,
            bytes_total as f64 / 1e6 / parse_time.max(1e-9)
        );
    }
    println!();
    if args.predictions.is_none() {
        let used: Vec<String> = methods.iter().map(|(m, n)| format!("{m}={n}")).collect();
        println!("refused={refused} methods: {}", used.join(" "));
    }
    Ok(())
}

/// The knob values `--cv` chooses among.
fn grid() -> Vec<ExtractOptions> {
    let mut out = Vec::new();
    for below in [0usize, 500, 1000, 2000, 4096] {
        for gain in [2.0f32, 3.0, 5.0] {
            out.push(ExtractOptions {
                fallback_below_bytes: below,
                fallback_gain: gain,
                ..ExtractOptions::default()
            });
            if below == 0 {
                break; // the gain is never consulted
            }
        }
    }
    out
}

/// The site a page belongs to: its URL's host without a leading "www.".
fn site_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.trim_start_matches("www.").to_ascii_lowercase()
}

/// A stable fold for a site (FNV-1a), so the folds never depend on hash seeds or order.
fn fold_of_site(site: &str, k: usize) -> usize {
    (sectorwire_domain::hash::fnv1a(site.as_bytes()) % k as u64) as usize
}

fn run_cv(args: &Args, k: usize) -> Result<(), String> {
    if k < 2 {
        return Err("--cv needs at least 2 folds".into());
    }
    let pages = load(args)?;
    // Another extractor's output has no knobs: one "configuration", scored per fold.
    let grid = match args.predictions {
        Some(_) => vec![ExtractOptions::default()],
        None => grid(),
    };
    // outcomes[c][i]: config c on page i.
    let outcomes: Vec<Vec<Outcome>> = match &args.predictions {
        Some(dir) => vec![pages
            .iter()
            .map(|p| {
                let body = std::fs::read_to_string(dir.join(format!("{}.txt", p.id))).unwrap_or_default();
                Outcome {
                    score: shingle_match(&p.truth, &body, args.ngram),
                    error: body.trim().is_empty().then(|| "empty".to_string()),
                    body,
                    method: None,
                }
            })
            .collect()],
        None => grid
            .iter()
            .map(|opts| pages.iter().map(|p| extract(p, opts, args.ngram)).collect())
            .collect(),
    };
    let folds: Vec<usize> = pages.iter().map(|p| fold_of_site(&site_of(&p.url), k)).collect();
    let mut held_scores: Vec<(f64, f64, f64)> = Vec::new();
    let mut refused = 0usize;
    let mut fallbacks = 0usize;
    println!(
        "site-grouped {k}-fold cross-validation over {} pages",
        pages.len()
    );
    for fold in 0..k {
        let train: Vec<usize> = (0..pages.len()).filter(|&i| folds[i] != fold).collect();
        let test: Vec<usize> = (0..pages.len()).filter(|&i| folds[i] == fold).collect();
        if test.is_empty() {
            continue;
        }
        // Best training F1; ties go to the earlier (more conservative) configuration.
        let mut best = 0usize;
        let mut best_f1 = f64::MIN;
        for (c, outs) in outcomes.iter().enumerate() {
            let s: Vec<_> = train.iter().map(|&i| outs[i].score).collect();
            let f1 = summarise(&s).2;
            if f1 > best_f1 + 1e-12 {
                best = c;
                best_f1 = f1;
            }
        }
        let s: Vec<_> = test.iter().map(|&i| outcomes[best][i].score).collect();
        let (p, r, f1) = summarise(&s);
        let sites: std::collections::BTreeSet<String> =
            test.iter().map(|&i| site_of(&pages[i].url)).collect();
        let fold_refused = test
            .iter()
            .filter(|&&i| outcomes[best][i].error.is_some())
            .count();
        let fold_fallbacks = test
            .iter()
            .filter(|&&i| outcomes[best][i].method == Some(Extraction::HtmlFallback))
            .count();
        let chose = match args.predictions {
            Some(_) => String::new(),
            None => format!(
                "chose fallback_below_bytes={} fallback_gain={} (train F1 {best_f1:.4}); ",
                grid[best].fallback_below_bytes, grid[best].fallback_gain
            ),
        };
        println!(
            "  fold {fold}: {} pages from {} sites; {chose}held-out P={p:.4} R={r:.4} F1={f1:.4} refused={fold_refused} fallback={fold_fallbacks}",
            test.len(),
            sites.len(),
        );
        held_scores.extend(s);
        refused += fold_refused;
        fallbacks += fold_fallbacks;
    }
    let (p, r, f1) = summarise(&held_scores);
    println!(
        "overall held-out pages={} precision={p:.4} recall={r:.4} F1={f1:.4} refused={refused} fallback={fallbacks}",
        held_scores.len()
    );
    Ok(())
}

/// Benchmark means: precision and recall averaged over the pages that have something to
/// score on that side, F1 of the two means.
fn summarise(scores: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    let ps: Vec<f64> = scores
        .iter()
        .filter(|s| s.0 + s.1 > 0.0)
        .map(|s| precision(s.0, s.1, s.2))
        .collect();
    let rs: Vec<f64> = scores
        .iter()
        .filter(|s| s.0 + s.2 > 0.0)
        .map(|s| recall(s.0, s.1, s.2))
        .collect();
    let p = mean(&ps);
    let r = mean(&rs);
    let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
    (p, r, f1)
}

fn read_gz(path: &PathBuf) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(out)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn precision(tp: f64, fp: f64, fn_: f64) -> f64 {
    if fp == 0.0 && fn_ == 0.0 {
        1.0
    } else if tp == 0.0 && fp == 0.0 {
        0.0
    } else {
        tp / (tp + fp)
    }
}

fn recall(tp: f64, fp: f64, fn_: f64) -> f64 {
    if fp == 0.0 && fn_ == 0.0 {
        1.0
    } else if tp == 0.0 && fn_ == 0.0 {
        0.0
    } else {
        tp / (tp + fn_)
    }
}

/// Runs of word characters, as a regex `\w+` over Unicode text finds them.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(&text[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Shingle multiset: every run of `n` consecutive tokens (or the whole text if shorter).
fn shingles(text: &str, n: usize) -> HashMap<Vec<&str>, usize> {
    let toks = tokens(text);
    let mut out = HashMap::new();
    if toks.is_empty() {
        return out;
    }
    if toks.len() < n {
        *out.entry(toks).or_insert(0) += 1;
        return out;
    }
    for w in toks.windows(n) {
        *out.entry(w.to_vec()).or_insert(0) += 1;
    }
    out
}

/// Normalised (tp, fp, fn) over shingles of the true and the predicted body.
fn shingle_match(truth: &str, predicted: &str, n: usize) -> (f64, f64, f64) {
    let t = shingles(truth, n);
    let p = shingles(predicted, n);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (k, &tc) in &t {
        let pc = p.get(k).copied().unwrap_or(0);
        tp += tc.min(pc);
        fn_ += tc.saturating_sub(pc);
    }
    for (k, &pc) in &p {
        let tc = t.get(k).copied().unwrap_or(0);
        fp += pc.saturating_sub(tc);
    }
    let s = (tp + fp + fn_) as f64;
    if s > 0.0 {
        (tp as f64 / s, fp as f64 / s, fn_ as f64 / s)
    } else {
        (0.0, 0.0, 0.0)
    }
}
