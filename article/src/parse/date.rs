//! Reads publication instants in the forms news pages actually print, keeping the UTC
//! offset the source stated and how precise it was, so "16 June 2024" stays a day and
//! "27 March 2024 12:43 (UTC+04:00)" keeps its four-hour offset.

use super::{Precision, Published};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use regex::{Captures, Regex};
use std::sync::LazyLock;

const MONTHS: &str = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// ISO 8601 / RFC 3339 and the common "2024-03-27 12:43" variant.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"(?i)\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?)?(?P<tz>\s*(?:Z\b|[+-]\d{2}:?\d{2}\b|(?:UTC|GMT)\b))?",
    )
});

/// "16 June 2024", "16th of June, 2024", "Sunday, 16 Jun 2024".
static DMY: LazyLock<Regex> = LazyLock::new(|| {
    rx(&format!(
        r"(?i)\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{MONTHS}\.?,?\s+(?P<y>\d{{4}})\b"
    ))
});

/// "June 16, 2024", "Jun. 16 2024".
static MDY: LazyLock<Regex> = LazyLock::new(|| {
    rx(&format!(
        r"(?i)\b{MONTHS}\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b"
    ))
});

/// A clock time right after a date, with optional am/pm and zone:
/// " 12:43 (UTC+04:00)", ", 3:45 p.m. EDT", " at 09:10:05 GMT".
static TIME_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"(?i)^\s*(?:,|\||-|–|—|/|\bat\b|\s)\s*(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)?(?P<tz>\s*\(?\s*(?:(?:UTC|GMT)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?|[+-]\d{2}:?\d{2}|(?-i:[A-Z]{2,5})\b)\s*\)?)?",
    )
});

/// Zone designators inside a captured tail: "UTC+04:00", "GMT-5", "+0400", "EDT".
static ZONE: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"(?i)(?:(?P<base>UTC|GMT|Z)\s*)?(?:(?P<sign>[+-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?(?P<abbr>\b[A-Z]{2,5}\b)?",
    )
});

fn rx(pattern: &str) -> Regex {
    // The patterns are constants; an invalid one is a programming error caught by tests,
    // and matching nothing is a safe degradation.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("empty-class regex"))
}

/// A date found in a string, with where it was found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub published: Published,
    pub start: usize,
    pub end: usize,
}

/// Parses a value that is meant to be a date (a meta tag, JSON-LD, `<time datetime>`).
pub(crate) fn parse_value(s: &str) -> Option<Published> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(Published {
            utc_seconds: dt.timestamp(),
            offset_seconds: dt.offset().local_minus_utc(),
            precision: Precision::Second,
        });
    }
    if let Some(f) = find(s) {
        return Some(f.published);
    }
    // Bare epoch seconds or milliseconds, as some CMSs emit.
    if s.len() >= 9 && s.len() <= 13 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        let secs = if s.len() == 13 { n / 1000 } else { n };
        if (631_152_000..4_102_444_800).contains(&secs) {
            return Some(Published {
                utc_seconds: secs,
                offset_seconds: 0,
                precision: Precision::Second,
            });
        }
    }
    None
}

/// The publication day a URL path states ("/2024/03/27/slug", "/2024-03-27/",
/// "/20240327/"), at day precision. Only the path is read: hosts and queries carry ids
/// that look like dates. Years outside 1990-2100 are not dates.
pub(crate) fn from_url(url: &str) -> Option<Published> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let day = |y: u32, m: u32, d: u32| -> Option<Published> {
        if !(1990..=2100).contains(&y) {
            return None;
        }
        let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
        Some(Published {
            utc_seconds: date.and_hms_opt(0, 0, 0)?.and_utc().timestamp(),
            offset_seconds: 0,
            precision: Precision::Day,
        })
    };
    // Separate segments: /2024/03/27/.
    for w in parts.windows(3) {
        if let (Some(y), Some(m), Some(d)) = (num(w[0]), num(w[1]), num(w[2])) {
            if w[0].len() == 4 && w[1].len() <= 2 && w[2].len() <= 2 {
                if let Some(p) = day(y, m, d) {
                    return Some(p);
                }
            }
        }
    }
    // One segment, or the start of one: /2024-03-27/, /20240327/, /2024-03-27-slug.
    for seg in &parts {
        let b = seg.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = seg.get(r)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten()
        };
        let candidate = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
            (digits(0..4), digits(5..7), digits(8..10), b.get(10))
        } else if b.len() >= 8 {
            (digits(0..4), digits(4..6), digits(6..8), b.get(8))
        } else {
            continue;
        };
        // The date must end the segment or be followed by a separator, not more digits.
        if let (Some(y), Some(m), Some(d), next) = candidate {
            if next.is_none_or(|c| !c.is_ascii_digit()) {
                if let Some(p) = day(y, m, d) {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// Finds the first date in free text, with any time and zone printed right after it.
pub(crate) fn find(s: &str) -> Option<Found> {
    let mut best: Option<Found> = None;
    for (re, kind) in [(&*ISO, Kind::Iso), (&*DMY, Kind::Text), (&*MDY, Kind::Text)] {
        for caps in re.captures_iter(s).take(4) {
            let Some(whole) = caps.get(0) else { continue };
            if best.is_some_and(|b| b.start <= whole.start()) {
                break;
            }
            if let Some(found) = build(&caps, kind, &s[whole.end()..]) {
                best = Some(Found {
                    published: found.0,
                    start: whole.start(),
                    end: whole.end() + found.1,
                });
                break;
            }
        }
    }
    best
}

#[derive(Clone, Copy)]
enum Kind {
    Iso,
    Text,
}

/// Builds the instant from a date match; returns it with the bytes of `rest` consumed.
fn build(caps: &Captures<'_>, kind: Kind, rest: &str) -> Option<(Published, usize)> {
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let year = i32::try_from(num("y")?).ok()?;
    if !(1970..=2100).contains(&year) {
        return None;
    }
    let month = match kind {
        Kind::Iso => num("m")?,
        Kind::Text => month_number(caps.name("mon")?.as_str())?,
    };
    let date = NaiveDate::from_ymd_opt(year, month, num("d")?)?;
    let mut consumed = 0;
    let (time, precision, zone) = match kind {
        Kind::Iso if caps.name("h").is_some() => {
            let (t, p) = clock(num("h")?, num("mi")?, num("s"), None)?;
            (Some(t), p, caps.name("tz").map(|m| m.as_str()))
        }
        _ => match TIME_TAIL.captures(rest) {
            Some(t) => {
                let n = |name: &str| t.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
                match clock(n("h")?, n("mi")?, n("s"), t.name("ampm").map(|m| m.as_str())) {
                    Some((tm, p)) => {
                        consumed = t.get(0).map_or(0, |m| m.end());
                        (Some(tm), p, t.name("tz").map(|m| m.as_str()))
                    }
                    None => (None, Precision::Day, None),
                }
            }
            None => (None, Precision::Day, None),
        },
    };
    let Some(time) = time else {
        let midnight = NaiveDateTime::new(date, NaiveTime::MIN);
        return Some((
            Published {
                utc_seconds: midnight.and_utc().timestamp(),
                offset_seconds: 0,
                precision: Precision::Day,
            },
            consumed,
        ));
    };
    let offset = zone.and_then(zone_offset).unwrap_or(0);
    let local = NaiveDateTime::new(date, time);
    Some((
        Published {
            utc_seconds: local.and_utc().timestamp() - i64::from(offset),
            offset_seconds: offset,
            precision,
        },
        consumed,
    ))
}

fn clock(h: u32, mi: u32, s: Option<u32>, ampm: Option<&str>) -> Option<(NaiveTime, Precision)> {
    let mut h = h;
    if let Some(ap) = ampm {
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = ap.trim_start().starts_with(['p', 'P']);
        h = match (pm, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    let precision = if s.is_some() {
        Precision::Second
    } else {
        Precision::Minute
    };
    Some((NaiveTime::from_hms_opt(h, mi, s.unwrap_or(0))?, precision))
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let idx = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| lower.starts_with(m))?;
    u32::try_from(idx + 1).ok()
}

/// Seconds east of UTC for a zone designator; `None` when the zone is not understood.
fn zone_offset(zone: &str) -> Option<i32> {
    let z = zone.trim().trim_matches(|c| c == '(' || c == ')').trim();
    if z.is_empty() {
        return None;
    }
    let caps = ZONE.captures(z)?;
    if let Some(sign) = caps.name("sign") {
        let hours: i32 = caps.name("oh")?.as_str().parse().ok()?;
        let mins: i32 = caps.name("om").map_or(Some(0), |m| m.as_str().parse().ok())?;
        if hours > 14 || mins > 59 {
            return None;
        }
        let total = hours * 3600 + mins * 60;
        return Some(if sign.as_str() == "-" { -total } else { total });
    }
    if caps.name("base").is_some() {
        return Some(0);
    }
    let abbr = caps.name("abbr")?.as_str().to_ascii_uppercase();
    let hours = match abbr.as_str() {
        "UTC" | "GMT" | "UT" | "Z" | "WET" => 0,
        "BST" | "CET" | "WAT" | "WEST" => 1,
        "CEST" | "EET" | "SAST" | "CAT" => 2,
        "EEST" | "MSK" | "EAT" | "AST" | "TRT" => 3,
        "AZT" | "GST" => 4,
        "PKT" => 5,
        "ICT" | "WIB" => 7,
        "HKT" | "SGT" | "AWST" => 8,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" | "AKDT" => -8,
        "AKST" => -9,
        "HST" => -10,
        _ => return None,
    };
    Some(hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<(i64, i32, Precision)> {
        find(s).map(|f| {
            (
                f.published.utc_seconds,
                f.published.offset_seconds,
                f.published.precision,
            )
        })
    }

    #[test]
    fn reads_common_forms() {
        assert_eq!(
            p("27 March 2024 12:43 (UTC+04:00)"),
            Some((1_711_528_980, 14_400, Precision::Minute))
        );
        assert_eq!(
            p(" date 2025-01-13 (X)"),
            Some((1_736_726_400, 0, Precision::Day))
        );
        assert_eq!(p("June 16, 2024"), Some((1_718_496_000, 0, Precision::Day)));
        assert_eq!(p("16 June 2024"), Some((1_718_496_000, 0, Precision::Day)));
        assert_eq!(
            p("2024-06-16T10:00:00-04:00"),
            Some((1_718_546_400, -14_400, Precision::Second))
        );
        assert_eq!(
            p("June 16, 2024, 3:45 p.m. EDT"),
            Some((1_718_567_100, -14_400, Precision::Minute))
        );
    }

    #[test]
    fn reads_rfc2822() {
        let got = parse_value("Sun, 16 Jun 2024 10:00:00 +0200");
        assert_eq!(
            got,
            Some(Published {
                utc_seconds: 1_718_524_800,
                offset_seconds: 7200,
                precision: Precision::Second
            })
        );
    }
}
