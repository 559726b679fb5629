//! Folding per-day counts into weeks or months (UTC). Pure calendar
//! arithmetic, kept apart so it is tested on plain numbers.

use std::collections::BTreeMap;

use sectorwire_proto::query::TimeBucket;

const DAY: i64 = 86_400;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Start (UTC seconds) of the bucket holding `seconds`.
pub fn bucket_start(seconds: i64, bucket: TimeBucket) -> i64 {
    let days = seconds.div_euclid(DAY);
    match bucket {
        TimeBucket::Day => days * DAY,
        // 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
        TimeBucket::Week => ((days + 3).div_euclid(7) * 7 - 3) * DAY,
        TimeBucket::Month | TimeBucket::Unspecified => {
            let (y, m, _) = civil_from_days(days);
            days_from_civil(y, m, 1) * DAY
        }
    }
}

/// Folds day counts (day start → count) into `bucket`s, oldest first.
pub fn fold(days: &BTreeMap<i64, u64>, bucket: TimeBucket) -> Vec<(i64, u64)> {
    let mut out: BTreeMap<i64, u64> = BTreeMap::new();
    for (&day, &count) in days {
        *out.entry(bucket_start(day, bucket)).or_default() += count;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_809), (2024, 3, 27));
    }

    #[test]
    fn buckets() {
        // 2024-03-27 12:43 UTC is a Wednesday.
        let t = 1_711_543_380;
        assert_eq!(bucket_start(t, TimeBucket::Day), 1_711_497_600); // 2024-03-27
        assert_eq!(bucket_start(t, TimeBucket::Week), 1_711_324_800); // Monday 2024-03-25
        assert_eq!(bucket_start(t, TimeBucket::Month), 1_709_251_200); // 2024-03-01
        let days = BTreeMap::from([(1_709_251_200, 2), (1_711_497_600, 3), (1_711_929_600, 1)]);
        assert_eq!(
            fold(&days, TimeBucket::Month),
            vec![(1_709_251_200, 5), (1_711_929_600, 1)]
        );
    }
}
