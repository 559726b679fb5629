//! Golden tests: each input document has a hand-written `.expected.json` beside it
//! saying what `parse` must extract, field by field. Seeds are real scraped articles
//! read from the shared seed folder (never copied here); cases are small documents
//! written for this suite, one rule each.
//!
//! Expectation keys (all optional, unknown keys fail the test so typos cannot hide):
//! `description` (why the case exists), `content_type` ("auto" | "text" | "html"),
//! `hints`, `error` (variant name) and `error_field`, `title`, `subtitle`, `outlet`,
//! `syndicator`, `url`, `language` (string or null), `authors`, `published` (null or
//! `{utc, offset, precision}`), `published_source` (null or a `DateSource` variant name,
//! e.g. "JsonLd"), `extraction` (an `Extraction` variant name), `paragraph_count`, `paragraphs` (exact),
//! `first_paragraph_prefix`, `last_paragraph_prefix`, `body_contains`,
//! `must_not_contain`, `word_count`, `min_word_count`.

use chrono::{DateTime, Utc};
use sectorwire_article::parse::{parse, ContentType, Hints, ParseError, Precision, Published};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

const KNOWN_KEYS: &[&str] = &[
    "description",
    "content_type",
    "hints",
    "error",
    "error_field",
    "title",
    "subtitle",
    "outlet",
    "syndicator",
    "url",
    "language",
    "authors",
    "published",
    "published_source",
    "extraction",
    "paragraph_count",
    "paragraphs",
    "first_paragraph_prefix",
    "last_paragraph_prefix",
    "body_contains",
    "must_not_contain",
    "word_count",
    "min_word_count",
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn seeds_match_expectations() {
    let Some(seeds) = sectorwire_domain::testdata::shared("seeds") else {
        return;
    };
    let expectations = expectation_files(&golden_dir().join("seeds"));
    assert!(!expectations.is_empty(), "no seed expectations found");
    let mut failures = Vec::new();
    for exp_path in &expectations {
        let stem = stem_of(exp_path);
        let input = seeds.join(format!("{stem}.txt"));
        if let Err(e) = check_case(exp_path, &input) {
            failures.push(format!("{stem}: {e}"));
        }
        // Callers that do not know the type send Auto; scraped text must sniff as text.
        if let Ok(raw) = std::fs::read(&input) {
            let auto = parse(&raw, ContentType::Auto, &Hints::default()).ok();
            let text = parse(&raw, ContentType::Text, &Hints::default()).ok();
            if auto != text {
                failures.push(format!("{stem}: Auto and Text parses differ"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden seed failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn cases_match_expectations() {
    let dir = golden_dir().join("cases");
    let expectations = expectation_files(&dir);
    assert!(
        expectations.len() >= 30,
        "expected at least 30 golden cases, found {}",
        expectations.len()
    );
    let mut failures = Vec::new();
    for exp_path in &expectations {
        let stem = stem_of(exp_path);
        let input = ["txt", "html", "bin"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.exists());
        let Some(input) = input else {
            failures.push(format!("{stem}: no input file beside the expectation"));
            continue;
        };
        if let Err(e) = check_case(exp_path, &input) {
            failures.push(format!("{stem}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "golden case failures:\n{}",
        failures.join("\n")
    );
}

fn expectation_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn stem_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".expected.json").to_string())
        .unwrap_or_default()
}

fn check_case(exp_path: &Path, input: &Path) -> Result<(), String> {
    let exp_text = std::fs::read_to_string(exp_path).map_err(|e| e.to_string())?;
    let exp: Value = serde_json::from_str(&exp_text).map_err(|e| format!("bad expectation JSON: {e}"))?;
    let exp = exp.as_object().ok_or("expectation is not an object")?;
    for k in exp.keys() {
        if !KNOWN_KEYS.contains(&k.as_str()) {
            return Err(format!("unknown expectation key {k:?}"));
        }
    }
    let raw = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let ct = match exp.get("content_type").and_then(Value::as_str) {
        None | Some("auto") => ContentType::Auto,
        Some("text") => ContentType::Text,
        Some("html") => ContentType::Html,
        Some(other) => return Err(format!("unknown content_type {other:?}")),
    };
    let hints = read_hints(exp.get("hints"))?;
    let result = parse(&raw, ct, &hints);
    let mut errs: Vec<String> = Vec::new();
    if let Some(want) = exp.get("error").and_then(Value::as_str) {
        match &result {
            Ok(a) => errs.push(format!(
                "expected error {want}, got article with {} paragraphs",
                a.paragraphs.len()
            )),
            Err(e) => {
                let got = error_name(e);
                if got != want {
                    errs.push(format!("error: want {want}, got {got} ({e})"));
                }
                if let Some(f) = exp.get("error_field").and_then(Value::as_str) {
                    if e.field() != f {
                        errs.push(format!("error_field: want {f}, got {}", e.field()));
                    }
                }
            }
        }
        return if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        };
    }
    let a = result.map_err(|e| format!("unexpected error: {e}"))?;
    let body = a.body();
    check_opt(&mut errs, exp, "title", a.title.as_deref());
    check_opt(&mut errs, exp, "subtitle", a.subtitle.as_deref());
    check_opt(&mut errs, exp, "outlet", a.outlet.as_deref());
    check_opt(&mut errs, exp, "syndicator", a.syndicator.as_deref());
    check_opt(&mut errs, exp, "url", a.url.as_deref());
    check_opt(&mut errs, exp, "language", a.language.as_deref());
    if let Some(want) = exp.get("authors") {
        let want: Vec<String> = serde_json::from_value(want.clone()).map_err(|e| format!("authors: {e}"))?;
        if want != a.authors {
            errs.push(format!("authors: want {want:?}, got {:?}", a.authors));
        }
    }
    if let Some(want) = exp.get("published_source") {
        let got = a.published_source.map(|s| format!("{s:?}"));
        if want.as_str() != got.as_deref() {
            errs.push(format!("published_source: want {want}, got {got:?}"));
        }
    }
    if let Some(want) = exp.get("extraction") {
        let got = format!("{:?}", a.extraction);
        if want.as_str() != Some(got.as_str()) {
            errs.push(format!("extraction: want {want}, got {got}"));
        }
    }
    if let Some(want) = exp.get("published") {
        let want = read_published(want)?;
        if want != a.published {
            errs.push(format!("published: want {want:?}, got {:?}", a.published));
        }
    }
    if let Some(n) = exp.get("paragraph_count").and_then(Value::as_u64) {
        if a.paragraphs.len() as u64 != n {
            errs.push(format!(
                "paragraph_count: want {n}, got {}: {:#?}",
                a.paragraphs.len(),
                a.paragraphs
            ));
        }
    }
    if let Some(want) = exp.get("paragraphs") {
        let want: Vec<String> =
            serde_json::from_value(want.clone()).map_err(|e| format!("paragraphs: {e}"))?;
        if want != a.paragraphs {
            errs.push(format!("paragraphs: want {want:#?}, got {:#?}", a.paragraphs));
        }
    }
    if let Some(p) = exp.get("first_paragraph_prefix").and_then(Value::as_str) {
        if !a.paragraphs.first().is_some_and(|f| f.starts_with(p)) {
            errs.push(format!(
                "first paragraph does not start with {p:?}: {:?}",
                a.paragraphs.first()
            ));
        }
    }
    if let Some(p) = exp.get("last_paragraph_prefix").and_then(Value::as_str) {
        if !a.paragraphs.last().is_some_and(|f| f.starts_with(p)) {
            errs.push(format!(
                "last paragraph does not start with {p:?}: {:?}",
                a.paragraphs.last()
            ));
        }
    }
    for s in strings(exp.get("body_contains")) {
        if !body.contains(&s) {
            errs.push(format!("body lacks {s:?}"));
        }
    }
    for s in strings(exp.get("must_not_contain")) {
        if body.contains(&s) {
            errs.push(format!("body contains furniture {s:?}"));
        }
    }
    if let Some(n) = exp.get("word_count").and_then(Value::as_u64) {
        if u64::from(a.word_count) != n {
            errs.push(format!("word_count: want {n}, got {}", a.word_count));
        }
    }
    if let Some(n) = exp.get("min_word_count").and_then(Value::as_u64) {
        if u64::from(a.word_count) < n {
            errs.push(format!("word_count: want at least {n}, got {}", a.word_count));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n    "))
    }
}

fn check_opt(errs: &mut Vec<String>, exp: &Map<String, Value>, key: &str, got: Option<&str>) {
    let Some(want) = exp.get(key) else { return };
    let want = want.as_str();
    if want != got {
        errs.push(format!("{key}: want {want:?}, got {got:?}"));
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn read_published(v: &Value) -> Result<Option<Published>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let utc = v
        .get("utc")
        .and_then(Value::as_str)
        .ok_or("published.utc missing")?;
    let utc: DateTime<Utc> = utc.parse().map_err(|e| format!("published.utc: {e}"))?;
    let offset = v
        .get("offset")
        .and_then(Value::as_i64)
        .ok_or("published.offset missing")?;
    let precision = match v.get("precision").and_then(Value::as_str) {
        Some("day") => Precision::Day,
        Some("minute") => Precision::Minute,
        Some("second") => Precision::Second,
        other => return Err(format!("published.precision: {other:?}")),
    };
    Ok(Some(Published {
        utc_seconds: utc.timestamp(),
        offset_seconds: i32::try_from(offset).map_err(|e| e.to_string())?,
        precision,
    }))
}

fn read_hints(v: Option<&Value>) -> Result<Hints, String> {
    let Some(v) = v else {
        return Ok(Hints::default());
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Hints {
        url: s("url"),
        source_id: s("source_id"),
        outlet: s("outlet"),
        title: s("title"),
        published: match v.get("published") {
            Some(p) => read_published(p)?,
            None => None,
        },
    })
}

fn error_name(e: &ParseError) -> &'static str {
    match e {
        ParseError::Empty => "Empty",
        ParseError::Binary => "Binary",
        ParseError::NoText => "NoText",
        ParseError::TooLarge { .. } => "TooLarge",
        ParseError::TooComplex { .. } => "TooComplex",
    }
}
