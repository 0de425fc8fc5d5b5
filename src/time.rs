//! Calendar arithmetic for timestamps, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 → (year, month, day), after Howard Hinnant's
/// `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The date of `at` in `zone`, as YYYY-MM-DD.
pub fn date_in(zone: &jiff::tz::TimeZone, at: jiff::Timestamp) -> String {
    at.to_zoned(zone.clone()).date().to_string()
}

/// Today's date in `zone`, as YYYY-MM-DD: the newsletter's own day.
pub fn today_in(zone: &jiff::tz::TimeZone) -> String {
    date_in(zone, jiff::Timestamp::now())
}

/// `time` as an RFC 3339 UTC timestamp, to the second.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = unix_secs(time);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_the_newsletters_own() {
        let at: jiff::Timestamp = "2026-12-03T19:30:00Z".parse().unwrap();
        let seoul = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
        assert_eq!(date_in(&seoul, at), "2026-12-04");
        assert_eq!(date_in(&jiff::tz::TimeZone::UTC, at), "2026-12-03");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_419), (2025, 11, 27));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn formats_rfc3339() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_764_259_200 + 3_723);
        assert_eq!(rfc3339(t), "2025-11-27T17:02:03Z");
    }
}
