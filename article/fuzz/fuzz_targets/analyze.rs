//! Any text as title and body: `analyze` must never panic and every span it
//! returns must lie on character boundaries inside the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (title, body) = text.split_once('\n').unwrap_or(("", &text));
    let analysis = sectorwire_article::analyze::analyze(title, body);
    for entity in &analysis.entities {
        for span in &entity.mentions {
            assert!(body.get(span.start..span.end).is_some());
        }
    }
});
