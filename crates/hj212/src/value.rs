//! Typed readings of value strings. Messages keep the exact text that was
//! sent (it is evidence); these types are what a caller computes with.

use std::fmt;

/// An exact decimal as sent (`N14.2` and friends): `mantissa × 10^-scale`.
///
/// Kept exact rather than as `f64` so that `40.10` stays `40.10` and sums
/// of emission amounts do not drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

impl Decimal {
    /// Most significant digits accepted (`N14.2` needs 16; i64 holds 18).
    pub const MAX_DIGITS: usize = 18;

    /// Reads `-?digits(.digits)?`; `None` for anything else (`N`, `1e3`, `.5`).
    ///
    /// One pass over the bytes: the archive reads every value sent with it (a month of 52
    /// outlets is 673,000), where splitting at the point and scanning again cost 175
    /// instructions a value.
    pub fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let (negative, body) = match bytes.split_first() {
            Some((b'-', body)) => (true, body),
            Some((b'+', body)) => (false, body),
            _ => (false, bytes),
        };
        let mut mantissa: i64 = 0;
        let mut digits = 0;
        // Digits before the point, once it is seen.
        let mut point = None;
        for &c in body {
            match c {
                b'0'..=b'9' if digits < Self::MAX_DIGITS => {
                    mantissa = mantissa * 10 + i64::from(c - b'0');
                    digits += 1;
                }
                b'.' if point.is_none() => point = Some(digits),
                _ => return None,
            }
        }
        let int = point.unwrap_or(digits);
        if int == 0 || point == Some(digits) {
            return None;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: (digits - int) as u8,
        })
    }

    /// The integer of `mantissa × 10^-scale`.
    pub fn mantissa(self) -> i64 {
        self.mantissa
    }

    /// Digits after the decimal point.
    pub fn scale(self) -> u8 {
        self.scale
    }

    /// The nearest `f64`, for statistics.
    pub fn to_f64(self) -> f64 {
        self.mantissa as f64 / 10f64.powi(i32::from(self.scale))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// A local timestamp `YYYYMMDDhhmmss` (optionally with 3 millisecond digits,
/// a real-world deviation). HJ 212 times are Beijing time, UTC+08:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Calendar year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// Milliseconds when sent with 17 digits (as in `QN`).
    pub millis: Option<u16>,
}

impl Timestamp {
    /// The fixed offset of HJ 212 times: UTC+08:00, in seconds.
    pub const UTC_OFFSET_SECONDS: i64 = 8 * 3600;

    /// Reads 14 digits, or 17 with milliseconds; checks the calendar.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if !(b.len() == 14 || b.len() == 17) || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'))
        };
        let t = Timestamp {
            year: num(0..4),
            month: num(4..6) as u8,
            day: num(6..8) as u8,
            hour: num(8..10) as u8,
            minute: num(10..12) as u8,
            second: num(12..14) as u8,
            millis: (b.len() == 17).then(|| num(14..17)),
        };
        let valid = (1..=12).contains(&t.month)
            && t.day >= 1
            && t.day <= days_in_month(t.year, t.month)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - Self::UTC_OFFSET_SECONDS
    }

    /// RFC 3339 with the +08:00 offset, e.g. `2016-08-01T08:58:57+08:00`.
    pub fn to_rfc3339(&self) -> String {
        let millis = self.millis.map(|m| format!(".{m:03}")).unwrap_or_default();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{millis}+08:00",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals() {
        let d = Decimal::parse("-0.041").unwrap();
        assert_eq!((d.mantissa(), d.scale()), (-41, 3));
        assert_eq!(d.to_string(), "-0.041");
        assert_eq!(Decimal::parse("40.10").unwrap().to_string(), "40.10");
        assert_eq!(Decimal::parse("63").unwrap().to_f64(), 63.0);
        for bad in [
            "",
            "N",
            "1e3",
            ".5",
            "5.",
            "1.2.3",
            "-",
            "1234567890123456789",
        ] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse("20160801085857").unwrap();
        assert_eq!(t.to_rfc3339(), "2016-08-01T08:58:57+08:00");
        // 2016-08-01T00:58:57Z
        assert_eq!(t.unix_seconds(), 1_470_013_137);
        let t = Timestamp::parse("20160824003817000").unwrap();
        assert_eq!(t.millis, Some(0));
        assert_eq!(t.to_rfc3339(), "2016-08-24T00:38:17.000+08:00");
        for bad in [
            "2016080108585",
            "20160230000000",
            "20161301000000",
            "2016080124000x",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert!(Timestamp::parse("20240229000000").is_some());
        assert!(Timestamp::parse("21000229000000").is_none());
    }

    /// The reading `Decimal::parse` implements, written as the format says it.
    fn decimal_as_written(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(body) => (true, body),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
        if int.is_empty()
            || (body.contains('.') && frac.is_empty())
            || int.len() + frac.len() > Decimal::MAX_DIGITS
            || !digits(int)
            || !digits(frac)
        {
            return None;
        }
        let mantissa: i64 = format!("{int}{frac}").parse().ok()?;
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: frac.len() as u8,
        })
    }

    proptest! {
        #[test]
        fn decimal_reads_any_text_as_the_format_says(text in "[-+.0-9a]{0,21}") {
            prop_assert_eq!(Decimal::parse(&text), decimal_as_written(&text), "{}", text);
        }

        #[test]
        fn decimal_reads_numbers_of_any_length_as_the_format_says(
            text in "[-+]?[0-9]{0,20}([.][0-9]{0,5})?",
        ) {
            prop_assert_eq!(Decimal::parse(&text), decimal_as_written(&text), "{}", text);
        }

        #[test]
        fn decimal_text_round_trips(m in -999_999_999_999i64..999_999_999_999, scale in 0u8..6) {
            let d = Decimal { mantissa: m, scale };
            prop_assert_eq!(Decimal::parse(&d.to_string()), Some(d));
        }
    }
}
