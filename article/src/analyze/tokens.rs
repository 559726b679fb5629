//! Small text helpers shared by the extractors: word boundaries that never slice inside a UTF-8
//! character, and the tokenisers the sector model and the name finders agree on.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};

/// The character ending just before byte `i`, if `i` is a char boundary inside `s`.
pub(crate) fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i)?.chars().next_back()
}

/// The character starting at byte `i`, if any.
pub(crate) fn char_after(s: &str, i: usize) -> Option<char> {
    s.get(i..)?.chars().next()
}

/// True when no letter or digit touches `[start, end)` from either side, so that "oil" does not
/// match inside "turmoil".
pub(crate) fn is_whole_word(s: &str, start: usize, end: usize) -> bool {
    char_before(s, start).is_none_or(|c| !c.is_alphanumeric())
        && char_after(s, end).is_none_or(|c| !c.is_alphanumeric())
}

/// A word of the source text with its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Splits into words made of letters and digits, keeping inner apostrophes and hyphens
/// ("Nagorno-Karabakh", "N'Djamena", "Aliyev's") because names are written that way.
pub(crate) fn words(s: &str) -> Vec<Word<'_>> {
    // Byte loops with ASCII fast paths: this runs over every article body. Outside a word,
    // skip to the next letter or digit; inside one, run over ASCII letters and digits with a
    // table lookup per byte, and decode only at a byte that may end the word.
    let bytes = s.as_bytes();
    // (is a letter or digit, byte length) of the char at `i`; (false, 0) past the end.
    let char_at = |i: usize| -> (bool, usize) {
        match bytes.get(i) {
            None => (false, 0),
            Some(&b) if b < 0x80 => (ASCII_ALNUM[usize::from(b)], 1),
            Some(_) => s
                .get(i..)
                .and_then(|t| t.chars().next())
                .map_or((false, 1), |c| (c.is_alphanumeric(), c.len_utf8())),
        }
    };
    let mut out = Vec::with_capacity(s.len() / 6);
    let mut i = 0;
    while i < bytes.len() {
        // Outside a word: ASCII that is not a letter or digit is skipped without a decode.
        while i < bytes.len() && bytes[i] < 0x80 && !ASCII_ALNUM[usize::from(bytes[i])] {
            i += 1;
        }
        let (alnum, len) = char_at(i);
        if !alnum {
            i += len.max(1);
            continue;
        }
        let start = i;
        i += len;
        loop {
            while i < bytes.len() && ASCII_ALNUM[usize::from(bytes[i])] {
                i += 1;
            }
            match bytes.get(i) {
                // A joiner stays inside the word when a letter or digit follows it.
                Some(b'\'' | b'-') if char_at(i + 1).0 => i += 1,
                Some(&b) if b >= 0x80 => {
                    let (alnum, len) = char_at(i);
                    // '’' is the only multi-byte joiner.
                    let joins = || s.get(i..).is_some_and(|t| t.starts_with('’')) && char_at(i + len).0;
                    if alnum || joins() {
                        i += len;
                    } else {
                        break;
                    }
                }
                _ => break,
            }
        }
        out.push(Word {
            text: &s[start..i],
            start,
            end: i,
        });
    }
    out
}

/// `u8::is_ascii_alphanumeric` as a table (false for every non-ASCII byte), for the byte loops.
static ASCII_ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    t
};

/// Number of whitespace-separated words, exactly `s.split_whitespace().count()`. A byte loop
/// with an ASCII fast path: the generic iterator decodes every character and showed up as a
/// few percent of analysis time.
pub(crate) fn count_words(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut count = 0;
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (space, len) = if b < 0x80 {
            // `char::is_whitespace` on ASCII: tab, LF, VT, FF, CR and space.
            (matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' '), 1)
        } else {
            s.get(i..)
                .and_then(|t| t.chars().next())
                .map_or((false, 1), |c| (c.is_whitespace(), c.len_utf8()))
        };
        if space {
            in_word = false;
        } else if !in_word {
            in_word = true;
            count += 1;
        }
        i += len;
    }
    count
}

/// The body with each single line break turned into a space (blank lines and indented new
/// lines, which separate paragraphs, become runs of spaces and so still break names). Same
/// length as the input, so byte offsets carry over.
pub(crate) fn unwrap_lines(s: &str) -> String {
    // A branch-free byte map (the compiler vectorises it) instead of copying line by line.
    // Swapping one ASCII byte for another keeps the UTF-8 valid, so the conversion back
    // cannot fail; the fallback only keeps this free of panics.
    let bytes: Vec<u8> = s
        .as_bytes()
        .iter()
        .map(|&b| if b == b'\n' { b' ' } else { b })
        .collect();
    String::from_utf8(bytes).unwrap_or_else(|_| s.replace('\n', " "))
}

/// Strips an English possessive ("Aliyev's" -> "Aliyev").
pub(crate) fn strip_possessive(w: &str) -> (&str, bool) {
    for suffix in ["'s", "’s", "'S"] {
        if let Some(stem) = w.strip_suffix(suffix) {
            if !stem.is_empty() {
                return (stem, true);
            }
        }
    }
    (w, false)
}

/// True for a word that starts with an uppercase letter and is not all capitals (acronyms are
/// handled by the organisation finder, not as names).
pub(crate) fn is_capitalised(w: &str) -> bool {
    let mut chars = w.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() => {}
        _ => return false,
    }
    chars.any(|c| c.is_lowercase())
}

/// True for an all-capitals token such as "OIC" or "COP29" (at least one letter, no lowercase).
pub(crate) fn is_acronym(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
        && w.chars().any(|c| c.is_uppercase())
        && !w.chars().any(|c| c.is_lowercase())
}

/// Calls `f` with each lowercase alphabetic token of `s` (length >= 2); digits and punctuation
/// split tokens. This is the feature tokeniser of the sector model: training and inference must
/// use exactly this function. `buf` is reused to avoid an allocation per token.
pub fn for_each_token(s: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    let mut len = 0usize;
    for c in s.chars() {
        if c.is_alphabetic() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
            len += 1;
        } else if !buf.is_empty() {
            if len >= 2 {
                f(buf);
            }
            buf.clear();
            len = 0;
        }
    }
    if len >= 2 {
        f(buf);
    }
    buf.clear();
}

/// Leftmost-longest, non-overlapping matches of a gazetteer automaton, found only where a
/// match can start. Equivalent to `AhoCorasick::find_iter` with `MatchKind::LeftmostLongest`
/// (the leftmost match starts at the first position where some pattern matches, and is the
/// longest one there), but the full automaton only runs from bytes that begin a pattern:
/// gazetteer forms are capitalised, so most of an English body is skipped by a table lookup
/// instead of a DFA transition per byte.
pub(crate) struct FormMatcher {
    /// Built with `StartKind::Anchored` and `MatchKind::LeftmostLongest`; a contiguous NFA,
    /// which is far smaller than a DFA, so the short walks from each candidate stay in cache.
    ac: AhoCorasick,
    /// Bytes that begin at least one pattern.
    starts: [bool; 256],
}

impl FormMatcher {
    pub fn new<P: AsRef<str>>(forms: &[P]) -> Result<FormMatcher, aho_corasick::BuildError> {
        let ac = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .build(forms.iter().map(AsRef::as_ref))?;
        let mut starts = [false; 256];
        for f in forms {
            if let Some(&b) = f.as_ref().as_bytes().first() {
                starts[usize::from(b)] = true;
            }
        }
        Ok(FormMatcher { ac, starts })
    }

    /// The matches in `hay`, in order, as `find_iter` would give them.
    pub fn find_iter<'g, 'h>(&'g self, hay: &'h str) -> impl Iterator<Item = aho_corasick::Match> + 'g
    where
        'h: 'g,
    {
        let bytes = hay.as_bytes();
        let mut pos = 0;
        std::iter::from_fn(move || {
            while let Some(off) = bytes
                .get(pos..)?
                .iter()
                .position(|&b| self.starts[usize::from(b)])
            {
                let q = pos + off;
                let input = Input::new(hay).range(q..).anchored(Anchored::Yes);
                // Only fails for an unanchored request, which this never makes.
                match self.ac.try_find(input).ok()? {
                    Some(m) => {
                        pos = m.end().max(q + 1);
                        return Some(m);
                    }
                    None => pos = q + 1,
                }
            }
            pos = bytes.len();
            None
        })
    }
}

/// FNV-1a: the maps on the hot path are keyed by short words, where SipHash's DoS resistance
/// buys nothing and costs a third of the lookup time.
pub(crate) use sectorwire_domain::hash::Fnv1a as Fnv;

pub(crate) type FastHash = std::hash::BuildHasherDefault<Fnv>;
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, FastHash>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, FastHash>;

/// Hasher for keys that already are 64-bit hashes ([`token_hash`](super::model) values): one
/// multiply spreads them over the table, where FNV would spend eight dependent multiplies on
/// bytes that are already mixed. Only for maps that are looked up, never iterated (iteration
/// order follows the hasher, and sums over an iteration must not change).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not reached for u64 keys; a plain fold keeps other keys working.
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, h: u64) {
        self.0 = (h ^ (h >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Map keyed by a precomputed 64-bit hash; see [`PreHashed`].
pub(crate) type PreHashedMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<PreHashed>>;
/// Set of precomputed 64-bit hashes; see [`PreHashed`].
pub(crate) type PreHashedSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<PreHashed>>;

/// A word list as a set, for the stop lists consulted once per word.
pub(crate) fn word_set(words: &[&'static str]) -> FastSet<&'static str> {
    words.iter().copied().collect()
}

/// A set of byte ranges merged into disjoint sorted intervals, for O(log n) "is this inside
/// or touching something already claimed" queries (entity finders skip each other's spans).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanSet {
    merged: Vec<(usize, usize)>,
}

impl SpanSet {
    pub fn new(spans: impl IntoIterator<Item = super::Span>) -> SpanSet {
        let mut v: Vec<(usize, usize)> = spans.into_iter().map(|s| (s.start, s.end)).collect();
        v.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        SpanSet { merged }
    }

    /// The interval that starts at or before `pos`, if any.
    fn before(&self, pos: usize) -> Option<(usize, usize)> {
        let i = self.merged.partition_point(|&(s, _)| s <= pos);
        i.checked_sub(1).and_then(|i| self.merged.get(i).copied())
    }

    /// True when [start, end) shares at least one byte with the set.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        if end <= start {
            return false;
        }
        // The last interval starting before `end` is the only candidate.
        self.before(end - 1).is_some_and(|(_, e)| e > start)
    }

    /// True when [start, end) lies inside the set.
    pub fn contains(&self, start: usize, end: usize) -> bool {
        self.before(start).is_some_and(|(s, e)| s <= start && end <= e)
    }
}

/// Edit distance, used to merge spelling variants of names ("Shehbaz" / "Shahbaz").
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_joiners() {
        let w: Vec<&str> = words("Nagorno-Karabakh, Aliyev's -x- 'q'")
            .iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(w, vec!["Nagorno-Karabakh", "Aliyev's", "x", "q"]);
    }

    #[test]
    fn tokens_lowercase_and_skip_digits() {
        let mut buf = String::new();
        let mut got = Vec::new();
        for_each_token("Oil PRICES rose 3.5% in Türkiye", &mut buf, |t| {
            got.push(t.to_string())
        });
        assert_eq!(got, vec!["oil", "prices", "rose", "in", "türkiye"]);
    }

    #[test]
    fn word_count_matches_split_whitespace() {
        for s in [
            "",
            " ",
            "a",
            " a  b\tc\u{0B}d\u{0C}e\r\nf ",
            "x\u{A0}y\u{2003}z é\u{3000}",
            "\u{85}w",
        ] {
            assert_eq!(count_words(s), s.split_whitespace().count(), "{s:?}");
        }
    }

    #[test]
    fn form_matcher_agrees_with_find_iter() {
        let forms = [
            "U.S.",
            "US",
            "United States",
            "United Kingdom",
            "Kingdom",
            "Éire",
            "Nations",
            "ted",
        ];
        let reference = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(forms)
            .expect("valid");
        let ours = FormMatcher::new(&forms).expect("valid");
        for hay in [
            "",
            "US",
            "the United States and United Kingdom, U.S. or USA; Éire, United Nations",
            "UnitedUnited States Kingdom Kingdom's ted United Sta",
        ] {
            let want: Vec<_> = reference
                .find_iter(hay)
                .map(|m| (m.pattern(), m.span()))
                .collect();
            let got: Vec<_> = ours.find_iter(hay).map(|m| (m.pattern(), m.span())).collect();
            assert_eq!(got, want, "{hay:?}");
        }
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("Shehbaz", "Shahbaz"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
    }
}
