//! Raw scraped text or HTML → a clean article record. Pure: no I/O.
//! (Interim version; the full parser replaces it.)

/// Version of the parser's output; bump when records change.
pub const PARSER_VERSION: &str = "parse/0.1.0";
/// Inputs larger than this are rejected rather than parsed.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// How to read the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentType {
    /// Sniff.
    #[default]
    Auto,
    /// Plain text.
    Text,
    /// HTML.
    Html,
}

/// How much of a date the source stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Day only.
    Day,
    /// Hours and minutes.
    Minute,
    /// Seconds.
    Second,
}

/// A publication instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// UTC seconds since the epoch.
    pub utc_seconds: i64,
    /// Source offset east of UTC.
    pub offset_seconds: i32,
    /// Stated precision.
    pub precision: Precision,
}

/// Metadata the caller already knows; wins over guesses.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Canonical URL.
    pub url: Option<String>,
    /// Caller's id.
    pub source_id: Option<String>,
    /// Publisher.
    pub outlet: Option<String>,
    /// Headline.
    pub title: Option<String>,
    /// Publication time.
    pub published: Option<Published>,
}

/// The parsed record.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedArticle {
    /// Headline.
    pub title: Option<String>,
    /// Dek.
    pub subtitle: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// Publisher.
    pub outlet: Option<String>,
    /// Wire/aggregator.
    pub syndicator: Option<String>,
    /// Publication time.
    pub published: Option<Published>,
    /// URL.
    pub url: Option<String>,
    /// ISO 639-1.
    pub language: Option<String>,
    /// Clean paragraphs.
    pub paragraphs: Vec<String>,
    /// Words in the body.
    pub word_count: u32,
}

impl ParsedArticle {
    /// Paragraphs joined by a blank line: the coordinate system of all spans.
    pub fn body(&self) -> String {
        self.paragraphs.join("\n\n")
    }
}

/// Why an input cannot become an article.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("content is empty")]
    Empty,
    /// Not text.
    #[error("content looks binary, not text or HTML")]
    Binary,
    /// Nothing left after cleaning.
    #[error("no article text found in content")]
    NoText,
    /// Over the limit.
    #[error("content is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
}

impl ParseError {
    /// The request field a BadRequest violation names.
    pub fn field(&self) -> &'static str {
        "content"
    }
}

/// Parses one article.
pub fn parse(raw: &[u8], _content_type: ContentType, hints: &Hints) -> Result<ParsedArticle, ParseError> {
    if raw.len() > MAX_INPUT_BYTES {
        return Err(ParseError::TooLarge {
            len: raw.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    let text = String::from_utf8_lossy(raw);
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if text.bytes().filter(|b| *b == 0).count() > 0 {
        return Err(ParseError::Binary);
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().map(str::to_string);
    let paragraphs: Vec<String> = lines.map(str::to_string).collect();
    if paragraphs.is_empty() {
        return Err(ParseError::NoText);
    }
    let word_count = paragraphs
        .iter()
        .map(|p| p.split_whitespace().count() as u32)
        .sum();
    Ok(ParsedArticle {
        title: hints.title.clone().or(first),
        subtitle: None,
        authors: Vec::new(),
        outlet: hints.outlet.clone(),
        syndicator: None,
        published: hints.published,
        url: hints.url.clone(),
        language: Some("en".into()),
        paragraphs,
        word_count,
    })
}
