//! The plain-text front end: reads the header a scraper leaves above the body (banner
//! date, title, dateline, byline, editor's note) into metadata, and the rest into
//! paragraphs.
//!
//! Scraped text has no markup to say which line is which, so each header line is
//! classified by shape: a lone date, a "By X" credit, a short line without a full stop
//! (a title), or a long sentence (the body has begun). Only lines before the body are
//! read as metadata; dates and names inside the body are reporting, not metadata.

use super::{boilerplate, byline, date, normalize, outlet, Draft};

/// How many non-empty lines may precede the body before we stop looking for a header.
const MAX_HEADER_LINES: usize = 14;

/// Titles are headlines: short, and never a full sentence ending in a full stop.
const MAX_TITLE_CHARS: usize = 200;

/// Headlines run to a dozen words or so; a longer line is a sentence missing its stop.
const MAX_TITLE_WORDS: usize = 22;

/// Words a headline never ends on but a hard-wrapped line often does.
#[rustfmt::skip]
const DANGLING_WORDS: &[&str] = &[
    "the", "a", "an", "of", "for", "to", "in", "at", "by", "with", "from", "and", "or",
    "but", "that", "as", "is", "are", "was", "were", "its", "their", "his", "her",
];

/// A standfirst is a sentence or two.
const MAX_SUBTITLE_CHARS: usize = 320;

/// A dateline or byline is a short line; longer ones are body text that mentions a date.
const MAX_META_LINE_CHARS: usize = 200;

pub(crate) fn extract(input: &str) -> Draft {
    super::work::charge(input.len());
    let input = normalize::decode_entities(input);
    let raw_lines: Vec<&str> = normalize::lines(&input).collect();
    // Indentation marks paragraph starts in wire copy; remember it before normalising.
    let indented: Vec<bool> = raw_lines
        .iter()
        .map(|l| l.starts_with('\t') || l.starts_with("  "))
        .collect();
    let lines: Vec<String> = raw_lines.iter().map(|l| normalize::collapse_ws(l)).collect();
    let mut draft = Draft::default();
    let body_start = read_header(&lines, &mut draft, true);
    draft.paragraphs = paragraphs(
        &lines[body_start..],
        &indented[body_start..],
        draft.title.as_deref(),
    );
    draft
}

/// Reads metadata from the leading lines; returns the index of the first body line.
/// `want_title` is false when the caller (the HTML front end) already knows the title.
pub(crate) fn read_header(lines: &[String], draft: &mut Draft, want_title: bool) -> usize {
    let mut seen = 0usize;
    let mut i = 0usize;
    let mut consumed_until = 0usize;
    while i < lines.len() && seen < MAX_HEADER_LINES {
        let line = lines[i].as_str();
        i += 1;
        if line.is_empty() {
            continue;
        }
        seen += 1;
        // A headline stands alone: the line after it is blank, a byline or a date.
        let next_raw = lines.get(i).map(String::as_str);
        let stands_alone = match next_raw {
            None => false,
            Some("") => next_non_empty(lines, i).is_some(),
            Some(n) => is_meta_line(n),
        };
        match classify(line, draft, want_title && stands_alone) {
            Header::Consumed => consumed_until = i,
            Header::Body => {
                // A standfirst sits between the headline and the byline or dateline.
                let standfirst = want_title
                    && draft.title.is_some()
                    && draft.subtitle.is_none()
                    && line.chars().count() <= MAX_SUBTITLE_CHARS
                    && next_non_empty(lines, i).is_some_and(is_meta_line);
                if !standfirst {
                    break;
                }
                draft.subtitle = Some(line.to_string());
                consumed_until = i;
            }
        }
    }
    consumed_until
}

/// A byline or a line opening with a date: the lines that follow a headline.
fn is_meta_line(line: &str) -> bool {
    line.chars().count() <= MAX_META_LINE_CHARS
        && (byline::from_by_line(line).is_some()
            || date::find(line).is_some_and(|f| date_label(&line[..f.start]).is_some()))
}

/// What precedes a date on a dateline: nothing, a weekday, or a label such as
/// "Published:". Returns the folded label (empty when there is none), or `None` when
/// the text before the date is prose ("ending March 31, 1987").
fn date_label(before: &str) -> Option<String> {
    let mut label = normalize::fold(before.trim());
    // "Date: Sat, 10 Feb 2024": a weekday between the label and the date is decoration.
    if let Some((head, last)) = label.trim_end_matches([',', ' ']).rsplit_once(' ') {
        if is_weekday(last) {
            label = head.trim().to_string();
        }
    }
    let bare = label.trim_end_matches([':', ',']).trim().to_string();
    let known = matches!(
        bare.as_str(),
        "" | "date"
            | "published"
            | "posted"
            | "updated"
            | "last updated"
            | "published on"
            | "posted on"
            | "publication date"
            | "pub date"
            | "first published"
            | "dated"
    ) || is_weekday(&bare);
    known.then_some(bare)
}

fn next_non_empty(lines: &[String], from: usize) -> Option<&str> {
    lines[from.min(lines.len())..]
        .iter()
        .find(|l| !l.is_empty())
        .map(String::as_str)
}

enum Header {
    Consumed,
    Body,
}

fn classify(line: &str, draft: &mut Draft, want_title: bool) -> Header {
    let chars = line.chars().count();
    if boilerplate::is_furniture(line) {
        // "date 2024-07-12 + ↺ − 16 px" is a dateline glued to a widget; fall through.
        if date::find(line).is_none() {
            return Header::Consumed;
        }
    }
    let (is_note, note_names) = byline::from_editors_note(line);
    if is_note {
        draft.authors.extend(note_names);
        if draft.outlet_guess.is_none() {
            draft.outlet_guess = outlet::from_disclaimer(line);
        }
        return Header::Consumed;
    }
    if chars <= MAX_META_LINE_CHARS {
        if let Some(names) = byline::from_by_line(line) {
            draft.authors.extend(names);
            return Header::Consumed;
        }
        if let Some(kind) = dateline(line, draft) {
            return kind;
        }
    }
    if let Some(t) = draft.title.as_deref() {
        if boilerplate::title_key_of(t) == boilerplate::title_key_of(line) {
            return Header::Consumed; // the title, repeated
        }
    }
    if want_title && draft.title.is_none() && looks_like_title(line, chars) {
        draft.title = Some(line.to_string());
        return Header::Consumed;
    }
    Header::Body
}

/// A line that is, or starts with, a date: banner, dateline, or "Published: ..." label.
fn dateline(line: &str, draft: &mut Draft) -> Option<Header> {
    let found = date::find(line)?;
    let label = date_label(&line[..found.start])?;
    let labelled = !label.is_empty() && !is_weekday(&label);
    let rest = &line[found.end..];
    // A date alone before any title is the page's banner (today's date), not the
    // article's; it only counts if nothing better turns up.
    let bare = rest.trim().is_empty() && found.published.precision == super::Precision::Day;
    if bare && !labelled && draft.title.is_none() {
        if draft.weak_published.is_none() {
            draft.weak_published = Some(found.published);
        }
        return Some(Header::Consumed);
    }
    if draft.published.is_none() || label.starts_with("published") {
        draft.published = Some(found.published);
    }
    // "June 16, 2024 - The harbour authority said ...": the date opens a body
    // paragraph, which must stay in the body.
    if !rest.contains(['(', ')']) && byline::from_inline_by(rest).is_empty() {
        let words = rest
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count();
        if words > 12 {
            return Some(Header::Body);
        }
    }
    if let Some((wire, outlet)) = outlet::from_wire(rest) {
        draft.syndicator.get_or_insert(wire);
        draft.outlet.get_or_insert(outlet);
    }
    draft.authors.extend(byline::from_inline_by(rest));
    Some(Header::Consumed)
}

fn is_weekday(s: &str) -> bool {
    matches!(
        s,
        "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
            | "mon"
            | "tue"
            | "tues"
            | "wed"
            | "thu"
            | "thur"
            | "thurs"
            | "fri"
            | "sat"
            | "sun"
    )
}

/// Headline shape: short, starts with a capital or digit, has several words, and does
/// not end like a sentence (a question or exclamation is allowed).
fn looks_like_title(line: &str, chars: usize) -> bool {
    if !(8..=MAX_TITLE_CHARS).contains(&chars) {
        return false;
    }
    let words = line.split_whitespace().count();
    if !(2..=MAX_TITLE_WORDS).contains(&words) {
        return false;
    }
    // Headlines start with a capital, digit, quote or symbol ("$1m payoff"); a first
    // word in lower case only passes when it is a brand like "iTunes".
    let first_word = line.split_whitespace().next().unwrap_or("");
    if first_word.chars().next().is_some_and(char::is_lowercase)
        && !first_word.chars().any(char::is_uppercase)
    {
        return false;
    }
    let last = line
        .trim_end_matches(['"', '\u{201D}', '\'', '\u{2019}', ')'])
        .chars()
        .last();
    if line.starts_with('(') && line.ends_with(')') {
        return false; // an aside, not a headline
    }
    // "Exports of French soft wheat for the": a wrapped sentence, cut mid-phrase.
    let last_word = line.split_whitespace().last().unwrap_or("").to_lowercase();
    if DANGLING_WORDS.contains(&last_word.as_str()) {
        return false;
    }
    match last {
        // "... TRADE DEAL WITH U.S.": a headline may end in an abbreviation.
        Some('.') => line
            .split_whitespace()
            .last()
            .is_some_and(|w| w.len() <= 6 && w.trim_end_matches('.').contains('.')),
        Some(',' | ';' | ':') => false,
        // A long question is the opening sentence, not a headline.
        Some('?') => words <= 10,
        _ => true,
    }
}

/// Groups body lines into paragraphs. Blank lines separate paragraphs; within a block,
/// lines are joined unless they look like separate paragraphs (long lines each ending a
/// sentence). Furniture lines are dropped before joining, so a widget line inside a
/// block does not end up glued to the text.
fn paragraphs(lines: &[String], indented: &[bool], title: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let title_key = title.map(boilerplate::title_key_of);
    // Indentation only marks paragraphs when some lines are not indented.
    let indent_marks = indented.iter().any(|i| *i) && !indented.iter().all(|i| *i);
    for (line, &indent) in lines.iter().zip(indented) {
        if indent && indent_marks && !line.is_empty() {
            flush(&mut block, &mut out);
        }
        if line.is_empty() {
            flush(&mut block, &mut out);
            continue;
        }
        // In hard-wrapped prose a line like "share." or "comment." ends a sentence
        // begun on the line before; only a line that starts afresh can be furniture.
        let continues = block.last().is_some_and(|prev| !ends_sentence(prev));
        if !continues && boilerplate::is_furniture(line) {
            flush(&mut block, &mut out);
            out.push(line.clone()); // kept whole so the end-marker rule can see it
            continue;
        }
        if let Some(key) = title_key.as_deref() {
            if line.len() <= key.len() * 4 + 64 && key == boilerplate::title_key_of(line) {
                continue;
            }
        }
        block.push(line);
    }
    flush(&mut block, &mut out);
    out
}

/// True when a line ends a sentence (closing quotes and brackets aside).
fn ends_sentence(line: &str) -> bool {
    normalize::ends_with_stop(line, &['.', '!', '?', ':'])
}

fn flush(block: &mut Vec<&str>, out: &mut Vec<String>) {
    if block.is_empty() {
        return;
    }
    let max_len = block.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut current = String::new();
    for (i, line) in block.iter().enumerate() {
        if i > 0 {
            let prev = block[i - 1];
            let prev_len = prev.chars().count();
            let prev_ends = ends_sentence(prev);
            // Hard-wrapped prose fills lines to a width; a sentence end on a clearly
            // short line, or lines each long enough to be a paragraph, end a paragraph.
            let separate = prev_ends && (prev_len * 10 < max_len * 7 || prev_len > 200);
            if separate {
                out.push(std::mem::take(&mut current));
            } else {
                current.push(' ');
            }
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    block.clear();
}
