//! Highlighted excerpts for search hits, cut by tantivy's snippet generator
//! from only the part of each body where the query first matches.
//!
//! The generator tokenizes (and stems) every byte it is given; on whole
//! bodies that was half of a search's CPU time, ten hits a page. The best
//! 240-character fragment is almost always near a body's first match, so the
//! generator sees a window around that match, found with a case-insensitive
//! scan for the query's stems (which prefix most surface forms: "pipelin" in
//! "Pipelines").

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use tantivy::snippet::SnippetGenerator;

/// Bytes of body kept before the first match.
const BEFORE: usize = 240;
/// Bytes of body kept from the first match on.
const AFTER: usize = 1_600;

/// Cuts excerpts for one query.
pub struct Excerpts {
    generator: SnippetGenerator,
    locator: Option<AhoCorasick>,
}

impl Excerpts {
    /// `stems`: the query's terms in the body field, as indexed (lowercased, stemmed).
    pub fn new(generator: SnippetGenerator, stems: &[String]) -> Self {
        let patterns: Vec<&str> = stems
            .iter()
            .map(|s| {
                // Snowball turns a final "y" into "i" ("countri"): match without it.
                match s.strip_suffix('i') {
                    Some(shorter) if shorter.len() >= 3 => shorter,
                    _ => s.as_str(),
                }
            })
            .filter(|p| !p.is_empty())
            .collect();
        let locator = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .ok()
            .filter(|_| !patterns.is_empty());
        Excerpts { generator, locator }
    }

    /// The excerpt of `body` as HTML, matched terms in `<b></b>`.
    pub fn html(&self, body: &str) -> String {
        self.generator
            .snippet(window(body, self.locator.as_ref()))
            .to_html()
    }
}

/// The part of `body` the snippet is cut from: around the first match, or
/// the opening when nothing matches (the hit matched on its title).
pub fn window<'a>(body: &'a str, locator: Option<&AhoCorasick>) -> &'a str {
    if body.len() <= BEFORE + AFTER {
        return body;
    }
    let first = locator.and_then(|l| l.find(body)).map_or(0, |m| m.start());
    let start = floor_boundary(body, first.saturating_sub(BEFORE));
    let end = floor_boundary(body, (first + AFTER).min(body.len()));
    &body[start..end]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locator(patterns: &[&str]) -> AhoCorasick {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns)
            .expect("patterns")
    }

    #[test]
    fn short_bodies_are_whole() {
        assert_eq!(window("Short body.", None), "Short body.");
    }

    #[test]
    fn the_window_holds_the_first_match_with_context() {
        let body = format!(
            "{}Pipelines carry gas. {}",
            "filler words here. ".repeat(200),
            "more. ".repeat(400)
        );
        let l = locator(&["pipelin"]);
        let w = window(&body, Some(&l));
        assert!(w.len() <= BEFORE + AFTER);
        assert!(w.contains("Pipelines carry gas."));
        assert!(w.find("Pipelines").is_some_and(|p| p >= BEFORE - 20));
    }

    #[test]
    fn no_match_keeps_the_opening() {
        let body = "Opening sentence. ".repeat(300);
        let l = locator(&["absent"]);
        assert!(body.starts_with(window(&body, Some(&l))));
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        for shift in 0..4 {
            let body = format!(
                "{}{}gaz naturel {}",
                "x".repeat(shift),
                "é€ü".repeat(300),
                "ñ".repeat(2_000)
            );
            let l = locator(&["naturel"]);
            let w = window(&body, Some(&l));
            assert!(w.contains("gaz naturel"));
        }
    }
}
