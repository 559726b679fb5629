//! Names the body's language as an ISO 639-1 code, which is what the service's records
//! and search analyzers key on. Detection is delegated to `whatlang` (trigram models);
//! this file only bounds the work and maps its ISO 639-3 codes to two letters.

/// Detection settles well within this many bytes (a few hundred words); the cap keeps
/// the trigram model, the costliest step for plain text, cheap on any body.
const SAMPLE_BYTES: usize = 2 * 1024;

/// The body's language when the detector is confident enough to say.
pub(crate) fn detect(paragraphs: &[String]) -> Option<String> {
    let mut sample = String::with_capacity(SAMPLE_BYTES);
    for p in paragraphs {
        if sample.len() >= SAMPLE_BYTES {
            break;
        }
        sample.push_str(super::text::prefix(p, SAMPLE_BYTES - sample.len()));
        sample.push('\n');
    }
    let info = whatlang::detect(&sample)?;
    // Short samples give unreliable guesses; a wrong code is worse than none.
    if !info.is_reliable() && sample.len() < 400 {
        return None;
    }
    if info.confidence() < 0.25 {
        return None;
    }
    iso639_1(info.lang().code()).map(str::to_string)
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
