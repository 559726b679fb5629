//! Turns one scraped document (plain text or HTML) into a clean article record.
//!
//! This module is the single place where untrusted page bytes become structured data,
//! so it is pure (no I/O, no clock, no global state), total (every input yields either a
//! record or a [`ParseError`], never a panic) and linear in the input size. The two
//! front ends (plain text and HTML) both produce a `Draft`; the shared
//! clean-up in this file then applies caller hints and the rules that hold for any source.

mod boilerplate;
mod byline;
mod content;
mod date;
mod draft;
mod html;
mod language;
mod nesting;
mod outlet;
mod plain;
mod sentences;
mod signals;
mod sniff;
mod text;

use draft::Draft;

/// Identifies the extraction rules that produced a record, so stored records can be
/// re-parsed when the rules change. Bump whenever the output for some input changes.
pub const PARSER_VERSION: &str = "parse/1.1.0";

/// Inputs above this size are refused instead of parsed: a news article is far smaller,
/// and the cap bounds the memory and time one request can cost.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Paragraphs at least this long are dropped when they repeat the one before; short
/// lines ("Yes.", a one-word heading) may legitimately recur.
const MIN_DEDUP_CHARS: usize = 40;

/// How the caller wants the bytes read; `Auto` sniffs for markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentType {
    /// Sniff: HTML when the bytes look like markup, else plain text.
    #[default]
    Auto,
    /// Plain text (scraped page text).
    Text,
    /// An HTML page or fragment.
    Html,
}

/// How much of a publication instant the source actually stated, so that a bare date is
/// never mistaken for midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// A date only.
    Day,
    /// Hours and minutes.
    Minute,
    /// Down to the second.
    Second,
}

/// A publication instant: UTC seconds since epoch, the source's UTC offset in seconds (0 when unknown), precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Seconds since the epoch, UTC.
    pub utc_seconds: i64,
    /// The source's UTC offset in seconds (0 when it stated none).
    pub offset_seconds: i32,
    /// How much of the instant the source stated.
    pub precision: Precision,
}

/// Metadata the caller already knows: always wins over what the parser guesses.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The article's URL.
    pub url: Option<String>,
    /// The caller's own id for the source; carried for its bookkeeping, not used here.
    pub source_id: Option<String>,
    /// The publisher.
    pub outlet: Option<String>,
    /// The headline.
    pub title: Option<String>,
    /// The publication instant.
    pub published: Option<Published>,
}

/// The clean article: metadata plus body paragraphs free of page furniture.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedArticle {
    /// The headline, once (scraped text often repeats it).
    pub title: Option<String>,
    /// A standfirst or dek, when the page has one.
    pub subtitle: Option<String>,
    /// Bylines: people, never the outlet.
    pub authors: Vec<String>,
    /// The publisher.
    pub outlet: Option<String>,
    /// A syndication service that carried the article (e.g. MENAFN), kept apart from the outlet.
    pub syndicator: Option<String>,
    /// When the article was published (never a scrape banner's date).
    pub published: Option<Published>,
    /// The article's URL, when the page or the caller states it.
    pub url: Option<String>,
    /// ISO 639-1, e.g. "en".
    pub language: Option<String>,
    /// Body paragraphs, page furniture removed.
    pub paragraphs: Vec<String>,
    /// Words in the body.
    pub word_count: u32,
}

impl ParsedArticle {
    /// Paragraphs joined by "\n\n": the coordinate system for all byte spans downstream.
    pub fn body(&self) -> String {
        self.paragraphs.join("\n\n")
    }
}

/// Why a document yielded no article. Every variant is about the request's content.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("content is empty or only whitespace")]
    Empty,
    /// Not text in any encoding the parser reads.
    #[error("content is binary data, not text")]
    Binary,
    /// Only page furniture.
    #[error("no article text is left after removing page furniture")]
    NoText,
    /// Over [`MAX_INPUT_BYTES`].
    #[error("content is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The input's size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl ParseError {
    /// The request field a gRPC BadRequest violation should name, e.g. "content".
    pub fn field(&self) -> &'static str {
        // Exhaustive on purpose: a new variant must decide which field it blames.
        match self {
            ParseError::Empty | ParseError::Binary | ParseError::NoText | ParseError::TooLarge { .. } => {
                "content"
            }
        }
    }
}

/// How the bytes were actually read once `ContentType::Auto` was resolved.
/// Two requests read the same way from the same bytes parse identically, so
/// the idempotency digest uses this rather than the caller's hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// As plain text.
    Text,
    /// As HTML.
    Html,
    /// Sniffed as markup but yielding no blocks: read as text with tags removed.
    StrippedHtml,
}

/// Parses one document. Caller hints override whatever the document says.
pub fn parse(raw: &[u8], content_type: ContentType, hints: &Hints) -> Result<ParsedArticle, ParseError> {
    parse_as(raw, content_type, hints).map(|(parsed, _)| parsed)
}

/// [`parse`], also telling how the content type was resolved.
pub fn parse_as(
    raw: &[u8],
    content_type: ContentType,
    hints: &Hints,
) -> Result<(ParsedArticle, ReadAs), ParseError> {
    if raw.len() > MAX_INPUT_BYTES {
        return Err(ParseError::TooLarge {
            len: raw.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    let decoded = text::decode(raw)?;
    if decoded.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let is_html = match content_type {
        ContentType::Html => true,
        ContentType::Text => false,
        ContentType::Auto => sniff::looks_like_html(&decoded),
    };
    let mut draft = if is_html {
        html::extract(&decoded)
    } else {
        plain::extract(&decoded)
    };
    let mut read_as = if is_html { ReadAs::Html } else { ReadAs::Text };
    if is_html && content_type == ContentType::Auto && draft.paragraphs.is_empty() {
        // Sniffed markup that yields no blocks may be text with a few stray tags.
        let fallback = plain::extract(&text::strip_tags(&decoded));
        if !fallback.paragraphs.is_empty() {
            draft.paragraphs = fallback.paragraphs;
            read_as = ReadAs::StrippedHtml;
        }
    }
    finish(draft, hints).map(|parsed| (parsed, read_as))
}

/// Applies hints and the source-independent clean-up, and fills derived fields.
fn finish(mut draft: Draft, hints: &Hints) -> Result<ParsedArticle, ParseError> {
    if let Some(t) = non_empty(&hints.title) {
        draft.title = Some(t);
    }
    if let Some(o) = non_empty(&hints.outlet) {
        draft.outlet = Some(o);
    }
    if let Some(p) = hints.published {
        draft.published = Some(p);
    }
    if let Some(u) = non_empty(&hints.url) {
        draft.url = Some(u);
    }
    // An editor's note introducing the writer ("Editor's note: X is a ...") is metadata
    // wherever it sits; a note about corrections or updates is part of the story.
    draft.paragraphs.retain(|p| {
        if p.len() > 1200 {
            return true;
        }
        let (is_note, names) = byline::from_editors_note(p);
        if !is_note || names.is_empty() {
            return true;
        }
        if draft.authors.is_empty() {
            draft.authors = names;
        }
        false
    });
    let paragraphs = boilerplate::clean_paragraphs(
        std::mem::take(&mut draft.paragraphs),
        draft.title.as_deref(),
        &mut draft.outlet_guess,
    );
    if draft.outlet.is_none() {
        draft.outlet = draft.outlet_guess.take();
    }
    // "LONDON (Reuters) -": the agency is the outlet, or the carrier of another outlet's story.
    if draft.syndicator.is_none() {
        if let Some(agency) = paragraphs.first().and_then(|p| outlet::from_agency_dateline(p)) {
            match draft.outlet.as_deref() {
                None => draft.outlet = Some(agency),
                Some(o) if !o.eq_ignore_ascii_case(&agency) && !o.contains(agency.as_str()) => {
                    draft.syndicator = Some(agency);
                }
                Some(_) => {}
            }
        }
    }
    // A paragraph printed twice in a row (responsive duplicates) is one paragraph.
    // Repeats further apart are kept: recipes and lists legitimately repeat lines.
    let mut paragraphs: Vec<String> = paragraphs
        .into_iter()
        .map(|p| sentences::fix_glued(&p))
        .filter(|p| !p.is_empty())
        .collect();
    paragraphs.dedup_by(|b, a| a.chars().count() >= MIN_DEDUP_CHARS && a == b);
    if paragraphs.is_empty() {
        return Err(ParseError::NoText);
    }
    let word_count = text::word_count(&paragraphs);
    let language = language::detect(&paragraphs).or(draft.declared_language.take());
    let authors = byline::dedupe(draft.authors, draft.outlet.as_deref());
    // A "subtitle" that repeats the headline is a template slip, not a standfirst.
    let subtitle = draft.subtitle.filter(|s| {
        draft
            .title
            .as_deref()
            .is_none_or(|t| boilerplate::title_key_of(t) != boilerplate::title_key_of(s))
    });
    Ok(ParsedArticle {
        title: draft.title,
        subtitle,
        authors,
        outlet: draft.outlet,
        syndicator: draft.syndicator,
        published: draft.published.or(draft.weak_published),
        url: draft.url,
        language,
        paragraphs,
        word_count,
    })
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(text::collapse_ws).filter(|s| !s.is_empty())
}
