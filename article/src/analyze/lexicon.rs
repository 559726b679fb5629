//! The curated sector lexicon (data/lexicon.tsv): cue terms, stems and negative contexts per
//! sector. It is the explainable backbone of tagging: every tag's evidence names the terms that
//! fired, and it covers the sectors no labelled corpus teaches the model.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::{Builder as DfaBuilder, DFA};
use aho_corasick::{Anchored, MatchKind};

use super::tokens::{is_whole_word, SpanSet};
use super::Sector;
use super::Span;

const LEXICON_TSV: &str = include_str!("data/lexicon.tsv");

/// One lexicon match in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub sector: Sector,
    pub weight: f32,
    pub start: usize,
    pub end: usize,
    /// Index of the lexicon term, so repeats of one term can be damped.
    pub term: u32,
}

struct Pattern {
    /// True for stems ("export*"): the match may run on into more letters.
    stem: bool,
    /// Sector and weight of every lexicon line that uses this term.
    uses: Vec<(Sector, f32)>,
}

struct Negative {
    stem: bool,
    /// Bit i set when the negative context applies to `Sector::ALL[i]`.
    sectors: u16,
}

pub(crate) struct Lexicon {
    /// Cue terms then negative contexts, in one automaton so the text is scanned once:
    /// pattern ids below `patterns.len()` are cues, the rest negative contexts. A bare DFA
    /// rather than an `AhoCorasick`: [`Lexicon::hits`] walks it itself.
    all: DFA,
    patterns: Vec<Pattern>,
    negatives: Vec<Negative>,
}

pub(crate) static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::parse(LEXICON_TSV));

impl Lexicon {
    fn parse(tsv: &str) -> Lexicon {
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut by_term: HashMap<(String, bool), usize> = HashMap::new();
        let mut negatives: Vec<Negative> = Vec::new();
        let mut neg_terms: Vec<String> = Vec::new();
        let mut neg_by_term: HashMap<(String, bool), usize> = HashMap::new();
        for line in tsv.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(slug), Some(weight), Some(term)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let Some(sector) = Sector::from_slug(slug) else {
                continue;
            };
            let term = term.trim().to_lowercase();
            let (text, stem) = match term.strip_suffix('*') {
                Some(t) => (t.to_string(), true),
                None => (term.clone(), false),
            };
            if text.is_empty() {
                continue;
            }
            if weight.trim() == "-" {
                let idx = *neg_by_term.entry((text.clone(), stem)).or_insert_with(|| {
                    neg_terms.push(text.clone());
                    negatives.push(Negative { stem, sectors: 0 });
                    negatives.len() - 1
                });
                negatives[idx].sectors |= 1 << sector.index();
                continue;
            }
            let Ok(w) = weight.trim().parse::<f32>() else {
                continue;
            };
            let idx = *by_term.entry((text.clone(), stem)).or_insert_with(|| {
                patterns.push(Pattern {
                    stem,
                    uses: Vec::new(),
                });
                patterns.len() - 1
            });
            patterns[idx].uses.push((sector, w));
        }
        let mut pos_texts: Vec<String> = vec![String::new(); patterns.len()];
        for ((text, _), idx) in &by_term {
            pos_texts[*idx] = text.clone();
        }
        // No prefilter: `hits` walks every byte itself.
        let all = DfaBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(pos_texts.iter().chain(neg_terms.iter()))
            .expect("lexicon patterns are valid");
        Lexicon {
            all,
            patterns,
            negatives,
        }
    }

    /// All sector cue matches in `text`, with negative contexts removed. Per sector, matches do
    /// not overlap (the longest wins), but one stretch of text may count for several sectors.
    pub fn hits(&self, text: &str) -> Vec<Hit> {
        // Negative contexts (start, end, sector mask) and cue candidates (start, end, pattern).
        let mut neg: Vec<(usize, usize, u16)> = Vec::new();
        let mut cands: Vec<(usize, usize, u32)> = Vec::new();
        let n_pos = self.patterns.len();
        let dfa = &self.all;
        let bytes = text.as_bytes();
        // The crate's overlapping search, inlined: after each byte, every pattern of a match
        // state ends here, taken in the state's order (the order of `find_overlapping_iter`,
        // which the stable sort below keeps for ties). Inlined, a match costs no call and no
        // iterator state, and one inside a word is dropped on a byte test.
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return Vec::new();
        };
        for (i, &b) in bytes.iter().enumerate() {
            sid = dfa.next_state(Anchored::No, sid, b);
            if !dfa.is_special(sid) {
                continue;
            }
            if dfa.is_dead(sid) {
                break;
            }
            if !dfa.is_match(sid) {
                continue;
            }
            let end = i + 1;
            for k in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, k);
                let Some(start) = end.checked_sub(dfa.pattern_len(pattern)) else {
                    continue;
                };
                // Most raw matches sit inside a longer word ("oil" in "turmoil"): an ASCII
                // letter or digit just before rules them out without decoding (`word_end`
                // would reject them too; patterns start at a char boundary).
                if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let pid = pattern.as_usize();
                if let Some(p) = self.patterns.get(pid) {
                    if let Some(end) = word_end(text, start, end, p.stem) {
                        cands.push((start, end, pid as u32));
                    }
                } else if let Some(n) = self.negatives.get(pid - n_pos) {
                    if let Some(end) = word_end(text, start, end, n.stem) {
                        neg.push((start, end, n.sectors));
                    }
                }
            }
        }
        cands.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        // Per sector, the negative contexts as a set of intervals (logarithmic lookups).
        // Most texts have no negative context at all: skip the sixteen filters then.
        let neg_sets: Vec<Option<SpanSet>> = if neg.is_empty() {
            Vec::new()
        } else {
            (0..16)
                .map(|si| {
                    let bit = 1u16 << si;
                    let spans: Vec<Span> = neg
                        .iter()
                        .filter(|n| n.2 & bit != 0)
                        .map(|&(start, end, _)| Span { start, end })
                        .collect();
                    (!spans.is_empty()).then(|| SpanSet::new(spans))
                })
                .collect()
        };
        let mut last_end = [0usize; Sector::COUNT];
        let mut out = Vec::with_capacity(cands.len());
        for (start, end, pid) in cands {
            let Some(p) = self.patterns.get(pid as usize) else {
                continue;
            };
            for &(sector, weight) in &p.uses {
                let si = sector.index();
                if start < last_end[si] {
                    continue;
                }
                if neg_sets
                    .get(si)
                    .and_then(Option::as_ref)
                    .is_some_and(|set| set.contains(start, end))
                {
                    continue;
                }
                last_end[si] = end;
                out.push(Hit {
                    sector,
                    weight,
                    start,
                    end,
                    term: pid,
                });
            }
        }
        out
    }
}

/// Checks word boundaries of a raw automaton match and returns its end (extended over the
/// rest of the word for stems), or None when the match sits inside another word.
fn word_end(text: &str, start: usize, end: usize, stem: bool) -> Option<usize> {
    if stem {
        if super::tokens::char_before(text, start).is_some_and(char::is_alphanumeric) {
            return None;
        }
        let rest = text.get(end..)?;
        let extra: usize = rest
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .map(char::len_utf8)
            .sum();
        Some(end + extra)
    } else if is_whole_word(text, start, end) {
        Some(end)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sectors(text: &str) -> Vec<(Sector, String)> {
        LEXICON
            .hits(text)
            .iter()
            .map(|h| (h.sector, text[h.start..h.end].to_string()))
            .collect()
    }

    #[test]
    fn stems_and_boundaries() {
        let got = sectors("Exporters saw turmoil in oil markets");
        assert!(got.contains(&(Sector::Trade, "Exporters".into())));
        assert!(got.contains(&(Sector::Energy, "oil".into())));
        assert_eq!(
            got.iter().filter(|(s, _)| *s == Sector::Energy).count(),
            1,
            "{got:?}"
        );
    }

    #[test]
    fn negative_context_cancels() {
        let got = sectors("The team played with youthful energy");
        assert!(!got.iter().any(|(s, _)| *s == Sector::Energy), "{got:?}");
        let got = sectors("They said palm oil output rose");
        assert!(!got.iter().any(|(s, _)| *s == Sector::Energy), "{got:?}");
        assert!(got.iter().any(|(s, _)| *s == Sector::Agriculture), "{got:?}");
    }
}
