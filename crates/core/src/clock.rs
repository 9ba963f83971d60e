//! Time as the bureau reads it: instants stored in UTC (RFC 3339), calendar dates in China
//! Standard Time (+08:00, no daylight saving), which is what every legal deadline counts in.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// UTC+8.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&cst()).date_naive()
}

/// An RFC 3339 instant, shown to users in +08:00 to the minute.
pub fn display_instant(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| s.to_owned())
}

/// Midnight (Beijing time) of a date, as ms since the Unix epoch: the archive's day boundary.
pub fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(cst())
        .single()
        .expect("fixed offset")
        .timestamp_millis()
}
