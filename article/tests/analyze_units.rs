//! Behaviour on small invented sentences: negative contexts, demonyms and capitals, person-name
//! guards, name variants and reversed order, acronyms with long forms, taxonomy contracts.

use sectorwire_article::analyze::{
    analyze, split_sentences, tag_sectors, Analysis, Entity, EntityKind, Sector, SectorTag, TaggerOptions,
};

fn entity<'a>(a: &'a Analysis, kind: EntityKind, key: &str) -> Option<&'a Entity> {
    a.entities.iter().find(|e| e.kind == kind && e.key == key)
}

/// Every sector the lexicon alone gives any weight: a negative context must keep a sector out
/// of this set, not merely below the tagging threshold.
fn lexicon_tags(title: &str, body: &str) -> Vec<SectorTag> {
    let lexicon_only = TaggerOptions {
        use_model: false,
        threshold: 1e-6,
        ..TaggerOptions::default()
    };
    tag_sectors(title, body, &lexicon_only)
}

fn sectors(title: &str, body: &str) -> Vec<Sector> {
    analyze(title, body).sectors.iter().map(|t| t.sector).collect()
}

#[test]
fn energy_negative_context() {
    let body = "The young squad played with youthful energy and boundless energy in the second half. \
                Fans praised their positive energy after the final whistle.";
    let tags = lexicon_tags("A spirited display", body);
    assert!(!tags.iter().any(|t| t.sector == Sector::Energy), "{tags:?}");
}

#[test]
fn energy_positive() {
    let body = "Oil prices rose after OPEC agreed to cut crude output. Refinery margins widened and \
                natural gas futures climbed as pipeline exports fell. Analysts expect petroleum \
                product prices to stay high while the energy ministry reviews fuel subsidies.";
    assert!(sectors("Oil and gas prices climb after OPEC cut", body).contains(&Sector::Energy));
}

#[test]
fn defence_not_think_tanks_or_title_defence() {
    let body = "A think tank published a report on pension reform. The champion began her title \
                defence on Saturday.";
    let tags = lexicon_tags("Reform report", body);
    assert!(!tags.iter().any(|t| t.sector == Sector::Defence), "{tags:?}");
}

#[test]
fn evidence_is_whole_sentences_with_terms() {
    let body = "Officials met on Monday.\n\nThe navy and the army held joint military exercises near \
                the border, and defence ministers discussed missile systems.";
    let a = analyze("Military drills", body);
    let tag = a
        .sectors
        .iter()
        .find(|t| t.sector == Sector::Defence)
        .expect("defence tagged");
    let ev = &tag.evidence[0];
    assert!(body[ev.span.start..ev.span.end].starts_with("The navy"));
    assert!(body[ev.span.start..ev.span.end].ends_with("systems."));
    assert!(ev.terms.iter().any(|t| t == "navy"), "{:?}", ev.terms);
    assert!((0.0..=1.0).contains(&tag.score));
}

#[test]
fn demonyms_and_capitals_map_to_countries() {
    let a = analyze("", "Azerbaijani officials met Pakistani diplomats in Baku, and Islamabad welcomed the talks. Türkiye and Turkey are one country.");
    let az = entity(&a, EntityKind::Country, "AZ").expect("AZ");
    assert_eq!(az.name, "Azerbaijan");
    assert!(az.aliases.contains(&"Azerbaijani".to_string()) && az.aliases.contains(&"Baku".to_string()));
    assert_eq!(az.mentions.len(), 2);
    let pk = entity(&a, EntityKind::Country, "PK").expect("PK");
    assert_eq!(pk.mentions.len(), 2);
    assert_eq!(
        entity(&a, EntityKind::Country, "TR").expect("TR").mentions.len(),
        2
    );
}

#[test]
fn person_names_are_not_countries() {
    let body =
        "Chad Johnson scored twice while Michael Jordan watched. She moved to Atlanta, Georgia in May. \
                Troops from Chad and Jordan joined the exercise in Georgia.";
    let a = analyze("", body);
    for code in ["TD", "JO", "GE"] {
        let e = entity(&a, EntityKind::Country, code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(e.mentions.len(), 1, "{code}: {:?}", e.mentions);
        assert!(e.mentions[0].start > body.find("Troops").expect("present"));
    }
}

#[test]
fn lowercase_turkey_is_food() {
    let a = analyze("", "They ate roast turkey with rice.");
    assert!(entity(&a, EntityKind::Country, "TR").is_none());
}

#[test]
fn spelling_variants_merge_into_one_person() {
    let body =
        "Prime Minister Shehbaz Sharif met investors. Later, Shahbaz Sharif said the talks went well. \
                Muhammad Shehbaz Sharif thanked the hosts, and Sharif left on Friday.";
    let a = analyze("", body);
    let people: Vec<&Entity> = a
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Person)
        .collect();
    assert_eq!(people.len(), 1, "{people:?}");
    let p = people[0];
    assert_eq!(p.name, "Shehbaz Sharif");
    assert_eq!(p.role.as_deref(), Some("Prime Minister"));
    assert_eq!(p.mentions.len(), 4, "{p:?}");
    assert!(p.aliases.contains(&"Shahbaz Sharif".to_string()));
    assert!(p.aliases.contains(&"Muhammad Shehbaz Sharif".to_string()));
}

#[test]
fn reversed_names_and_surname_mentions() {
    let body =
        "Foreign Minister Bayramov Jeyhun arrived in Islamabad. Jeyhun Bayramov said ties were strong. \
                Bayramov also met students.";
    let a = analyze("", body);
    let p = entity(&a, EntityKind::Person, "Jeyhun Bayramov").expect("person");
    assert!(p.aliases.contains(&"Bayramov Jeyhun".to_string()), "{p:?}");
    assert_eq!(p.mentions.len(), 3, "{p:?}");
    assert_eq!(p.role.as_deref(), Some("Foreign Minister"));
}

#[test]
fn unrelated_people_with_one_surname_stay_apart() {
    let a = analyze(
        "",
        "President Ilham Aliyev opened the museum named after President Heydar Aliyev.",
    );
    let people: Vec<&str> = a
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Person)
        .map(|e| e.key.as_str())
        .collect();
    assert!(
        people.contains(&"Ilham Aliyev") && people.contains(&"Heydar Aliyev"),
        "{people:?}"
    );
}

#[test]
fn acronyms_pair_with_long_forms() {
    let body =
        "The Caspian Energy Research Council (CERC) published its forecast. CERC expects demand to grow. \
                The United Nations and the OIC welcomed it.";
    let a = analyze("", body);
    let cerc =
        entity(&a, EntityKind::Organisation, "Caspian Energy Research Council").expect("generic acronym");
    assert_eq!(cerc.name, "Caspian Energy Research Council");
    assert_eq!(cerc.mentions.len(), 3);
    // "Caspian" inside the organisation's name is not a place mention.
    assert!(entity(&a, EntityKind::Place, "Caspian Sea").is_none());
    assert_eq!(
        entity(
            &a,
            EntityKind::Organisation,
            "Organisation of Islamic Cooperation"
        )
        .expect("OIC")
        .name,
        "Organisation of Islamic Cooperation"
    );
    entity(&a, EntityKind::Organisation, "United Nations").expect("UN");
}

#[test]
fn agreements_are_not_organisations() {
    let a = analyze("", "Both sides praised the Preferential Trade Agreement (PTA) and the Memoranda of Understanding (MoUs).");
    assert!(
        !a.entities.iter().any(|e| e.kind == EntityKind::Organisation),
        "{:?}",
        a.entities
    );
}

#[test]
fn country_pairs_carry_sectors() {
    let body = "Pakistan and Azerbaijan signed an energy deal on oil and gas supplies, crude oil, LNG cargoes \
                and a new gas pipeline. Pakistan and Azerbaijan agreed to expand refinery and petroleum cooperation. \
                China was not part of the talks.";
    let a = analyze("Pakistan and Azerbaijan sign oil and gas deal", body);
    assert!(
        a.sectors.iter().any(|t| t.sector == Sector::Energy),
        "{:?}",
        a.sectors
    );
    let p = &a.country_pairs[0];
    assert_eq!((p.a.as_str(), p.b.as_str()), ("AZ", "PK"));
    assert_eq!(p.weight, 2.0);
    assert!(p.sectors.contains(&Sector::Energy), "{p:?}");
    assert!(!a.country_pairs.iter().any(|p| p.a == "CN" || p.b == "CN"));
}

#[test]
fn glued_sentences_are_split() {
    let body = "Both sides agreed to expand trade and defense.President Aliyev thanked Mr. Sharif in the U.S. capital.";
    let spans = split_sentences(body);
    let texts: Vec<&str> = spans.iter().map(|s| &body[s.start..s.end]).collect();
    assert_eq!(
        texts,
        vec![
            "Both sides agreed to expand trade and defense.",
            "President Aliyev thanked Mr. Sharif in the U.S. capital."
        ]
    );
}

#[test]
fn taxonomy_contract() {
    let mut slugs: Vec<&str> = Sector::ALL.iter().map(|s| s.slug()).collect();
    slugs.sort_unstable();
    slugs.dedup();
    assert_eq!(slugs.len(), 16);
    for s in Sector::ALL {
        assert_eq!(Sector::from_slug(s.slug()), Some(s));
        assert_eq!(Sector::from_slug(&s.slug().to_uppercase()), Some(s));
        let code = s.iptc_media_topic();
        assert!(
            code.starts_with("medtop:") && code.len() == 15 && code[7..].chars().all(|c| c.is_ascii_digit()),
            "{code}"
        );
        assert!(!s.label().is_empty() && s.description().ends_with('.'));
    }
    assert_eq!(Sector::from_slug("investment"), Some(Sector::Finance));
    assert_eq!(Sector::from_slug("Diplomacy"), Some(Sector::Politics));
    assert_eq!(Sector::from_slug(" defense "), Some(Sector::Defence));
    assert_eq!(Sector::from_slug("security"), Some(Sector::Defence));
    assert_eq!(Sector::from_slug("nonsense"), None);
    assert_eq!(Sector::Finance.label(), "Investment & finance");
    assert_eq!(Sector::Politics.label(), "Diplomacy & politics");
}

#[test]
fn empty_and_whitespace_inputs() {
    assert_eq!(analyze("", ""), Analysis::default());
    let a = analyze("  ", "\n\n   \n");
    assert!(a.sectors.is_empty() && a.entities.is_empty());
}

#[test]
fn generic_places_by_their_noun() {
    let body = "Floods hit the city of Sukkur and Punjab province on Monday. Sukkur was cut off.";
    let a = analyze("", body);
    let sukkur = entity(&a, EntityKind::Place, "Sukkur").expect("generic city");
    assert_eq!(sukkur.mentions.len(), 2);
    entity(&a, EntityKind::Place, "Punjab").expect("gazetteer region");
    assert!(
        a.entities.iter().all(|e| e.kind != EntityKind::Person),
        "{:?}",
        a.entities
    );
}

#[test]
fn weak_cues_do_not_make_people() {
    let body = "Time Warner said profits rose. The General Election is in May. \
                Singer Paul Rodgers joined King Crimson on stage, and actress Julia Roberts watched.";
    let a = analyze("", body);
    let people: Vec<&str> = a
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Person)
        .map(|e| e.key.as_str())
        .collect();
    assert!(people.contains(&"Julia Roberts"), "{people:?}");
    for not_person in ["Time Warner", "Election", "Crimson"] {
        assert!(!people.contains(&not_person), "{not_person} in {people:?}");
    }
}

#[test]
fn honorific_alone_makes_a_person() {
    let a = analyze(
        "",
        "Mr Blunkett resigned on Wednesday. Critics said Blunkett had no choice.",
    );
    let p = entity(&a, EntityKind::Person, "Blunkett").expect("person from Mr + surname");
    assert_eq!(p.mentions.len(), 2);
    assert_eq!(p.role, None);
}

#[test]
fn finance_bonds_of_friendship_are_not_securities() {
    let body = "The visit will strengthen the bonds of friendship and foster stronger bonds between the two nations.";
    let tags = lexicon_tags("", body);
    assert!(!tags.iter().any(|t| t.sector == Sector::Finance), "{tags:?}");
}
