//! The HTML front end: reads what the markup states about the article (meta tags,
//! JSON-LD, `<time>`, `<h1>`, byline elements) and hands the body to [`content`].
//!
//! Markup metadata is preferred over guessing from text because publishers fill it for
//! search engines and it is usually exact (ISO timestamps with offsets, author names
//! without "By"). The extracted body still goes through the plain-text header reader,
//! which catches bylines and datelines printed inside the article.

use super::{byline, content, date, language, nesting, normalize, plain, DateSource, Draft, Published};
use scraper::{ElementRef, Html, Node};
use serde_json::Value;

/// JSON-LD blocks are small; a bigger one is a data dump not worth parsing.
const MAX_JSON_LD_BYTES: usize = 512 * 1024;

/// Reads a page. The fallback method's body is computed beside the main one always with
/// `always_fallback` (for a page whose main body cleaned up to nothing), or with
/// `when_short` when the main body is short enough to lose to it.
pub(crate) fn extract(input: &str, always_fallback: bool, when_short: bool) -> Draft {
    let limited = nesting::limit_markup(input);
    if super::work::exhausted() {
        // Over the article's budget already: the caller refuses it.
        return Draft::default();
    }
    let doc = Html::parse_document(&limited);
    let meta = Meta::read(&doc);
    let mut draft = Draft {
        title: meta.title(),
        subtitle: meta.subtitle.clone(),
        published: meta.published,
        published_source: meta.published.map(|_| source_of_rank(meta.published_rank)),
        outlet: meta.outlet(),
        url: meta.canonical.clone(),
        declared_language: meta.lang.as_deref().and_then(language::normalise_tag),
        authors: meta.authors(),
        ..Draft::default()
    };

    let blocks = content::main_text(&doc);
    // Bylines and datelines printed at the top of the body are metadata too.
    let mut header = Draft {
        title: draft.title.clone(),
        ..Draft::default()
    };
    let skip = plain::read_header(&blocks, &mut header, false);
    if draft.authors.is_empty() {
        draft.authors = header.authors;
    }
    if draft.published.is_none() {
        draft.published = header.published.or(header.weak_published);
        draft.published_source = draft.published.map(|_| DateSource::Text);
    }
    if draft.outlet.is_none() {
        draft.outlet = header.outlet;
    }
    draft.syndicator = header.syndicator;
    draft.outlet_guess = header.outlet_guess;
    let main_chars: usize = blocks.iter().skip(skip).map(|b| b.len()).sum();
    draft.paragraphs = blocks.into_iter().skip(skip).collect();
    if always_fallback || (when_short && main_chars < FALLBACK_CONSIDER_BELOW_BYTES) {
        let alt = content::largest_block(&doc);
        let mut alt_header = Draft {
            title: draft.title.clone(),
            ..Draft::default()
        };
        let skip = plain::read_header(&alt, &mut alt_header, false);
        draft.fallback_paragraphs = alt.into_iter().skip(skip).collect();
    }
    draft
}

/// Main-method bodies shorter than this (bytes, before clean-up) get the fallback method's
/// body computed beside them; a longer one cannot lose to it (see `ExtractOptions`).
const FALLBACK_CONSIDER_BELOW_BYTES: usize = 4096;

/// Which kind of markup a date rank of [`Meta::offer_date`] comes from.
fn source_of_rank(rank: u8) -> DateSource {
    match rank {
        0 => DateSource::JsonLd,
        1 | 4 => DateSource::Meta,
        2 | 3 | 5 => DateSource::Markup,
        6 => DateSource::TimeElement,
        _ => DateSource::Text,
    }
}

/// Everything the markup says about the article, before choosing between sources.
#[derive(Debug, Default)]
struct Meta {
    og_title: Option<String>,
    ld_headline: Option<String>,
    h1: Option<String>,
    doc_title: Option<String>,
    subtitle: Option<String>,
    site_name: Option<String>,
    publisher: Option<String>,
    app_name: Option<String>,
    canonical: Option<String>,
    lang: Option<String>,
    published: Option<Published>,
    /// Lower rank wins: structured data beats meta names beats `<time>`.
    published_rank: u8,
    ld_authors: Vec<String>,
    meta_authors: Vec<String>,
    byline_authors: Vec<String>,
}

impl Meta {
    fn read(doc: &Html) -> Meta {
        let mut m = Meta::default();
        let mut h1_count = 0;
        for node in doc.tree.root().descendants() {
            let Node::Element(el) = node.value() else {
                continue;
            };
            let Some(er) = ElementRef::wrap(node) else {
                continue;
            };
            match el.name() {
                "html" => {
                    m.lang = el.attr("lang").or(el.attr("xml:lang")).map(str::to_string);
                }
                "meta" => m.read_meta(el),
                "link" => m.read_link(el, er),
                "title" if m.doc_title.is_none() => {
                    m.doc_title = Some(element_text(er)).filter(|t| !t.is_empty());
                }
                "h1" => {
                    h1_count += 1;
                    if m.h1.is_none() {
                        m.h1 = Some(element_text(er)).filter(|t| !t.is_empty());
                    }
                }
                "script" => m.read_script(el, er),
                "time" => m.read_time(el),
                "a" | "span" | "div" | "p" | "address" | "li" | "small" | "abbr" => m.read_inline(el, er),
                _ => {}
            }
        }
        if h1_count > 1 {
            // Several h1s are section headings of a listing page, not the headline.
            m.h1 = m.h1.filter(|_| m.og_title.is_none() && m.ld_headline.is_none());
        }
        m
    }

    /// `<link rel=canonical>` and `<link rel=author>`.
    fn read_link(&mut self, el: &scraper::node::Element, er: ElementRef) {
        let rel = el.attr("rel").unwrap_or("").to_ascii_lowercase();
        if rel.split_whitespace().any(|r| r == "canonical") {
            if let Some(h) = el.attr("href").filter(|h| h.starts_with("http")) {
                self.canonical = Some(h.trim().to_string());
            }
        }
        if rel.split_whitespace().any(|r| r == "author") {
            let t = element_text(er);
            self.byline_authors.extend(byline::split_names(&t));
        }
    }

    /// A JSON-LD `<script>` block.
    fn read_script(&mut self, el: &scraper::node::Element, er: ElementRef) {
        let ty = el.attr("type").unwrap_or("").to_ascii_lowercase();
        if ty.contains("ld+json") {
            let raw: String = er.text().collect();
            if raw.len() <= MAX_JSON_LD_BYTES {
                self.read_json_ld(&raw);
            }
        }
    }

    /// `<time datetime>`: ranked higher when marked as the publication date.
    fn read_time(&mut self, el: &scraper::node::Element) {
        if let Some(p) = el.attr("datetime").and_then(date::parse_value) {
            let rank = if el.attr("pubdate").is_some()
                || el.attr("itemprop").is_some_and(|v| v.contains("datePublished"))
            {
                3
            } else {
                6
            };
            self.offer_date(p, rank);
        }
    }

    /// An inline or block element whose class, id, itemprop or rel names a byline, a
    /// standfirst or a date.
    fn read_inline(&mut self, el: &scraper::node::Element, er: ElementRef) {
        let names = [
            el.attr("class"),
            el.attr("id"),
            el.attr("itemprop"),
            el.attr("rel"),
        ]
        .iter()
        .flatten()
        .map(|s| s.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
        if self.byline_authors.is_empty()
            && (names.contains("byline") || names.contains("author"))
            && !names.contains("bio")
        {
            let t = element_text(er);
            if t.chars().count() <= 120 {
                self.byline_authors.extend(byline::split_names(&t));
            }
        }
        if self.subtitle.is_none()
            && is_subtitle_name(&names)
            && !["author", "bio", "related", "promo", "caption"]
                .iter()
                .any(|w| names.contains(w))
        {
            let t = element_text(er);
            // A standfirst is a sentence, not a label like "Quick Look".
            if t.split_whitespace().count() >= 5 && t.chars().count() <= 400 {
                self.subtitle = Some(t);
            }
        }
        if names.contains("datepublished") {
            if let Some(p) = el
                .attr("content")
                .or(el.attr("datetime"))
                .and_then(date::parse_value)
            {
                self.offer_date(p, 2);
            }
        }
        if let Some(p) = el
            .attr("data-pubdate")
            .or(el.attr("data-published"))
            .and_then(date::parse_value)
        {
            self.offer_date(p, 4);
        }
        // A visible "date" element: the weakest source, read only as text.
        if self.published.is_none() && is_date_name(&names) {
            let t = element_text(er);
            if t.chars().count() <= 80 {
                if let Some(f) = date::find(&t) {
                    self.offer_date(f.published, 7);
                }
            }
        }
    }

    fn read_meta(&mut self, el: &scraper::node::Element) {
        let key = el
            .attr("property")
            .or(el.attr("name"))
            .or(el.attr("itemprop"))
            .or(el.attr("http-equiv"))
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(value) = el
            .attr("content")
            .map(normalize::collapse_ws)
            .filter(|v| !v.is_empty())
        else {
            return;
        };
        match key.as_str() {
            "og:title" | "twitter:title" if self.og_title.is_none() => self.og_title = Some(value),
            "og:site_name" if self.site_name.is_none() => {
                self.site_name = clean_site_name(&value);
            }
            "application-name" if self.app_name.is_none() => {
                self.app_name = clean_site_name(&value);
            }
            "og:url" if self.canonical.is_none() && value.starts_with("http") => {
                self.canonical = Some(value);
            }
            "author" | "article:author" | "parsely-author" | "sailthru.author" | "dc.creator"
            | "dcterms.creator" | "byl" | "cxenseparse:author" | "og:article:author"
                if !value.starts_with("http") =>
            {
                let v = value.trim_start_matches("By ").trim_start_matches("by ");
                self.meta_authors.extend(byline::split_names(v));
            }
            "article:published_time"
            | "og:article:published_time"
            | "article.published"
            | "datepublished" => {
                if let Some(p) = date::parse_value(&value) {
                    self.offer_date(p, 1);
                }
            }
            "pubdate"
            | "publishdate"
            | "publish-date"
            | "publish_date"
            | "date"
            | "dc.date"
            | "dc.date.issued"
            | "dcterms.created"
            | "dcterms.issued"
            | "sailthru.date"
            | "parsely-pub-date"
            | "published_time"
            | "og:pubdate"
            | "pdate"
            | "article_date_original"
            | "cxenseparse:recs:publishtime"
            | "original-publish-date"
            | "release_date" => {
                if let Some(p) = date::parse_value(&value) {
                    self.offer_date(p, 4);
                }
            }
            "content-language" | "og:locale" | "language" if self.lang.is_none() => {
                self.lang = Some(value);
            }
            _ => {}
        }
    }

    fn offer_date(&mut self, p: Published, rank: u8) {
        if self.published.is_none() || rank < self.published_rank {
            self.published = Some(p);
            self.published_rank = rank;
        }
    }

    fn read_json_ld(&mut self, raw: &str) {
        let Ok(v) = serde_json::from_str::<Value>(raw.trim()) else {
            return;
        };
        let mut items: Vec<&Value> = Vec::new();
        collect_items(&v, &mut items, 0);
        for item in items {
            let ty = type_names(item);
            let is_article = ty.iter().any(|t| {
                t.ends_with("Article")
                    || matches!(
                        t.as_str(),
                        "BlogPosting"
                            | "Report"
                            | "ReportageNews"
                            | "LiveBlogPosting"
                            | "AnalysisNewsArticle"
                            | "OpinionNewsArticle"
                    )
            });
            if !is_article {
                if ty
                    .iter()
                    .any(|t| t == "WebSite" || t == "Organization" || t == "NewsMediaOrganization")
                    && self.publisher.is_none()
                {
                    self.publisher = item.get("name").and_then(ld_text);
                }
                continue;
            }
            if self.ld_headline.is_none() {
                self.ld_headline = item.get("headline").and_then(ld_text);
            }
            if self.subtitle.is_none() {
                self.subtitle = item.get("alternativeHeadline").and_then(ld_text);
            }
            if let Some(p) = item
                .get("datePublished")
                .and_then(Value::as_str)
                .and_then(date::parse_value)
            {
                self.offer_date(p, 0);
            }
            if let Some(a) = item.get("author") {
                self.ld_authors.extend(ld_people(a));
            }
            if let Some(name) = item
                .get("publisher")
                .and_then(|p| p.get("name").or(Some(p)))
                .and_then(ld_text)
            {
                self.publisher = Some(name);
            }
            if self.lang.is_none() {
                self.lang = item.get("inLanguage").and_then(Value::as_str).map(str::to_string);
            }
        }
    }

    /// The headline: the page's `<h1>` when the title tags agree with it (it has no
    /// site-name suffix), else the social/structured title, else `<title>` trimmed.
    fn title(&self) -> Option<String> {
        let site = self.site_name.as_deref().or(self.publisher.as_deref());
        if let Some(h1) = &self.h1 {
            let key = super::boilerplate::title_key_of(h1);
            let site_key = site.map(super::boilerplate::title_key_of);
            // The h1 must be most of some title tag, not just the site's name in it.
            let agrees = [
                self.og_title.as_deref().map(|t| strip_site(t, site)),
                self.ld_headline.clone(),
                self.doc_title.as_deref().map(|t| strip_site(t, site)),
            ]
            .iter()
            .flatten()
            .any(|t| {
                let tk = super::boilerplate::title_key_of(t);
                !key.is_empty() && tk.contains(&key) && key.len() * 2 >= tk.len()
            });
            if agrees && site_key.as_deref() != Some(key.as_str()) {
                return Some(h1.clone());
            }
        }
        self.ld_headline
            .clone()
            .or_else(|| self.og_title.as_deref().map(|t| strip_site(t, site)))
            .or_else(|| self.doc_title.as_deref().map(|t| strip_site(t, site)))
            .or_else(|| self.h1.clone())
            .filter(|t| !t.is_empty())
    }

    /// The publishing outlet; a "site name" that is really the headline is a CMS slip.
    fn outlet(&self) -> Option<String> {
        let title_key = self.title().map(|t| super::boilerplate::title_key_of(&t));
        [&self.site_name, &self.publisher, &self.app_name]
            .into_iter()
            .flatten()
            .find(|o| title_key.as_deref() != Some(super::boilerplate::title_key_of(o).as_str()))
            .cloned()
    }

    fn authors(&self) -> Vec<String> {
        for list in [&self.ld_authors, &self.meta_authors, &self.byline_authors] {
            if !list.is_empty() {
                return list.clone();
            }
        }
        Vec::new()
    }
}

/// Class names of elements that show the publication date (not the update date).
fn is_date_name(names: &str) -> bool {
    const DATE_WORDS: &[&str] = &["date", "publish", "posted", "timestamp", "dateline", "pubdate"];
    DATE_WORDS.iter().any(|w| names.contains(w))
        && !names.contains("modif")
        && !names.contains("update")
        && !names.contains("issue")
}

/// A JSON-LD string value as text. CMSs often HTML-escape inside JSON ("&#8217;"),
/// which the HTML parser never sees because script content is raw.
fn ld_text(v: &Value) -> Option<String> {
    let t = normalize::collapse_ws(&normalize::decode_entities(v.as_str()?));
    (!t.is_empty()).then_some(t)
}

/// Class names templates give the standfirst under a headline ("article__dek").
fn is_subtitle_name(names: &str) -> bool {
    const WORDS: &[&str] = &[
        "standfirst",
        "subtitle",
        "subheadline",
        "sub-headline",
        "dek",
        "deck",
        "article-summary",
    ];
    names.split_whitespace().any(|n| {
        WORDS.iter().any(|w| {
            n == *w
                || n.strip_suffix(w)
                    .is_some_and(|head| head.ends_with("__") || head.ends_with('-'))
        })
    })
}

/// The outlet part of a site name ("LinkNaija | Nigeria's news platform" -> "LinkNaija").
fn clean_site_name(v: &str) -> Option<String> {
    let v = v.trim().trim_start_matches('@');
    if v.is_empty() || v.starts_with("http") {
        return None;
    }
    let head = [" | ", " - ", " – ", " — ", " :: "]
        .iter()
        .filter_map(|sep| v.find(sep))
        .min()
        .map_or(v, |i| &v[..i]);
    let head = head.trim();
    (!head.is_empty()).then(|| head.to_string())
}

/// Removes a trailing (or leading) " | Site Name" from a document title.
fn strip_site(title: &str, site: Option<&str>) -> String {
    const SEPS: &[&str] = &[" | ", " - ", " – ", " — ", " :: ", " · ", " • "];
    let mut t = title.trim().to_string();
    for sep in SEPS {
        if let Some(pos) = t.rfind(sep) {
            let (head, tail) = (&t[..pos], &t[pos + sep.len()..]);
            let tail_is_site = site.is_some_and(|s| {
                super::boilerplate::title_key_of(tail) == super::boilerplate::title_key_of(s)
            }) || (tail.split_whitespace().count() <= 4
                && head.split_whitespace().count() >= 4);
            if tail_is_site && !head.trim().is_empty() {
                t = head.trim().to_string();
                break;
            }
        }
    }
    t
}

fn collect_items<'a>(v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 4 || out.len() > 64 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_items(x, out, depth + 1)),
        Value::Object(o) => {
            out.push(v);
            if let Some(g) = o.get("@graph") {
                collect_items(g, out, depth + 1);
            }
            if let Some(g) = o.get("mainEntity") {
                collect_items(g, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn type_names(v: &Value) -> Vec<String> {
    match v.get("@type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Personal names from a JSON-LD `author`: a string, a Person, or a list of them;
/// organisations are outlets, not authors.
fn ld_people(v: &Value) -> Vec<String> {
    match v {
        Value::String(_) => ld_text(v).map(|s| byline::split_names(&s)).unwrap_or_default(),
        Value::Array(a) => a.iter().take(16).flat_map(ld_people).collect(),
        Value::Object(_) => {
            let types = type_names(v);
            if types.iter().any(|t| t.contains("Organization")) {
                return Vec::new();
            }
            v.get("name")
                .and_then(ld_text)
                .map(|s| byline::split_names(&s))
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// The text of a small element (headline, byline, date). Bounded in both text and
/// nodes visited, so a class name on a huge wrapper cannot make metadata reading cost
/// more than a constant per element.
fn element_text(er: ElementRef<'_>) -> String {
    const MAX_TEXT_BYTES: usize = 4096;
    const MAX_NODES: usize = 2048;
    let mut s = String::new();
    for node in er.descendants().take(MAX_NODES) {
        match node.value() {
            Node::Text(t) => {
                s.push_str(t);
                if s.len() > MAX_TEXT_BYTES {
                    break;
                }
            }
            // Separate elements ("<span>By</span><span>Jane Roe</span>") are separate
            // words; inline formatting inside a word or phrase is not.
            Node::Element(e)
                if !matches!(
                    e.name(),
                    "a" | "b" | "i" | "em" | "strong" | "u" | "mark" | "sup" | "sub" | "abbr"
                ) =>
            {
                s.push(' ');
            }
            _ => {}
        }
    }
    normalize::collapse_ws(&s)
}
