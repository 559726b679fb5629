//! People: capitalised name sequences with a cue (a title or office before them, a speech verb
//! after them), merged across spelling variants ("Shehbaz"/"Shahbaz"), reversed order
//! ("Bayramov Jeyhun"), honorific first names ("Muhammad Shehbaz Sharif") and later
//! surname-only mentions ("Aliyev"), so one person is one entity with a canonical name.

use std::sync::LazyLock;

use super::tokens::{
    is_acronym, is_capitalised, levenshtein, strip_possessive, word_set, FastMap, FastSet, SpanSet, Word,
};
use super::{Entity, EntityKind, Span};

/// Offices and titles that introduce a name; longest phrases first so that "Prime Minister"
/// wins over "Minister". The bool says whether it is a role worth reporting (not Mr/Mrs).
const TITLES: &[(&[&str], bool)] = &[
    (&["Deputy", "Prime", "Minister"], true),
    (&["Deputy", "Foreign", "Minister"], true),
    (&["Crown", "Prince"], true),
    (&["Prime", "Minister"], true),
    (&["Foreign", "Minister"], true),
    (&["Defence", "Minister"], true),
    (&["Defense", "Minister"], true),
    (&["Finance", "Minister"], true),
    (&["Interior", "Minister"], true),
    (&["Trade", "Minister"], true),
    (&["Energy", "Minister"], true),
    (&["Economy", "Minister"], true),
    (&["Education", "Minister"], true),
    (&["Health", "Minister"], true),
    (&["Acting", "President"], true),
    (&["Vice", "President"], true),
    (&["Secretary", "General"], true),
    (&["Secretary-General"], true),
    (&["Director-General"], true),
    (&["Director", "General"], true),
    (&["Chief", "Executive"], true),
    (&["Field", "Marshal"], true),
    (&["Minister"], true),
    (&["President"], true),
    (&["Premier"], true),
    (&["Chancellor"], true),
    (&["King"], true),
    (&["Queen"], true),
    (&["Prince"], true),
    (&["Emir"], true),
    (&["Sultan"], true),
    (&["Ambassador"], true),
    (&["Envoy"], true),
    (&["Secretary"], true),
    (&["Governor"], true),
    (&["Senator"], true),
    (&["Chairman"], true),
    (&["Chairwoman"], true),
    (&["Chairperson"], true),
    (&["CEO"], true),
    (&["Director"], true),
    (&["Mayor"], true),
    (&["Speaker"], true),
    (&["Spokesman"], true),
    (&["Spokeswoman"], true),
    (&["Commander"], true),
    (&["General"], true),
    (&["Major"], true),
    (&["Colonel"], true),
    (&["Captain"], true),
    (&["Lieutenant"], true),
    (&["Admiral"], true),
    (&["Marshal"], true),
    (&["Judge"], true),
    (&["Pope"], true),
    (&["Ayatollah"], true),
    (&["Coach"], true),
    (&["Professor"], true),
    (&["Prof"], false),
    (&["Dr"], false),
    (&["Mr"], false),
    (&["Mrs"], false),
    (&["Ms"], false),
    (&["Sir"], false),
    (&["Dame"], false),
    (&["Lord"], false),
];

/// Lowercase descriptions of people that introduce a full name.
const DESCRIPTORS: &[&str] = &[
    "actor",
    "actress",
    "singer",
    "star",
    "director",
    "producer",
    "writer",
    "author",
    "novelist",
    "poet",
    "artist",
    "musician",
    "rapper",
    "comedian",
    "presenter",
    "chairman",
    "chairwoman",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "striker",
    "midfielder",
    "defender",
    "goalkeeper",
    "coach",
    "manager",
    "captain",
    "player",
    "champion",
    "analyst",
    "economist",
    "professor",
    "minister",
    "president",
    "senator",
    "ambassador",
    "envoy",
    "leader",
    "lawmaker",
    "mp",
    "governor",
    "mayor",
    "general",
    "commander",
    "founder",
    "chief",
    "executive",
    "boss",
    "secretary",
    "journalist",
    "editor",
    "correspondent",
    "researcher",
    "scientist",
    "doctor",
];

static DESCRIPTOR_SET: LazyLock<FastSet<&'static str>> = LazyLock::new(|| word_set(DESCRIPTORS));

/// Per first letter (a-z), a bit per word length (< 16) some descriptor has: nearly every
/// lowercase word is looked up, and this rules out most of them ("the", "of", "and") without
/// hashing. A hit still goes to [`DESCRIPTOR_SET`].
static DESCRIPTOR_SHAPES: LazyLock<[u16; 26]> = LazyLock::new(|| {
    let mut shapes = [0u16; 26];
    for d in DESCRIPTORS {
        if let (Some(&b), true) = (d.as_bytes().first(), d.len() < 16) {
            if b.is_ascii_lowercase() {
                shapes[usize::from(b - b'a')] |= 1 << d.len();
            }
        }
    }
    shapes
});

/// True when `w` is one of [`DESCRIPTORS`]: a shape test first, then the set.
fn is_descriptor(w: &str) -> bool {
    let shape_ok = match w.as_bytes().first() {
        Some(&b) if b.is_ascii_lowercase() && w.len() < 16 => {
            DESCRIPTOR_SHAPES[usize::from(b - b'a')] & (1 << w.len()) != 0
        }
        // Not a shape the table describes: leave it to the set.
        _ => true,
    };
    shape_ok && DESCRIPTOR_SET.contains(w)
}

/// Words after a name that mark it as a person speaking.
const SPEECH: &[&str] = &[
    "said",
    "says",
    "told",
    "added",
    "stated",
    "noted",
    "explained",
    "stressed",
    "wrote",
];

/// First names that are honorific or devotional and usually dropped in the short form.
const HONORIFIC_GIVEN: &[&str] = &[
    "Mohammad", "Muhammad", "Mohammed", "Muhammed", "Syed", "Sayed", "Mian", "Hafiz",
];

/// Surname endings (Turkic, Slavic, Persian) that reveal a reversed "Surname Given" order.
const SURNAME_SUFFIXES: &[&str] = &[
    "ov", "ev", "ova", "eva", "yev", "yeva", "zade", "zadeh", "oglu", "ski", "sky", "enko",
];

/// Capitalised words that cannot be part of a personal name.
const NOT_NAME: &[&str] = &[
    "The",
    "A",
    "An",
    "In",
    "On",
    "At",
    "For",
    "With",
    "By",
    "From",
    "As",
    "It",
    "This",
    "That",
    "These",
    "Those",
    "Both",
    "Each",
    "Every",
    "His",
    "Her",
    "Their",
    "Our",
    "Its",
    "We",
    "They",
    "He",
    "She",
    "I",
    "But",
    "And",
    "Or",
    "If",
    "When",
    "While",
    "After",
    "Before",
    "During",
    "Since",
    "Under",
    "Over",
    "Between",
    "Among",
    "Through",
    "Meanwhile",
    "However",
    "Moreover",
    "Furthermore",
    "Additionally",
    "Notably",
    "Thus",
    "Also",
    "Such",
    "Other",
    "All",
    "Some",
    "Many",
    "Most",
    "Not",
    "No",
    "Yes",
    "Today",
    "Yesterday",
    "Tomorrow",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Republic",
    "State",
    "Government",
    "Ministry",
    "Minister",
    "President",
    "House",
    "National",
    "International",
    "Foreign",
    "Affairs",
    "Defence",
    "Defense",
    "Deputy",
    "Prime",
    "Acting",
    "Office",
    "Council",
    "Summit",
    "Forum",
    "Day",
    "Parade",
    "Army",
    "Association",
    "Islamic",
    "Economic",
    "Cooperation",
    "Development",
    "Digital",
    "Transport",
    "Economy",
    "Industry",
    "Photo",
    "Follow",
    "Read",
    "More",
    "Latest",
    "See",
    "Editor",
    "Note",
    "Trade",
    "Agreement",
    "Company",
    "Corp",
    "Inc",
    "Ltd",
    "Group",
    "Bank",
    "Party",
    "Union",
    "News",
    "Reuters",
    "Secretary",
    "General",
    "Chief",
    "Executive",
    "Director",
    "Both",
    "Leader",
    "Sector",
    "Co",
    "Plc",
    "Holdings",
    "Industries",
    "Motors",
    "Electric",
    "Airlines",
    "Systems",
    "Technologies",
    "Partners",
    "Capital",
    "Securities",
    "Election",
    "League",
    "Cup",
];

const PEOPLE_TSV: &str = include_str!("data/people.tsv");
const GIVEN_NAMES_TXT: &str = include_str!("data/given_names.txt");

static GIVEN_NAMES: LazyLock<FastSet<&'static str>> = LazyLock::new(|| {
    GIVEN_NAMES_TXT
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect()
});

/// Canonical name and every known spelling, tokenised.
static KNOWN: LazyLock<Vec<(String, Vec<Vec<String>>)>> = LazyLock::new(|| {
    PEOPLE_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('|');
            let name = cols.next()?.trim().to_string();
            let mut forms: Vec<Vec<String>> = vec![name.split_whitespace().map(str::to_string).collect()];
            for f in cols
                .next()
                .unwrap_or("")
                .split(';')
                .filter(|f| !f.trim().is_empty())
            {
                forms.push(f.split_whitespace().map(str::to_string).collect());
            }
            Some((name, forms))
        })
        .collect()
});

/// The table's canonical spelling for a name, when the table knows the person.
fn known_canonical(tokens: &[String]) -> Option<&'static str> {
    if tokens.len() < 2 {
        return None;
    }
    KNOWN.iter().find_map(|(name, forms)| {
        forms
            .iter()
            .any(|f| {
                f.len() >= 2
                    && f.len() <= tokens.len().max(2) + 2
                    && same_person(f, tokens)
                    && given_names_agree(f, tokens)
            })
            .then_some(name.as_str())
    })
}

/// Same first given name (after honorific names), so "Heydar Aliyev" is not "Ilham Aliyev".
fn given_names_agree(a: &[String], b: &[String]) -> bool {
    let first = |t: &[String]| t.iter().find(|w| !HONORIFIC_GIVEN.contains(&w.as_str())).cloned();
    match (first(a), first(b)) {
        (Some(x), Some(y)) => similar(&x, &y),
        _ => false,
    }
}

static NOT_NAME_SET: LazyLock<FastSet<&'static str>> = LazyLock::new(|| word_set(NOT_NAME));

#[derive(Debug, Clone)]
struct Mention {
    /// Name tokens as written (possessive removed).
    tokens: Vec<String>,
    span: Span,
    role: Option<String>,
    /// True when the cue is strong enough for a lone surname to stand for a new person
    /// ("President Aliyev", "Mr Blunkett"), false for titles that are often not people
    /// ("General Election", "Major League", "King Crimson").
    solo: bool,
}

/// A person rarely has more than a handful of spellings in one article; comparing a new name
/// with more of them only costs time on adversarial input.
const MAX_COMPARED_FORMS: usize = 8;

/// Titles that do not make a lone capitalised word a person.
const WEAK_TITLES: &[&str] = &[
    "General",
    "Major",
    "Captain",
    "Commander",
    "Marshal",
    "Judge",
    "Coach",
    "Speaker",
    "Director",
    "Secretary",
    "King",
    "Queen",
    "Prince",
    "Lord",
    "Dame",
    "Sir",
    "Chancellor",
    "Governor",
    "Premier",
    "Envoy",
    "Lieutenant",
    "Colonel",
    "Admiral",
    "Sultan",
    "Emir",
];

fn is_name_token(w: &Word<'_>, blocked: &SpanSet) -> bool {
    // Most words are lowercase: reject them before the possessive and set lookups. Stripping a
    // possessive never changes the first character, so this is the first test of
    // `is_capitalised` below, moved ahead.
    if !w.text.starts_with(char::is_uppercase) {
        return false;
    }
    let (t, _) = strip_possessive(w.text);
    is_capitalised(t)
        && !is_acronym(t)
        && t.chars().count() >= 2
        && !t.chars().any(|c| c.is_ascii_digit())
        && !NOT_NAME_SET.contains(t)
        && !blocked.overlaps(w.start, w.end)
}

/// Longest title phrase starting at word `i`, with its length in words.
/// Titles indexed by their first word, so each capitalised word costs one lookup.
/// A title phrase and whether it is a role worth reporting.
type Title = (&'static [&'static str], bool);

static TITLE_INDEX: LazyLock<FastMap<&'static str, Vec<Title>>> = LazyLock::new(|| {
    let mut m: FastMap<&'static str, Vec<Title>> = FastMap::default();
    for &(phrase, role) in TITLES {
        if let Some(first) = phrase.first() {
            m.entry(first).or_default().push((phrase, role));
        }
    }
    m
});

/// Per first letter (A-Z), a bit per length (< 32) of a title's first word: most capitalised
/// words ("The", "This", "Azerbaijan") are ruled out without hashing them.
static TITLE_SHAPES: LazyLock<[u32; 26]> = LazyLock::new(|| {
    let mut shapes = [0u32; 26];
    for first in TITLE_INDEX.keys() {
        match first.as_bytes().first() {
            Some(&b) if b.is_ascii_uppercase() && first.len() < 32 => {
                shapes[usize::from(b - b'A')] |= 1 << first.len();
            }
            // Not a shape the table describes: every word of that letter goes to the index.
            Some(&b) if b.is_ascii_uppercase() => shapes[usize::from(b - b'A')] = u32::MAX,
            _ => {}
        }
    }
    shapes
});

fn title_at(body: &str, ws: &[Word<'_>], i: usize) -> Option<(usize, bool)> {
    let w = ws.get(i)?.text;
    // Every title starts with an ASCII capital; most words do not, and skip the lookup.
    let &b = w.as_bytes().first()?;
    if !b.is_ascii_uppercase() {
        return None;
    }
    if w.len() < 32 && TITLE_SHAPES[usize::from(b - b'A')] & (1 << w.len()) == 0 {
        return None;
    }
    let candidates = TITLE_INDEX.get(w)?;
    'titles: for (phrase, is_role) in candidates {
        if i + phrase.len() > ws.len() {
            continue;
        }
        for (k, p) in phrase.iter().enumerate().skip(1) {
            if ws[i + k].text != *p || body.get(ws[i + k - 1].end..ws[i + k].start) != Some(" ") {
                continue 'titles;
            }
        }
        return Some((phrase.len(), *is_role));
    }
    None
}

/// Name tokens following word `i`: adjacent capitalised words (an honorific's period allowed).
fn name_after(body: &str, ws: &[Word<'_>], i: usize, blocked: &SpanSet) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = i;
    while k < ws.len() && out.len() < 5 {
        let prev_end = if k == 0 { 0 } else { ws[k - 1].end };
        let gap = body.get(prev_end..ws[k].start).unwrap_or("");
        let ok_gap =
            gap == " " || (out.is_empty() && gap == ". " && k > 0 && title_at(body, ws, k - 1).is_some());
        if k != i && !ok_gap || (k == i && !(gap == " " || gap == ". ")) {
            break;
        }
        if !is_name_token(&ws[k], blocked) {
            break;
        }
        out.push(k);
        if strip_possessive(ws[k].text).1 {
            break;
        }
        k += 1;
    }
    out
}

fn mention_of(ws: &[Word<'_>], idx: &[usize], role: Option<String>) -> Option<Mention> {
    let first = ws.get(*idx.first()?)?;
    let last = ws.get(*idx.last()?)?;
    let tokens: Vec<String> = idx
        .iter()
        .map(|&k| strip_possessive(ws[k].text).0.to_string())
        .collect();
    let (last_tok, poss) = strip_possessive(last.text);
    let end = if poss {
        last.start + last_tok.len()
    } else {
        last.end
    };
    Some(Mention {
        solo: false,
        tokens,
        span: Span {
            start: first.start,
            end,
        },
        role,
    })
}

fn collect(body: &str, ws: &[Word<'_>], blocked: &SpanSet) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        if let Some((len, is_role)) = title_at(body, ws, i) {
            let role = if is_role {
                body.get(ws[i].start..ws[i + len - 1].end).map(str::to_string)
            } else {
                None
            };
            // A possessive title ("Prime Minister's House") names no one.
            if strip_possessive(ws[i + len - 1].text).1 {
                i += len;
                continue;
            }
            let idx = name_after(body, ws, i + len, blocked);
            if let Some(mut m) = mention_of(ws, &idx, role) {
                m.solo = !WEAK_TITLES.contains(&ws[i + len - 1].text);
                i = idx.last().map_or(i + len, |l| l + 1);
                out.push(m);
                continue;
            }
            i += len;
            continue;
        }
        // A lowercase descriptor ("actress Julia Roberts", "striker Wayne Rooney") followed
        // by two or three capitalised words.
        if ws[i].text.len() <= 13
            && ws[i].text.starts_with(|c: char| c.is_ascii_lowercase())
            && is_descriptor(ws[i].text)
        {
            let idx = name_after(body, ws, i + 1, blocked);
            if (2..=3).contains(&idx.len()) {
                if let Some(m) = mention_of(ws, &idx, None) {
                    i = idx.last().map_or(i + 1, |l| l + 1);
                    out.push(m);
                    continue;
                }
            }
        }
        // Two or three capitalised words followed by a speech verb.
        if is_name_token(&ws[i], blocked)
            && (i == 0
                || body.get(ws[i - 1].end..ws[i].start) != Some(" ")
                || !is_capitalised(ws[i - 1].text))
        {
            let mut idx = vec![i];
            let mut k = i + 1;
            while k < ws.len()
                && idx.len() < 3
                && body.get(ws[k - 1].end..ws[k].start) == Some(" ")
                && is_name_token(&ws[k], blocked)
            {
                idx.push(k);
                k += 1;
            }
            let followed = ws
                .get(k)
                .is_some_and(|w| SPEECH.contains(&w.text) && body.get(ws[k - 1].end..w.start) == Some(" "));
            let byline = i > 0 && matches!(ws[i - 1].text, "By" | "by");
            // The speech-verb and byline cues are weak ("Time Warner said"): the first word
            // must be a known given name.
            let given = GIVEN_NAMES.contains(strip_possessive(ws[i].text).0);
            if idx.len() >= 2 && (followed || byline) && given {
                if let Some(m) = mention_of(ws, &idx, None) {
                    out.push(m);
                }
                i = k;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn similar(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la < 4 || lb < 4 || a.chars().next() != b.chars().next() {
        return false;
    }
    levenshtein(&a.to_lowercase(), &b.to_lowercase()) <= 1 || skeleton(a) == skeleton(b)
}

/// Consonant skeleton: transliteration variants differ mostly in vowels.
fn skeleton(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::new();
    for (i, c) in lower.chars().enumerate() {
        if (i == 0 || !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')) && !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// Canonical token order and content: honorific first names dropped, reversed order fixed.
fn canonical(tokens: &[String]) -> Vec<String> {
    let mut t: Vec<String> = tokens.to_vec();
    while t.len() >= 3 && HONORIFIC_GIVEN.contains(&t[0].as_str()) {
        t.remove(0);
    }
    if t.len() == 2 {
        let has_suffix = |w: &str| {
            let l = w.to_lowercase();
            SURNAME_SUFFIXES
                .iter()
                .any(|s| l.ends_with(s) && l.len() > s.len() + 2)
        };
        if has_suffix(&t[0]) && !has_suffix(&t[1]) {
            t.swap(0, 1);
        }
    }
    t
}

struct Cluster {
    /// Canonical forms with their counts.
    forms: Vec<(Vec<String>, usize)>,
    surfaces: Vec<String>,
    roles: Vec<String>,
    mentions: Vec<Span>,
}

impl Cluster {
    fn best(&self) -> &[String] {
        let mut best: Option<&(Vec<String>, usize)> = None;
        for f in &self.forms {
            best = match best {
                None => Some(f),
                Some(b) if f.1 > b.1 || (f.1 == b.1 && f.0.len() < b.0.len() && f.0.len() >= 2) => Some(f),
                Some(b) => Some(b),
            };
        }
        best.map_or(&[], |b| b.0.as_slice())
    }
    fn surname(&self) -> Option<&str> {
        self.best().last().map(String::as_str)
    }

    /// One cued mention: its written form (once), its role (if any) and its span.
    fn record(&mut self, surface: String, role: Option<String>, span: Span) {
        if !self.surfaces.contains(&surface) {
            self.surfaces.push(surface);
        }
        self.roles.extend(role);
        self.mentions.push(span);
    }

    /// The entity a cluster names: the canonical name when the person is known, else the
    /// most frequent form; every other written form becomes an alias.
    fn into_entity(mut self) -> Entity {
        let seen = self.best().join(" ");
        let name = known_canonical(self.best()).map_or(seen.clone(), str::to_string);
        if name != seen && !self.surfaces.contains(&seen) {
            self.surfaces.push(seen);
        }
        self.mentions.sort_unstable();
        self.mentions.dedup();
        let mut aliases: Vec<String> = self.surfaces.into_iter().filter(|s| *s != name).collect();
        aliases.dedup();
        let role = most_common(&self.roles);
        Entity {
            kind: EntityKind::Person,
            key: name.clone(),
            name,
            aliases,
            role,
            mentions: self.mentions,
        }
    }
}

/// Two full names are one person when their surnames match and the other tokens of the
/// shorter one all appear (fuzzily) in the longer one.
fn same_person(a: &[String], b: &[String]) -> bool {
    let (Some(la), Some(lb)) = (a.last(), b.last()) else {
        return false;
    };
    if !similar(la, lb) {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.iter().all(|t| long.iter().any(|u| similar(t, u)))
}

/// People in the body: full names are clustered first (variants of one name join), single
/// names then attach to a cluster by surname or given name, and finally uncued repeats of a
/// known surname become mentions too.
pub(crate) fn find(body: &str, ws: &[Word<'_>], blocked: &SpanSet) -> Vec<Entity> {
    let mentions = collect(body, ws, blocked);
    let (multi, single): (Vec<Mention>, Vec<Mention>) =
        mentions.into_iter().partition(|m| m.tokens.len() >= 2);
    let mut clusters = cluster_full_names(body, multi);
    attach_single_names(&mut clusters, single);
    add_surname_repeats(body, ws, blocked, &mut clusters);
    clusters
        .into_iter()
        .filter(|c| !c.mentions.is_empty())
        .map(Cluster::into_entity)
        .collect()
}

/// Groups mentions of two or more tokens: a mention joins the first cluster that already
/// holds its canonical form or a form naming the same person.
fn cluster_full_names(body: &str, multi: Vec<Mention>) -> Vec<Cluster> {
    let mut clusters: Vec<Cluster> = Vec::new();
    for m in multi {
        let canon = canonical(&m.tokens);
        let surface = body.get(m.span.start..m.span.end).unwrap_or("").to_string();
        let found = clusters.iter().position(|c| {
            c.forms.iter().any(|(f, _)| *f == canon)
                || c.forms
                    .iter()
                    .take(MAX_COMPARED_FORMS)
                    .any(|(f, _)| same_person(f, &canon))
        });
        let c = match found {
            Some(i) => &mut clusters[i],
            None => push_cluster(&mut clusters, Vec::new()),
        };
        match c.forms.iter_mut().find(|(f, _)| *f == canon) {
            Some(f) => f.1 += 1,
            None => c.forms.push((canon, 1)),
        }
        c.record(surface, m.role, m.span);
    }
    clusters
}

/// Single-token mentions join a cluster by surname, else by any given name; a lone token
/// starts its own cluster only when it stood alone as a name and is not a common given name
/// ("President George" is not enough to name someone).
fn attach_single_names(clusters: &mut Vec<Cluster>, single: Vec<Mention>) {
    for m in single {
        let tok = &m.tokens[0];
        let target = clusters
            .iter()
            .position(|c| c.surname().is_some_and(|s| similar(s, tok)))
            .or_else(|| {
                clusters
                    .iter()
                    .position(|c| c.best().iter().any(|t| similar(t, tok)))
            });
        let c = match target {
            Some(i) => &mut clusters[i],
            None if !m.solo || GIVEN_NAMES.contains(tok.as_str()) => continue,
            None => push_cluster(clusters, vec![(vec![tok.clone()], 1)]),
        };
        c.record(tok.clone(), m.role, m.span);
    }
}

/// Uncued later mentions of a known surname ("Aliyev stressed ..."): one pass over the
/// words, looking each up among the clusters' surnames.
fn add_surname_repeats(body: &str, ws: &[Word<'_>], blocked: &SpanSet, clusters: &mut [Cluster]) {
    let mut by_surname: FastMap<String, usize> = FastMap::default();
    for (ci, c) in clusters.iter().enumerate() {
        let Some(surname) = c.surname() else { continue };
        let n = surname.chars().count();
        if n < 3 || (c.best().len() < 2 && n < 4) {
            continue;
        }
        by_surname.entry(surname.to_string()).or_insert(ci);
    }
    if by_surname.is_empty() {
        return;
    }
    let cued = SpanSet::new(clusters.iter().flat_map(|c| c.mentions.iter().copied()));
    let mut last_end = vec![0usize; clusters.len()];
    for (k, w) in ws.iter().enumerate() {
        if !w.text.starts_with(char::is_uppercase) {
            continue;
        }
        let (t, _) = strip_possessive(w.text);
        let Some(&ci) = by_surname.get(t) else {
            continue;
        };
        if blocked.overlaps(w.start, w.end) {
            continue;
        }
        let c = &mut clusters[ci];
        // Take in the given names written before the surname ("Muhammad Shehbaz Sharif").
        let mut first = k;
        while first > 0
            && body.get(ws[first - 1].end..ws[first].start) == Some(" ")
            && is_name_token(&ws[first - 1], blocked)
            && !strip_possessive(ws[first - 1].text).1
            && (HONORIFIC_GIVEN.contains(&ws[first - 1].text)
                || c.best().iter().any(|g| similar(g, ws[first - 1].text)))
        {
            first -= 1;
        }
        let span = Span {
            start: ws[first].start,
            end: w.start + t.len(),
        };
        // Skip words inside any cued mention (of this or another person, "Heydar Aliyev" is
        // not a mention of Ilham Aliyev) or inside the last mention added here.
        if cued.overlaps(span.start, span.end) || span.start < last_end[ci] {
            continue;
        }
        last_end[ci] = span.end;
        if let Some(surface) = body.get(span.start..span.end) {
            if !c.surfaces.iter().any(|s| s == surface) {
                c.surfaces.push(surface.to_string());
            }
        }
        c.mentions.push(span);
    }
}

fn push_cluster(clusters: &mut Vec<Cluster>, forms: Vec<(Vec<String>, usize)>) -> &mut Cluster {
    clusters.push(Cluster {
        forms,
        surfaces: Vec::new(),
        roles: Vec::new(),
        mentions: Vec::new(),
    });
    let last = clusters.len() - 1;
    &mut clusters[last]
}

/// The role stated most often, counting a bare "Minister" towards "Foreign Minister" (a later
/// short mention of the same office), and preferring the more specific title on ties.
fn most_common(roles: &[String]) -> Option<String> {
    let mut best: Option<(&String, usize)> = None;
    for r in roles {
        let n = roles.iter().filter(|x| r.ends_with(x.as_str())).count();
        if best.is_none_or(|(b, bn)| n > bn || (n == bn && r.len() > b.len())) {
            best = Some((r, n));
        }
    }
    best.map(|(r, _)| r.clone())
}
