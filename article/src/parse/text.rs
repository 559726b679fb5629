//! Byte-level hygiene shared by both front ends: decoding untrusted bytes, refusing
//! binary data, and normalising whitespace so later rules can compare strings exactly.

use super::ParseError;

/// How much of the input the binary check samples; enough to see a file header and
/// a few pages of content, small enough to keep the check cheap on huge inputs.
const SNIFF_BYTES: usize = 64 * 1024;

/// Decodes bytes to text: UTF-16 when a byte-order mark says so, otherwise UTF-8 with
/// invalid sequences replaced, since scraped pages are often slightly mis-encoded.
pub(crate) fn decode(raw: &[u8]) -> Result<String, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    if let Some(s) = decode_utf16_bom(raw) {
        return check_decoded(s);
    }
    let body = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    if looks_binary(body) {
        return Err(ParseError::Binary);
    }
    check_decoded(String::from_utf8_lossy(body).into_owned())
}

fn check_decoded(s: String) -> Result<String, ParseError> {
    if !s.contains('\u{FFFD}') {
        // Nothing to count (the usual case): skip the per-char pass.
        return Ok(s);
    }
    // A high share of replacement characters means the bytes were not text at all.
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in s.chars().take(SNIFF_BYTES) {
        total += 1;
        if c == '\u{FFFD}' {
            bad += 1;
        }
    }
    if total > 16 && bad * 4 > total {
        return Err(ParseError::Binary);
    }
    Ok(s)
}

fn decode_utf16_bom(raw: &[u8]) -> Option<String> {
    let little = match raw {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = raw[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    Some(
        char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect(),
    )
}

/// True for data that is not text: known binary file signatures, NUL bytes, or many
/// control characters in the sampled prefix.
pub(crate) fn looks_binary(raw: &[u8]) -> bool {
    #[rustfmt::skip]
    const SIGNATURES: &[&[u8]] = &[
        b"%PDF-", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xFF\xD8\xFF", b"PK\x03\x04",
        b"\x1F\x8B", b"\x7FELF", b"BZh", b"\xFD7zXZ", b"Rar!", b"OggS", b"ID3", b"wOFF",
    ];
    if SIGNATURES.iter().any(|sig| raw.starts_with(sig)) && raw.len() > 8 {
        let sample = &raw[..raw.len().min(SNIFF_BYTES)];
        // "BZh"/"ID3" could start a real sentence; insist on some non-text bytes too.
        if sample.iter().any(|&b| is_control(b) || b >= 0x80) {
            return true;
        }
    }
    let sample = &raw[..raw.len().min(SNIFF_BYTES)];
    // One pass for both counts (NUL is a control byte too).
    let (nul, control) = sample.iter().fold((0usize, 0usize), |(n, c), &b| {
        (n + usize::from(b == 0), c + usize::from(is_control(b)))
    });
    nul * 100 > sample.len() || control * 10 > sample.len()
}

fn is_control(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1F | 0x7F)
}

/// Collapses every whitespace run (including NBSP and other Unicode spaces) to one
/// ASCII space, drops invisible format characters, and trims.
pub(crate) fn collapse_ws(s: &str) -> String {
    if is_clean_ascii(s) {
        // Most lines need no change; copying them whole skips the per-char loop.
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// True when [`collapse_ws`] would return `s` unchanged and ASCII: no leading or trailing
/// space, no control characters, and only single spaces between words.
fn is_clean_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut prev_space = false;
    for &c in b {
        if c == b' ' {
            if prev_space {
                return false;
            }
            prev_space = true;
        } else if !(0x21..0x7F).contains(&c) {
            return false;
        } else {
            prev_space = false;
        }
    }
    true
}

/// Characters that render as nothing and only get in the way of matching.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{FFFC}'
    ) || (c.is_control() && !c.is_whitespace())
}

/// Splits text into lines on any line terminator, including the Unicode ones.
pub(crate) fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{000C}', '\u{0085}'])
}

/// Counts words as whitespace-separated tokens holding at least one letter or digit.
pub(crate) fn word_count(paragraphs: &[String]) -> u32 {
    let n = paragraphs
        .iter()
        .flat_map(|p| p.split_whitespace())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Removes anything between angle brackets, and the contents of `<script>` and
/// `<style>`: a last resort for input sniffed as markup that the HTML front end could
/// not make sense of.
pub(crate) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let lower = s.to_ascii_lowercase(); // same byte offsets as `s`
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let start = i + off;
        out.push_str(&s[i..start]);
        let raw = ["script", "style"]
            .iter()
            .find(|name| lower[start + 1..].starts_with(*name));
        let from = match raw {
            None => start,
            Some(name) => match lower[start..].find(&format!("</{name}")) {
                Some(end) => start + end,
                // Unclosed: the rest is script. Stopping here keeps the scan linear.
                None => {
                    i = s.len();
                    break;
                }
            },
        };
        match s[from..].find('>') {
            Some(close) => {
                out.push(' ');
                i = from + close + 1;
            }
            None => {
                i = s.len();
            }
        }
    }
    out.push_str(&s[i..]);
    out
}

/// Lower-cases for case-insensitive comparison and folds typographic quotes and dashes
/// to their ASCII forms, so "Editor’s" and "Editor's" compare equal.
pub(crate) fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase().replace('`', "'");
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => out.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The longest prefix of `s` no longer than `max` bytes that ends on a char boundary.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

/// Decodes the HTML character references scrapers leave in plain text ("&amp;",
/// "&#8217;", "&nbsp;"), so text and HTML inputs yield the same characters. Unknown
/// references are kept as written.
pub(crate) fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        // References are short; looking a few bytes ahead keeps this linear.
        let window = prefix(tail, 12);
        let decoded = window.find(';').and_then(|semi| {
            let name = &window[1..semi];
            entity_char(name).map(|c| (c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn entity_char(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{00A0}',
        "rsquo" => '\u{2019}',
        "lsquo" => '\u{2018}',
        "rdquo" => '\u{201D}',
        "ldquo" => '\u{201C}',
        "mdash" => '\u{2014}',
        "ndash" => '\u{2013}',
        "hellip" => '\u{2026}',
        "eacute" => 'é',
        "copy" => '©',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{decode_entities, strip_tags};

    #[test]
    fn strips_tags_and_script_bodies() {
        let s =
            strip_tags("<p>Tide <b>high</b></p><script>var x = '<p>';</script>at noon<style>p{}</style>.");
        assert_eq!(super::collapse_ws(&s), "Tide high at noon .");
        assert_eq!(strip_tags("a <script> never closed"), "a ");
    }

    #[test]
    fn decodes_known_entities_only() {
        assert_eq!(
            decode_entities("a &amp; b &#8217; &#x41; &bogus; &"),
            "a & b \u{2019} A &bogus; &"
        );
    }
}
