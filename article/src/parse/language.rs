//! Names the body's language as an ISO 639-1 code, which is what the service's records
//! and search analyzers key on. Detection is delegated to `whatlang` (trigram models);
//! this file only bounds the work and maps its ISO 639-3 codes to two letters.

/// Detection settles within a few hundred bytes of running prose, so the first attempt reads
/// a short sample (at 2 KB, detection cost more than the rest of parsing together; most of
/// whatlang's cost is scoring every candidate language, which a shorter sample only trims).
/// On the labelled corpora a 640-byte lead never names a different language than a 2 KB one;
/// it only occasionally lacks the confidence to name one, and then [`FULL_SAMPLE_BYTES`] decide.
const QUICK_SAMPLE_BYTES: usize = 640;

/// The sample read when the quick one is inconclusive; the cap keeps the trigram model
/// cheap on any body.
const FULL_SAMPLE_BYTES: usize = 2 * 1024;

/// The body's language when the detector is confident enough to say.
pub(crate) fn detect(paragraphs: &[String]) -> Option<String> {
    let quick = sample(paragraphs, QUICK_SAMPLE_BYTES);
    if is_unmistakably_english(&quick) {
        return Some("en".to_string());
    }
    detect_by_whatlang(paragraphs, &quick)
}

/// What whatlang says about the body, given its quick sample.
fn detect_by_whatlang(paragraphs: &[String], quick: &str) -> Option<String> {
    let found = detect_sample(quick);
    if found.is_some() || quick.len() < QUICK_SAMPLE_BYTES {
        // A body that fits the quick sample has nothing more to offer.
        return found;
    }
    detect_sample(&sample(paragraphs, FULL_SAMPLE_BYTES))
}

/// English function words. Several are words of other languages too ("in", "was", "a"),
/// which is why the tests below also ask for "the", which no other language uses.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "an", "in", "on", "at", "that", "with", "for", "from", "said", "was",
    "were", "is", "are", "has", "have", "by", "this", "which", "its", "their", "will", "would", "been",
];

// [`FunctionWords::distinct`] has one bit per word.
const _: () = assert!(ENGLISH_FUNCTION_WORDS.len() <= u32::BITS as usize);

/// Fewest words for the function-word tests to mean anything (~640 bytes hold ~100).
const MIN_SAMPLE_WORDS: usize = 40;

/// Shortest sample the variety test reads: below it whatlang's answer hinges on whether it
/// calls its own guess reliable ([`detect_sample`]), which no word count can predict.
const MIN_VARIETY_SAMPLE_BYTES: usize = 400;

/// Distinct function words that make a sample English even when they are sparse (tables,
/// telegraphic items): other languages' text, and tables whatlang calls French or nothing,
/// share only a handful of the short ones ("a", "in", "on", "is").
const MIN_DISTINCT_FUNCTION_WORDS: u32 = 8;

/// The index of a lowercase word in [`ENGLISH_FUNCTION_WORDS`]: a `match`, which compiles
/// to a switch on the length and a few comparisons instead of a scan of the list.
fn function_word(lower: &[u8]) -> Option<usize> {
    Some(match lower {
        b"the" => 0,
        b"of" => 1,
        b"and" => 2,
        b"to" => 3,
        b"a" => 4,
        b"an" => 5,
        b"in" => 6,
        b"on" => 7,
        b"at" => 8,
        b"that" => 9,
        b"with" => 10,
        b"for" => 11,
        b"from" => 12,
        b"said" => 13,
        b"was" => 14,
        b"were" => 15,
        b"is" => 16,
        b"are" => 17,
        b"has" => 18,
        b"have" => 19,
        b"by" => 20,
        b"this" => 21,
        b"which" => 22,
        b"its" => 23,
        b"their" => 24,
        b"will" => 25,
        b"would" => 26,
        b"been" => 27,
        _ => return None,
    })
}

/// The function words of a sample, counted in one pass.
#[derive(Debug, Default, PartialEq, Eq)]
struct FunctionWords {
    words: usize,
    function: usize,
    the: usize,
    /// One bit per entry of [`ENGLISH_FUNCTION_WORDS`].
    distinct: u32,
}

impl FunctionWords {
    fn count(sample: &str) -> Self {
        let mut counts = FunctionWords::default();
        let mut lower = [0u8; 5];
        for w in sample
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            counts.words += 1;
            if w.len() > lower.len() || !w.is_ascii() {
                continue;
            }
            let lower = &mut lower[..w.len()];
            lower.copy_from_slice(w.as_bytes());
            lower.make_ascii_lowercase();
            let Some(i) = function_word(lower) else {
                continue;
            };
            counts.function += 1;
            counts.distinct |= 1 << i;
            if i == 0 {
                counts.the += 1;
            }
        }
        counts
    }
}

/// True for prose whose function words are plainly English, by either of two tests.
/// Dense: at least a quarter of the words are English function words and "the" alone is at
/// least one word in fifty (ordinary English runs at ~35% and ~6%; other languages stay
/// under ~5%, and use "the" only when quoting English). Varied: a sample long enough for
/// whatlang to answer without its reliability cut-off holds "the" twice and many different
/// function words, which is how English tables and telegraphic items look (sparse
/// function words, but not the same few). Checked before whatlang, whose fixed cost (it
/// scores every Latin-script language, however short the sample) dominated parsing,
/// because English is most of what the service reads; on the labelled corpora neither test
/// fires where whatlang would not say English (`gate_agrees_with_whatlang_on_shared_data`).
fn is_unmistakably_english(sample: &str) -> bool {
    let c = FunctionWords::count(sample);
    if c.words < MIN_SAMPLE_WORDS || c.the < 2 {
        return false;
    }
    let dense = c.function * 4 >= c.words && c.the * 50 >= c.words;
    let varied =
        sample.len() >= MIN_VARIETY_SAMPLE_BYTES && c.distinct.count_ones() >= MIN_DISTINCT_FUNCTION_WORDS;
    dense || varied
}

fn detect_sample(sample: &str) -> Option<String> {
    let info = whatlang::detect(sample)?;
    // Short samples give unreliable guesses; a wrong code is worse than none.
    if !info.is_reliable() && sample.len() < 400 {
        return None;
    }
    if info.confidence() < 0.25 {
        return None;
    }
    iso639_1(info.lang().code()).map(str::to_string)
}

/// The body's first `max` bytes (about), one paragraph per line.
fn sample(paragraphs: &[String], max: usize) -> String {
    let mut sample = String::with_capacity(max + 1);
    for p in paragraphs {
        if sample.len() >= max {
            break;
        }
        sample.push_str(super::normalize::prefix(p, max - sample.len()));
        sample.push('\n');
    }
    sample
}

/// Normalises a declared language tag ("en-US", "EN", "eng") to ISO 639-1.
pub(crate) fn normalise_tag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.len() {
        2 if primary.chars().all(|c| c.is_ascii_lowercase()) => Some(primary),
        3 => iso639_1(&primary).map(str::to_string),
        _ => None,
    }
}

fn iso639_1(code3: &str) -> Option<&'static str> {
    Some(match code3 {
        "epo" => "eo",
        "eng" => "en",
        "rus" => "ru",
        "cmn" | "zho" => "zh",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "ben" => "bn",
        "fra" => "fr",
        "deu" => "de",
        "ukr" => "uk",
        "kat" => "ka",
        "ara" => "ar",
        "hin" => "hi",
        "jpn" => "ja",
        "heb" => "he",
        "yid" => "yi",
        "pol" => "pl",
        "amh" => "am",
        "jav" => "jv",
        "kor" => "ko",
        "nob" | "nor" => "no",
        "dan" => "da",
        "swe" => "sv",
        "fin" => "fi",
        "tur" => "tr",
        "nld" => "nl",
        "hun" => "hu",
        "ces" => "cs",
        "ell" => "el",
        "bul" => "bg",
        "bel" => "be",
        "mar" => "mr",
        "kan" => "kn",
        "ron" => "ro",
        "slv" => "sl",
        "hrv" => "hr",
        "srp" => "sr",
        "mkd" => "mk",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "tam" => "ta",
        "vie" => "vi",
        "urd" => "ur",
        "tha" => "th",
        "guj" => "gu",
        "uzb" => "uz",
        "pan" => "pa",
        "aze" => "az",
        "ind" => "id",
        "tel" => "te",
        "pes" | "fas" => "fa",
        "mal" => "ml",
        "ori" => "or",
        "mya" => "my",
        "nep" => "ne",
        "sin" => "si",
        "khm" => "km",
        "tuk" => "tk",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "slk" => "sk",
        "cat" => "ca",
        "tgl" => "tl",
        "hye" => "hy",
        "cym" => "cy",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{
        detect, detect_by_whatlang, is_unmistakably_english, sample, FunctionWords, MIN_SAMPLE_WORDS,
        QUICK_SAMPLE_BYTES,
    };
    use crate::parse::{parse, ContentType, Hints};
    use sectorwire_domain::testdata::shared;

    fn paragraphs(text: &str) -> Vec<String> {
        vec![text.to_string()]
    }

    #[test]
    fn english_shortcut_only_takes_english_prose() {
        let en = "The harbour authority said on Monday that the new terminal would open in the spring, \
                  and that the operators of the old quay had been told to move their cranes to the \
                  eastern basin before the end of the year, when work on the breakwater starts.";
        assert!(is_unmistakably_english(en));
        for other in [
            "Le port a annoncé lundi que le nouveau terminal ouvrira au printemps, et que les \
             exploitants du vieux quai ont été priés de déplacer leurs grues vers le bassin est \
             avant la fin de l'année, quand les travaux de la digue commenceront à la fin du mois.",
            "Die Hafenbehörde teilte am Montag mit, dass das neue Terminal im Frühjahr öffnen werde \
             und dass die Betreiber des alten Kais ihre Kräne bis zum Jahresende in das östliche \
             Becken verlegen müssten, wenn die Arbeiten am Wellenbrecher in diesem Jahr beginnen.",
            "La autoridad portuaria dijo el lunes que la nueva terminal abrirá en primavera y que a \
             los operadores del viejo muelle se les pidió trasladar sus grúas a la dársena este \
             antes de fin de año, cuando empiecen las obras del rompeolas en el puerto de la ciudad.",
        ] {
            assert!(!is_unmistakably_english(other), "{other}");
        }
        assert_eq!(detect(&paragraphs(en)).as_deref(), Some("en"));
    }

    /// What the gate says and what whatlang says about one text, when it parses.
    struct Verdict {
        gated: bool,
        dense: bool,
        stored: Option<String>,
        whatlang: Option<String>,
    }

    fn verdict(text: &str) -> Option<Verdict> {
        let parsed = parse(text.as_bytes(), ContentType::Auto, &Hints::default()).ok()?;
        let quick = sample(&parsed.paragraphs, QUICK_SAMPLE_BYTES);
        let c = FunctionWords::count(&quick);
        Some(Verdict {
            gated: is_unmistakably_english(&quick),
            dense: c.words >= MIN_SAMPLE_WORDS
                && c.the >= 2
                && c.function * 4 >= c.words
                && c.the * 50 >= c.words,
            stored: detect(&parsed.paragraphs),
            whatlang: detect_by_whatlang(&parsed.paragraphs, &quick),
        })
    }

    /// The gate only saves work: wherever it answers, whatlang alone stores the same
    /// language, on every seed and on every third article of the shared corpora (all of
    /// them take a minute in a debug build). Also asks that the variety test fires on its
    /// own, so the check covers both tests.
    #[test]
    fn gate_agrees_with_whatlang_on_shared_data() {
        let (Some(seeds), Some(corpora)) = (shared("seeds"), shared("corpora")) else {
            return;
        };
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(&seeds).expect("seeds dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "txt") {
                texts.push(std::fs::read_to_string(&path).expect("seed"));
            }
        }
        assert!(!texts.is_empty(), "no seeds in {}", seeds.display());
        for rel in ["reuters21578/train.jsonl", "bbc/dev.jsonl"] {
            let path = corpora.join(rel);
            let all = std::fs::read_to_string(&path).expect("corpus");
            for line in all.lines().step_by(3) {
                let v: serde_json::Value = serde_json::from_str(line).expect("json line");
                texts.push(v["text"].as_str().unwrap_or_default().to_string());
            }
        }
        let (mut gated, mut varied_only) = (0, 0);
        for text in &texts {
            let Some(v) = verdict(text) else { continue };
            assert_eq!(v.stored, v.whatlang, "gate changed the language of {text:.300}");
            if v.gated {
                gated += 1;
                varied_only += usize::from(!v.dense);
                assert_eq!(v.whatlang.as_deref(), Some("en"), "{text:.300}");
            }
        }
        println!(
            "{} texts, gate answered {gated} ({varied_only} by variety alone)",
            texts.len()
        );
        assert!(
            gated * 2 > texts.len(),
            "gate answered only {gated} of {}",
            texts.len()
        );
        assert!(varied_only > 0, "the variety test never fired alone");
    }

    #[test]
    fn the_match_and_the_list_agree() {
        for (i, word) in super::ENGLISH_FUNCTION_WORDS.iter().enumerate() {
            assert_eq!(super::function_word(word.as_bytes()), Some(i), "{word}");
        }
        assert_eq!(super::function_word(b"then"), None);
    }

    #[test]
    fn variety_takes_sparse_english_but_not_tables_of_few_words() {
        // A results table in newswire shorthand with a sentence of prose: few function
        // words, but many different ones.
        let sparse = "Shr 1.22 dlrs vs 98 cts. Net 4.1 mln vs 3.3 mln. Revs 40.2 mln vs 37.9 mln. \
                      The company said the results for the year were helped by its sale of a unit \
                      which has been on the market, and that it would pay a dividend to holders of \
                      record on April 10. Backlog 61.4 mln vs 58.0 mln. Orders 12.2 mln vs 11.8 mln. \
                      Note: prior year restated. Avg shrs 3.4 mln vs 3.3 mln. Qtr net 1.1 mln vs 0.9 mln. \
                      Oper shr 1.01 dlrs vs 80 cts. Oper net 3.3 mln vs 2.7 mln. Sales 88.1 mln vs \
                      79.4 mln. Nine mths shr 3.02 dlrs vs 2.61 dlrs. Nine mths net 10.2 mln vs 8.8.";
        let c = FunctionWords::count(sparse);
        assert!(c.function * 4 < c.words, "not dense: {c:?}");
        assert!(is_unmistakably_english(sparse));
        // The same size with only a few function words repeated.
        let repeated = "Shr 1.22 dlrs vs 98 cts. The net 4.1 mln vs 3.3 mln. The revs 40.2 mln vs 37.9 \
                        mln in a year. Backlog 61.4 mln vs 58.0 mln in a qtr. Orders 12.2 mln vs 11.8 \
                        mln in a year. Avg shrs 3.4 mln vs 3.3 mln. Qtr net 1.1 mln vs 0.9 mln. Oper \
                        shr 1.01 dlrs vs 80 cts. Oper net 3.3 mln vs 2.7 mln. Sales 88.1 mln vs 79.4 \
                        mln. Nine mths shr 3.02 dlrs vs 2.61 dlrs. Nine mths net 10.2 mln vs 8.8 mln. \
                        Nine mths sales 260.3 mln vs 231.0 mln in a year. Avg shrs 3.4 mln vs 3.3.";
        assert!(repeated.len() >= 400);
        assert!(!is_unmistakably_english(repeated));
    }
}
