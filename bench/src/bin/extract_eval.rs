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
use sectorwire_article::parse::{parse, ContentType, Hints};
use std::collections::HashMap;
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
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("extract_eval: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let gt_path = args.dir.join("ground-truth.json");
    let gt_text = std::fs::read_to_string(&gt_path).map_err(|e| format!("{}: {e}", gt_path.display()))?;
    let gt: serde_json::Value =
        serde_json::from_str(&gt_text).map_err(|e| format!("{}: {e}", gt_path.display()))?;
    let gt = gt.as_object().ok_or("ground-truth.json is not an object")?;
    let mut ids: Vec<&String> = gt.keys().collect();
    ids.sort();
    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }

    let mut scores: Vec<(f64, f64, f64)> = Vec::new();
    let mut bytes_total = 0usize;
    let mut parse_time = 0f64;
    for id in ids {
        if args.only.as_deref().is_some_and(|p| !id.starts_with(p)) {
            continue;
        }
        let truth = gt[id.as_str()]
            .get("articleBody")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let url = gt[id.as_str()].get("url").and_then(|v| v.as_str()).unwrap_or("");
        let (predicted, error) = match &args.predictions {
            Some(dir) => (
                std::fs::read_to_string(dir.join(format!("{id}.txt"))).unwrap_or_default(),
                None,
            ),
            None => {
                let path = args.dir.join("html").join(format!("{id}.html.gz"));
                let raw = read_gz(&path)?;
                bytes_total += raw.len();
                let started = Instant::now();
                let result = parse(&raw, ContentType::Html, &Hints::default());
                parse_time += started.elapsed().as_secs_f64();
                match result {
                    Ok(a) => (a.body(), None),
                    Err(e) => (String::new(), Some(e)),
                }
            }
        };
        if let Some(dir) = &args.dump {
            let _ = std::fs::write(dir.join(format!("{id}.txt")), &predicted);
        }
        let (tp, fp, fn_) = shingle_match(truth, &predicted, args.ngram);
        scores.push((tp, fp, fn_));
        if !args.quiet {
            let p = precision(tp, fp, fn_);
            let r = recall(tp, fp, fn_);
            let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
            let note = match &error {
                None => String::new(),
                Some(e) => format!("  error: {e}"),
            };
            println!(
                "{}  P={p:.3} R={r:.3} F1={f:.3}  {url}{note}",
                id.chars().take(12).collect::<String>()
            );
        }
    }
    if scores.is_empty() {
        return Err("no pages scored".into());
    }
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
    Ok(())
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
