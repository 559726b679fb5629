//! Partial responses (AIP-157): what a listing leaves out of each article
//! when the caller asks for the basic view.
//!
//! A page of twenty full records is mostly bodies and per-mention spans that
//! a result list never shows; leaving them out makes listing pages several
//! times smaller to encode, send and decode. Counts stay, so a client can
//! still rank entities, and `GetArticle` returns the full record.

use sectorwire_proto::article::Article;
use sectorwire_proto::query::ArticleView;

/// The view a request asked for, or why its value is not one.
pub fn parse(raw: i32) -> Result<ArticleView, String> {
    ArticleView::try_from(raw).map_err(|_| format!("unknown view {raw}"))
}

/// Reduces `article` to what `view` returns.
pub fn apply(article: &mut Article, view: ArticleView) {
    match view {
        ArticleView::Unspecified | ArticleView::Full => {}
        ArticleView::Basic => {
            article.body.clear();
            for tag in &mut article.sectors {
                tag.evidence.clear();
            }
            for entity in &mut article.entities {
                entity.mentions.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sectorwire_proto::article::{Entity, Evidence, SectorTag, Span};

    fn article() -> Article {
        Article {
            id: "a".into(),
            title: "Title".into(),
            body: "Body text.".into(),
            word_count: 2,
            sectors: vec![SectorTag {
                sector: "energy".into(),
                score: 0.9,
                evidence: vec![Evidence::default()],
                ..Default::default()
            }],
            entities: vec![Entity {
                key: "PK".into(),
                mention_count: 3,
                mentions: vec![Span { start: 0, end: 4 }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn basic_drops_body_and_spans_but_keeps_counts_and_tags() {
        let mut a = article();
        apply(&mut a, ArticleView::Basic);
        assert!(a.body.is_empty());
        assert!(a.sectors[0].evidence.is_empty());
        assert_eq!(a.sectors[0].sector, "energy");
        assert!(a.entities[0].mentions.is_empty());
        assert_eq!(a.entities[0].mention_count, 3);
        assert_eq!(a.word_count, 2);
        assert_eq!(a.title, "Title");
    }

    #[test]
    fn full_and_unspecified_keep_everything() {
        for view in [ArticleView::Full, ArticleView::Unspecified] {
            let mut a = article();
            apply(&mut a, view);
            assert_eq!(a, article());
        }
    }

    #[test]
    fn unknown_values_are_refused() {
        assert!(parse(7).is_err());
        assert_eq!(parse(1), Ok(ArticleView::Basic));
    }
}
