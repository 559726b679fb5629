//! The sentence-count rule for multi-topic articles (see the tagger's `SENTENCE_MIN`): long
//! general news that discusses several sectors a few sentences each gets every one of them,
//! lists of cooperation areas do not count towards it (they have a rule of their own: each
//! listed field is tagged), evidence spans point at the right sentences, and a short wire
//! item gets its secondary sector.

use sectorwire_article::analyze::{tag_sectors, Sector, TaggerOptions};

/// Diplomatic filler that dilutes the length-normalised evidence, as in a long op-ed.
fn filler(n: usize) -> String {
    "The two leaders praised their long friendship and mutual respect in their talks. ".repeat(n)
}

/// An invented bilateral-relations piece: five sectors, three sentences each, among filler.
fn multi_topic_body() -> String {
    let topical = [
        "Officials discussed the new railway line to the north.",
        "The national carrier will add direct flights between the two capitals.",
        "Freight operators want a faster crossing at the border.",
        "The company will build a pipeline to the coast.",
        "A new plant will supply electricity to the northern region.",
        "Officials also signed a memorandum on petroleum research.",
        "A cultural festival in the capital will show works by young painters.",
        "The national museum will lend its art to the partner country.",
        "Both countries will celebrate their shared heritage next spring.",
        "Operators expect more tourists after the rules were simplified.",
        "Hotel groups plan new buildings on the coast for travellers.",
        "Agencies reported record tourism bookings this summer.",
        "Schools will welcome pupils from the partner country.",
        "Universities agreed to expand their cooperation.",
        "Officials discussed scholarships for students.",
    ];
    let mut body = filler(40);
    for (i, s) in topical.iter().enumerate() {
        body.push_str(s);
        body.push(' ');
        body.push_str(&filler(6 + i % 3));
    }
    body
}

fn rule_off() -> TaggerOptions {
    TaggerOptions {
        min_sentences: 0,
        ..TaggerOptions::default()
    }
}

#[test]
fn multi_topic_article_gets_every_discussed_sector() {
    let body = multi_topic_body();
    let tags = tag_sectors("Leaders review bilateral ties", &body, &TaggerOptions::default());
    let got: Vec<Sector> = tags.iter().map(|t| t.sector).collect();
    for s in [
        Sector::Transport,
        Sector::Energy,
        Sector::Culture,
        Sector::Tourism,
        Sector::Education,
    ] {
        assert!(got.contains(&s), "{s:?} missing from {got:?}");
    }
    // The rule adds tags the diluted evidence alone would not give.
    let without: Vec<Sector> = tag_sectors("Leaders review bilateral ties", &body, &rule_off())
        .iter()
        .map(|t| t.sector)
        .collect();
    assert!(without.len() < got.len(), "{without:?} vs {got:?}");
    // Evidence sentences are real sentences of the body that hold the named terms.
    for t in &tags {
        assert!(!t.evidence.is_empty(), "{:?} has no evidence", t.sector);
        for e in &t.evidence {
            let text = body.get(e.span.start..e.span.end).expect("span inside body");
            let lower = text.to_lowercase();
            assert!(
                !text.contains("friendship"),
                "{:?}: filler as evidence: {text}",
                t.sector
            );
            for term in &e.terms {
                assert!(lower.contains(term.as_str()), "{term} not in {text}");
            }
        }
    }
}

#[test]
fn lists_of_cooperation_areas_do_not_feed_the_sentence_count_rule() {
    let list = "Both sides agreed to cooperate in trade, oil and gas, railways, tourism, \
                education and culture. ";
    let mut body = filler(10);
    for _ in 0..4 {
        body.push_str(list);
        body.push_str(&filler(4));
    }
    // The fields-of-cooperation rule is off here: this is about the sentence-count rule.
    let no_fields = TaggerOptions {
        list_fields: false,
        ..TaggerOptions::default()
    };
    let off = TaggerOptions {
        list_fields: false,
        ..rule_off()
    };
    let with = tag_sectors("Leaders meet", &body, &no_fields);
    let without = tag_sectors("Leaders meet", &body, &off);
    let a: Vec<Sector> = with.iter().map(|t| t.sector).collect();
    let b: Vec<Sector> = without.iter().map(|t| t.sector).collect();
    assert_eq!(a, b, "list sentences triggered the sentence-count rule");
    // ...which they would without the list guard.
    let unguarded = TaggerOptions {
        list_sectors: 0,
        ..no_fields
    };
    let c: Vec<Sector> = tag_sectors("Leaders meet", &body, &unguarded)
        .iter()
        .map(|t| t.sector)
        .collect();
    assert!(c.len() > a.len(), "{c:?} vs {a:?}");
}

/// Each sector named as a field of cooperation is tagged, with the listing sentence as
/// its evidence; cues that merely stand near each other in prose are not a list.
#[test]
fn fields_of_cooperation_are_each_tagged_with_the_listing_sentence() {
    let cases: &[(&str, &[Sector])] = &[
        (
            "These talks covered multiple areas of collaboration, such as the economic, trade, and energy sectors.",
            &[Sector::Trade, Sector::Energy],
        ),
        (
            "Both countries anticipate enhanced cooperation in trade, commerce, and defense.",
            &[Sector::Trade, Sector::Defence],
        ),
        (
            "The talks extended into strategic fields, including energy cooperation where opportunities exist.",
            &[Sector::Energy],
        ),
        (
            "They plan to explore areas for collaboration such as technology, education, healthcare, and tourism.",
            &[Sector::Technology, Sector::Education, Sector::Health, Sector::Tourism],
        ),
    ];
    for (sentence, expected) in cases {
        let body = format!("{} {sentence} {}", filler(12), filler(12));
        let start = body.find(sentence).expect("sentence in body");
        let end = start + sentence.len();
        let tags = tag_sectors("Leaders meet", &body, &TaggerOptions::default());
        let without = TaggerOptions {
            list_fields: false,
            ..TaggerOptions::default()
        };
        let before: Vec<Sector> = tag_sectors("Leaders meet", &body, &without)
            .iter()
            .map(|t| t.sector)
            .collect();
        for s in *expected {
            let tag = tags
                .iter()
                .find(|t| t.sector == *s)
                .unwrap_or_else(|| panic!("{s:?} not tagged for: {sentence}"));
            assert!(
                tag.evidence
                    .iter()
                    .any(|e| e.span.start <= start && e.span.end >= end),
                "{s:?}: the listing sentence is not evidence: {:?}",
                tag.evidence
            );
        }
        assert!(
            expected.iter().any(|s| !before.contains(s)),
            "the rule added nothing for: {sentence} (already {before:?})"
        );
    }
    // Cues of two sectors in one sentence without list glue between them stay a sentence.
    let prose = "Oil prices rose as the airline cut flights across the region.";
    let body = format!("{} {prose} {}", filler(12), filler(12));
    let tags = tag_sectors("Markets", &body, &TaggerOptions::default());
    let plain = TaggerOptions {
        list_fields: false,
        ..TaggerOptions::default()
    };
    assert_eq!(tags, tag_sectors("Markets", &body, &plain));
}

#[test]
fn single_topic_story_is_unchanged() {
    let body = "Oil prices rose after OPEC agreed to cut crude output. Refinery margins widened \
                and natural gas futures climbed as pipeline exports fell. Analysts expect \
                petroleum product prices to stay high while the energy ministry reviews fuel \
                subsidies. Shipping of crude by tanker slowed at the main port.";
    let with = tag_sectors("Oil climbs", body, &TaggerOptions::default());
    let without = tag_sectors("Oil climbs", body, &rule_off());
    assert_eq!(with, without);
}

/// A wire item whose second sector is there but secondary (see the tagger's
/// `SECONDARY_RATIO`): an oil exporter's austerity plan is energy news and public-finance
/// news. The model puts finance under its own threshold; relative to the article's top
/// sector it is clearly a topic, so it is tagged, with an evidence sentence.
#[test]
fn secondary_sector_of_a_wire_item_is_tagged() {
    let title = "ECUADOR ANNOUNCES AUSTERITY MEASURES";
    let body = "Ecuador announced austerity measures after an earthquake damaged its main \
                pipeline and halted exports. The government will cut spending by ten pct and \
                raise domestic fuel prices. The central bank said reserves had fallen sharply \
                since the quake.";
    let tags = tag_sectors(title, body, &TaggerOptions::default());
    let got: Vec<Sector> = tags.iter().map(|t| t.sector).collect();
    assert!(got.contains(&Sector::Energy), "{got:?}");
    let finance = tags
        .iter()
        .find(|t| t.sector == Sector::Finance)
        .unwrap_or_else(|| panic!("finance missing from {got:?}"));
    assert!(!finance.evidence.is_empty());
    let without = TaggerOptions {
        secondary_ratio: 0.0,
        ..TaggerOptions::default()
    };
    let before: Vec<Sector> = tag_sectors(title, body, &without)
        .iter()
        .map(|t| t.sector)
        .collect();
    assert!(
        !before.contains(&Sector::Finance),
        "the rule added nothing: {before:?}"
    );
}
