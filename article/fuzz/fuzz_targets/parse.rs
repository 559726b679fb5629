//! Any bytes, in any content-type mode, with or without hints: `parse` must
//! return a record or an error, never panic, and the record's body must be
//! valid for the analyser's byte spans.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sectorwire_article::parse::{parse, ContentType, Hints};

fuzz_target!(|data: &[u8]| {
    let mode = match data.first().map(|b| b % 3) {
        Some(0) => ContentType::Auto,
        Some(1) => ContentType::Text,
        _ => ContentType::Html,
    };
    let hints = Hints {
        title: (data.len() % 2 == 0).then(|| "Given title".to_string()),
        ..Hints::default()
    };
    if let Ok(article) = parse(data, mode, &hints) {
        let body = article.body();
        let analysis = sectorwire_article::analyze::analyze(article.title.as_deref().unwrap_or(""), &body);
        for tag in &analysis.sectors {
            for evidence in &tag.evidence {
                assert!(body.get(evidence.span.start..evidence.span.end).is_some());
            }
        }
    }
});
