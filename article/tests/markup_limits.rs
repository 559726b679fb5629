//! Parsing stays linear for attribute- and entity-heavy markup: after
//! `limit_markup`, no element reaching html5ever carries more than
//! `MAX_ATTRIBUTES` attributes, so the tokenizer's per-attribute duplicate
//! check does at most `MAX_ATTRIBUTES` comparisons per attribute (a work
//! bound, checked here by counting, not by timing). The text survives, and
//! pages within the limits pass through untouched.

use std::borrow::Cow;

use proptest::prelude::*;
use sectorwire_article::parse::nesting::{limit_markup, MAX_ATTRIBUTES};

/// One attribute in one of the quoting styles, its value full of entities.
fn attribute(i: usize, style: u8) -> String {
    match style % 4 {
        0 => format!(" a{i}=\"v&amp;{i}&#x41;\""),
        1 => format!(" a{i}='v&lt;{i}&quot;'"),
        2 => format!(" a{i}=v{i}&nbsp;"),
        _ => format!(" a{i}"),
    }
}

fn element(attrs: usize, style: u8, text: &str) -> String {
    let list: String = (0..attrs)
        .map(|i| attribute(i, style.wrapping_add(i as u8)))
        .collect();
    format!("<p{list}>{text}</p>")
}

fn texts(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let p = scraper::Selector::parse("p").expect("selector");
    doc.select(&p).map(|e| e.text().collect::<String>()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_element_keeps_more_than_the_attribute_limit(
        elements in proptest::collection::vec((0usize..700, any::<u8>(), "[a-z &;#0-9]{0,40}"), 1..5),
    ) {
        let page: String = elements
            .iter()
            .map(|(n, style, text)| element(*n, *style, &text.replace('&', "&amp;")))
            .collect();
        let out = limit_markup(&page);
        let doc = scraper::Html::parse_document(&out);
        let p = scraper::Selector::parse("p").expect("selector");
        let mut seen = 0;
        for (e, (n, _, _)) in doc.select(&p).zip(&elements) {
            let kept = e.value().attrs().count();
            prop_assert!(kept <= MAX_ATTRIBUTES, "{kept} attributes reached the parser");
            prop_assert_eq!(kept, (*n).min(MAX_ATTRIBUTES));
            seen += 1;
        }
        prop_assert_eq!(seen, elements.len());
        prop_assert_eq!(texts(&out), texts(&page));
        if elements.iter().all(|(n, _, _)| *n <= MAX_ATTRIBUTES) {
            prop_assert!(matches!(out, Cow::Borrowed(_)), "a page within the limits was rewritten");
        }
    }
}
