//! Countries and places: a full ISO 3166-1 table (names, demonyms, capitals) and a gazetteer of
//! regions and cities, matched together so the longest form wins. Countries are the join key of
//! the whole service ("articles about AZ"), so their codes must be exact and their false
//! positives (Chad Smith, Michael Jordan, Atlanta, Georgia) guarded.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::tokens::{char_after, char_before, is_capitalised, is_whole_word, FastMap, FormMatcher, SpanSet};
use super::{Entity, EntityKind, Span};

const COUNTRIES_TSV: &str = include_str!("data/countries.tsv");
const PLACES_TSV: &str = include_str!("data/places.tsv");

/// Surface forms that are also common given names, surnames or US states.
const PERSONLIKE: &[&str] = &[
    "Chad",
    "Jordan",
    "Georgia",
    "Israel",
    "Sofia",
    "Santiago",
    "Washington",
    "Kingston",
    "Georgetown",
    "Lima",
    "Victoria",
    "Niger",
    "America",
    "Turkey",
    "Guinea",
    "Panama",
    "Cuba",
];

/// Capitalised words that may precede a country without making it part of a person's name.
const PRECEDERS: &[&str] = &[
    "The",
    "In",
    "On",
    "At",
    "To",
    "From",
    "For",
    "With",
    "And",
    "Or",
    "But",
    "By",
    "Of",
    "Both",
    "North",
    "South",
    "East",
    "West",
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Central",
    "Neighbouring",
    "Neighboring",
    "President",
    "King",
    "Queen",
    "Minister",
    "Ambassador",
    "While",
    "When",
    "As",
    "Since",
    "Unlike",
    "Like",
    "Only",
    "Even",
    "Also",
    "Did",
    "Does",
];

#[derive(Clone, Copy)]
enum Target {
    Country(usize),
    Place(usize),
}

struct Row {
    key: String,
    name: String,
}

struct Gazetteer {
    /// Leftmost-longest over all forms.
    ac: FormMatcher,
    targets: Vec<Target>,
    countries: Vec<Row>,
    places: Vec<Row>,
}

static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(build);

fn build() -> Gazetteer {
    let mut forms: Vec<String> = Vec::new();
    let mut targets = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut push = |form: &str, t: Target, forms: &mut Vec<String>, targets: &mut Vec<Target>| {
        let f = form.trim();
        if !f.is_empty() && seen.insert(f.to_string(), ()).is_none() {
            forms.push(f.to_string());
            targets.push(t);
        }
    };
    let mut countries = Vec::new();
    for line in COUNTRIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('|').collect();
        if cols.len() < 5 {
            continue;
        }
        let idx = countries.len();
        countries.push(Row {
            key: cols[0].to_string(),
            name: cols[1].to_string(),
        });
        push(cols[1], Target::Country(idx), &mut forms, &mut targets);
        for col in &cols[2..5] {
            for f in col.split(';') {
                push(f, Target::Country(idx), &mut forms, &mut targets);
            }
        }
    }
    let mut places = Vec::new();
    for line in PLACES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('|').collect();
        if cols.is_empty() {
            continue;
        }
        let idx = places.len();
        places.push(Row {
            key: cols[0].to_string(),
            name: cols[0].to_string(),
        });
        push(cols[0], Target::Place(idx), &mut forms, &mut targets);
        if let Some(aliases) = cols.get(2) {
            for f in aliases.split(';') {
                push(f, Target::Place(idx), &mut forms, &mut targets);
            }
        }
    }
    let ac = FormMatcher::new(&forms).expect("gazetteer forms are valid");
    Gazetteer {
        ac,
        targets,
        countries,
        places,
    }
}

/// The word just before `pos` when only one space separates them.
fn previous_word(body: &str, pos: usize) -> Option<&str> {
    let head = body.get(..pos)?;
    let head = head.strip_suffix(' ')?;
    let start = head.rfind(|c: char| !c.is_alphanumeric()).map_or(0, |i| i + 1);
    let w = head.get(start..)?;
    (!w.is_empty()).then_some(w)
}

fn next_word(body: &str, pos: usize) -> Option<&str> {
    let tail = body.get(pos..)?.strip_prefix(' ')?;
    let end = tail.find(|c: char| !c.is_alphanumeric()).unwrap_or(tail.len());
    let w = tail.get(..end)?;
    (!w.is_empty()).then_some(w)
}

/// True when a person-like country form is probably a person or a US state here.
fn looks_like_person(body: &str, start: usize, end: usize) -> bool {
    if let Some(next) = next_word(body, end) {
        if is_capitalised(next) && !PRECEDERS.contains(&next) {
            return true;
        }
    }
    if let Some(prev) = previous_word(body, start) {
        let sentence_start = body
            .get(..start.saturating_sub(prev.len() + 1))
            .map(str::trim_end)
            .is_none_or(|h| h.is_empty() || h.ends_with(['.', '!', '?', '\n', '"', '“']));
        if is_capitalised(prev) && !PRECEDERS.contains(&prev) && !sentence_start {
            return true;
        }
    }
    // "Atlanta, Georgia": a capitalised word and a comma just before.
    if let Some(head) = body.get(..start).and_then(|h| h.strip_suffix(", ")) {
        let w = head.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        if is_capitalised(w) && !super::tokens::is_acronym(w) && body.get(start..end) == Some("Georgia") {
            return true;
        }
    }
    false
}

/// Countries and places mentioned in `body`, skipping spans inside `exclude` (organisation
/// names such as "China-Pakistan Economic Corridor" are not country mentions).
pub(crate) fn find(body: &str, exclude: &SpanSet) -> Vec<Entity> {
    let g = &*GAZETTEER;
    let mut by_key: FastMap<(bool, usize), Entity> = FastMap::default();
    let mut order: Vec<(bool, usize)> = Vec::new();
    for m in g.ac.find_iter(body) {
        let (start, end) = (m.start(), m.end());
        if !is_whole_word(body, start, end) {
            // "U.S." ends with a dot, so a following letter is still a boundary problem only
            // when the form ends in a letter; dotted forms are checked on their left side.
            let dotted = body.get(start..end).is_some_and(|s| s.ends_with('.'));
            let left_ok = char_before(body, start).is_none_or(|c| !c.is_alphanumeric());
            if !(dotted && left_ok) {
                continue;
            }
        }
        // Hyphenated compounds are fine ("Pakistan-Azerbaijan"), but not "Baku-based"? Keep.
        if char_after(body, end) == Some('\'') && body.get(end..).is_some_and(|t| !t.starts_with("'s")) {
            continue;
        }
        if exclude.contains(start, end) {
            continue;
        }
        let Some(surface) = body.get(start..end) else {
            continue;
        };
        if PERSONLIKE.contains(&surface) && looks_like_person(body, start, end) {
            continue;
        }
        let Some(target) = g.targets.get(m.pattern().as_usize()) else {
            continue;
        };
        let (is_place, idx, row, kind) = match *target {
            Target::Country(i) => (false, i, &g.countries[i], EntityKind::Country),
            Target::Place(i) => (true, i, &g.places[i], EntityKind::Place),
        };
        let e = by_key.entry((is_place, idx)).or_insert_with(|| {
            order.push((is_place, idx));
            Entity {
                kind,
                key: row.key.clone(),
                name: row.name.clone(),
                aliases: Vec::new(),
                role: None,
                mentions: Vec::new(),
            }
        });
        if surface != e.name && !e.aliases.iter().any(|a| a == surface) {
            e.aliases.push(surface.to_string());
        }
        e.mentions.push(Span { start, end });
    }
    let mut out: Vec<Entity> = order.into_iter().filter_map(|k| by_key.remove(&k)).collect();
    generic_places(body, exclude, &mut out);
    out
}

/// "the city of Multan": a place the gazetteer does not list, named by what it is.
static PLACE_OF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:[Cc]ity|[Tt]own|[Vv]illage|[Pp]rovince|[Rr]egion|[Dd]istrict|[Pp]ort) of ((?:[A-Z][\p{Ll}'-]+)(?: [A-Z][\p{Ll}'-]+){0,2})",
    )
    .expect("place pattern is valid")
});

/// "Punjab province", "the Ferghana Valley": the noun follows the name. Found with a literal
/// search and a walk back over the capitalised words, which is much cheaper than a regex
/// whose matches may start at any capital letter.
static PLACE_NOUNS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new([
        " province",
        " Province",
        " region",
        " Region",
        " district",
        " District",
        " valley",
        " Valley",
        " county",
        " County",
    ])
    .expect("place nouns are valid")
});

/// Up to three capitalised words ending at byte `end` and separated by single spaces.
fn capitalised_run_before(body: &str, end: usize) -> Option<Span> {
    let mut start = end;
    let mut words = 0;
    loop {
        let head = body.get(..start)?;
        let ws = head
            .rfind(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
            .map_or(0, |i| i + 1);
        let w = head.get(ws..)?;
        if !is_capitalised(w) {
            break;
        }
        start = ws;
        words += 1;
        if words == 3 || !head.get(..ws)?.ends_with(' ') {
            break;
        }
        let prev_end = ws - 1;
        let prev = body.get(..prev_end)?;
        let pw = prev
            .rfind(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
            .map_or(0, |i| i + 1);
        if !is_capitalised(prev.get(pw..)?) {
            break;
        }
        start = prev_end;
    }
    (words > 0).then_some(Span { start, end })
}

/// Bound on distinct places found by pattern in one article (keeps adversarial input linear).
const MAX_GENERIC_PLACES: usize = 64;

/// Words that look like place names in the patterns above but are not.
const NOT_PLACES: &[&str] = &[
    "The", "This", "That", "Each", "Every", "Our", "Their", "Its", "Which", "Eastern", "Western", "Northern",
    "Southern", "Central",
];

fn generic_places(body: &str, exclude: &SpanSet, out: &mut Vec<Entity>) {
    let claimed = SpanSet::new(out.iter().flat_map(|e| e.mentions.iter().copied()));
    let mut candidates: Vec<Span> = PLACE_OF
        .captures_iter(body)
        .filter_map(|c| c.get(1))
        .map(|m| Span {
            start: m.start(),
            end: m.end(),
        })
        .collect();
    candidates.extend(
        PLACE_NOUNS
            .find_iter(body)
            .filter_map(|m| capitalised_run_before(body, m.start())),
    );
    let mut names: Vec<&str> = Vec::new();
    for m in candidates {
        let Some(name) = body.get(m.start..m.end) else {
            continue;
        };
        if name.split(' ').any(|w| NOT_PLACES.contains(&w))
            || claimed.overlaps(m.start, m.end)
            || exclude.overlaps(m.start, m.end)
            || names.contains(&name)
        {
            continue;
        }
        names.push(name);
        if names.len() >= MAX_GENERIC_PLACES {
            break;
        }
    }
    if names.is_empty() {
        return;
    }
    // Every whole-word occurrence of a place found this way is a mention, the first included:
    // one scan with all the names.
    let Ok(ac) = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&names)
    else {
        return;
    };
    let first = out.len();
    out.extend(names.iter().map(|n| Entity {
        kind: EntityKind::Place,
        key: (*n).to_string(),
        name: (*n).to_string(),
        aliases: Vec::new(),
        role: None,
        mentions: Vec::new(),
    }));
    for m in ac.find_iter(body) {
        let (s, e) = (m.start(), m.end());
        if is_whole_word(body, s, e) && !claimed.overlaps(s, e) && !exclude.overlaps(s, e) {
            if let Some(ent) = out.get_mut(first + m.pattern().as_usize()) {
                ent.mentions.push(Span { start: s, end: e });
            }
        }
    }
    out.retain(|e| !e.mentions.is_empty());
    for e in out.iter_mut() {
        e.mentions.sort_unstable();
    }
}
