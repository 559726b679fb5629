//! Organisations: a table of well-known bodies (UN, OIC, NATO, ...) plus generic detection of
//! "Long Form (ACR)" / "Long Form ACR" pairs, COP conferences and capitalised names ending in
//! an organisation noun ("Azerbaijan Army", "Pakistan-Azerbaijan Business Forum"). Acronyms and
//! long forms are merged into one entity so that "OIC" and "Organization of Islamic
//! Cooperation" count as the same organisation.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::tokens::{
    is_acronym, is_capitalised, is_whole_word, word_set, FastMap, FastSet, FormMatcher, SpanSet, Word,
};
use super::{Entity, EntityKind, Span};

const ORGANISATIONS_TSV: &str = include_str!("data/organisations.tsv");

/// Last words that make a capitalised phrase an organisation.
const HEADS: &[&str] = &[
    "Association",
    "Organisation",
    "Organization",
    "Council",
    "Ministry",
    "Bank",
    "Corporation",
    "Corp",
    "Company",
    "University",
    "Forum",
    "Institute",
    "Agency",
    "Commission",
    "Committee",
    "Party",
    "Union",
    "Federation",
    "Fund",
    "Army",
    "Navy",
    "Department",
    "Authority",
    "Bureau",
    "League",
    "Society",
    "Foundation",
    "Group",
    "Inc",
    "Ltd",
    "Airlines",
    "Airways",
    "Exchange",
    "Parliament",
    "Assembly",
    "Senate",
    "Alliance",
    "Secretariat",
    "Chamber",
    "Academy",
    "Centre",
    "Center",
    "Corridor",
    "Initiative",
    "Programme",
    "Program",
    "Institution",
];

/// Heads that name an agreement or a document rather than a body.
const NOT_ORGS: &[&str] = &[
    "Agreement",
    "Agreements",
    "Treaty",
    "Act",
    "Accord",
    "Protocol",
    "Memorandum",
    "Memoranda",
    "Understanding",
    "Declaration",
    "Charter",
    "Resolution",
    "Plan",
    "Vision",
    "Day",
];

/// Lowercase words allowed inside a long form.
const CONNECTORS: &[&str] = &["of", "for", "and", "the", "on", "in", "de", "&", "to"];

/// Words after which "and" stays inside a name ("Merrill Lynch and Co", "Savings and Loan
/// Association"); elsewhere "and" separates names ("Free and Bad Company" are two bands).
const AND_JOINS: &[&str] = &["Co", "Company", "Sons", "Partners", "Loan", "Exchange", "Trust"];

/// Capitalised words that start sentences rather than names.
const LEADING_NOISE: &[&str] = &[
    "The", "A", "An", "In", "On", "At", "For", "With", "By", "From", "As", "This", "That", "Both", "Its",
    "Their", "His", "Her", "Our", "And", "But", "Under", "Through", "Via", "Since", "After",
];

static HEAD_SET: LazyLock<FastSet<&'static str>> = LazyLock::new(|| word_set(HEADS));

struct Known {
    /// Canonical name, which is also the entity's join key.
    name: String,
}

struct Table {
    /// Leftmost-longest over all forms.
    ac: FormMatcher,
    targets: Vec<usize>,
    orgs: Vec<Known>,
    by_surface: HashMap<String, usize>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut forms = Vec::new();
    let mut targets = Vec::new();
    let mut orgs = Vec::new();
    let mut by_surface = HashMap::new();
    for line in ORGANISATIONS_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('|').collect();
        if cols.len() < 2 {
            continue;
        }
        let idx = orgs.len();
        orgs.push(Known {
            name: cols[1].to_string(),
        });
        let mut surfaces: Vec<&str> = vec![cols[1]];
        if let Some(extra) = cols.get(2) {
            surfaces.extend(extra.split(';'));
        }
        for s in surfaces {
            let s = s.trim();
            if s.is_empty() || by_surface.contains_key(s) {
                continue;
            }
            by_surface.insert(s.to_string(), idx);
            forms.push(s.to_string());
            targets.push(idx);
        }
    }
    let ac = FormMatcher::new(&forms).expect("organisation forms are valid");
    Table {
        ac,
        targets,
        orgs,
        by_surface,
    }
});

static COP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bCOP[ -]?(\d{1,2})\b|\(COP\)\s*(\d{1,2})\b").expect("COP regex is valid"));

/// Initial letters of a long form: capitalised words (split at hyphens) give their first
/// letter, connectors give none. None when a word is neither.
fn initials(ws: &[Word<'_>]) -> Option<String> {
    let mut out = String::new();
    for w in ws {
        if CONNECTORS.contains(&w.text) {
            continue;
        }
        for part in w.text.split('-') {
            let c = part.chars().next()?;
            if !(c.is_uppercase() || c.is_ascii_digit()) {
                return None;
            }
            out.push(c);
        }
    }
    Some(out)
}

/// True when words `a` and `b` are separated by one space (or one hyphen-free gap).
fn adjacent(body: &str, a: &Word<'_>, b: &Word<'_>) -> bool {
    body.get(a.end..b.start) == Some(" ")
}

struct Builder<'a> {
    body: &'a str,
    entities: Vec<Entity>,
    index: FastMap<String, usize>,
}

impl Builder<'_> {
    /// Records a mention of the organisation whose canonical name is `name` (also its key).
    fn add(&mut self, name: &str, surface: &str, span: Span) {
        let i = *self.index.entry(name.to_string()).or_insert_with(|| {
            self.entities.push(Entity {
                kind: EntityKind::Organisation,
                key: name.to_string(),
                name: name.to_string(),
                aliases: Vec::new(),
                role: None,
                mentions: Vec::new(),
            });
            self.entities.len() - 1
        });
        let e = &mut self.entities[i];
        if surface != e.name && !e.aliases.iter().any(|a| a == surface) {
            e.aliases.push(surface.to_string());
        }
        e.mentions.push(span);
    }

    fn surface(&self, s: usize, e: usize) -> &str {
        self.body.get(s..e).unwrap_or("")
    }
}

pub(crate) fn find(body: &str, ws: &[Word<'_>]) -> Vec<Entity> {
    let mut b = Builder {
        body,
        entities: Vec::new(),
        index: FastMap::default(),
    };
    add_known(&mut b);
    add_conferences(&mut b);
    let long_forms = add_defined_acronyms(&mut b, ws);
    add_acronym_uses(&mut b, ws, long_forms);
    add_named_bodies(&mut b, ws);
    drop_nested_mentions(b)
}

/// Well-known organisations, from the table.
fn add_known(b: &mut Builder<'_>) {
    let t = &*TABLE;
    let body = b.body;
    for m in t.ac.find_iter(body) {
        if !is_whole_word(body, m.start(), m.end()) {
            continue;
        }
        let Some(org) = t.targets.get(m.pattern().as_usize()).and_then(|&i| t.orgs.get(i)) else {
            continue;
        };
        let surface = b.surface(m.start(), m.end()).to_string();
        b.add(
            &org.name,
            &surface,
            Span {
                start: m.start(),
                end: m.end(),
            },
        );
    }
}

/// COP conferences ("COP29", "COP 28").
fn add_conferences(b: &mut Builder<'_>) {
    let body = b.body;
    for c in COP.captures_iter(body) {
        let (Some(all), Some(num)) = (c.get(0), c.get(1).or_else(|| c.get(2))) else {
            continue;
        };
        let key = format!("COP{}", num.as_str());
        let surface = all.as_str().to_string();
        b.add(
            &key,
            &surface,
            Span {
                start: all.start(),
                end: all.end(),
            },
        );
    }
}

/// A long form followed by its acronym, in brackets or not. Returns the
/// (acronym, key) pairs it learned, for [`add_acronym_uses`].
fn add_defined_acronyms(b: &mut Builder<'_>, ws: &[Word<'_>]) -> Vec<(String, String)> {
    let t = &*TABLE;
    let body = b.body;
    let mut long_forms: Vec<(String, String)> = Vec::new();
    for (i, acr) in ws.iter().enumerate() {
        if i == 0 || acr.text.len() > 16 || !is_acronym(acr.text) {
            continue;
        }
        let letters: String = acr.text.chars().filter(|c| c.is_alphanumeric()).collect();
        if letters.len() < 2 || letters.len() > 10 {
            continue;
        }
        let gap = body.get(ws[i - 1].end..acr.start).unwrap_or("");
        let bracketed = gap == " (" && body.get(acr.end..).is_some_and(|r| r.starts_with(')'));
        if !(bracketed || (gap == " " && letters.len() >= 3)) {
            continue;
        }
        // Grow the long form backwards while words stay adjacent.
        let mut first = i - 1;
        let mut found: Option<usize> = None;
        loop {
            let cand = &ws[first..i];
            if let Some(ini) = initials(cand) {
                if ini.eq_ignore_ascii_case(&letters) && is_capitalised(ws[first].text) {
                    found = Some(first);
                    break;
                }
            }
            if first == 0 || i - first >= letters.len() + 4 || !adjacent(body, &ws[first - 1], &ws[first]) {
                break;
            }
            first -= 1;
        }
        let Some(first) = found else { continue };
        let head = ws[i - 1].text;
        if NOT_ORGS.contains(&head) {
            continue;
        }
        let (ls, le) = (ws[first].start, ws[i - 1].end);
        let long = b.surface(ls, le).to_string();
        let (key, name) = match t
            .by_surface
            .get(acr.text)
            .or_else(|| t.by_surface.get(long.as_str()))
        {
            Some(&k) => (t.orgs[k].name.clone(), t.orgs[k].name.clone()),
            None => (long.clone(), long.clone()),
        };
        // The table already recorded known forms; record only what it missed.
        let known_long = t.by_surface.contains_key(long.as_str());
        let known_acr = t.by_surface.contains_key(acr.text);
        if !known_long {
            b.add(&name, &long, Span { start: ls, end: le });
        }
        if !known_acr {
            b.add(
                &name,
                acr.text,
                Span {
                    start: acr.start,
                    end: acr.end,
                },
            );
            long_forms.push((acr.text.to_string(), key));
        }
    }
    long_forms
}

/// Later standalone uses of the acronyms [`add_defined_acronyms`] learned.
fn add_acronym_uses(b: &mut Builder<'_>, ws: &[Word<'_>], mut long_forms: Vec<(String, String)>) {
    long_forms.sort();
    long_forms.dedup();
    for (acr, key) in &long_forms {
        for w in ws.iter().filter(|w| w.text == acr) {
            let span = Span {
                start: w.start,
                end: w.end,
            };
            // Duplicates are removed with the final sort.
            if let Some(&i) = b.index.get(key) {
                b.entities[i].mentions.push(span);
            }
        }
    }
}

/// Capitalised phrases ending in an organisation noun ("Caspian Pipeline
/// Consortium"), where no earlier step claimed the words.
fn add_named_bodies(b: &mut Builder<'_>, ws: &[Word<'_>]) {
    let t = &*TABLE;
    let body = b.body;
    let claimed = SpanSet::new(b.entities.iter().flat_map(|e| e.mentions.iter().copied()));
    let mut i = 0;
    while i < ws.len() {
        // Names may open with an acronym ("GAF Industries Inc").
        let namelike = |w: &str| is_capitalised(w) || (is_acronym(w) && w.len() <= 6);
        if !namelike(ws[i].text) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < ws.len()
            && adjacent(body, &ws[j], &ws[j + 1])
            && (namelike(ws[j + 1].text)
                || (CONNECTORS.contains(&ws[j + 1].text)
                    && (ws[j + 1].text != "and"
                        || ws.get(j + 2).is_some_and(|n| AND_JOINS.contains(&n.text)))
                    && ws
                        .get(j + 2)
                        .is_some_and(|n| is_capitalised(n.text) && adjacent(body, &ws[j + 1], n))))
        {
            j += 1;
        }
        let mut start = i;
        while start < j && (LEADING_NOISE.contains(&ws[start].text) || CONNECTORS.contains(&ws[start].text)) {
            start += 1;
        }
        // Cut the run at the last organisation head.
        if let Some(end) = (start..=j).rev().find(|&k| HEAD_SET.contains(ws[k].text)) {
            if end > start {
                let span = Span {
                    start: ws[start].start,
                    end: ws[end].end,
                };
                let covered = claimed.contains(span.start, span.end);
                if !covered {
                    let name = b.surface(span.start, span.end).to_string();
                    let canonical = t
                        .by_surface
                        .get(name.as_str())
                        .map_or(name.clone(), |&k| t.orgs[k].name.clone());
                    b.add(&canonical, &name, span);
                }
            }
        }
        i = j + 1;
    }
}

/// Drops mentions nested inside longer organisation mentions ("United
/// Nations" inside "United Nations Security Council"), sorts the rest, and
/// drops entities left without mentions.
fn drop_nested_mentions(mut b: Builder<'_>) -> Vec<Entity> {
    let mut all: Vec<Span> = b
        .entities
        .iter()
        .flat_map(|e| e.mentions.iter().copied())
        .collect();
    all.sort_unstable_by(|x, y| x.start.cmp(&y.start).then(y.end.cmp(&x.end)));
    all.dedup();
    // A mention is nested when an earlier-starting (or same-start, longer) mention reaches
    // past its end; sweeping in start order with the furthest end seen finds them all.
    let mut nested: std::collections::HashSet<Span> = std::collections::HashSet::new();
    let mut reach: Option<Span> = None;
    for m in &all {
        if reach.is_some_and(|r| r.end >= m.end) {
            nested.insert(*m);
        }
        if reach.is_none_or(|r| m.end > r.end) {
            reach = Some(*m);
        }
    }
    for e in &mut b.entities {
        e.mentions.retain(|m| !nested.contains(m));
        e.mentions.sort_unstable();
        e.mentions.dedup();
    }
    b.entities.retain(|e| !e.mentions.is_empty());
    b.entities
}
