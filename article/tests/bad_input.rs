//! Hostile and degenerate inputs: each must give the right error or a best-effort
//! record, never panic, hang or overflow the stack, and cost work in proportion to
//! its size. Work is counted (`parse::work`: bytes decoded and split, DOM nodes
//! visited, and per start tag the open elements the tree builder may scan plus the
//! tag's bytes), not timed, so these checks mean the same on any machine at any load.

use sectorwire_article::parse::{parse, work, ContentType, Hints, ParseError, MAX_INPUT_BYTES};

fn run(raw: &[u8], ct: ContentType) -> Result<sectorwire_article::parse::ParsedArticle, ParseError> {
    parse(raw, ct, &Hints::default())
}

/// Work units per input byte these inputs may cost: the parser's own per-article
/// budget. Ordinary pages cost a few units per byte; a page of tags held at the depth
/// cap costs up to tens (each tag makes the tree builder scan up to `MAX_DEPTH` open
/// elements); without the cap, 100,000 nested `<div>`s cost ~50,000 units per byte.
const MAX_UNITS_PER_BYTE: u64 = work::UNITS_PER_BYTE;

/// Parses `raw` and checks its work stays within [`MAX_UNITS_PER_BYTE`].
fn run_metered(
    what: &str,
    raw: &[u8],
    ct: ContentType,
) -> Result<sectorwire_article::parse::ParsedArticle, ParseError> {
    let (result, units) = work::measure(|| run(raw, ct));
    let limit = raw.len() as u64 * MAX_UNITS_PER_BYTE;
    assert!(
        units <= limit,
        "{what}: {} bytes cost {units} work units (limit {limit})",
        raw.len()
    );
    result
}

/// Work of `make(n)` and `make(2n)`: doubling the input must at most double the work
/// (plus a margin for fixed costs), where a quadratic path would quadruple it.
fn assert_linear(what: &str, ct: ContentType, n: usize, make: impl Fn(usize) -> String) {
    let (small, large) = (make(n), make(2 * n));
    let (_, a) = work::measure(|| run(small.as_bytes(), ct));
    let (_, b) = work::measure(|| run(large.as_bytes(), ct));
    assert!(
        b <= a * 2 + a / 5 + 4096,
        "{what}: {} bytes cost {a} units, {} bytes cost {b} (more than linear)",
        small.len(),
        large.len()
    );
}

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
    let a = run_metered("one line", line.as_bytes(), ContentType::Auto).expect("one long line is still text");
    assert_eq!(a.paragraphs.len(), 1);
    assert!(a.word_count > 1_000_000);
    assert_eq!(a.title, None);
}

#[test]
fn ten_megabytes_without_spaces() {
    let raw = "ab.Cd".repeat(2 * 1024 * 1024);
    let r = run_metered("no spaces", raw.as_bytes(), ContentType::Text);
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
    let a = run_metered("nested divs", page.as_bytes(), ContentType::Auto).expect("text inside deep nesting");
    assert!(a.body().contains("a short paragraph of real text"));
    assert_linear("nested divs", ContentType::Html, 20_000, |n| {
        format!(
            "{}<p>Deep inside the markup a short paragraph survives.</p>{}",
            "<div>".repeat(n),
            "</div>".repeat(n)
        )
    });
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
        let r = run_metered(unit, page.as_bytes(), ContentType::Html);
        assert_linear(unit, ContentType::Html, 10_000, |n| {
            format!(
                "{}Some words at the bottom of a very deep tree of elements.",
                unit.repeat(n)
            )
        });
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
    let a = run_metered("huge page", page.as_bytes(), ContentType::Auto).expect("big page parses");
    assert!(a.paragraphs.len() > 50_000);
}

/// One element with many unique attributes, as the tokenizer's duplicate check saw
/// them (quadratic before `nesting::MAX_ATTRIBUTES`), and entity-heavy values.
#[test]
fn attribute_and_entity_heavy_elements() {
    let element = |n: usize| {
        let attrs: String = (0..n)
            .map(|i| format!(" data-a{i}=\"v&amp;{i}&#x41;\""))
            .collect();
        format!("<html><body><p{attrs}>Officials in the harbour town said trade rose sharply over the quarter.</p></body></html>")
    };
    let page = element(80_000);
    let a = run_metered("80,000 attributes", page.as_bytes(), ContentType::Html).expect("text survives");
    assert!(a.body().contains("trade rose sharply"));
    assert_linear("attributes", ContentType::Html, 20_000, element);
}

/// The per-article work budget: tags held just under the depth cap make the tree builder
/// scan ~255 open elements each (85 units per byte of `<p>`), over the budget of
/// `work::UNITS_PER_BYTE`. The page is refused with a `content` error after the linear
/// tag scan, before html5ever runs, instead of being parsed at that cost.
#[test]
fn markup_over_the_work_budget_is_refused_before_the_tree_is_built() {
    let page = format!("{}{}", "<div>".repeat(255), "<p>".repeat(200_000));
    let (result, units) = work::measure(|| run(page.as_bytes(), ContentType::Html));
    match result {
        Err(e @ ParseError::TooComplex { .. }) => {
            assert_eq!(e.field(), "content");
            assert!(e.to_string().contains("too costly"), "{e}");
        }
        other => panic!("want TooComplex, got {other:?}"),
    }
    // Decoding and the tag scan only: no DOM nodes were visited.
    let scan_only = page.len() as u64 * 2 + 255 * 255 + 200_000 * 255;
    assert!(
        units <= scan_only,
        "{units} units spent, the scan alone is {scan_only}"
    );
    // An ordinary page of the same size is well within the budget.
    let fine = "<p>Harbour officials said the berth would open next spring.</p>".repeat(10_000);
    assert!(run_metered("ordinary page", fine.as_bytes(), ContentType::Html).is_ok());
}
