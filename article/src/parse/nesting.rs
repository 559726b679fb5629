//! Caps element nesting before the HTML parser sees the page.
//!
//! The HTML tree builder checks the stack of open elements for scope on every start tag,
//! so its cost grows with depth times tag count: 100,000 nested `<div>`s take minutes.
//! No real article nests that deep, so tags beyond [`MAX_DEPTH`] are dropped (with their
//! end tags), which keeps parsing linear while leaving the text in place.

use std::borrow::Cow;

/// Far deeper than any page layout, shallow enough to bound the tree builder's scans.
pub(crate) const MAX_DEPTH: usize = 256;

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

/// Returns the page unchanged when it nests at most `MAX_DEPTH` levels, otherwise a copy
/// without the start and end tags that would nest deeper.
pub(crate) fn limit_depth(html: &str) -> Cow<'_, str> {
    if !scan(html, None) {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    scan(html, Some(&mut out));
    Cow::Owned(out)
}

/// One pass over the tags. Without `out` it only checks; with it, it copies the page
/// minus over-deep tags. Returns whether any tag nested deeper than `MAX_DEPTH`.
fn scan(html: &str, mut out: Option<&mut String>) -> bool {
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut too_deep = false;
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
                        too_deep = true;
                        drop_tag = true;
                    } else {
                        depth += 1;
                    }
                }
                if RAW_TEXT.contains(&name.as_str()) {
                    // Skip to the matching end tag; its content is text.
                    let end = find_end_tag(bytes, tag.end, name.as_bytes());
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
    too_deep
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

/// The index just past the `>` closing a tag, honouring quoted attribute values.
fn tag_end(bytes: &[u8], mut i: usize) -> usize {
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return i + 1,
            None => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The index of the `<` of `</name` (any case) at or after `from`, or the end.
fn find_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(off) = find(bytes, i, b"</") {
        let n = off + 2;
        if bytes.len() >= n + name.len() && bytes[n..n + name.len()].eq_ignore_ascii_case(name) {
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
        assert!(matches!(limit_depth(page), Cow::Borrowed(_)));
    }

    #[test]
    fn flattens_pathological_nesting() {
        let n = 10_000;
        let page = format!("{}text{}", "<div>".repeat(n), "</div>".repeat(n));
        let out = limit_depth(&page);
        assert_eq!(out.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
        assert!(out.contains("text"));
    }
}
