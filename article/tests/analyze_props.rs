//! Property tests: analyze() never panics, and every span it returns is in bounds and on char
//! boundaries, whatever UTF-8 it is given.

use proptest::prelude::*;
use sectorwire_article::analyze::{analyze, Span};

fn check_span(body: &str, s: Span) {
    assert!(
        s.start <= s.end && s.end <= body.len(),
        "{s:?} out of bounds ({})",
        body.len()
    );
    assert!(
        body.is_char_boundary(s.start) && body.is_char_boundary(s.end),
        "{s:?} not on char boundaries"
    );
}

fn check(title: &str, body: &str) {
    let a = analyze(title, body);
    for t in &a.sectors {
        assert!((0.0..=1.0).contains(&t.score), "{t:?}");
        assert!(t.evidence.len() <= 5);
        for e in &t.evidence {
            check_span(body, e.span);
        }
    }
    for e in &a.entities {
        assert!(!e.mentions.is_empty());
        for m in &e.mentions {
            check_span(body, *m);
        }
    }
    for p in &a.country_pairs {
        assert!(p.a < p.b);
    }
}

/// Text that looks like news: names, titles, acronyms, glued sentences, odd punctuation.
fn newsish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("President Ilham Aliyev ".to_string()),
        Just("Prime Minister Shehbaz Sharif said ".to_string()),
        Just("the Organization of Islamic Cooperation (OIC) ".to_string()),
        Just("defense.President ".to_string()),
        Just("oil and gas exports ".to_string()),
        Just("Türkiye’s ".to_string()),
        Just("Chad Jordan Georgia ".to_string()),
        Just("(COP) 29 ".to_string()),
        Just("U.S. ".to_string()),
        Just("\n\n".to_string()),
        Just("Mr. ".to_string()),
        Just("'s ".to_string()),
        "[A-Z][a-z]{0,8} ",
        "[A-Z]{2,5} ",
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn arbitrary_strings(title in any::<String>(), body in any::<String>()) {
        check(&title, &body);
    }

    #[test]
    fn news_like_strings(title in newsish(), body in newsish()) {
        check(&title, &body);
    }
}

/// Repetitive input: each of these took seconds or exhausted memory before the finders
/// were made to scan once (negative contexts, surnames, generic places). A quadratic
/// relapse shows here as a test that does not finish; its speed is measured in `bench/`
/// (`stages`), never timed in a test.
#[test]
fn repetitive_inputs_are_analysed() {
    let cases = [
        "youthful energy with oil ".repeat(8000),
        format!("President Ilham Aliyev spoke. {}", "Aliyev said. ".repeat(10000)),
        format!(
            "The Caspian Energy Research Council (CERC) met. {}",
            "CERC ".repeat(20000)
        ),
        "Sukkur province and Larkana district. ".repeat(4000),
        "Pakistan, India, China, Iran, Turkey and Azerbaijan met. ".repeat(2000),
        ".".repeat(100_000),
        "A ".repeat(60_000),
    ];
    for body in &cases {
        check("title", body);
    }
}
