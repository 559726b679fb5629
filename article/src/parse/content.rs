//! Finds the article body inside a page, the way a reader's eye does: the region dense
//! with prose and light on links, under names like "article" or "story", away from
//! navigation, sidebars, comments and share bars.
//!
//! Steps, each linear in the page and none recursive (deep markup cannot exhaust the
//! stack):
//! 1. measure the text under every element, so a subtree whose name looks like
//!    furniture ("sidebar") is only dropped when it holds a minor share of the page;
//! 2. flatten the page into text blocks (paragraphs, list items, headings) that remember
//!    their element, skipping furniture;
//! 3. let paragraph-sized blocks vote for their ancestors (a readability-style score,
//!    discounted by link density, moved by class and id names; see [`super::signals`]);
//! 4. take the best element, widen it to ancestors that only add more of the same prose
//!    (articles split around photos), and add siblings that read like the article.

use super::normalize;
use super::signals::{class_weight, never_text, tag_weight, verdict, Verdict};
use ego_tree::NodeId;
use scraper::{node::Element, Html, Node};
use std::collections::HashMap;

/// A subtree named like furniture is dropped only below this share of the page's text:
/// layout wrappers ("has-sidebar", "ad_body", "elementor-widget") often carry such
/// names while holding the whole article.
const WEAK_SKIP_MAX_SHARE: f64 = 0.35;

/// Elements that start a new block of text.
#[rustfmt::skip]
const BLOCK_TAGS: &[&str] = &[
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tbody", "thead", "tr", "td", "th",
    "br", "hr", "body", "center", "address", "details", "summary", "caption",
];

/// What kind of element a block of text came from: only paragraph-like blocks vote,
/// and navigation-like kinds are judged more strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Paragraph,
    Heading(u8),
    ListItem,
    Quote,
    Pre,
    Cell,
    Loose,
}

/// A run of text between block boundaries, with how much of it is link text.
#[derive(Debug)]
struct Block {
    text: String,
    chars: usize,
    link_chars: usize,
    kind: Kind,
    /// The block element the text sits in.
    owner: NodeId,
}

/// Per element: text and link volume below it, and its range of blocks (blocks are in
/// document order, so every element's blocks are contiguous).
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    chars: usize,
    link_chars: usize,
    first_block: usize,
    end_block: usize,
}

/// An open element during flattening.
struct Frame {
    id: NodeId,
    is_block: bool,
    is_link: bool,
    chars: usize,
    link_chars: usize,
    first_block: usize,
}

/// The article body of a parsed page, as paragraphs.
pub(crate) fn main_text(doc: &Html) -> Vec<String> {
    let flat = flatten(doc, Markup::Trusted);
    if flat.blocks.is_empty() {
        return Vec::new();
    }
    let selected = select(doc, &flat);
    let mut out = Vec::new();
    for (first, end) in selected {
        for b in &flat.blocks[first..end] {
            if keep_block(b) {
                out.push(b.text.clone());
            }
        }
    }
    out
}

/// The second extraction method, for pages the main one leaves without text: the
/// largest coherent run of prose, found from text alone. Class and id names are ignored
/// (a template whose wrapper is named "comments-open" or "share-wrapper" is what defeats
/// the main method), and each paragraph votes with its length for the element holding it
/// (half for the one above), so the element holding the most running text wins. Returns
/// nothing when that element holds less than [`FALLBACK_MIN_CHARS`] of prose: a page
/// without a substantial readable block has no article to recover.
pub(crate) fn largest_block(doc: &Html) -> Vec<String> {
    let flat = flatten(doc, Markup::Ignored);
    let mut scores: HashMap<NodeId, usize> = HashMap::new();
    for b in &flat.blocks {
        if !is_fallback_prose(b) {
            continue;
        }
        let Some(owner) = doc.tree.get(b.owner) else {
            continue;
        };
        let holder = if b.kind == Kind::Loose {
            Some(owner)
        } else {
            owner.parent()
        };
        if let Some(h) = holder.filter(|h| h.value().is_element()) {
            *scores.entry(h.id()).or_insert(0) += 2 * b.chars;
            if let Some(g) = h.parent().filter(|g| g.value().is_element()) {
                *scores.entry(g.id()).or_insert(0) += b.chars;
            }
        }
    }
    // Ties go to the element that comes first, so the choice never depends on hash order.
    let Some((best, _)) = scores
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(id, s)| (*id, *s))
    else {
        return Vec::new();
    };
    let Some(st) = flat.stats.get(&best) else {
        return Vec::new();
    };
    let blocks = &flat.blocks[st.first_block..st.end_block];
    let prose: usize = blocks
        .iter()
        .filter(|b| is_fallback_prose(b))
        .map(|b| b.chars)
        .sum();
    if prose < FALLBACK_MIN_CHARS {
        return Vec::new();
    }
    blocks
        .iter()
        .filter(|b| keep_block(b) && !matches!(b.kind, Kind::Heading(1)))
        .map(|b| b.text.clone())
        .collect()
}

/// Least prose (non-space characters, about 70 words) that counts as a readable block
/// worth storing when the main method found nothing.
pub(crate) const FALLBACK_MIN_CHARS: usize = 400;

/// A block that reads as running text: a sentence or more, hardly any link text.
fn is_fallback_prose(b: &Block) -> bool {
    let prose_kind = match b.kind {
        Kind::Paragraph | Kind::Loose | Kind::Quote | Kind::Pre => true,
        // Table layouts put each paragraph in a cell of its own row; a data table's cells
        // rarely end a sentence.
        Kind::Cell => ends_sentence(&b.text),
        _ => false,
    };
    prose_kind && b.chars >= 40 && b.link_chars * 4 < b.chars
}

/// Whether text ends like a sentence (a closing quote or bracket may follow the stop).
fn ends_sentence(text: &str) -> bool {
    normalize::ends_with_stop(text.trim_end(), &['.', '!', '?'])
}

struct Flat {
    blocks: Vec<Block>,
    stats: HashMap<NodeId, Stats>,
}

/// Whether flattening believes what class, id and role names say about a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    Trusted,
    /// Only tags that never hold text (scripts, styles, forms) are skipped.
    Ignored,
}

/// One iterative pre-order pass: builds text blocks and per-element text statistics.
fn flatten(doc: &Html, markup: Markup) -> Flat {
    let (volume, total_volume) = match markup {
        Markup::Trusted => text_volume(doc),
        Markup::Ignored => (HashMap::new(), 0),
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut stats: HashMap<NodeId, Stats> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut skip: Option<NodeId> = None;
    let mut buf = String::new();
    let mut buf_links = 0usize;
    let mut link_depth = 0usize;

    for edge in doc.tree.root().traverse() {
        super::work::charge(1);
        match edge {
            ego_tree::iter::Edge::Open(node) => {
                if skip.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => {
                        let s: &str = t.as_ref();
                        let n = s.chars().filter(|c| !c.is_whitespace()).count();
                        if let Some(f) = stack.last_mut() {
                            f.chars += n;
                            if link_depth > 0 {
                                f.link_chars += n;
                            }
                        }
                        if link_depth > 0 {
                            buf_links += n;
                        }
                        buf.push_str(s);
                    }
                    Node::Element(el) => {
                        let name = el.name();
                        let skipped = match markup {
                            Markup::Ignored => never_text(name),
                            Markup::Trusted => match verdict(el, name, parent_name(&node)) {
                                Verdict::Keep => false,
                                Verdict::Drop => true,
                                Verdict::Doubtful => {
                                    let v = volume.get(&node.id()).copied().unwrap_or(0);
                                    (v as f64) < WEAK_SKIP_MAX_SHARE * total_volume as f64
                                }
                            },
                        };
                        if skipped {
                            skip = Some(node.id());
                            continue;
                        }
                        let is_block = BLOCK_TAGS.contains(&name);
                        if is_block {
                            flush(&mut buf, &mut buf_links, &mut blocks, &stack, doc);
                        }
                        let is_link = name == "a";
                        if is_link {
                            link_depth += 1;
                        }
                        stack.push(Frame {
                            id: node.id(),
                            is_block,
                            is_link,
                            chars: 0,
                            link_chars: 0,
                            first_block: blocks.len(),
                        });
                    }
                    _ => {}
                }
            }
            ego_tree::iter::Edge::Close(node) => {
                if let Some(s) = skip {
                    if s == node.id() {
                        skip = None;
                    }
                    continue;
                }
                if !matches!(node.value(), Node::Element(_)) {
                    continue;
                }
                if stack.last().is_some_and(|f| f.is_block) {
                    flush(&mut buf, &mut buf_links, &mut blocks, &stack, doc);
                }
                let Some(frame) = stack.pop() else { continue };
                if frame.is_link {
                    link_depth = link_depth.saturating_sub(1);
                }
                let total_chars = frame.chars;
                let total_links = frame.link_chars;
                if let Some(parent) = stack.last_mut() {
                    parent.chars += total_chars;
                    parent.link_chars += total_links;
                }
                stats.insert(
                    frame.id,
                    Stats {
                        chars: total_chars,
                        link_chars: total_links,
                        first_block: frame.first_block,
                        end_block: blocks.len(),
                    },
                );
            }
        }
    }
    flush(&mut buf, &mut buf_links, &mut blocks, &stack, doc);
    Flat { blocks, stats }
}

/// Turns pending inline text into a block owned by the innermost open block element.
fn flush(buf: &mut String, buf_links: &mut usize, blocks: &mut Vec<Block>, stack: &[Frame], doc: &Html) {
    if buf.trim().is_empty() {
        buf.clear();
        *buf_links = 0;
        return;
    }
    let text = normalize::collapse_ws(buf);
    buf.clear();
    let link_chars = std::mem::take(buf_links);
    let Some(owner) = stack.iter().rev().find(|f| f.is_block).map(|f| f.id) else {
        return;
    };
    let kind = doc
        .tree
        .get(owner)
        .and_then(|n| n.value().as_element().map(|e| kind_of(e.name())))
        .unwrap_or(Kind::Loose);
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    blocks.push(Block {
        text,
        chars,
        link_chars: link_chars.min(chars),
        kind,
        owner,
    });
}

fn kind_of(name: &str) -> Kind {
    match name {
        "p" => Kind::Paragraph,
        "h1" => Kind::Heading(1),
        "h2" => Kind::Heading(2),
        "h3" => Kind::Heading(3),
        "h4" => Kind::Heading(4),
        "h5" => Kind::Heading(5),
        "h6" => Kind::Heading(6),
        "li" | "dd" | "dt" => Kind::ListItem,
        "blockquote" => Kind::Quote,
        "pre" => Kind::Pre,
        "td" | "th" => Kind::Cell,
        _ => Kind::Loose,
    }
}

fn parent_name<'a>(node: &ego_tree::NodeRef<'a, Node>) -> &'a str {
    node.parent()
        .and_then(|p| p.value().as_element().map(|e| e.name()))
        .unwrap_or("")
}

/// Text volume (non-space characters) under each element, ignoring dropped subtrees:
/// the yardstick for deciding whether a doubtful subtree is furniture or the page.
fn text_volume(doc: &Html) -> (HashMap<NodeId, usize>, usize) {
    let mut volume: HashMap<NodeId, usize> = HashMap::new();
    let mut stack: Vec<(NodeId, usize)> = Vec::new();
    let mut skip: Option<NodeId> = None;
    let mut total = 0usize;
    for edge in doc.tree.root().traverse() {
        super::work::charge(1);
        match edge {
            ego_tree::iter::Edge::Open(node) => {
                if skip.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => {
                        let n = t.chars().filter(|c| !c.is_whitespace()).count();
                        total += n;
                        if let Some(top) = stack.last_mut() {
                            top.1 += n;
                        }
                    }
                    Node::Element(el) => {
                        if verdict(el, el.name(), parent_name(&node)) == Verdict::Drop {
                            skip = Some(node.id());
                        } else {
                            stack.push((node.id(), 0));
                        }
                    }
                    _ => {}
                }
            }
            ego_tree::iter::Edge::Close(node) => {
                if let Some(s) = skip {
                    if s == node.id() {
                        skip = None;
                    }
                    continue;
                }
                if !node.value().is_element() {
                    continue;
                }
                if let Some((id, n)) = stack.pop() {
                    volume.insert(id, n);
                    if let Some(top) = stack.last_mut() {
                        top.1 += n;
                    }
                }
            }
        }
    }
    (volume, total)
}

/// Chooses the body: returns block index ranges of the selected elements, in order.
///
/// Steps: score the ancestors of every prose block, take the best after link density, move
/// up to a common ancestor when the body is split into sections or wrapped, widen over
/// sections around photos or ads, then add siblings that read like more of the article.
fn select(doc: &Html, flat: &Flat) -> Vec<(usize, usize)> {
    let scores = Scores::of(doc, flat);
    let mut ranked: Vec<(NodeId, f64)> = scores.raw.keys().map(|&id| (id, scores.of_node(id))).collect();
    // Equal scores are ordered by node id (document order): the map's iteration
    // order is random per process, and a tie broken by it made the same page
    // parse to different bodies from one run to the next.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some(&(top, _)) = ranked.first() else {
        return vec![(0, flat.blocks.len())];
    };
    let top = sectioned_ancestor(doc, &ranked).unwrap_or(top);
    let (top, top_score) = promote_through_wrappers(doc, &scores, top);
    let top = widen(doc, flat, top);
    if doc.tree.get(top).is_none() {
        return vec![(0, flat.blocks.len())];
    }
    let mut ranges = join_siblings(doc, flat, &scores, top, top_score);
    if ranges.is_empty() {
        ranges.extend(flat.stats.get(&top).map(|st| (st.first_block, st.end_block)));
    }
    ranges
}

/// Candidate scores: each prose block adds to its first five element ancestors, less the
/// further up they are; an element's final score discounts the share of its text in links.
struct Scores<'a> {
    raw: HashMap<NodeId, f64>,
    flat: &'a Flat,
}

impl<'a> Scores<'a> {
    fn of(doc: &Html, flat: &'a Flat) -> Self {
        let mut raw: HashMap<NodeId, f64> = HashMap::new();
        for b in &flat.blocks {
            if !matches!(
                b.kind,
                Kind::Paragraph | Kind::Loose | Kind::Pre | Kind::Quote | Kind::Cell
            ) || b.chars < 25
            {
                continue;
            }
            let commas = b.text.matches([',', '，', '、']).count() as f64;
            let content = 1.0 + commas + (b.chars as f64 / 100.0).min(3.0);
            let Some(owner) = doc.tree.get(b.owner) else {
                continue;
            };
            let mut cur = if b.kind == Kind::Loose {
                Some(owner)
            } else {
                owner.parent()
            };
            for level in 0..5usize {
                let Some(n) = cur else { break };
                let Some(el) = n.value().as_element().filter(|el| el.name() != "html") else {
                    break;
                };
                let entry = raw
                    .entry(n.id())
                    .or_insert_with(|| tag_weight(el.name()) + class_weight(el));
                let divider = match level {
                    0 => 1.0,
                    1 => 2.0,
                    l => l as f64 * 3.0,
                };
                *entry += content / divider;
                cur = n.parent();
            }
        }
        Scores { raw, flat }
    }

    fn link_density(&self, id: NodeId) -> f64 {
        self.flat
            .stats
            .get(&id)
            .filter(|s| s.chars > 0)
            .map_or(0.0, |s| s.link_chars as f64 / s.chars as f64)
    }

    /// The score after link density; 0 for an element no block scored.
    fn of_node(&self, id: NodeId) -> f64 {
        self.raw.get(&id).copied().unwrap_or(0.0) * (1.0 - self.link_density(id))
    }
}

/// Several strong candidates (three of the next five within 75% of the best) under one
/// ancestor mean the body is split into sections: that ancestor is the body.
fn sectioned_ancestor(doc: &Html, ranked: &[(NodeId, f64)]) -> Option<NodeId> {
    let &(top, top_score) = ranked.first()?;
    let alternatives: Vec<NodeId> = ranked
        .iter()
        .skip(1)
        .take(5)
        .filter(|(_, s)| *s >= top_score * 0.75)
        .map(|(id, _)| *id)
        .collect();
    if alternatives.len() < 3 {
        return None;
    }
    let mut cur = doc.tree.get(top).and_then(|n| n.parent());
    while let Some(n) = cur {
        if matches!(
            n.value().as_element().map(|e| e.name()),
            Some("body" | "html") | None
        ) {
            return None;
        }
        let contained = alternatives
            .iter()
            .filter(|a| is_ancestor(doc, n.id(), **a))
            .count();
        if contained >= 3 {
            return Some(n.id());
        }
        cur = n.parent();
    }
    None
}

/// A candidate that is the only element child of a parent scoring higher is promoted to
/// that parent (the body split across wrapper elements), up to below `<body>`.
fn promote_through_wrappers(doc: &Html, scores: &Scores<'_>, mut top: NodeId) -> (NodeId, f64) {
    let mut top_score = scores.of_node(top);
    while let Some(parent) = doc.tree.get(top).and_then(|n| n.parent()) {
        let Some(pel) = parent.value().as_element() else {
            break;
        };
        if matches!(pel.name(), "body" | "html") {
            break;
        }
        let ps = scores.of_node(parent.id());
        let only_child = parent.children().filter(|c| c.value().is_element()).count() == 1;
        if ps > top_score && only_child {
            top = parent.id();
            top_score = ps;
        } else {
            break;
        }
    }
    (top, top_score)
}

/// The chosen element and the siblings that read like more of the same article: they
/// score at least a fifth of it (more easily with the same classes), or are paragraphs
/// of link-poor prose.
fn join_siblings(
    doc: &Html,
    flat: &Flat,
    scores: &Scores<'_>,
    top: NodeId,
    top_score: f64,
) -> Vec<(usize, usize)> {
    let threshold = (top_score * 0.2).max(10.0);
    let mut ranges = Vec::new();
    let Some(top_node) = doc.tree.get(top) else {
        return ranges;
    };
    let siblings: Vec<_> = match top_node.parent() {
        Some(p)
            if p.value()
                .as_element()
                .is_some_and(|e| !matches!(e.name(), "html")) =>
        {
            p.children().collect()
        }
        _ => vec![top_node],
    };
    for sib in siblings {
        let Some(st) = flat.stats.get(&sib.id()) else {
            continue;
        };
        if st.first_block >= st.end_block {
            continue;
        }
        let include = sib.id() == top || {
            let bonus = sib.value().as_element().map_or(0.0, |e| {
                if same_classes(e, top_node.value().as_element()) {
                    top_score * 0.2
                } else {
                    0.0
                }
            });
            let s = scores.raw.get(&sib.id()).copied().unwrap_or(0.0) + bonus;
            s >= threshold
                || (sib.value().as_element().is_some_and(|e| e.name() == "p")
                    && reads_as_prose(flat, scores, sib.id(), st))
        };
        if include {
            ranges.push((st.first_block, st.end_block));
        }
    }
    ranges
}

/// A sibling paragraph joins on its own merits: long and link-poor, or short, link-free
/// and ending a sentence.
fn reads_as_prose(flat: &Flat, scores: &Scores<'_>, id: NodeId, st: &Stats) -> bool {
    let ld = scores.link_density(id);
    let len = st.chars;
    if len > 80 {
        return ld < 0.25;
    }
    let ends_sentence = flat.blocks[st.first_block..st.end_block]
        .iter()
        .rev()
        .find(|b| !b.text.trim_end().is_empty())
        .is_some_and(|b| b.text.trim_end().ends_with('.'));
    len > 0 && ld == 0.0 && ends_sentence
}

/// How many ancestor levels `widen` may climb.
const WIDEN_LEVELS: usize = 6;

/// Climbs to an ancestor when what it adds is more of the same prose: articles split
/// into sections around photos or ads leave the best-scoring element holding only one
/// section. The added blocks must be mostly long, link-poor paragraphs.
fn widen(doc: &Html, flat: &Flat, top: NodeId) -> NodeId {
    let Some(mut range) = flat.stats.get(&top).map(|s| (s.first_block, s.end_block)) else {
        return top;
    };
    let mut best = top;
    let base = prose_chars(&flat.blocks[range.0..range.1]);
    // The containers the article's own paragraphs sit in ("div.post__content").
    let signatures: std::collections::HashSet<String> = flat.blocks[range.0..range.1]
        .iter()
        .filter(|b| is_prose(b))
        .filter_map(|b| container_signature(doc, b))
        .collect();
    let mut cur = doc.tree.get(top).and_then(|n| n.parent());
    let mut levels = 0;
    while let Some(n) = cur {
        levels += 1;
        if levels > WIDEN_LEVELS {
            break;
        }
        let Some(el) = n.value().as_element() else {
            break;
        };
        if matches!(el.name(), "body" | "html") {
            break;
        }
        let Some(st) = flat.stats.get(&n.id()) else {
            break;
        };
        let extra = flat.blocks[st.first_block..range.0]
            .iter()
            .chain(&flat.blocks[range.1..st.end_block]);
        let (mut prose, mut same, mut other, mut links, mut total) = (0usize, 0usize, 0usize, 0usize, 0usize);
        for b in extra {
            total += b.chars;
            links += b.link_chars;
            if is_prose(b) {
                prose += b.chars;
                if container_signature(doc, b).is_some_and(|sig| signatures.contains(&sig)) {
                    same += b.chars;
                }
            } else {
                other += b.chars;
            }
        }
        if total > 0 {
            let link_density = links as f64 / total as f64;
            let mostly_prose = prose * 2 >= other * 3;
            // Teaser excerpts of other stories are prose too, but sit in containers of
            // their own; more of the article sits in containers like the ones found.
            let same_kind = same * 5 >= prose * 4;
            // Enough added prose to matter: 200 characters, less for a short article.
            let enough = prose >= (base / 2).clamp(80, 200);
            if enough && prose * 10 >= base && mostly_prose && same_kind && link_density < 0.2 {
                best = n.id();
                range = (st.first_block, st.end_block);
            } else {
                // Something other than the article lives at this level; stop climbing.
                break;
            }
        }
        cur = n.parent();
    }
    best
}

/// A paragraph of running text: long enough and not made of links.
fn is_prose(b: &Block) -> bool {
    matches!(b.kind, Kind::Paragraph | Kind::Quote | Kind::Loose)
        && b.chars >= 60
        && b.link_chars * 5 < b.chars
}

/// Tag and class of the element holding a paragraph, which identifies the template
/// slot the paragraph was rendered into.
fn container_signature(doc: &Html, b: &Block) -> Option<String> {
    let owner = doc.tree.get(b.owner)?;
    let holder = if b.kind == Kind::Loose {
        owner
    } else {
        owner.parent()?
    };
    let el = holder.value().as_element()?;
    Some(format!("{}.{}", el.name(), el.attr("class").unwrap_or("").trim()))
}

fn prose_chars(blocks: &[Block]) -> usize {
    blocks.iter().filter(|b| is_prose(b)).map(|b| b.chars).sum()
}

fn same_classes(a: &Element, b: Option<&Element>) -> bool {
    match (a.attr("class"), b.and_then(|b| b.attr("class"))) {
        (Some(x), Some(y)) => !x.trim().is_empty() && x == y,
        _ => false,
    }
}

fn is_ancestor(doc: &Html, anc: NodeId, node: NodeId) -> bool {
    let mut cur = doc.tree.get(node);
    while let Some(n) = cur {
        if n.id() == anc {
            return true;
        }
        cur = n.parent();
    }
    false
}

/// Drops blocks inside the body that are navigation rather than prose.
fn keep_block(b: &Block) -> bool {
    if b.chars == 0 {
        return false;
    }
    let ld = b.link_chars as f64 / b.chars as f64;
    match b.kind {
        Kind::Heading(1) => false,
        Kind::ListItem => ld < 0.5,
        _ => ld < 0.6 || b.chars > 300,
    }
}

/// The fallback method, through the whole parser: pages whose template defeats the main
/// method still yield their article, and pages without one are still refused.
#[cfg(test)]
mod fallback_tests {
    use crate::parse::{parse, ContentType, Extraction, Hints, ParseError};

    const PARAS: [&str; 4] = [
        "The port authority said on Tuesday that container traffic through the harbour rose by a fifth last year, the fastest growth in a decade.",
        "Officials credited a new rail link to the inland terminal, which opened in March and cut the time goods spend waiting at the quay by half.",
        "Shipping lines have added two weekly services to Asia, and the authority expects another record year if the dredging of the channel is finished on time.",
        "Unions warned, however, that the number of dock workers has not kept pace with the traffic and asked for talks on staffing before the summer peak.",
    ];

    fn article_html() -> String {
        let paras: String = PARAS.iter().map(|p| format!("<p>{p}</p>")).collect();
        format!("<article><h1>Port traffic rises</h1>{paras}</article>")
    }

    fn page(wrapper_class: &str) -> String {
        format!(
            "<html><head><title>Port traffic rises</title></head><body>\
             <nav><a href='/'>Home</a> <a href='/news'>News</a></nav>\
             <div class=\"{wrapper_class}\">{}</div>\
             <footer><a href='/about'>About us</a></footer></body></html>",
            article_html()
        )
    }

    #[test]
    fn article_under_a_furniture_named_wrapper_is_recovered() {
        // Wrappers whose names mark them as furniture: the main method drops all text.
        for class in [
            "site comments-open",
            "share-wrapper layout",
            "page social-enabled",
        ] {
            for ct in [ContentType::Html, ContentType::Auto] {
                let a = parse(page(class).as_bytes(), ct, &Hints::default())
                    .unwrap_or_else(|e| panic!("{class}: refused: {e}"));
                assert_eq!(a.extraction, Extraction::HtmlFallback, "{class}");
                assert_eq!(a.paragraphs, PARAS, "{class}");
            }
        }
    }

    fn assert_recovered_by_fallback(html: &str) {
        let a = parse(html.as_bytes(), ContentType::Html, &Hints::default())
            .unwrap_or_else(|e| panic!("refused: {e}"));
        assert_eq!(a.extraction, Extraction::HtmlFallback);
        assert_eq!(a.paragraphs, PARAS);
    }

    /// Table layouts (common on older news sites) give each paragraph a cell of its own
    /// row; the fallback counts such cells as prose when they read as sentences.
    #[test]
    fn article_in_table_cells_is_recovered() {
        let rows: String = PARAS
            .iter()
            .map(|p| format!("<tr><td class=\"bodyText\">{p}</td></tr>"))
            .collect();
        let html = format!(
            "<html><head><title>Port traffic rises</title></head><body>\
             <div class=\"site comments-open\"><table>{rows}</table></div>\
             <table><tr><td>Price</td><td>12</td></tr><tr><td>Volume</td><td>300</td></tr></table>\
             </body></html>"
        );
        assert_recovered_by_fallback(&html);
    }

    /// When the main method settles on a scrap (a footer line) while the page holds a
    /// much longer block of prose, the longer block wins (`ExtractOptions::default`).
    #[test]
    fn a_short_main_body_loses_to_a_much_longer_block() {
        let html = format!(
            "<html><head><title>Port traffic rises</title></head><body>\
             <div class=\"share-wrapper layout\">{}</div>\
             <div class=\"story\"><p>All material on this site is copyright of the publisher, \
             who asks that you cite it when you quote it.</p></div></body></html>",
            article_html()
        );
        assert_recovered_by_fallback(&html);
    }

    /// Older templates name their parts in camelCase ("CaptionFont", "storyBody"); the
    /// names count as the hyphenated ones do, so a photo caption inside the story is
    /// furniture here as `class="caption"` would be.
    #[test]
    fn camel_case_class_names_are_read_as_words() {
        let paras: String = PARAS.iter().map(|p| format!("<p>{p}</p>")).collect();
        let html = format!(
            "<html><head><title>Port traffic rises</title></head><body>\
             <div class=\"storyBody\"><div class=\"photoBox\"><img src=\"a.jpg\">\
             <div class=\"CaptionFont\">Cranes unload a container ship at the harbour's new \
             terminal on Tuesday, the busiest day of the year so far.</div></div>{paras}</div>\
             </body></html>"
        );
        let a = parse(html.as_bytes(), ContentType::Html, &Hints::default()).expect("parses");
        assert_eq!(a.paragraphs, PARAS);
    }

    #[test]
    fn ordinary_pages_keep_the_main_method() {
        let a = parse(
            page("story-body").as_bytes(),
            ContentType::Html,
            &Hints::default(),
        )
        .expect("parses");
        assert_eq!(a.extraction, Extraction::HtmlMain);
        assert_eq!(a.paragraphs, PARAS);
    }

    #[test]
    fn pages_without_a_readable_block_are_still_refused() {
        let links: String = (0..30)
            .map(|i| format!("<li><a href='/s/{i}'>Story number {i} of the day</a></li>"))
            .collect();
        let html = format!(
            "<html><body><div class='comments-open'><ul>{links}</ul><p>Short note.</p></div></body></html>"
        );
        assert!(matches!(
            parse(html.as_bytes(), ContentType::Html, &Hints::default()),
            Err(ParseError::NoText)
        ));
    }
}
