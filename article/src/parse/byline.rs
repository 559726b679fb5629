//! Finds who wrote a piece and reduces every credit to bare personal names, because
//! downstream search and author pages need "Qaiser Nawab", not "By QAISER NAWAB, Staff
//! Writer | AzerNews". Handles "By X" lines, "by X" after a wire dateline and
//! "Editor's note: X is the ..." notes, plus the names markup supplies.

use super::normalize;
use regex::Regex;
use std::sync::LazyLock;

/// A credit line: "By X", "Written by X", "Author: X".
static BY_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:written\s+by|words\s+by|reported\s+by|story\s+by|text\s+by|by|author\s*:|authors\s*:|byline\s*:|posted\s+by)\s+(?P<names>.+)$").ok()
});

/// "by X" anywhere in a dateline ("date 2025-01-13 (MENAFN- AzerNews) by Qaiser Nawab").
static INLINE_BY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[Bb]y\s+(?P<names>\p{Lu}.+)$").ok());

/// "Editor's note: X is the ..." (any apostrophe; folded before matching).
static EDITORS_NOTE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*editor'?s\s+note\s*[:\-]\s*(?P<rest>.+)$").ok());

/// The name ends where the description of the person begins.
static NOTE_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?P<name>[^,;:()]{3,80}?)\s*,?\s+(?:is|was|are|has|serves|served|writes|teaches|heads|leads|works)\b").ok()
});

/// Words that make a credit an organisation or a role rather than a person.
#[rustfmt::skip]
const NON_PERSON: &[&str] = &[
    "staff", "writer", "writers", "reporter", "reporters", "correspondent", "correspondents",
    "editor", "editors", "editorial", "desk", "team", "newsroom", "bureau", "agency",
    "agencies", "news", "press", "media", "wire", "wires", "service", "services", "online",
    "digital", "contributor", "contributors", "admin", "administrator", "webmaster", "guest",
    "author", "associated", "reuters", "afp", "bloomberg", "times", "post", "daily", "journal",
    "herald", "tribune", "gazette", "magazine", "network", "channel", "tv", "radio", "group",
    "inc", "ltd", "llc", "company", "corporation", "board", "office", "department", "ministry",
    "report", "unknown", "anonymous", "and", "com", "the", "our", "view", "sport", "sports",
    "insider", "blog", "photo", "photos", "video", "images",
];

/// Words that end a name when a credit runs on into a date or label
/// ("Malcolm Owen Monday", "Jane Roe Published 3:00 PM").
#[rustfmt::skip]
const NAME_TERMINATORS: &[&str] = &[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "published", "updated", "posted", "today", "yesterday", "on", "at",
    "in", "for", "from", "via",
];

/// Lower-case words allowed inside personal names.
const PARTICLES: &[&str] = &[
    "de", "da", "del", "della", "der", "den", "di", "du", "van", "von", "bin", "bint", "ibn", "al", "el",
    "la", "le", "dos", "das", "ben", "ter", "ten", "y", "e", "ul", "ud",
];

/// Names from a "By X" line; `None` when the line is not a byline.
pub(crate) fn from_by_line(line: &str) -> Option<Vec<String>> {
    if line.chars().count() > 160 {
        return None;
    }
    // A credit line starts with a capital ("By", "Written by"); "by Merrill Lynch and
    // Co, is considering ..." is the wrapped middle of a sentence.
    if !line.trim_start().chars().next().is_some_and(char::is_uppercase) {
        return None;
    }
    let caps = BY_LINE.as_ref()?.captures(line)?;
    let names = split_names(caps.name("names")?.as_str());
    (!names.is_empty()).then_some(names)
}

/// Names from "by X" inside a dateline.
pub(crate) fn from_inline_by(rest: &str) -> Vec<String> {
    INLINE_BY
        .as_ref()
        .and_then(|r| r.captures(rest))
        .and_then(|c| c.name("names").map(|m| split_names(m.as_str())))
        .unwrap_or_default()
}

/// The author an editor's note describes; `None` when the line is not such a note.
/// The bool says whether the line was an editor's note at all.
pub(crate) fn from_editors_note(line: &str) -> (bool, Vec<String>) {
    let folded = normalize::fold(line);
    let Some(caps) = EDITORS_NOTE.as_ref().and_then(|r| r.captures(&folded)) else {
        return (false, Vec::new());
    };
    let Some(rest_start) = caps.name("rest").map(|m| m.start()) else {
        return (true, Vec::new());
    };
    // Folding keeps byte lengths except for multi-byte quotes; re-find the offset in the
    // original by counting characters.
    let chars_before = folded[..rest_start].chars().count();
    let original_rest: String = line.chars().skip(chars_before).collect();
    let name = NOTE_NAME
        .as_ref()
        .and_then(|r| r.captures(&original_rest))
        .and_then(|c| c.name("name").map(|m| m.as_str().to_string()));
    let names = name.map(|n| split_names(&n)).unwrap_or_default();
    (true, names)
}

/// Splits a credit into personal names, dropping roles, outlets and places.
pub(crate) fn split_names(credit: &str) -> Vec<String> {
    let credit = normalize::collapse_ws(credit);
    // Anything after a separator that introduces a role or outlet is not a name.
    let cut = credit
        .find(['|', '/', '•', '·', '—', '–', '(', '@', '\u{2022}'])
        .unwrap_or(credit.len());
    let credit = &credit[..cut];
    let mut out = Vec::new();
    for part in credit
        .split([',', ';', '&'])
        .flat_map(|p| p.split(" and "))
        .flat_map(|p| p.split(" And "))
    {
        if let Some(name) = clean_person(part) {
            out.push(name);
        }
        if out.len() >= 8 {
            break;
        }
    }
    out
}

/// A personal name from a fragment, or `None` when the fragment is not one.
pub(crate) fn clean_person(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ':' | '"' | '\'' | '-'));
    let s = strip_prefix_ci(s, "by ").unwrap_or(s);
    // "Text: Jane Roe", "Autor: Jane Roe": a label before a colon is not the name.
    let s = match s.split_once(':') {
        Some((label, rest)) if label.split_whitespace().count() <= 2 && !rest.trim().is_empty() => {
            rest.trim()
        }
        _ => s,
    };
    if s.is_empty() || s.chars().count() > 60 || s.contains("http") || s.contains("www.") {
        return None;
    }
    let mut words = Vec::new();
    for w in s.split_whitespace() {
        let lw = w.to_lowercase();
        let bare = lw.trim_matches(|c: char| !c.is_alphanumeric());
        if NAME_TERMINATORS.contains(&bare) && !words.is_empty() {
            break;
        }
        if NON_PERSON.contains(&bare) {
            return None;
        }
        let first = w.chars().next()?;
        if first.is_uppercase() || (PARTICLES.contains(&bare) && !words.is_empty()) {
            if w.chars().any(|c| c.is_ascii_digit()) {
                return None;
            }
            words.push(w.to_string());
        } else {
            // A lower-case word ends the name ("John Smith in London").
            break;
        }
        if words.len() > 5 {
            return None;
        }
    }
    while words
        .last()
        .is_some_and(|w| PARTICLES.contains(&w.to_lowercase().as_str()))
    {
        words.pop();
    }
    if words.len() < 2 {
        return None;
    }
    let name = words.join(" ");
    Some(
        if name.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) {
            title_case(&name)
        } else {
            name
        },
    )
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// "QAISER NAWAB" -> "Qaiser Nawab"; bylines in capitals are a style, not the name.
fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Removes duplicates (case-insensitively) and names equal to the outlet.
pub(crate) fn dedupe(names: Vec<String>, outlet: Option<&str>) -> Vec<String> {
    let outlet_key = outlet.map(str::to_lowercase);
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| outlet_key.as_deref() != Some(n.to_lowercase().as_str()))
        .filter(|n| seen.insert(n.to_lowercase()))
        .collect()
}
