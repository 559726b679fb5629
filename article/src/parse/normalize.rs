//! Byte-level hygiene shared by both front ends: decoding untrusted bytes, refusing
//! binary data, and normalising whitespace so later rules can compare strings exactly.

use super::ParseError;
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How much of the input the binary check samples; enough to see a file header and
/// a few pages of content, small enough to keep the check cheap on huge inputs.
const SNIFF_BYTES: usize = 64 * 1024;

/// Decodes bytes to text. Pages reach us in whatever encoding their site used, so the
/// encoding is chosen the way a browser would, adjusted for scraped input: a byte-order
/// mark first; then UTF-8 whenever the bytes are valid UTF-8 (scrapers often re-encode a
/// page to UTF-8 and leave its old `<meta charset>` behind); then the charset the document
/// declares (`<meta charset>`, `http-equiv` Content-Type, an XML declaration); then,
/// undeclared, UTF-8 with the odd bad byte replaced when that is what the bytes mostly are,
/// else the legacy encoding a statistical sniff (chardetng) finds likeliest.
pub(crate) fn decode(raw: &[u8]) -> Result<String, ParseError> {
    super::work::charge(raw.len());
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(raw) {
        let body = raw.get(bom_len..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(body);
        return check_decoded(text.into_owned());
    }
    if let Some(encoding) = utf16_without_bom(raw) {
        let (text, _) = encoding.decode_without_bom_handling(raw);
        return check_decoded(text.into_owned());
    }
    if looks_binary(raw) {
        return Err(ParseError::Binary);
    }
    if let Ok(s) = std::str::from_utf8(raw) {
        return Ok(s.to_string());
    }
    let encoding = match declared_charset(raw) {
        Some(declared) => declared,
        None if mostly_utf8(raw) => UTF_8,
        None => {
            let mut detector = chardetng::EncodingDetector::new();
            detector.feed(raw, true);
            detector.guess(None, false)
        }
    };
    if encoding == UTF_8 {
        return check_decoded(String::from_utf8_lossy(raw).into_owned());
    }
    let (text, _) = encoding.decode_without_bom_handling(raw);
    // Every byte means something in a single-byte encoding, so garbage decodes "cleanly";
    // real text in any script is mostly letters and spaces.
    if !mostly_letters(&text) {
        return Err(ParseError::Binary);
    }
    check_decoded(text.into_owned())
}

/// True when at least half of the sampled characters are letters or whitespace.
fn mostly_letters(text: &str) -> bool {
    let (mut total, mut letters) = (0usize, 0usize);
    for c in text.chars().take(SNIFF_BYTES) {
        total += 1;
        letters += usize::from(c.is_alphabetic() || c.is_whitespace());
    }
    letters * 2 >= total
}

/// How far into a document a charset declaration is looked for: browsers prescan 1024
/// bytes, but scraped pages often carry long inline styles or scripts before the `<meta>`.
const DECLARATION_SCAN_BYTES: usize = 8 * 1024;

/// The encoding a document declares for itself in its first bytes: `<meta charset=...>`,
/// `<meta http-equiv="Content-Type" content="...; charset=...">` or `<?xml ...
/// encoding="..."?>`. A declared UTF-16 is ignored, as browsers do: bytes that let an
/// ASCII scan read the declaration are not UTF-16.
pub(crate) fn declared_charset(raw: &[u8]) -> Option<&'static Encoding> {
    let head = &raw[..raw.len().min(DECLARATION_SCAN_BYTES)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut found = None;
    if lower.starts_with(b"<?xml") {
        let end = find(&lower, b"?>", 0).unwrap_or(lower.len());
        found = label_after(&lower[..end], b"encoding");
    }
    let mut from = 0;
    while found.is_none() {
        let Some(start) = find(&lower, b"<meta", from) else {
            break;
        };
        let end = find(&lower, b">", start).unwrap_or(lower.len());
        found = label_after(&lower[start..end], b"charset");
        from = end;
    }
    found.filter(|e| *e != UTF_16LE && *e != UTF_16BE)
}

/// The encoding named after `key` and `=` (quotes optional) inside one tag.
fn label_after(tag: &[u8], key: &[u8]) -> Option<&'static Encoding> {
    let mut from = 0;
    while let Some(at) = find(tag, key, from) {
        from = at + key.len();
        let rest = &tag[from..];
        let rest = rest.trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = rest.trim_ascii_start();
        let rest = rest
            .strip_prefix(b"\"")
            .or_else(|| rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')))
            .unwrap_or(rest.len());
        if let Some(e) = Encoding::for_label(&rest[..len]) {
            return Some(e);
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// True when valid multi-byte UTF-8 sequences outnumber invalid ones: a UTF-8 page with a
/// stray byte, not a legacy page (whose accented letters almost never form valid UTF-8).
fn mostly_utf8(raw: &[u8]) -> bool {
    let sample = &raw[..raw.len().min(SNIFF_BYTES)];
    let (mut valid_multi, mut invalid) = (0usize, 0usize);
    let mut rest = sample;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid_multi += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (good, after) = rest.split_at(e.valid_up_to());
                valid_multi +=
                    std::str::from_utf8(good).map_or(0, |s| s.chars().filter(|c| !c.is_ascii()).count());
                match e.error_len() {
                    Some(n) => {
                        invalid += 1;
                        rest = &after[n..];
                    }
                    // A sequence cut off by the sample's end is not an error.
                    None => break,
                }
            }
        }
    }
    valid_multi > invalid
}

/// UTF-16 without a byte-order mark: text that is mostly ASCII leaves a NUL in every
/// other byte, on the odd positions for little-endian and the even ones for big-endian.
/// Without this check such a page is refused as binary for its NUL bytes.
fn utf16_without_bom(raw: &[u8]) -> Option<&'static Encoding> {
    let sample = &raw[..raw.len().min(4096) & !1];
    if sample.len() < 16 {
        return None;
    }
    let pairs = sample.len() / 2;
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nul += usize::from(pair[0] == 0);
        odd_nul += usize::from(pair[1] == 0);
    }
    // Mostly one-sided NULs and a clean other side: never the pattern of binary data.
    if odd_nul * 10 >= pairs * 7 && even_nul * 50 <= pairs {
        Some(UTF_16LE)
    } else if even_nul * 10 >= pairs * 7 && odd_nul * 50 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
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

/// Whether `text` ends with one of `stops`, once closing quotes and brackets are set aside
/// (`He said "yes."` ends with `.`). Trailing whitespace counts: callers trim if they mean to.
pub(crate) fn ends_with_stop(text: &str, stops: &[char]) -> bool {
    text.trim_end_matches(['"', '\u{201D}', '\'', '\u{2019}', ')'])
        .ends_with(stops)
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

/// Legacy encodings: each page is made here by encoding UTF-8 text with `encoding_rs`, then
/// read back through the whole parser, which must return the original characters.
#[cfg(test)]
mod encoding_tests {
    use crate::parse::{parse, ContentType, Hints, ParseError, ParsedArticle};
    use encoding_rs::{Encoding, SHIFT_JIS, UTF_16BE, UTF_16LE, WINDOWS_1252};

    const EURO_TEXT: &str = "The café in Zürich raised its prices to €5 on Monday, \u{201c}a fair price\u{201d} \
        according to the owner – who also runs a bakery in Neuchâtel and pays his staff well above the minimum wage.";
    const JAPANESE_TEXT: &str = "東京で両国の貿易協定が署名された。エネルギー分野の協力も話し合われ、\
        石油と天然ガスの供給について合意した。首脳は来年も会談を続けることを確認した。";

    fn page(head: &str, text: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head>{head}<title>Prices rise</title></head><body>\
             <article><h1>Prices rise</h1><p>{text}</p><p>{text}</p></article></body></html>"
        )
    }

    fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(
            !unmappable,
            "test text must be representable in {}",
            encoding.name()
        );
        bytes.into_owned()
    }

    fn parsed(bytes: &[u8], ct: ContentType) -> ParsedArticle {
        parse(bytes, ct, &Hints::default()).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    #[test]
    fn windows_1252_declared_by_meta_charset() {
        let bytes = encode(&page(r#"<meta charset="windows-1252">"#, EURO_TEXT), WINDOWS_1252);
        assert!(std::str::from_utf8(&bytes).is_err(), "the page is not UTF-8");
        let a = parsed(&bytes, ContentType::Auto);
        assert_eq!(a.paragraphs.first().map(String::as_str), Some(EURO_TEXT));
    }

    #[test]
    fn iso_8859_1_declared_by_http_equiv() {
        let text = "Die Straße in Zürich wurde für den Verkehr gesperrt, nachdem die Stadt über Jahre \
            die Brücke renoviert hatte; Anwohner äußerten sich zufrieden über das Ergebnis.";
        let head = r#"<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">"#;
        let latin1 = Encoding::for_label(b"iso-8859-1").expect("label known");
        let bytes = encode(&page(head, text), latin1);
        let a = parsed(&bytes, ContentType::Html);
        assert_eq!(a.paragraphs.first().map(String::as_str), Some(text));
    }

    #[test]
    fn shift_jis_declared_and_sniffed() {
        let declared = encode(&page(r#"<meta charset="Shift_JIS">"#, JAPANESE_TEXT), SHIFT_JIS);
        let a = parsed(&declared, ContentType::Auto);
        assert_eq!(a.paragraphs.first().map(String::as_str), Some(JAPANESE_TEXT));
        // No declaration at all: the statistical sniff has to find it.
        let bare = encode(&page("", JAPANESE_TEXT), SHIFT_JIS);
        let a = parsed(&bare, ContentType::Auto);
        assert_eq!(a.paragraphs.first().map(String::as_str), Some(JAPANESE_TEXT));
    }

    #[test]
    fn undeclared_windows_1252_plain_text_is_sniffed() {
        let text = format!("Prices rise\n\n{EURO_TEXT}\n\n{EURO_TEXT}\n");
        let a = parsed(&encode(&text, WINDOWS_1252), ContentType::Text);
        assert_eq!(a.paragraphs.last().map(String::as_str), Some(EURO_TEXT));
    }

    #[test]
    fn utf16_with_and_without_byte_order_mark() {
        let html = page(r#"<meta charset="utf-16">"#, EURO_TEXT);
        let mut le = vec![0xFF, 0xFE];
        le.extend(html.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(parsed(&le, ContentType::Auto).paragraphs[0], EURO_TEXT);
        // Without a BOM the NUL bytes made this "binary" before.
        let be: Vec<u8> = html.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(parsed(&be, ContentType::Auto).paragraphs[0], EURO_TEXT);
        let le_bare: Vec<u8> = html.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parsed(&le_bare, ContentType::Auto).paragraphs[0], EURO_TEXT);
        // encoding_rs agrees on what these bytes are.
        assert_eq!(UTF_16BE.decode_without_bom_handling(&be).0, html);
        assert_eq!(UTF_16LE.decode_without_bom_handling(&le_bare).0, html);
    }

    #[test]
    fn utf8_wins_over_a_stale_declaration_and_survives_a_stray_byte() {
        // Scrapers re-encode pages to UTF-8 and leave the old charset in place.
        let stale = page(r#"<meta charset="iso-8859-1">"#, EURO_TEXT);
        assert_eq!(
            parsed(stale.as_bytes(), ContentType::Auto).paragraphs[0],
            EURO_TEXT
        );
        // One bad byte in a UTF-8 page is replaced, not read as another encoding.
        let mut bytes = page("", EURO_TEXT).into_bytes();
        let at = bytes.len() - 40;
        bytes.insert(at, 0xFF);
        let a = parsed(&bytes, ContentType::Auto);
        assert_eq!(a.paragraphs[0], EURO_TEXT);
    }

    #[test]
    fn binary_is_still_refused() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend((0..4000u32).map(|i| (i * 7 % 256) as u8));
        assert!(matches!(
            parse(&png, ContentType::Auto, &Hints::default()),
            Err(ParseError::Binary)
        ));
        let nul_heavy: Vec<u8> = (0..4000u32).map(|i| if i % 3 == 0 { 0 } else { b'a' }).collect();
        assert!(matches!(
            parse(&nul_heavy, ContentType::Auto, &Hints::default()),
            Err(ParseError::Binary)
        ));
    }
}
