//! Hostile and degenerate inputs: each must give the right error or a best-effort
//! record, quickly, and never panic, hang or overflow the stack.

use sectorwire_article::parse::{parse, ContentType, Hints, ParseError, MAX_INPUT_BYTES};
use std::time::{Duration, Instant};

fn run(raw: &[u8], ct: ContentType) -> Result<sectorwire_article::parse::ParsedArticle, ParseError> {
    parse(raw, ct, &Hints::default())
}

/// Generous: debug builds on a shared two-core machine; a quadratic path takes minutes.
const BUDGET: Duration = Duration::from_secs(30);

#[test]
fn empty_is_empty() {
    for ct in [ContentType::Auto, ContentType::Text, ContentType::Html] {
        let e = run(b"", ct).expect_err("empty input must fail");
        assert!(matches!(e, ParseError::Empty), "{e:?}");
        assert_eq!(e.field(), "content");
    }
}

#[test]
fn whitespace_only_is_empty() {
    for raw in [&b"   "[..], b"\n\n\t\r\n", "\u{00A0}\u{2003}\n".as_bytes()] {
        let e = run(raw, ContentType::Auto).expect_err("whitespace must fail");
        assert!(matches!(e, ParseError::Empty), "{e:?}");
        assert_eq!(e.field(), "content");
    }
}

#[test]
fn binary_is_binary() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    let nuls: Vec<u8> = (0..10_000u32)
        .map(|i| if i % 3 == 0 { 0 } else { b'a' })
        .collect();
    for raw in [png, nuls] {
        for ct in [ContentType::Auto, ContentType::Text, ContentType::Html] {
            let e = run(&raw, ct).expect_err("binary must fail");
            assert!(matches!(e, ParseError::Binary), "{e:?}");
            assert_eq!(e.field(), "content");
        }
    }
}

#[test]
fn too_large_is_refused() {
    let raw = vec![b'a'; MAX_INPUT_BYTES + 1];
    let e = run(&raw, ContentType::Text).expect_err("oversized input must fail");
    match e {
        ParseError::TooLarge { len, max } => {
            assert_eq!(len, MAX_INPUT_BYTES + 1);
            assert_eq!(max, MAX_INPUT_BYTES);
        }
        other => panic!("want TooLarge, got {other:?}"),
    }
}

#[test]
fn ten_megabytes_on_one_line() {
    let sentence = "Traders in the harbour town watched prices climb again today.";
    let mut line = String::with_capacity(10 * 1024 * 1024 + 64);
    while line.len() < 10 * 1024 * 1024 {
        line.push_str(sentence);
        line.push(' ');
    }
    let started = Instant::now();
    let a = run(line.as_bytes(), ContentType::Auto).expect("one long line is still text");
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    assert_eq!(a.paragraphs.len(), 1);
    assert!(a.word_count > 1_000_000);
    assert_eq!(a.title, None);
}

#[test]
fn ten_megabytes_without_spaces() {
    let raw = "ab.Cd".repeat(2 * 1024 * 1024);
    let started = Instant::now();
    let r = run(raw.as_bytes(), ContentType::Text);
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn deeply_nested_html() {
    let n = 100_000;
    let page = format!(
        "<html><body>{}<p>Deep inside the markup a short paragraph of real text survives intact.</p>{}</body></html>",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    let started = Instant::now();
    let a = run(page.as_bytes(), ContentType::Auto).expect("text inside deep nesting");
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    assert!(a.body().contains("a short paragraph of real text"));
}

#[test]
fn deeply_nested_unclosed_and_mixed_tags() {
    let n = 100_000;
    for unit in [
        "<div>",
        "<span>",
        "<b><i>",
        "<table><tr><td>",
        "<ul><li>",
        "<blockquote>",
        "<a href=x>",
    ] {
        let page = format!(
            "{}Some words at the bottom of a very deep tree of elements.",
            unit.repeat(n / 2)
        );
        let started = Instant::now();
        let r = run(page.as_bytes(), ContentType::Html);
        assert!(started.elapsed() < BUDGET, "{unit}: took {:?}", started.elapsed());
        // Text that sits entirely inside links may be judged navigation: NoText is fine.
        assert!(r.is_ok() || matches!(r, Err(ParseError::NoText)), "{unit}: {r:?}");
    }
}

/// Bytes that are not UTF-8 in otherwise ASCII text, with no declared charset, are read as
/// the legacy encoding a sniff finds (issue 18: such pages were refused or mangled before);
/// an invalid byte in text that is otherwise valid multi-byte UTF-8 is replaced instead.
#[test]
fn invalid_utf8_is_decoded_or_replaced() {
    let mut raw = b"Officials in the harbour town said on Tuesday that ".to_vec();
    raw.extend_from_slice(&[0xC3, 0x28, 0xA0, 0xA1, 0xF0, 0x28, 0x8C, 0xBC]);
    raw.extend_from_slice(b" trade rose sharply over the quarter.");
    let a = run(&raw, ContentType::Auto).expect("mostly valid text parses");
    assert!(!a.body().contains('\u{FFFD}'), "{}", a.body());
    assert!(a.body().contains("trade rose sharply"));
    let mut utf8 = "Officials in Zürich and Genève said on Tuesday that "
        .as_bytes()
        .to_vec();
    utf8.push(0xFF);
    utf8.extend_from_slice(" trade rose sharply over the quarter, café owners said.".as_bytes());
    let b = run(&utf8, ContentType::Auto).expect("mostly valid UTF-8 parses");
    assert!(b.body().contains('\u{FFFD}'), "{}", b.body());
    assert!(b.body().contains("Zürich") && b.body().contains("café"));
}

#[test]
fn mostly_invalid_utf8_is_binary() {
    let raw: Vec<u8> = (0..4096u32).map(|i| 0x80 + (i % 64) as u8).collect();
    let e = run(&raw, ContentType::Auto).expect_err("garbage bytes");
    assert!(matches!(e, ParseError::Binary), "{e:?}");
}

#[test]
fn utf16_with_bom_is_decoded() {
    let text = "Officials in the harbour town said on Tuesday that trade rose sharply.";
    let mut raw = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        raw.extend_from_slice(&u.to_le_bytes());
    }
    let a = run(&raw, ContentType::Auto).expect("UTF-16 text parses");
    assert_eq!(a.paragraphs, vec![text.to_string()]);
}

#[test]
fn markup_without_text_is_no_text() {
    let e = run(
        b"<html><head><script>var a = 1;</script></head><body><nav><a href=/>Home</a></nav></body></html>",
        ContentType::Html,
    )
    .expect_err("no text");
    assert!(matches!(e, ParseError::NoText), "{e:?}");
    assert_eq!(e.field(), "content");
}

#[test]
fn huge_html_page() {
    let mut page = String::from("<html><body><article>");
    let mut i = 0u64;
    while page.len() < 10 * 1024 * 1024 {
        i += 1;
        page.push_str(&format!(
            "<p>Harbour officials said berth {i} would open next spring, with room for larger ships.</p>"
        ));
    }
    page.push_str("</article></body></html>");
    let started = Instant::now();
    let a = run(page.as_bytes(), ContentType::Auto).expect("big page parses");
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    assert!(a.paragraphs.len() > 50_000);
}
