//! Decides whether `ContentType::Auto` input is markup, because callers often cannot
//! tell (a crawler may store both kinds) and reading HTML as text keeps every tag.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::LazyLock;

/// Opening tags that only occur in real markup, never in prose that merely mentions `<`.
static MARKERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build([
            "<!doctype html",
            "<html",
            "<head",
            "<body",
            "<meta ",
            "<title>",
            "<p>",
            "<p ",
            "</p>",
            "<div",
            "<article",
            "<br>",
            "<br/>",
            "<br />",
            "<span",
            "<a href",
            "<h1",
            "<h2",
            "<li>",
            "<table",
            "<script",
        ])
        .ok()
});

/// True when the text carries enough HTML tags to be read as markup.
pub(crate) fn looks_like_html(s: &str) -> bool {
    let head = s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    let prefix = super::normalize::prefix(head, 512);
    let lower_prefix = prefix.to_ascii_lowercase();
    if lower_prefix.starts_with("<!doctype html")
        || lower_prefix.starts_with("<html")
        || lower_prefix.starts_with("<?xml")
    {
        return true;
    }
    let Some(ac) = MARKERS.as_ref() else {
        return false;
    };
    // Two tag matches anywhere settle it; a single one could be prose quoting markup.
    ac.find_iter(s).take(2).count() >= 2
}
