//! Repairs sentences glued together without a space ("defense.President", "2024.The"),
//! which scrapers produce when they drop the markup between two paragraphs. Left alone,
//! such joins break sentence splitting, word counts and entity spans downstream.
//!
//! The repair must not touch abbreviations ("U.S."), numbers ("3.5"), domain names
//! ("News.Az"), URLs or e-mail addresses, so it only fires when a lower-case letter or
//! digit ends the first sentence and a capitalised word of real length starts the next.

/// Top-level domains that appear capitalised in outlet names ("News.Az"); a token that
/// ends in one of them is a name, not two sentences. Endings that are also common
/// English words ("it", "in", "us") are left out: a glued "said.It" is likelier.
const DOMAIN_ENDINGS: &[&str] = &[
    "az", "com", "net", "org", "info", "io", "ai", "co", "uk", "ru", "de", "fr", "tr", "pk", "cn", "jp",
    "kz", "uz", "ge", "ua", "tv", "fm", "news", "biz", "gov", "edu", "eu", "ly", "es", "nl", "ch", "pl",
    "ir", "ae", "sa", "qa",
];

/// Longest token considered for repair.
const MAX_TOKEN_BYTES: usize = 120;

/// Inserts the missing space after sentence punctuation inside glued tokens.
pub(crate) fn fix_glued(s: &str) -> String {
    if !has_inner_mark(s) {
        // Nearly every paragraph: no token to repair, so skip the per-token pass.
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut first = true;
    for token in s.split(' ') {
        if !first {
            out.push(' ');
        }
        first = false;
        // Glued sentences join two words; a longer token is an identifier or junk, and
        // skipping it keeps the per-token work bounded.
        // ASCII marks never occur inside multi-byte characters, so bytes are safe here.
        let last = token.len().saturating_sub(1);
        let has_inner_mark = token
            .bytes()
            .enumerate()
            .any(|(i, b)| i > 0 && i < last && matches!(b, b'.' | b'!' | b'?'));
        if !has_inner_mark || token.len() > MAX_TOKEN_BYTES || is_address(token) {
            out.push_str(token);
            continue;
        }
        fix_token(token, &mut out);
    }
    out
}

/// True when some sentence mark has a non-space byte on both sides, i.e. sits inside a
/// space-separated token: only such tokens can need repair.
fn has_inner_mark(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| matches!(w[1], b'.' | b'!' | b'?') && w[0] != b' ' && w[2] != b' ')
}

/// URLs, e-mail addresses, host names, tickers ("<skbs.St>") and paths must stay
/// byte-for-byte intact.
fn is_address(token: &str) -> bool {
    token.contains("://")
        || token.starts_with("www.")
        || token.contains(['@', '<', '>', '/', '\\', '=', '_', '#'])
}

fn fix_token(token: &str, out: &mut String) {
    let chars: Vec<(usize, char)> = token.char_indices().collect();
    let mut last = 0usize;
    for i in 1..chars.len().saturating_sub(1) {
        let (pos, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        if !ends_sentence(&chars[..i]) {
            continue;
        }
        if !starts_sentence(&chars[i + 1..]) {
            continue;
        }
        let cut = pos + c.len_utf8();
        out.push_str(&token[last..cut]);
        out.push(' ');
        last = cut;
    }
    out.push_str(&token[last..]);
}

/// The text before the mark must end like a sentence: a word of two or more letters
/// whose last letter is lower case ("defense", not "U.S" or "e.g"), a number, or a
/// closing bracket or quote.
fn ends_sentence(before: &[(usize, char)]) -> bool {
    let Some(&(_, prev)) = before.last() else {
        return false;
    };
    if prev.is_ascii_digit() || matches!(prev, ')' | '"' | '\u{201D}' | '\u{2019}') {
        return true;
    }
    if !prev.is_lowercase() {
        return false;
    }
    let letters = before.iter().rev().take_while(|(_, c)| c.is_alphabetic()).count();
    letters >= 2
}

/// The text after the mark must start a sentence: a capitalised word of three or more
/// letters that is not a domain ending, or the one-letter words "A" and "I".
fn starts_sentence(after: &[(usize, char)]) -> bool {
    let Some(&(_, first)) = after.first() else {
        return false;
    };
    if !first.is_uppercase() {
        return false;
    }
    let word: String = after
        .iter()
        .map(|&(_, c)| c)
        .take_while(|c| c.is_alphabetic())
        .collect();
    let n = word.chars().count();
    let rest_after_word = after.get(n).map(|&(_, c)| c);
    if n == 1 {
        return matches!(first, 'A' | 'I') && rest_after_word.is_none();
    }
    if word.chars().skip(1).any(char::is_uppercase) {
        return false; // "ASP.NET", "report.PDF"
    }
    let ends_token = rest_after_word.is_none_or(|c| !c.is_alphanumeric() && c != '.');
    if ends_token && DOMAIN_ENDINGS.contains(&word.to_lowercase().as_str()) {
        return false;
    }
    n >= 2
}

#[cfg(test)]
mod tests {
    use super::fix_glued;

    #[test]
    fn splits_glued_sentences() {
        assert_eq!(
            fix_glued("the defense.President said"),
            "the defense. President said"
        );
        assert_eq!(fix_glued("in 2024.The visit"), "in 2024. The visit");
    }

    #[test]
    fn keeps_abbreviations_numbers_and_addresses() {
        for s in [
            "the U.S. economy",
            "grew 3.5 percent",
            "view of News.Az .",
            "see https://example.com/A.Page now",
            "mail info@example.org.Thanks",
            "e.g.The",
            "ASP.NET and Node.js",
        ] {
            assert_eq!(fix_glued(s), s);
        }
    }
}
