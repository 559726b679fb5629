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
    let found = detect_sample(&quick);
    if found.is_some() || quick.len() < QUICK_SAMPLE_BYTES {
        // A body that fits the quick sample has nothing more to offer.
        return found;
    }
    detect_sample(&sample(paragraphs, FULL_SAMPLE_BYTES))
}

/// English function words. Several are words of other languages too ("in", "was", "a"),
/// which is why the test below also asks for "the", which no other language uses.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "an", "in", "on", "at", "that", "with", "for", "from", "said", "was",
    "were", "is", "are", "has", "have", "by", "this", "which", "its", "their", "will", "would", "been",
];

/// Fewest words for the function-word test to mean anything (~640 bytes hold ~100).
const MIN_SAMPLE_WORDS: usize = 40;

/// True for prose whose function words are plainly English: at least a quarter of the words
/// are English function words and "the" alone is at least one word in fifty (ordinary
/// English runs at ~35% and ~6%; other languages stay under ~5%, and use "the" only when
/// quoting English). Checked before whatlang, whose fixed cost (it scores every Latin-script
/// language, however short the sample) dominated parsing, because English is most of what
/// the service reads; on the labelled corpora this test never fires where whatlang would not
/// say English.
fn is_unmistakably_english(sample: &str) -> bool {
    let (mut words, mut function, mut the) = (0usize, 0usize, 0usize);
    let mut lower = String::new();
    for w in sample
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        words += 1;
        if w.len() > 5 || !w.is_ascii() {
            continue;
        }
        lower.clear();
        lower.push_str(w);
        lower.make_ascii_lowercase();
        if lower == "the" {
            the += 1;
        }
        if ENGLISH_FUNCTION_WORDS.contains(&lower.as_str()) {
            function += 1;
        }
    }
    words >= MIN_SAMPLE_WORDS && function * 4 >= words && the * 50 >= words && the >= 2
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
    use super::{detect, is_unmistakably_english};

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
}
