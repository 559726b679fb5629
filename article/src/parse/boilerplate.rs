//! Recognises page furniture that survives scraping as text: share and follow prompts,
//! comment forms, "Related Articles" rails, disclaimers, photo credits, font-size
//! widgets and obfuscated e-mail placeholders. None of it is the article, and left in it
//! would pollute sector tagging, entity spans and duplicate detection downstream.
//!
//! Rules match whole lines (after case and punctuation folding), never substrings of a
//! sentence, so an article that merely mentions "subscribers" or a photo keeps its text.

use super::{normalize, outlet};
use aho_corasick::AhoCorasick;
use regex::RegexSet;
use std::sync::LazyLock;

/// Whole-line furniture, matched against the folded (lower-case, ASCII-quote) line,
/// each with the longest line (in characters) it may claim: a short "Read more: ..."
/// is furniture, a long sentence that happens to start the same way is not. Lengths are
/// checked outside the regexes because counted repeats of `.` blow up the automaton
/// and push the regex engine onto its slow path.
#[rustfmt::skip]
const FURNITURE_RULES: &[(&str, usize)] = &[
    (r"^(back to top|top of (the )?page|scroll to top|go to top|to top)$", 320),
    (r"^(related|more|latest|recent|popular|trending|top|other|featured|recommended|editor's picks|must read|most (read|viewed|popular|shared))( (articles?|posts?|stories|news|content|coverage|reading|headlines|videos?|topics))?( see more)?:?$", 320),
    (r"^(see more|see all|show more|load more|view more|more news|read more|read next|read also|also read|see also|continue reading|keep reading|more on this( story)?|you (may|might) (also )?like|you may be interested in|recommended for you|don't miss|in case you missed it|related coverage)\b.*$", 120),
    (r"^please (enter|provide) your (comment|name|e-?mail|email address|website)( here)?[!.]?$", 320),
    (r"^(leave a (reply|comment)|post a comment|add a comment|write a comment|comments?|\d+ comments?|no comments( yet)?|show comments|view comments|cancel reply|reply|log in to comment|join the (conversation|discussion))[.!:]?$", 320),
    (r"^(you must be logged in to post a comment|save my name, e-?mail,? and website in this browser.*|your e-?mail address will not be published.*|required fields are marked.*)$", 320),
    (r"^(follow|like|join|find|subscribe to|connect with) us( on| at| via)?\b.*$", 120),
    (r"^(share( this( article| story| post| page)?| on \w+| via \w+| article| the story)?|sharing is caring)[:!.]?$", 320),
    (r"^(subscribe|sign up|sign in|log ?in|register|newsletter|get the newsletter|join our newsletter)\b.*$", 140),
    (r"^(tweet|e-?mail|print|facebook|twitter|x|linkedin|whatsapp|telegram|pinterest|reddit|copy link|copy|link copied|messenger|vk|flipboard)( \| ?(tweet|e-?mail|print|facebook|twitter|x|linkedin|whatsapp|telegram|pinterest|reddit|copy link))*$", 320),
    (r"^\(?(photo|photos|image|images|picture|pictures|pic|credit|credits|photo credit|image credit|image source|illustration|file photo|graphic|top image|main image|featured image)(\s*[:/|]\s*.*|\s+by\s+.*|\s+-\s+.*)?\)?$", 100),
    (r"^.*/\s*(getty images|shutterstock|afp|reuters|ap photo|ap|epa|istock|istockphoto|alamy|unsplash)( via getty images)?\)?$", 120),
    (r"^(image|photo|picture|slide|video) \d+ (of|/) \d+$", 320),
    (
        r"^\(?(additional )?(reporting|writing|editing|research|compiled|produced) by .*$", 320),
    (r"^.* contributed (to this (report|story|article)|reporting)\b.*$", 320),
    (r"^(posted|published|updated|last updated|first published) (on|at|by)\b.*$", 120),
    (r"^(like this:?|like loading\.*|loading\.*)$", 320),
    (
        r"^(popular|trending|most popular|most read|more) (on|in|at|from) .*$", 80),
    (r"^video\s*\d{1,2}:\d{2}.*$", 60),
    (
        r"^(reading time|read time|tempo de leitura|tiempo de lectura|temps de lecture|lesezeit|tempo di lettura)\s*:?.*$", 64),
    (r"^(iklan|anzeige|werbung|publicidad|publicité|pubblicità|publicidade|реклама|reklama|advertentie|annons|mainos|reklam)$", 320),
    (r"^(this (slideshow|video|gallery|content|feature|page|site) requires javascript|(please )?enable javascript\b).*$", 120),
    (r"^(tell us what you think|what do you think\?|have your say|explore further|we'd love to hear from you)\b.*$", 80),
    (r"^follow\s.*\b(on|at) (facebook|twitter|x|instagram|linkedin|youtube|tiktok|threads|telegram)\b.*$", 200),
    (r"^\[\w+[^\]]*\].*\[/\w+\]$", 240),
    (
        r"^this (document|article|material|content) is (subject to|protected by) copyright\b.*$", 320),
    (r"^(\+\s*)?[↺⟲⟳]?\s*[-−]?\s*\d{1,2}\s*px$", 320),
    (r"^(a\s*[+-]?\s*){1,3}$", 320),
    (r"^(font size|text size|reset|zoom)\s*[:+-]?.*$", 60),
    (r"^\[?e-?mail(\s)protected\]?$", 320),
    (
        r"^(advertisement|advertising|advert|sponsored( content)?|ad|ads|promoted|story continues below( advertisement)?|article continues below( advertisement)?|scroll to continue( with content)?|continue reading (the )?(main )?story( below)?)$", 320),
    (r"^(copyright\s*(©|\(c\))?\s*\d{4}|©|\(c\)\s*\d{4}|all rights reserved).*$", 200),
    (r"^(tags?|topics?|filed under|categories|category|keywords?)\s*:.*$", 320),
    (r"^(we use cookies|this (web)?site uses cookies|accept( all)? cookies).*$", 320),
    (r"^(click here|tap here|download (the|our) app|get the app|listen to (this )?article|listen now|watch now|watch:|play video).*$", 140),
    (r"^(menu|search|home|skip to (main )?content|toggle navigation|close|open|next|previous|prev|next article|previous article|loading\.*|print this page|print article)$", 320),
    (r"^(updated|published|posted|last updated|first published)\s*:?\s*$", 320),
];

static FURNITURE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(FURNITURE_RULES.iter().map(|(p, _)| *p)).unwrap_or_else(|_| RegexSet::empty())
});

/// Lines after which the rest of a page is navigation or reader comments.
static END_MARKERS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"^(related|more|latest|recent|other|recommended)( (articles?|posts?|stories|news|headlines))?( see more)?:?$",
        r"^please enter your comment[!.]?$",
        r"^(leave a (reply|comment)|post a comment|add a comment|\d+ comments?|comments)[.!:]?$",
        r"^(you (may|might) (also )?like|read next|more stories|more from \S.*|latest see more|latest news)$",
    ])
    .unwrap_or_else(|_| RegexSet::empty())
});

/// Headings that only ever open a reader-comment section ("Comments are now closed for
/// this story", "Reader comments (39)"). Unlike [`END_MARKERS`] they cut wherever they
/// stand once an article's worth of text precedes them: a long comment thread puts them
/// early in the page's text, where the positional rule would keep every comment.
static COMMENT_SECTION_MARKERS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"^comments (are|have been) (now )?closed( for this (story|article|post|entry|item))?[.!]?$",
        r"^(reader|readers|your|user|visitor)s?'? comments( \(\d+\))?:?$",
        r"^comments \(\d+\):?$",
        r"^\d+ (comments?|responses?|replies) (to|on|for) \S.*$",
        r"^please (e-?mail|contact|write to) us to report (offensive|abusive|inappropriate) comments[.!]?$",
    ])
    .unwrap_or_else(|_| RegexSet::empty())
});

/// Article text (characters) that must precede a comment-section heading for it to cut.
const COMMENT_CUT_MIN_CHARS: usize = 600;

/// True when a line can only head a reader-comment section.
pub(crate) fn is_comment_section_marker(line: &str) -> bool {
    line.chars().count() <= 80 && COMMENT_SECTION_MARKERS.is_match(&fold_line(line))
}

/// Phrases that only appear in an outlet's legal disclaimer, never in reporting.
#[rustfmt::skip]
const DISCLAIMER_PHRASES: &[&str] = &[
    "does not carry any responsibility", "do not carry any responsibility",
    "may not coincide with the view", "does not necessarily reflect the view",
    "do not necessarily reflect the view", "do not necessarily reflect the opinion",
    "does not necessarily reflect the opinion", "the views expressed in this article are",
    "the opinions expressed in this article are", "the article expresses the personal opinion",
    "is solely responsible for the content",
];

/// True for a line that is page furniture in its entirety.
pub(crate) fn is_furniture(line: &str) -> bool {
    if line.chars().count() > 320 {
        return false;
    }
    let folded = fold_line(line);
    if folded.is_empty() {
        return true;
    }
    if !FURNITURE.is_match(&folded) {
        return false;
    }
    let chars = folded.chars().count();
    FURNITURE
        .matches(&folded)
        .iter()
        .any(|i| FURNITURE_RULES.get(i).is_some_and(|(_, max)| chars <= *max))
}

/// True when a line marks the start of a trailing rail of links or comments.
pub(crate) fn is_end_marker(line: &str) -> bool {
    line.chars().count() <= 60 && END_MARKERS.is_match(&fold_line(line))
}

static DISCLAIMERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(DISCLAIMER_PHRASES)
        .ok()
});

/// True for an outlet disclaimer paragraph.
pub(crate) fn is_disclaimer(line: &str) -> bool {
    line.len() <= 2800
        && line.chars().count() <= 700
        && DISCLAIMERS.as_ref().is_some_and(|ac| ac.is_match(line))
}

/// Folds case and quotes, and trims the punctuation and symbols scrapers leave around
/// furniture ("• Share", "Related Articles »").
fn fold_line(line: &str) -> String {
    let folded = normalize::fold(line);
    folded
        .trim_matches(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '•' | '»'
                        | '«'
                        | '›'
                        | '‹'
                        | '|'
                        | '>'
                        | '<'
                        | '→'
                        | '←'
                        | '*'
                        | '#'
                        | '–'
                        | '—'
                        | '·'
                        | '▶'
                        | '►'
                )
        })
        .to_string()
}

/// Removes furniture paragraphs, disclaimers (remembering the outlet they name),
/// repeated titles and the trailing rail after an end marker; strips inline e-mail
/// placeholders.
pub(crate) fn clean_paragraphs(
    paragraphs: Vec<String>,
    title: Option<&str>,
    outlet_guess: &mut Option<String>,
) -> Vec<String> {
    let title_key = title.map(title_key);
    let total = paragraphs.len();
    let mut out = Vec::with_capacity(total);
    // An end marker starts the trailing rail when it sits in the last third of the page
    // or only short teaser lines follow it.
    // teasers_from[i]: every paragraph from i on is teaser-short (computed once, so
    // many markers cannot make this quadratic).
    let mut teasers_from = vec![true; total + 1];
    for i in (0..total).rev() {
        teasers_from[i] = teasers_from[i + 1] && paragraphs[i].chars().count() <= 150;
    }
    let mut cut = total;
    let mut chars_before = 0usize;
    for (i, p) in paragraphs.iter().enumerate() {
        if chars_before >= COMMENT_CUT_MIN_CHARS && is_comment_section_marker(p) {
            cut = i;
            break;
        }
        chars_before += p.chars().count();
        if i > 0 && is_end_marker(p) {
            let only_teasers = teasers_from[i + 1];
            if i * 3 >= total * 2 || (only_teasers && i * 2 >= total) {
                cut = i;
                break;
            }
        }
    }
    for p in paragraphs.into_iter().take(cut) {
        if is_furniture(&p) {
            continue;
        }
        if is_disclaimer(&p) {
            if outlet_guess.is_none() {
                *outlet_guess = outlet::from_disclaimer(&p);
            }
            continue;
        }
        if title_key
            .as_deref()
            .is_some_and(|t| !t.is_empty() && p.len() <= t.len() * 4 + 64 && t == title_key_of(&p))
        {
            continue;
        }
        let p = strip_email_placeholders(&p);
        if !p.is_empty() {
            out.push(p);
        }
    }
    out
}

fn title_key(t: &str) -> String {
    title_key_of(t)
}

/// A comparison key that ignores case, quotes and punctuation.
pub(crate) fn title_key_of(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| c.is_alphanumeric()) {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Cloudflare-style "[email protected]" placeholders carry no information.
fn strip_email_placeholders(p: &str) -> String {
    if !p.contains("protected]") {
        return p.to_string();
    }
    let cleaned = p
        .replace("[email\u{a0}protected]", "")
        .replace("[email protected]", "");
    normalize::collapse_ws(&cleaned)
}

#[cfg(test)]
mod tests {
    use super::{clean_paragraphs, is_furniture};

    #[test]
    fn recognises_furniture_lines() {
        for line in [
            "Related Articles",
            "Latest See more",
            "Please enter your comment!",
            "Follow us on Twitter @Example",
            "Photo: Shutterstock",
            "+ ↺ − 16 px",
            "[email protected]",
            "back to top",
            "Read more: Harbour fees rise again",
        ] {
            assert!(is_furniture(line), "{line:?}");
        }
    }

    #[test]
    fn rules_avoid_counted_wildcards() {
        // `.{0,80}` compiles to a huge automaton and silently moved matching onto the
        // regex crate's slow path (5x slower parsing); lengths go in the table instead.
        for (pattern, _) in super::FURNITURE_RULES {
            assert!(!pattern.contains(".{"), "{pattern}");
        }
    }

    /// A comment-section heading cuts a long thread off the article wherever it stands,
    /// but only after an article's worth of text: near the top it is a link to the thread.
    #[test]
    fn comment_section_headings_cut_the_thread() {
        let article: Vec<String> = (0..8)
            .map(|i| format!("Paragraph {i} of the report: the harbour board met on Tuesday and agreed to widen the channel."))
            .collect();
        let comments: Vec<String> = (0..40).map(|i| format!("Reader {i}")).chain((0..40).map(|i| {
            format!("Comment {i}: I think the board should have asked the fishermen before spending the money.")
        })).collect();
        for heading in [
            "Comments are now closed for this story",
            "Reader comments (40)",
            "40 responses to \"Harbour plan\"",
        ] {
            let page: Vec<String> = article
                .iter()
                .cloned()
                .chain(std::iter::once(heading.to_string()))
                .chain(comments.iter().cloned())
                .collect();
            let mut outlet = None;
            assert_eq!(clean_paragraphs(page, None, &mut outlet), article, "{heading}");
        }
        // At the top (a link to the thread under the headline) it cuts nothing.
        let page: Vec<String> = std::iter::once("Reader comments (40)".to_string())
            .chain(article.iter().cloned())
            .collect();
        let mut outlet = None;
        assert_eq!(clean_paragraphs(page, None, &mut outlet).len(), article.len() + 1);
    }

    #[test]
    fn keeps_sentences_that_start_alike() {
        let long = "Read more widely, the harbour master told the apprentices on Tuesday, because \
                    the tide tables alone will not teach anyone how a crowded port behaves when \
                    the wind turns against the ebb in the narrow channel.";
        for line in [
            long,
            "Share prices fell sharply on Monday.",
            "Photographs of the harbour were shown at the council meeting on Tuesday evening.",
        ] {
            assert!(!is_furniture(line), "{line:?}");
        }
    }
}
