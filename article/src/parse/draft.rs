//! The intermediate record both front ends fill in, before hints and shared clean-up.
//!
//! Keeping guesses of different strength in separate fields (a stated dateline versus a
//! page banner date, a site name versus an outlet named in a disclaimer) lets the final
//! step choose by strength instead of by the order in which the front end saw them.

use super::{DateSource, Published};

#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub authors: Vec<String>,
    pub outlet: Option<String>,
    /// Outlet named only in passing (a disclaimer); used when nothing stronger exists.
    pub outlet_guess: Option<String>,
    pub syndicator: Option<String>,
    pub published: Option<Published>,
    /// Where `published` came from; `None` reads as text.
    pub published_source: Option<DateSource>,
    /// A date the page shows without saying it is the publication date (a banner).
    pub weak_published: Option<Published>,
    pub url: Option<String>,
    /// Language the markup declares; detection from the text wins when it is confident.
    pub declared_language: Option<String>,
    pub paragraphs: Vec<String>,
    /// The HTML fallback method's body, computed only when the main body is short; used
    /// when the main body cleans up to nothing or to far less.
    pub fallback_paragraphs: Vec<String>,
}
