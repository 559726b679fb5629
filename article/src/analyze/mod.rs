//! `analyze`: pure text analysis of one article (title + clean body) into sector tags with
//! evidence, named entities and the country pairs the article relates. No I/O and no
//! knowledge of gRPC or storage: the services call [`analyze`] and map its plain structs.
//!
//! Layout, one concern per file: `sentences` (evidence units), `tokens` (word boundaries and
//! the tokenisers every finder shares), `lexicon` + `classifier` (the trained logistic
//! regression) + `tagger` (sector tags), `countries`, `people`, `organisations` (entities) and
//! `pairs` (country pairs). The taxonomy itself is `sectorwire_domain::Sector`; evaluation
//! arithmetic lives in `bench/`.

pub mod classifier;
mod countries;
mod lexicon;
mod organisations;
mod pairs;
mod people;
mod sentences;
mod tagger;
mod tokens;

pub use sectorwire_domain::Sector;
pub use tagger::{lexicon_evidence, TaggerOptions, LENGTH_UNIT, LEXICON_THRESHOLD};
pub use tokens::for_each_token;

/// Byte span [start, end) into the body string passed to analyze().
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Why a sector was tagged: one body sentence and the cue terms found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// A whole sentence of the body.
    pub span: Span,
    /// The matched terms in it (lexicon surface forms first, then model feature words).
    pub terms: Vec<String>,
}

/// One sector an article is about, how sure we are, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorTag {
    /// The sector.
    pub sector: Sector,
    /// In [0, 1]; tags are emitted from 0.5 up.
    pub score: f32,
    /// Best first, at most 5.
    pub evidence: Vec<Evidence>,
}

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A country, keyed by its ISO 3166-1 alpha-2 code.
    Country,
    /// A person.
    Person,
    /// An organisation: a government body, company, alliance or conference.
    Organisation,
    /// A city or region.
    Place,
}

/// A named thing the article mentions, merged over its surface forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// What it is.
    pub kind: EntityKind,
    /// Stable join key: ISO 3166-1 alpha-2 for countries ("AZ"), canonical name otherwise.
    pub key: String,
    /// Display name: "Azerbaijan", "Shehbaz Sharif", "Organisation of Islamic Cooperation".
    pub name: String,
    /// Other surface forms seen in the body ("Azerbaijani", "Baku", "Shahbaz Sharif", "OIC").
    pub aliases: Vec<String>,
    /// The office or title stated next to a person ("President", "Foreign Minister").
    pub role: Option<String>,
    /// Every mention, in body order.
    pub mentions: Vec<Span>,
}

/// Two countries the article relates, so a query can ask what they cooperate on.
#[derive(Debug, Clone, PartialEq)]
pub struct CountryPair {
    /// ISO codes, a < b.
    pub a: String,
    /// The other country.
    pub b: String,
    /// Number of sentences mentioning both.
    pub weight: f32,
    /// Tagged sectors whose evidence sentences mention both.
    pub sectors: Vec<Sector>,
}

/// Everything the analyser reads out of one article.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Score descending.
    pub sectors: Vec<SectorTag>,
    /// Countries, then people, organisations and places; each group by mention count.
    pub entities: Vec<Entity>,
    /// Weight descending.
    pub country_pairs: Vec<CountryPair>,
    /// False when sector tagging was skipped (a language the lexicon and model do not
    /// cover), so an empty `sectors` means "not analysed" rather than "no sector".
    pub sectors_computed: bool,
}

impl Default for Analysis {
    /// Nothing found in an analysed text: sectors were computed, and there are none.
    fn default() -> Self {
        Analysis {
            sectors: Vec::new(),
            entities: Vec::new(),
            country_pairs: Vec::new(),
            sectors_computed: true,
        }
    }
}

/// Languages (ISO 639-1) the lexicon and the trained model are written for. Tagging
/// other languages with English cues would tag cognates and loanwords at random.
pub const TAGGED_LANGUAGES: &[&str] = &["en"];

/// True when sector tagging covers `language`; an unknown language is given the benefit of
/// the doubt (short or mixed bodies often defeat detection, and most input is English).
pub fn tags_language(language: Option<&str>) -> bool {
    language.is_none_or(|l| TAGGED_LANGUAGES.contains(&l))
}

/// Version of the analyser output (tags, evidence, entities); stored on every
/// record with the parser version so records can be re-derived when it changes.
pub const ANALYZER_VERSION: &str = "1.2.0";

/// Analyses one English (or undetected-language) article. Never panics, whatever the input.
pub fn analyze(title: &str, body: &str) -> Analysis {
    analyze_in(title, body, None)
}

/// Analyses one article in `language` (ISO 639-1, as the parser detected it): sectors only
/// when [`tags_language`] covers it, entities and country pairs always.
pub fn analyze_in(title: &str, body: &str, language: Option<&str>) -> Analysis {
    let sents = sentences::split(body);
    let sectors_computed = tags_language(language);
    let tagging = if sectors_computed {
        tagger::tag(title, body, &sents, &TaggerOptions::default())
    } else {
        tagger::Tagging {
            tags: Vec::new(),
            support: Vec::new(),
        }
    };

    // Entity finders read a copy where line wraps are spaces ("United\nStates"), which keeps
    // every byte offset valid for `body`.
    let flat = tokens::unwrap_lines(body);
    let body = flat.as_str();
    let words = tokens::words(body);
    let orgs = organisations::find(body, &words);
    let org_spans: Vec<Span> = orgs.iter().flat_map(|e| e.mentions.iter().copied()).collect();
    let geo = countries::find(body, &tokens::SpanSet::new(org_spans.iter().copied()));
    let blocked = tokens::SpanSet::new(
        org_spans
            .iter()
            .copied()
            .chain(geo.iter().flat_map(|e| e.mentions.iter().copied())),
    );
    let people = people::find(body, &words, &blocked);

    let country_pairs = pairs::build(&geo, &sents, &tagging.support);

    let mut entities = Vec::with_capacity(geo.len() + people.len() + orgs.len());
    let (countries, places): (Vec<Entity>, Vec<Entity>) =
        geo.into_iter().partition(|e| e.kind == EntityKind::Country);
    for mut group in [countries, people, orgs, places] {
        group.sort_by(|a, b| b.mentions.len().cmp(&a.mentions.len()).then(a.key.cmp(&b.key)));
        entities.extend(group);
    }
    Analysis {
        sectors: tagging.tags,
        entities,
        country_pairs,
        sectors_computed,
    }
}

/// Sector tags only, with explicit options (evaluation uses this to compare configurations).
pub fn tag_sectors(title: &str, body: &str, opts: &TaggerOptions) -> Vec<SectorTag> {
    let sents = sentences::split(body);
    tagger::tag(title, body, &sents, opts).tags
}

/// The sentence spans evidence is drawn from.
pub fn split_sentences(body: &str) -> Vec<Span> {
    sentences::split(body)
}
