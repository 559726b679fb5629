//! What an element's tag, class, id and attributes say about whether it holds article
//! text. Page templates name their parts ("story-body", "sidebar", "comments"), and
//! these names are the cheapest strong evidence an extractor gets; they are kept apart
//! from the scoring in [`super::content`] so the word lists can be read and tuned alone.

use regex::Regex;
use scraper::node::Element;
use std::sync::LazyLock;

/// Subtrees with these tags never hold article text.
#[rustfmt::skip]
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object",
    "embed", "video", "audio", "button", "select", "option", "textarea", "input", "label",
    "figcaption", "figure", "dialog", "menu", "head", "title", "meta", "link",
];

/// Layout landmarks that normally hold navigation, but on some sites wrap the whole
/// page; they are dropped only when they hold a minor share of the page's text.
const LANDMARK_TAGS: &[&str] = &["nav", "aside", "footer", "header"];

/// Class and id words for page furniture. A match makes a subtree doubtful: dropped
/// unless it holds much of the page's text or its names also say "article body".
#[rustfmt::skip]
const UNLIKELY_WORDS: &[&str] = &[
    "comment", "comments", "disqus", "share", "sharing", "social", "related", "recommend",
    "recommended", "newsletter", "newsletters", "subscribe", "subscription", "promo", "advert",
    "advertisement", "ads", "ad", "adsense", "sponsor", "sponsored", "cookie", "cookies",
    "consent", "popup", "modal", "breadcrumb", "breadcrumbs", "footer", "sidebar", "widget",
    "widgets", "nav", "navbar", "navigation", "menu", "masthead", "skip", "toolbar",
    "pagination", "pager", "outbrain", "taboola", "mostread", "most", "trending", "signup",
    "paywall", "banner", "byline", "author", "caption", "credit", "tags", "taglist", "rail",
    "teaser", "follow", "login", "overlay", "dropdown", "tooltip", "ticker", "gallery",
    "carousel", "slider", "disclaimer", "copyright", "bio", "topics", "meta", "sharebar",
    "headline", "header", "hidden", "sr-only", "visually-hidden", "print-only", "kicker",
    "timestamp", "dateline", "search", "searchform",
];

/// Furniture words that drop a subtree outright, even under a positive name
/// ("article-comments", "story-share"): such parts never hold the article.
#[rustfmt::skip]
const STRONG_WORDS: &[&str] = &[
    "comment", "comments", "disqus", "share", "sharing", "social", "related", "recommend",
    "recommended", "newsletter", "newsletters", "subscribe", "promo", "adsense", "sponsor",
    "sponsored", "cookie", "consent", "outbrain", "taboola", "paywall", "signup", "byline",
    "caption", "credit", "breadcrumb", "breadcrumbs", "sr-only", "visually-hidden",
    "print-only", "toolbar", "tags", "timestamp", "dateline", "kicker", "bio",
];

/// Substrings of names that article bodies carry ("article-body", "entry-content").
#[rustfmt::skip]
const POSITIVE_PARTS: &[&str] = &[
    "article", "body", "content", "entry", "main", "post", "story", "text", "blog", "hentry",
    "prose", "richtext", "rich-text", "paragraph", "column",
];

/// Words that lower an element's score as a body candidate (readability's list, plus
/// names of teaser and link-list parts).
#[rustfmt::skip]
const NEGATIVE_WORDS: &[&str] = &[
    "ad", "ads", "hidden", "banner", "combx", "comment", "contact", "foot", "footer",
    "footnote", "masthead", "media", "meta", "outbrain", "promo", "related", "scroll", "share",
    "shoutbox", "sidebar", "skyscraper", "sponsor", "shopping", "tags", "tool", "widget", "nav",
    "menu", "teaser", "list", "card", "more",
];

/// A regex matching any of `words` as a whole word inside a class/id string, where
/// words are separated by spaces, hyphens or underscores.
fn word_regex(words: &[&str]) -> Option<Regex> {
    let alternation = words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(r"(?:^|[\s_-])(?:{alternation})(?:$|[\s_-])")).ok()
}

static UNLIKELY: LazyLock<Option<Regex>> = LazyLock::new(|| word_regex(UNLIKELY_WORDS));
static STRONG_UNLIKELY: LazyLock<Option<Regex>> = LazyLock::new(|| word_regex(STRONG_WORDS));
static NEGATIVE: LazyLock<Option<Regex>> = LazyLock::new(|| word_regex(NEGATIVE_WORDS));

fn is_positive(names: &str) -> bool {
    POSITIVE_PARTS.iter().any(|p| names.contains(p))
}

/// What the markup alone says about a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    /// Never content: scripts, forms controls, hidden elements, comment threads.
    Drop,
    /// Probably furniture by its name; dropped unless it holds much of the page's text.
    Doubtful,
}

/// Tags whose subtrees never hold readable text, whatever else the markup says.
pub(crate) fn never_text(name: &str) -> bool {
    SKIP_TAGS.contains(&name) && !matches!(name, "figure")
}

/// Class, id and attribute signals that a subtree is not content.
pub(crate) fn verdict(el: &Element, name: &str, parent: &str) -> Verdict {
    if SKIP_TAGS.contains(&name) {
        return Verdict::Drop;
    }
    // A <time> on its own is a dateline; inside a sentence it is part of the text.
    if name == "time"
        && !matches!(
            parent,
            "p" | "span" | "a" | "em" | "strong" | "b" | "i" | "li" | "td"
        )
    {
        return Verdict::Drop;
    }
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return Verdict::Drop;
    }
    if let Some(style) = el.attr("style") {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return Verdict::Drop;
        }
    }
    if matches!(name, "html" | "body" | "article" | "main" | "p") {
        return Verdict::Keep;
    }
    if LANDMARK_TAGS.contains(&name) {
        return Verdict::Doubtful;
    }
    if let Some(role) = el.attr("role") {
        if matches!(
            role,
            "navigation"
                | "complementary"
                | "banner"
                | "contentinfo"
                | "dialog"
                | "menu"
                | "menubar"
                | "alert"
                | "search"
        ) {
            return Verdict::Doubtful;
        }
    }
    let names = class_and_id(el);
    if names.is_empty() {
        return Verdict::Keep;
    }
    if STRONG_UNLIKELY.as_ref().is_some_and(|r| r.is_match(&names)) {
        return Verdict::Drop;
    }
    if UNLIKELY.as_ref().is_some_and(|r| r.is_match(&names)) && !is_positive(&names) {
        return Verdict::Doubtful;
    }
    Verdict::Keep
}

/// Class and id, lowercased, with camelCase split into words ("CaptionFont" reads as
/// "caption-font", "imageBox" as "image-box"), so that older templates' names match the
/// word lists as hyphenated ones do.
fn class_and_id(el: &Element) -> String {
    let mut s = String::new();
    for (k, part) in [el.attr("class"), el.attr("id")].into_iter().enumerate() {
        let Some(part) = part else { continue };
        if k > 0 {
            s.push(' ');
        }
        let mut prev_lower = false;
        for c in part.chars() {
            if prev_lower && c.is_ascii_uppercase() {
                s.push('-');
            }
            prev_lower = c.is_ascii_lowercase();
            s.push(c.to_ascii_lowercase());
        }
    }
    s
}

/// Readability-style weight from class and id names.
pub(crate) fn class_weight(el: &Element) -> f64 {
    let names = class_and_id(el);
    let mut w = 0.0;
    if el.attr("itemprop").is_some_and(|v| v.contains("articleBody")) {
        w += 50.0;
    }
    if names.is_empty() {
        return w;
    }
    if is_positive(&names) {
        w += 25.0;
    }
    if NEGATIVE.as_ref().is_some_and(|r| r.is_match(&names)) {
        w -= 25.0;
    }
    w
}

pub(crate) fn tag_weight(name: &str) -> f64 {
    match name {
        "div" | "section" => 5.0,
        "article" => 10.0,
        "main" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}
