//! Reading labelled corpora and seed articles from disk for the `eval` and `train` commands and
//! the corpus tests. It lives here, not in the analyzer, because the analyzer does no I/O.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sectorwire_domain::Sector;

/// One labelled document.
pub struct Doc {
    pub id: String,
    pub title: String,
    pub text: String,
    /// True sectors after mapping the corpus labels.
    pub truth: Vec<Sector>,
    /// The corpus's own labels that map to a sector (e.g. `crude`, `ship`), sorted: `train`
    /// fits a head per frequent label, since a sector is a union of such topics.
    pub labels: Vec<String>,
}

/// A corpus and the sectors its labels cover (the only ones it can score).
pub struct Corpus {
    pub name: String,
    pub sectors: Vec<Sector>,
    pub docs: Vec<Doc>,
    /// The corpus label -> sectors mapping from labels.json.
    pub label_sectors: BTreeMap<String, Vec<Sector>>,
}

/// label -> sectors, for one corpus.
type LabelMap = BTreeMap<String, Vec<Sector>>;

fn parse_mapping(v: &serde_json::Value) -> Result<(LabelMap, Vec<Sector>), String> {
    let obj = v
        .as_object()
        .ok_or("label mapping must be an object: sector -> [labels]")?;
    let mut map: LabelMap = BTreeMap::new();
    let mut sectors = Vec::new();
    for (slug, labels) in obj {
        let s = Sector::from_slug(slug).ok_or_else(|| format!("unknown sector {slug:?} in labels"))?;
        sectors.push(s);
        for l in labels.as_array().ok_or("labels must be arrays")? {
            if let Some(l) = l.as_str() {
                map.entry(l.to_string()).or_default().push(s);
            }
        }
    }
    sectors.sort();
    sectors.dedup();
    Ok((map, sectors))
}

fn read_jsonl(path: &Path, map: &LabelMap) -> Result<Vec<Doc>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut docs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let mut labels: Vec<String> = v
            .get("labels")
            .and_then(|l| l.as_array())
            .map(|ls| {
                ls.iter()
                    .filter_map(|l| l.as_str())
                    .filter(|l| map.contains_key(*l))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        labels.dedup();
        let mut truth: Vec<Sector> = labels
            .iter()
            .flat_map(|l| map.get(l).cloned().unwrap_or_default())
            .collect();
        truth.sort();
        truth.dedup();
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("{}#{}", path.display(), n + 1),
        };
        docs.push(Doc {
            id,
            title: get("title"),
            text: get("text"),
            truth,
            labels,
        });
    }
    Ok(docs)
}

/// Loads every corpus named in `<dir>/labels.json` from `<dir>/<name>/*.jsonl`.
pub fn load_dir(dir: &Path) -> Result<Vec<Corpus>, String> {
    let labels_path = dir.join("labels.json");
    let labels: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(&labels_path).map_err(|e| format!("{}: {e}", labels_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", labels_path.display()))?;
    let obj = labels
        .as_object()
        .ok_or("labels.json must be an object: corpus -> mapping")?;
    let mut out = Vec::new();
    for (name, mapping) in obj {
        let (map, sectors) = parse_mapping(mapping)?;
        let sub = dir.join(name);
        let mut files: Vec<PathBuf> = fs::read_dir(&sub)
            .map_err(|e| format!("{}: {e}", sub.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        let mut docs = Vec::new();
        for f in files {
            docs.extend(read_jsonl(&f, &map)?);
        }
        out.push(Corpus {
            name: name.clone(),
            sectors,
            docs,
            label_sectors: map,
        });
    }
    Ok(out)
}

/// Loads one .jsonl file with a labels mapping: either {sector: [labels]} or the
/// {corpus: {sector: [labels]}} form of labels.json (then `corpus_key` picks the entry, or the
/// file's parent folder name does).
pub fn load_file(jsonl: &Path, labels: &Path, corpus_key: Option<&str>) -> Result<Corpus, String> {
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(labels).map_err(|e| format!("{}: {e}", labels.display()))?)
            .map_err(|e| format!("{}: {e}", labels.display()))?;
    let folder = jsonl
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let key = corpus_key.unwrap_or(folder);
    let nested = v
        .as_object()
        .and_then(|o| o.values().next())
        .is_some_and(|x| x.is_object());
    let mapping = if nested {
        v.get(key)
            .ok_or_else(|| format!("{} has no entry {key:?}", labels.display()))?
    } else {
        &v
    };
    let (map, sectors) = parse_mapping(mapping)?;
    let name = jsonl
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("corpus")
        .to_string();
    Ok(Corpus {
        name: format!("{key}/{name}"),
        sectors,
        docs: read_jsonl(jsonl, &map)?,
        label_sectors: map,
    })
}

/// Splits a raw scraped seed page into (title, body): skips furniture lines (dates, "back to
/// top", share prompts, photo credits, short fragments) and keeps paragraphs of prose.
pub fn read_seed(raw: &str) -> (String, String) {
    let mut title = String::new();
    let mut paras: Vec<&str> = Vec::new();
    for line in raw.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let words = line.split_whitespace().count();
        let lower = line.to_lowercase();
        let furniture = [
            "back to top",
            "follow us",
            "photo:",
            "latest",
            "see more",
            "share this",
            "share on",
            "read more",
            "date ",
        ]
        .iter()
        .any(|f| lower.starts_with(f))
            || lower.starts_with("by ") && words <= 6
            || lower.contains("(menafn")
            || line.chars().filter(|c| c.is_ascii_digit()).count() * 4 > line.len().max(1);
        if furniture {
            continue;
        }
        let prose = words >= 12 && line.ends_with(['.', '!', '?', '"', '”', ')']);
        if prose {
            paras.push(line);
        } else if title.is_empty() && paras.is_empty() && (4..=20).contains(&words) && !line.ends_with('.') {
            title = line.to_string();
        }
    }
    (title, paras.join("\n\n"))
}
