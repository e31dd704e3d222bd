//! RFC3339 rendering of protobuf timestamps (UTC), without a date-time dependency.

const SECONDS_PER_DAY: i64 = 86_400;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Formats `seconds` + `nanos` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`, or with
/// six fractional digits (`.ffffffZ`, truncated) when `micro` is set, like Go's
/// metav1.Time and metav1.MicroTime JSON encodings.
pub fn rfc3339(seconds: i64, nanos: i32, micro: bool) -> String {
    let nanos = i64::from(nanos);
    let seconds = seconds.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
    let nanos = nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let date = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if micro { format!("{date}.{:06}Z", nanos / 1000) } else { format!("{date}Z") }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_epoch_and_known_dates() {
        assert_eq!(rfc3339(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, 0, false), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000, 0, false), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1, 0, false), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn micro_time_keeps_six_truncated_digits() {
        assert_eq!(rfc3339(1_700_000_000, 123_456_789, true), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339(1_700_000_000, 0, true), "2023-11-14T22:13:20.000000Z");
        assert_eq!(rfc3339(1_700_000_000, 999_999_999, false), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let _ = rfc3339(i64::MAX, i32::MAX, true);
        let _ = rfc3339(i64::MIN, i32::MIN, true);
    }
}
