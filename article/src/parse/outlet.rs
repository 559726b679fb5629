//! Tells the outlet that published a piece apart from the wire service that carried it,
//! using the places text-only scrapes name them: wire datelines ("(MENAFN- AzerNews)")
//! and outlet disclaimers ("Azernews does not carry any responsibility...",
//! "...may not coincide with the view of News.Az").

use regex::Regex;
use std::sync::LazyLock;

/// "(MENAFN- AzerNews)": a syndicator, a dash, then the originating outlet.
static WIRE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\(\s*(?P<wire>[A-Z][A-Za-z]{1,15})\s*[-–—]\s*(?P<outlet>[^()]{2,60}?)\s*\)").ok()
});

/// "LONDON (Reuters) -": a lone agency name in brackets before a dash.
static AGENCY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Z][A-Za-z .,'-]{1,40}\s)?\((?P<agency>Reuters|AP|AFP|Bloomberg|Xinhua|dpa|UPI|IANS|PTI|ANI|TASS|Anadolu|APA|Trend|AzerTAc|AZERTAC|Interfax)\)\s*[-–—]").ok()
});

static DISCLAIMER_SUBJECT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^\(?\s*(?P<name>[\p{L}\p{N}][\p{L}\p{N}.&' -]{0,40}?)\s+(?:does|do)\s+not\s+(?:carry|bear|take|accept|necessarily)").ok()
});

static VIEW_OF: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:[Vv]iews?|[Pp]ositions?|[Oo]pinions?|[Ss]tances?)\s+of\s+(?:the\s+)?(?P<name>[\p{L}\p{N}][\p{L}\p{N}.&'-]*(?:\s+[\p{Lu}\p{N}][\p{L}\p{N}.&'-]*){0,3})").ok()
});

/// Wire and outlet named in a dateline, as (syndicator, outlet).
pub(crate) fn from_wire(line: &str) -> Option<(String, String)> {
    let caps = WIRE.as_ref()?.captures(line)?;
    let wire = caps.name("wire")?.as_str().trim().to_string();
    let outlet = clean_name(caps.name("outlet")?.as_str())?;
    Some((wire, outlet))
}

/// A news agency credited at the start of a paragraph ("PARIS (AFP) -").
pub(crate) fn from_agency_dateline(line: &str) -> Option<String> {
    let caps = AGENCY.as_ref()?.captures(line)?;
    Some(caps.name("agency")?.as_str().to_string())
}

/// The outlet a disclaimer speaks for.
pub(crate) fn from_disclaimer(p: &str) -> Option<String> {
    if let Some(c) = DISCLAIMER_SUBJECT.as_ref().and_then(|r| r.captures(p)) {
        if let Some(n) = c.name("name").and_then(|m| clean_name(m.as_str())) {
            return Some(n);
        }
    }
    // "the personal opinion of the author and ... the view of News.Az": take the first
    // "of X" that names something other than the writer.
    VIEW_OF
        .as_ref()?
        .captures_iter(p)
        .take(8)
        .find_map(|c| c.name("name").and_then(|m| clean_name(m.as_str())))
}

/// Trims quotes and trailing punctuation; refuses things that are not names.
pub(crate) fn clean_name(s: &str) -> Option<String> {
    let t = super::normalize::collapse_ws(s);
    let t = t
        .trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '"' | '\'' | '(' | ')')
        })
        .to_string();
    let lower = t.to_lowercase();
    if t.is_empty()
        || t.chars().count() > 60
        || matches!(
            lower.as_str(),
            "the author"
                | "author"
                | "the editorial board"
                | "editorial"
                | "the writer"
                | "this website"
                | "the website"
                | "the publisher"
                | "the editor"
                | "us"
                | "we"
        )
        || !t.chars().next().is_some_and(|c| c.is_alphanumeric())
    {
        return None;
    }
    Some(t)
}
