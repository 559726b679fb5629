//! Validation of `ArticleFilter`: turns the wire message into a normalised
//! [`Filter`] or a list of field violations. Pure, so every rule is unit
//! tested without a server.

use sectorwire_domain::Sector;
use sectorwire_proto::query::ArticleFilter;

pub use sectorwire_proto::status::Violation;

/// Most values accepted in one repeated filter field.
pub const MAX_VALUES: usize = 64;

/// A validated filter with values normalised the way the index stores them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Sector slugs.
    pub sectors: Vec<String>,
    /// Upper-case ISO codes.
    pub countries: Vec<String>,
    /// `"AA-BB"` with the codes sorted.
    pub country_pair: Option<String>,
    /// Lower-case entity keys.
    pub entities: Vec<String>,
    /// Lower-case outlets.
    pub outlets: Vec<String>,
    /// Lower-case authors.
    pub authors: Vec<String>,
    /// Lower-case language codes.
    pub languages: Vec<String>,
    /// Inclusive lower bound, seconds.
    pub published_after: Option<i64>,
    /// Exclusive upper bound, seconds.
    pub published_before: Option<i64>,
}

impl Filter {
    /// An explicit, versioned encoding of the filter for page-token digests.
    /// Written out field by field rather than taken from `Debug`, whose format
    /// carries no stability promise: tokens must survive upgrades.
    pub fn stable_encoding(&self) -> String {
        let list = |values: &[String]| values.join("\u{1e}");
        let bound = |b: Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
        [
            "filter/v1".to_string(),
            list(&self.sectors),
            list(&self.countries),
            self.country_pair.clone().unwrap_or_default(),
            list(&self.entities),
            list(&self.outlets),
            list(&self.authors),
            list(&self.languages),
            bound(self.published_after),
            bound(self.published_before),
        ]
        .join("\u{1f}")
    }
}

fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Normalises a country pair to the form the index stores.
pub fn pair_key(a: &str, b: &str) -> String {
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    if a <= b {
        format!("{a}-{b}")
    } else {
        format!("{b}-{a}")
    }
}

fn strings(
    values: &[String],
    field: &str,
    violations: &mut Vec<Violation>,
    normalise: impl Fn(&str) -> Option<String>,
    expected: &str,
) -> Vec<String> {
    if values.len() > MAX_VALUES {
        violations.push(Violation::new(field, format!("at most {MAX_VALUES} values")));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match normalise(value.trim()) {
            Some(v) => out.push(v),
            None => violations.push(Violation::new(
                format!("{field}[{i}]"),
                format!("{value:?} is not {expected}"),
            )),
        }
    }
    out
}

fn lower_non_empty(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 256).then(|| s.to_lowercase())
}

/// Validates and normalises a filter.
pub fn validate(filter: Option<&ArticleFilter>) -> Result<Filter, Vec<Violation>> {
    let Some(f) = filter else {
        return Ok(Filter::default());
    };
    let mut violations = Vec::new();
    let sectors = strings(
        &f.sectors,
        "filter.sectors",
        &mut violations,
        |s| Sector::from_slug(s).map(|s| s.slug().to_string()),
        "a sector (see ListSectors)",
    );
    let countries = strings(
        &f.countries,
        "filter.countries",
        &mut violations,
        |s| is_country_code(s).then(|| s.to_ascii_uppercase()),
        "an ISO 3166-1 alpha-2 code",
    );
    let country_pair = match f.country_pair.as_slice() {
        [] => None,
        [a, b]
            if is_country_code(a.trim())
                && is_country_code(b.trim())
                && !a.trim().eq_ignore_ascii_case(b.trim()) =>
        {
            Some(pair_key(a.trim(), b.trim()))
        }
        _ => {
            violations.push(Violation::new(
                "filter.country_pair",
                "must be exactly two different ISO 3166-1 alpha-2 codes",
            ));
            None
        }
    };
    let entities = strings(
        &f.entities,
        "filter.entities",
        &mut violations,
        lower_non_empty,
        "an entity name",
    );
    let outlets = strings(
        &f.outlets,
        "filter.outlets",
        &mut violations,
        lower_non_empty,
        "an outlet name",
    );
    let authors = strings(
        &f.authors,
        "filter.authors",
        &mut violations,
        lower_non_empty,
        "an author name",
    );
    let languages = strings(
        &f.languages,
        "filter.languages",
        &mut violations,
        |s| (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_lowercase()),
        "an ISO 639-1 code",
    );
    let published_after = f.published_after.map(|t| t.seconds);
    let published_before = f.published_before.map(|t| t.seconds);
    if let (Some(a), Some(b)) = (published_after, published_before) {
        if a >= b {
            violations.push(Violation::new(
                "filter.published_before",
                "must be later than filter.published_after",
            ));
        }
    }
    if violations.is_empty() {
        Ok(Filter {
            sectors,
            countries,
            country_pair,
            entities,
            outlets,
            authors,
            languages,
            published_after,
            published_before,
        })
    } else {
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_values() {
        let f = validate(Some(&ArticleFilter {
            sectors: vec!["Energy".into(), "investment".into()],
            countries: vec!["pk".into()],
            country_pair: vec!["pk".into(), "AZ".into()],
            outlets: vec!["AzerNews".into()],
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(f.sectors, vec!["energy", "finance"]);
        assert_eq!(f.countries, vec!["PK"]);
        assert_eq!(f.country_pair.as_deref(), Some("AZ-PK"));
        assert_eq!(f.outlets, vec!["azernews"]);
    }

    #[test]
    fn reports_every_bad_field() {
        let v = validate(Some(&ArticleFilter {
            sectors: vec!["energy".into(), "astrology".into()],
            countries: vec!["Pakistan".into()],
            country_pair: vec!["PK".into()],
            published_after: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 0,
            }),
            published_before: Some(prost_types::Timestamp { seconds: 5, nanos: 0 }),
            ..Default::default()
        }))
        .unwrap_err();
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "filter.sectors[1]",
                "filter.countries[0]",
                "filter.country_pair",
                "filter.published_before"
            ]
        );
    }
}
