//! Caps element nesting and attributes per element before the HTML parser sees the page.
//!
//! The HTML tree builder checks the stack of open elements for scope on every start tag,
//! so its cost grows with depth times tag count: 100,000 nested `<div>`s take minutes.
//! No real article nests that deep, so tags beyond [`MAX_DEPTH`] are dropped (with their
//! end tags), which keeps parsing linear while leaving the text in place.
//!
//! Likewise html5ever's tokenizer compares each new attribute's name with every earlier
//! attribute of the same tag (to drop duplicates), so one element with N attributes
//! costs N²: a `<p>` with 600,000 attributes took minutes. Attributes past
//! [`MAX_ATTRIBUTES`] are dropped from the tag; nothing the extractor reads comes from
//! them.

use std::borrow::Cow;

use super::work;

/// Far deeper than any page layout, shallow enough to bound the tree builder's scans.
pub(crate) const MAX_DEPTH: usize = 256;

/// Far more attributes than any real element carries, few enough that the tokenizer's
/// duplicate check stays cheap.
pub const MAX_ATTRIBUTES: usize = 128;

/// Elements that never have content, so they do not add a level.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
    "wbr", "basefont", "bgsound", "frame", "keygen",
];

/// Elements whose end tag is optional: the tree builder closes them implicitly, so
/// counting them would mistake a run of unclosed `<p>`s for deep nesting.
const IMPLIED_END: &[&str] = &[
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "rtc", "thead", "tbody",
    "tfoot", "colgroup", "caption",
];

/// Elements whose content is raw text: tags inside them are not tags.
#[rustfmt::skip]
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe",
    "plaintext",
];

/// Returns the page unchanged when it nests at most `MAX_DEPTH` levels, no tag has more
/// than `MAX_ATTRIBUTES` attributes and every `<title>` is closed, otherwise a copy without
/// the start and end tags that would nest deeper, without the attributes past the limit,
/// and with an unclosed title ended where its markup resumes (see [`title_end`]).
pub fn limit_markup(html: &str) -> Cow<'_, str> {
    if !scan(html, None) {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    scan(html, Some(&mut out));
    Cow::Owned(out)
}

/// One pass over the tags. Without `out` it only checks; with it, it copies the page
/// minus over-deep tags and excess attributes, with unclosed titles ended. Returns whether
/// anything is changed.
fn scan(html: &str, mut out: Option<&mut String>) -> bool {
    let bytes = html.as_bytes();
    if out.is_none() {
        work::charge(bytes.len());
    }
    let mut depth = 0usize;
    let mut changed = false;
    let mut suppressed = 0usize;
    let mut copied = 0usize; // bytes of `html` already copied to `out`
    let mut i = 0usize;
    while let Some(off) = memchr(b'<', &bytes[i..]) {
        let start = i + off;
        let Some(tag) = read_tag(bytes, start) else {
            i = start + 1;
            continue;
        };
        let mut drop_tag = false;
        match tag.kind {
            TagKind::Start { self_closing } => {
                let name = tag.name(html);
                if !(self_closing || VOID.contains(&name.as_str()) || IMPLIED_END.contains(&name.as_str())) {
                    if depth >= MAX_DEPTH {
                        suppressed += 1;
                        changed = true;
                        drop_tag = true;
                    } else {
                        depth += 1;
                    }
                }
                if !drop_tag {
                    let (kept, cut) = attribute_cut(bytes, tag.name_end, tag.end);
                    if out.is_none() {
                        // For the tag as html5ever will see it: the tree builder's scan
                        // of the open elements, and the tokenizer's comparison of each
                        // attribute's name with those before it.
                        work::charge(depth + kept * kept / 2);
                    }
                    if let Some(cut) = cut {
                        changed = true;
                        if let Some(o) = out.as_deref_mut() {
                            o.push_str(&html[copied..cut]);
                            o.push_str(if self_closing { "/>" } else { ">" });
                            copied = tag.end;
                        }
                    }
                }
                if RAW_TEXT.contains(&name.as_str()) {
                    if name == "title" && !drop_tag {
                        // Up to the first markup only (see `title_end`), so that a page of
                        // unclosed titles is still read in one pass.
                        let (stop, repair) = title_end(bytes, tag.end);
                        if out.is_none() {
                            work::charge(stop - tag.end);
                        }
                        if repair {
                            changed = true;
                            // The inserted end tag closes the level the start tag opened.
                            depth = depth.saturating_sub(1);
                            if let Some(o) = out.as_deref_mut() {
                                o.push_str(&html[copied..stop]);
                                o.push_str("</title>");
                                copied = stop;
                            }
                        }
                        i = stop;
                        continue;
                    }
                    // Skip to the matching end tag; its content is text.
                    let end = find_end_tag(bytes, tag.end, name.as_bytes());
                    if out.is_none() {
                        work::charge(end - tag.end);
                    }
                    flush(&mut out, html, &mut copied, start, tag.end, drop_tag);
                    i = end;
                    continue;
                }
            }
            TagKind::End => {
                let name = tag.name(html);
                if !(VOID.contains(&name.as_str()) || IMPLIED_END.contains(&name.as_str())) {
                    if suppressed > 0 {
                        suppressed -= 1;
                        drop_tag = true;
                    } else {
                        depth = depth.saturating_sub(1);
                    }
                }
            }
            TagKind::Other => {}
        }
        flush(&mut out, html, &mut copied, start, tag.end, drop_tag);
        i = tag.end;
    }
    if let Some(o) = out {
        o.push_str(&html[copied..]);
    }
    changed
}

/// Copies pending text up to the tag, and the tag itself unless it is dropped.
fn flush(
    out: &mut Option<&mut String>,
    html: &str,
    copied: &mut usize,
    start: usize,
    end: usize,
    drop_tag: bool,
) {
    if let Some(o) = out.as_deref_mut() {
        if drop_tag {
            o.push_str(&html[*copied..start]);
            *copied = end;
        }
    }
}

enum TagKind {
    Start { self_closing: bool },
    End,
    Other,
}

struct Tag {
    kind: TagKind,
    name_start: usize,
    name_end: usize,
    end: usize,
}

impl Tag {
    fn name(&self, html: &str) -> String {
        html.get(self.name_start..self.name_end)
            .unwrap_or("")
            .to_ascii_lowercase()
    }
}

/// Reads the tag starting at `start` (which holds `<`); `None` when it is not a tag.
fn read_tag(bytes: &[u8], start: usize) -> Option<Tag> {
    let next = *bytes.get(start + 1)?;
    if next == b'!' {
        let end = if bytes[start..].starts_with(b"<!--") {
            find(bytes, start + 4, b"-->").map_or(bytes.len(), |p| p + 3)
        } else {
            memchr(b'>', &bytes[start..]).map_or(bytes.len(), |p| start + p + 1)
        };
        return Some(Tag {
            kind: TagKind::Other,
            name_start: start,
            name_end: start,
            end,
        });
    }
    if next == b'?' {
        let end = memchr(b'>', &bytes[start..]).map_or(bytes.len(), |p| start + p + 1);
        return Some(Tag {
            kind: TagKind::Other,
            name_start: start,
            name_end: start,
            end,
        });
    }
    let (is_end, name_start) = if next == b'/' {
        (true, start + 2)
    } else {
        (false, start + 1)
    };
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    let mut name_end = name_start;
    while name_end < bytes.len() && (bytes[name_end].is_ascii_alphanumeric() || bytes[name_end] == b'-') {
        name_end += 1;
    }
    let end = tag_end(bytes, name_end);
    let self_closing = end >= 2 && bytes[end - 2] == b'/';
    Some(Tag {
        kind: if is_end {
            TagKind::End
        } else {
            TagKind::Start { self_closing }
        },
        name_start,
        name_end,
        end,
    })
}

/// How many attributes of the tag whose name ends at `i` and which ends at `end` are
/// kept, and where the attribute past [`MAX_ATTRIBUTES`] starts (`None` when the tag has
/// no more than that). Reads each byte of the tag once; the position is right after an
/// ASCII delimiter, so a char boundary.
fn attribute_cut(bytes: &[u8], mut i: usize, end: usize) -> (usize, Option<usize>) {
    let limit = if end > 0 && bytes.get(end - 1) == Some(&b'>') {
        end - 1
    } else {
        end
    };
    let mut count = 0usize;
    loop {
        while i < limit && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= limit {
            return (count, None);
        }
        count += 1;
        if count > MAX_ATTRIBUTES {
            return (MAX_ATTRIBUTES, Some(i));
        }
        // The name, then an optional `= value`.
        while i < limit && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        while i < limit && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < limit && bytes[i] == b'=' {
            i += 1;
            while i < limit && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q) if i < limit && (q == b'"' || q == b'\'') => {
                    i += 1;
                    while i < limit && bytes[i] != q {
                        i += 1;
                    }
                    i += 1;
                }
                _ => {
                    while i < limit && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                }
            }
        }
    }
}

/// The index just past the `>` closing a tag, read as the HTML tokenizer reads it: a
/// quote opens a value only right after `=` (spaces allowed between). Anywhere else, as in
/// `content="07/0"hidden" name="x">`, a quote is a character of a name or of an unquoted
/// value. Counting every quote let one stray quote in a `<meta>` swallow the rest of a
/// page into a single tag, which the attribute limit then cut off.
fn tag_end(bytes: &[u8], mut i: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut value_next = false;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == q {
                    quote = None;
                }
            }
            None if b == b'>' => return i + 1,
            None if b == b'=' => value_next = true,
            None if b.is_ascii_whitespace() => {}
            None if value_next && (b == b'"' || b == b'\'') => {
                quote = Some(b);
                value_next = false;
            }
            None => value_next = false,
        }
        i += 1;
    }
    bytes.len()
}

/// Where the text of a `<title>` whose start tag ends at `from` stops, and whether an end
/// tag must be inserted there. A title is raw text, so without its end tag the parser
/// reads the whole page into it and the article is lost; no real title holds markup, so
/// the first tag, end tag or comment is where its writer meant it to stop. Returns the
/// `</title>` itself when that comes first, and the end of the page when no markup follows.
fn title_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut i = from;
    while let Some(off) = bytes.get(i..).and_then(|rest| memchr(b'<', rest)) {
        let lt = i + off;
        match bytes.get(lt + 1) {
            Some(c) if c.is_ascii_alphabetic() || *c == b'/' || *c == b'!' => {
                return (lt, !is_end_tag_at(bytes, lt, b"title"));
            }
            _ => i = lt + 1,
        }
    }
    (bytes.len(), false)
}

/// Whether `</name` (any case) starts at `off` and the name ends there, as the tokenizer
/// requires (`</titlevalue` is not `</title>`).
fn is_end_tag_at(bytes: &[u8], off: usize, name: &[u8]) -> bool {
    let n = off + 2;
    bytes.get(off..n) == Some(b"</")
        && bytes.len() >= n + name.len()
        && bytes[n..n + name.len()].eq_ignore_ascii_case(name)
        && bytes
            .get(n + name.len())
            .is_none_or(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
}

/// The index of the `<` of `</name` (any case) at or after `from`, or the end; the name
/// must end there (see [`is_end_tag_at`]).
fn find_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(off) = find(bytes, i, b"</") {
        if is_end_tag_at(bytes, off, name) {
            return off;
        }
        i = off + 2;
    }
    bytes.len()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= bytes.len() {
        return None;
    }
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_normal_pages_alone() {
        let page = "<html><body><div><p>Hi<p>there</div><script>if (a<b) {}</script></body></html>";
        assert!(matches!(limit_markup(page), Cow::Borrowed(_)));
    }

    /// A stray quote inside a tag (a value cut short by a bad template) is not the start
    /// of a quoted value: the tag still ends at its `>` and the page after it is kept.
    /// Counting every quote made the rest of the page one tag, cut at the attribute limit.
    #[test]
    fn stray_quotes_do_not_swallow_the_page() {
        let filler: String = (0..200)
            .map(|i| format!("<p class=\"c{i}\">para {i}</p>\n"))
            .collect();
        let page = format!(
            "<html><head><meta name=\"x\" content=\"07/0\"hidden\" name=\"client\" value=\"v\">\n\
             </head><body>{filler}<p>The end of the story.</p></body></html>"
        );
        let out = limit_markup(&page);
        assert!(matches!(out, Cow::Borrowed(_)), "nothing to change");
        assert_eq!(
            tag_end(b"<a href=\"x>y\">", 2),
            14,
            "a quoted `>` does not end the tag"
        );
        assert_eq!(tag_end(b"<a b=\"1\"c\" d=\"2\">t", 2), 17);
        assert_eq!(tag_end(b"<a b = 'q>' c>", 2), 14);
    }

    /// A `<title>` that is never closed would make the whole page title text (raw text
    /// runs to the end); it is ended where markup resumes, and a closed one is untouched.
    #[test]
    fn unclosed_titles_end_where_markup_resumes() {
        let page = "<html><head><title>Sport news-->\n<script>x()</script></head>\
                    <body><p>The match report.</p></body></html>";
        let out = limit_markup(page);
        assert!(
            out.starts_with("<html><head><title>Sport news-->\n</title><script>"),
            "{out}"
        );
        let doc = scraper::Html::parse_document(&out);
        let text: String = doc.root_element().text().collect();
        assert!(text.contains("The match report."));
        let title = scraper::Selector::parse("title")
            .map(|s| doc.select(&s).next().map(|t| t.text().collect::<String>()));
        assert_eq!(title.ok().flatten().as_deref(), Some("Sport news-->\n"));

        // `</titlefoo` is not the title's end tag (the tokenizer needs the name to end).
        let page = "<html><head><title>World news</titlevalue=\"true\" -->\n</head>\
                    <body><p>The report.</p></body></html>";
        let out = limit_markup(page);
        assert!(
            out.starts_with("<html><head><title>World news</title></titlevalue"),
            "{out}"
        );

        let fine = "<html><head><title>A &lt; B: 3 < 4</title></head><body><p>x</p></body></html>";
        assert!(matches!(limit_markup(fine), Cow::Borrowed(_)));
    }

    /// Each title is read only up to its first markup, so a page of many unclosed titles
    /// costs work in proportion to its length (reading every one to the end of the page,
    /// as for other raw text, made it quadratic).
    #[test]
    fn unclosed_titles_are_read_in_one_pass() {
        let page = format!(
            "<html><head>{}</head><body><p>kept</p></body></html>",
            "<title>t<b>x</b>".repeat(20_000)
        );
        let before = work::spent();
        let out = limit_markup(&page);
        let used = work::spent() - before;
        assert!(
            used <= 4 * page.len() as u64,
            "{used} units for {} bytes",
            page.len()
        );
        assert_eq!(out.matches("</title>").count(), 20_000);
        assert!(out.ends_with("<p>kept</p></body></html>"));
    }

    #[test]
    fn flattens_pathological_nesting() {
        let n = 10_000;
        let page = format!("{}text{}", "<div>".repeat(n), "</div>".repeat(n));
        let out = limit_markup(&page);
        assert_eq!(out.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
        assert!(out.contains("text"));
    }

    #[test]
    fn drops_attributes_past_the_limit() {
        let attrs: String = (0..1000).map(|i| format!(" a{i}=\"v{i}\"")).collect();
        let page = format!("<p{attrs} class=\"x\">kept text</p><br{attrs}/>");
        let out = limit_markup(&page);
        assert_eq!(out.matches("=\"v").count(), 2 * MAX_ATTRIBUTES);
        assert!(out.contains(&format!(
            " a{}=\"v{}\" >kept text</p>",
            MAX_ATTRIBUTES - 1,
            MAX_ATTRIBUTES - 1
        )));
        assert!(out.ends_with("/>"));
        let fine: String = (0..MAX_ATTRIBUTES).map(|i| format!(" a{i}=v{i}")).collect();
        let page = format!("<p{fine}>text</p>");
        assert!(matches!(limit_markup(&page), Cow::Borrowed(_)));
    }
}
