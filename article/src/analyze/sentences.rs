//! Sentence splitting. Evidence for a sector tag is a whole sentence, and scraped bodies glue
//! sentences together ("defense.President"), so the splitter must find those joins without
//! breaking on abbreviations ("U.S.", "Mr.", "Inc.").

use super::Span;

/// Words after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "col", "lt", "capt", "sgt", "gov", "sen",
    "rep", "rev", "hon", "inc", "corp", "co", "ltd", "plc", "llc", "no", "nos", "vs", "etc", "e.g", "i.e",
    "approx", "dept", "est", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "mt", "ft", "pp", "vol", "u.s", "u.k", "u.n", "a.m", "p.m",
];

fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    if w.is_empty() {
        return false;
    }
    // Single letters ("J. Smith", "U.S.") and dotted initialisms are never sentence ends.
    if w.chars().count() == 1 || w.contains('.') && w.len() <= 6 {
        return true;
    }
    let lower = w.to_ascii_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// The bytes [`split`] stops at: line breaks and terminal punctuation.
static BREAK_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\n' as usize] = true;
    t[b'.' as usize] = true;
    t[b'!' as usize] = true;
    t[b'?' as usize] = true;
    t
};

/// Splits `body` into sentence spans: trimmed, non-empty, in order, non-overlapping.
pub fn split(body: &str) -> Vec<Span> {
    let bytes = body.as_bytes();
    let mut raw: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        // Only line breaks and terminal punctuation matter: skip everything else with one
        // table lookup per byte.
        while i < bytes.len() && !BREAK_BYTES[usize::from(bytes[i])] {
            i += 1;
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        match b {
            b'\n' => {
                // A blank line, or a new line that starts indented, ends the sentence.
                let mut j = i + 1;
                let mut spaces = 0;
                let mut blank = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\n' => {
                            blank = true;
                            break;
                        }
                        b' ' | b'\t' | b'\r' => spaces += 1,
                        _ => break,
                    }
                    j += 1;
                }
                if blank || spaces >= 2 || (j < bytes.len() && bytes[j] == b'\t') {
                    raw.push((start, i));
                    start = i + 1;
                }
                i += 1;
            }
            b'.' | b'!' | b'?' => {
                // Swallow runs of terminal punctuation and closing quotes/brackets.
                let mut j = i + 1;
                while j < bytes.len() && matches!(bytes[j], b'.' | b'!' | b'?' | b'"' | b'\'' | b')') {
                    j += 1;
                }
                // Closing curly quotes are multi-byte.
                while let Some(c) = body.get(j..).and_then(|s| s.chars().next()) {
                    if matches!(c, '”' | '’' | '»') {
                        j += c.len_utf8();
                    } else {
                        break;
                    }
                }
                let next = body.get(j..).and_then(|s| s.chars().next());
                let word_before = last_word(body, i);
                let ends = match next {
                    None => true,
                    Some(c) if c.is_whitespace() => {
                        let after = body.get(j..).map(str::trim_start).and_then(|s| s.chars().next());
                        let starts_new = after.is_none_or(|c| {
                            c.is_uppercase()
                                || c.is_numeric()
                                || matches!(c, '"' | '“' | '\'' | '‘' | '(' | '[')
                        });
                        starts_new && (b != b'.' || !is_abbreviation(word_before))
                    }
                    // Glued sentences: "defense.President". Require a real lowercase word before
                    // the period so that "U.S.A" or "3.5" stay whole.
                    Some(c) if b == b'.' && c.is_uppercase() => {
                        word_before.chars().count() >= 3
                            && word_before.chars().all(|c| c.is_alphabetic())
                            && word_before.chars().last().is_some_and(|c| c.is_lowercase())
                            && !is_abbreviation(word_before)
                    }
                    _ => false,
                };
                if ends {
                    raw.push((start, j));
                    start = j;
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    raw.push((start, bytes.len()));
    raw.into_iter()
        .filter_map(|(s, e)| trim_span(body, s, e))
        .collect()
}

/// The word (letters, digits and inner dots) ending at byte `end`.
fn last_word(body: &str, end: usize) -> &str {
    let head = match body.get(..end) {
        Some(h) => h,
        None => return "",
    };
    let start = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphanumeric() || c == '.')
        .last()
        .map_or(end, |(i, _)| i);
    head.get(start..).unwrap_or("")
}

fn trim_span(body: &str, start: usize, end: usize) -> Option<Span> {
    let text = body.get(start..end)?;
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let s = start + lead;
    Some(Span {
        start: s,
        end: s + trimmed.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<&str> {
        split(body).iter().map(|s| &body[s.start..s.end]).collect()
    }

    #[test]
    fn glued_and_abbreviations() {
        let body = "Ties grew in trade and defense.President Aliyev met Mr. Sharif in the U.S. on Monday. Oil rose 3.5 pct!\n\nNew paragraph";
        assert_eq!(
            texts(body),
            vec![
                "Ties grew in trade and defense.",
                "President Aliyev met Mr. Sharif in the U.S. on Monday.",
                "Oil rose 3.5 pct!",
                "New paragraph"
            ]
        );
    }

    #[test]
    fn wrapped_lines_stay_together() {
        let body = "Showers continued in\nthe zone, officials said.\n    The dry period ends";
        assert_eq!(
            texts(body),
            vec![
                "Showers continued in\nthe zone, officials said.",
                "The dry period ends"
            ]
        );
    }
}
