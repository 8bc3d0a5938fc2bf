//! Dates for SEARCH: the UTC calendar date of INTERNALDATE (BEFORE, ON, SINCE) and the date
//! written in the Date header, in the sender's own zone (SENTBEFORE, SENTON, SENTSINCE).

use roost_proto::Date;

/// The UTC date of a Unix timestamp. The store keeps INTERNALDATE as UTC seconds without the
/// zone the client gave at APPEND, so the comparison uses the UTC date (RFC 9051 leaves the
/// zone of BEFORE/ON/SINCE to the server).
pub(crate) fn utc_date(ts: i64) -> (i64, u32, u32) {
    civil_from_days(ts.div_euclid(86_400))
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The calendar date of an RFC 5322 Date header value, as written (its own zone).
pub(crate) fn header_date(value: &[u8]) -> Option<(i64, u32, u32)> {
    let s = String::from_utf8_lossy(value);
    let dt = mail_parser::DateTime::parse_rfc822(&s)?;
    let ok = (1..=12).contains(&dt.month) && (1..=31).contains(&dt.day) && dt.year > 0;
    ok.then_some((i64::from(dt.year), u32::from(dt.month), u32::from(dt.day)))
}

pub(crate) fn key(d: &Date) -> (i64, u32, u32) {
    (i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), (1970, 1, 1));
        assert_eq!(utc_date(86_399), (1970, 1, 1));
        assert_eq!(utc_date(-1), (1969, 12, 31));
        assert_eq!(utc_date(951_782_400), (2000, 2, 29));
        assert_eq!(utc_date(1_700_000_000), (2023, 11, 14));
    }

    #[test]
    fn header_dates_keep_their_zone() {
        assert_eq!(
            header_date(b"Wed, 17 Jul 1996 23:23:25 -0700 (PDT)"),
            Some((1996, 7, 17))
        );
        assert_eq!(
            header_date(b"1 Feb 2024 00:30:00 +1400"),
            Some((2024, 2, 1))
        );
        assert_eq!(header_date(b"not a date"), None);
    }
}
