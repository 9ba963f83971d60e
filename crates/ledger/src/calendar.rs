//! Counting the law's days: calendar days and working days (工作日), with the State Council's
//! holidays and make-up working days (调休上班) kept as data.
//!
//! Conventions (assessment.md §2.3, read against the law's text):
//! - the day a period starts is not counted: N days after day D end at the end of day D + N;
//! - in 行政处罚法 "二日、三日、五日、七日" are working days (Art 85), and so are 行政强制法's
//!   periods of ten days or less (Art 69); longer periods are calendar days;
//! - a period whose last day is not a working day ends on the next working day (民事诉讼法
//!   Art 85, which 处罚法 Art 61 applies to service): an assumption applied to every period,
//!   so no act done on the first working day after a holiday is called late.
//!
//! The holidays of 2022–2025 come with the build (`data/holidays-cn.csv`, from the yearly
//! 国办发明电 notices); an administrator adds later years to the `holidays` table
//! ([`save_year`]). Outside the known years only weekends are days off, and
//! [`Calendar::knows`] says so, so a check can say its count is provisional.

use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::store::{Db, Result};

const BUILTIN_CSV: &str = include_str!("../data/holidays-cn.csv");

/// The built-in days, parsed once: every page that counts working days loads a calendar.
static BUILTIN: std::sync::LazyLock<Vec<Day>> =
    std::sync::LazyLock::new(|| parse_csv(BUILTIN_CSV).expect("the built-in holiday list parses"));

/// A day the notices name: a statutory holiday, or a weekend day worked instead (调休上班).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    /// `true` for a holiday, `false` for a make-up working day.
    pub off: bool,
    pub name: String,
    pub source: String,
}

/// Which days are working days.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
    years: BTreeSet<i32>,
    /// Whether each day from 1 January of the first known year to 31 December of the last is
    /// a working day, by days from `first`: the checks count working days one day at a time,
    /// several periods a case, a million cases at a time; an index, not two hash lookups.
    working: Vec<bool>,
    /// The first day of `working`, as days from the Common Era.
    first: i32,
}

impl FromIterator<Day> for Calendar {
    fn from_iter<I: IntoIterator<Item = Day>>(days: I) -> Self {
        let mut c = Calendar::default();
        for d in days {
            c.years.insert(d.day.year());
            if d.off {
                c.holidays.insert(d.day);
            } else {
                c.workdays.insert(d.day);
            }
        }
        let (Some(&from), Some(&to)) = (c.years.first(), c.years.last()) else {
            return c;
        };
        let start = NaiveDate::from_ymd_opt(from, 1, 1).expect("a year's first day");
        let end = NaiveDate::from_ymd_opt(to, 12, 31).expect("a year's last day");
        c.first = start.num_days_from_ce();
        c.working = start
            .iter_days()
            .take_while(|d| *d <= end)
            .map(|d| c.listed_working_day(d))
            .collect();
        c
    }
}

/// Parses `date,kind,name,source` lines (`kind` is holiday or workday); the error names the
/// line.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<Day>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let n = i + 1;
        let [date, kind, name, rest @ ..] = cols.as_slice() else {
            return Err(format!("第{n}行：应为“日期,类型,名称,来源”四列"));
        };
        let day = date
            .parse::<NaiveDate>()
            .map_err(|_| format!("第{n}行：日期“{date}”应为YYYY-MM-DD"))?;
        let off = match *kind {
            "holiday" | "节假日" | "休" => true,
            "workday" | "调休上班" | "班" => false,
            other => return Err(format!("第{n}行：类型“{other}”应为holiday或workday")),
        };
        out.push(Day {
            day,
            off,
            name: name.to_string(),
            source: rest.first().copied().unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}

impl Calendar {
    /// The holidays that come with the build (2022–2025).
    pub fn builtin() -> Calendar {
        BUILTIN.iter().cloned().collect()
    }

    /// Each known year with its number of holidays and make-up working days.
    pub fn years(&self) -> Vec<(i32, usize, usize)> {
        self.years
            .iter()
            .map(|y| {
                let of = |set: &HashSet<NaiveDate>| set.iter().filter(|d| d.year() == *y).count();
                (*y, of(&self.holidays), of(&self.workdays))
            })
            .collect()
    }

    /// Whether the notices of `year` are known; outside, only weekends are days off.
    pub fn knows(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        let known = usize::try_from(d.num_days_from_ce() - self.first)
            .ok()
            .and_then(|i| self.working.get(i));
        match known {
            Some(&working) => working,
            None => self.listed_working_day(d),
        }
    }

    /// [`Calendar::is_working_day`] from the listed days and the weekends.
    fn listed_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The first working day on or after `d`.
    pub fn roll_forward(&self, mut d: NaiveDate) -> NaiveDate {
        while !self.is_working_day(d) {
            d = d + Days::new(1);
        }
        d
    }

    /// The last day of a period of `n` calendar days after `start`: start + n, moved to the
    /// next working day if it is not one.
    pub fn calendar_deadline(&self, start: NaiveDate, n: u64) -> NaiveDate {
        self.roll_forward(start + Days::new(n))
    }

    /// The last day of a period of `n` working days after `start` (the start day not counted).
    pub fn working_deadline(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The working days in (from, to]: how many working days after `from` the day `to` is.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to <= from {
            return -self.working_days_between(to, from);
        }
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as i64
    }
}

/// The calendar in force: the built-in years, with the administrator's days over them.
pub async fn load(db: &Db) -> Result<Calendar> {
    let rows = sqlx::query("SELECT day, kind, name, source FROM holidays")
        .fetch_all(db.pool())
        .await?;
    let stored: Vec<Day> = rows
        .iter()
        .filter_map(|r| {
            let day: String = r.get("day");
            Some(Day {
                day: day.parse().ok()?,
                off: r.get::<String, _>("kind") == "holiday",
                name: r.get("name"),
                source: r.get("source"),
            })
        })
        .collect();
    let stored_years: BTreeSet<i32> = stored.iter().map(|d| d.day.year()).collect();
    Ok(BUILTIN
        .iter()
        .filter(|d| !stored_years.contains(&d.day.year()))
        .cloned()
        .chain(stored)
        .collect())
}

/// Replaces one year's holidays and make-up days (all or nothing, audited). Every day must
/// lie in `year`, and a make-up working day must fall on a weekend.
pub async fn save_year(db: &Db, actor: &str, year: i32, days: &[Day]) -> Result<(), SaveError> {
    for d in days {
        if d.day.year() != year {
            return Err(SaveError::Invalid(format!("{} 不在{year}年", d.day)));
        }
        if !d.off && !matches!(d.day.weekday(), Weekday::Sat | Weekday::Sun) {
            return Err(SaveError::Invalid(format!(
                "{} 是工作日，无需列为调休上班日",
                d.day
            )));
        }
    }
    let mut w = db.write().await?;
    let (first, last) = (format!("{year}-01-01"), format!("{year}-12-31"));
    sqlx::query("DELETE FROM holidays WHERE day BETWEEN $1 AND $2")
        .bind(&first)
        .bind(&last)
        .execute(&mut *w.tx)
        .await?;
    // Working days changed: every stored run of the checks is out of date.
    sqlx::query("DELETE FROM check_runs")
        .execute(&mut *w.tx)
        .await?;
    for d in days {
        sqlx::query("INSERT INTO holidays (day, kind, name, source) VALUES ($1, $2, $3, $4)")
            .bind(d.day.to_string())
            .bind(if d.off { "holiday" } else { "workday" })
            .bind(&d.name)
            .bind(&d.source)
            .execute(&mut *w.tx)
            .await?;
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "save_holidays",
            entity: "holidays",
            entity_id: year.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "holidays": days.iter().filter(|d| d.off).count(),
                "workdays": days.iter().filter(|d| !d.off).count(),
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] ecowarden_core::store::StoreError),
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> Self {
        SaveError::Store(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_years_and_every_make_up_day_on_a_weekend() {
        let days = parse_csv(BUILTIN_CSV).unwrap();
        assert!(days.len() > 100);
        for y in 2022..=2025 {
            assert!(Calendar::builtin().knows(y), "{y}");
        }
        for x in days.iter().filter(|x| !x.off) {
            assert!(
                matches!(x.day.weekday(), Weekday::Sat | Weekday::Sun),
                "{} is a make-up day but not a weekend",
                x.day
            );
        }
    }

    /// 2023 Labour Day: 4-29 … 5-3 off, Sunday 4-23 and Saturday 5-6 worked.
    /// The day table answers as the listed days and weekends do, inside the known years,
    /// around them, and with no year known.
    #[test]
    fn the_day_table_agrees_with_the_listed_days() {
        let c = Calendar::builtin();
        for day in d("2020-06-01").iter_days().take(7 * 366) {
            assert_eq!(c.is_working_day(day), c.listed_working_day(day), "{day}");
        }
        assert!(!c.is_working_day(d("2023-05-01")));
        assert!(Calendar::default().is_working_day(d("2023-05-01")));
    }

    #[test]
    fn labour_day_2023() {
        let c = Calendar::builtin();
        assert!(c.is_working_day(d("2023-04-23")));
        assert!(!c.is_working_day(d("2023-05-01")));
        assert!(c.is_working_day(d("2023-05-06")));
        // Five working days after Friday 4-28: 5-4, 5-5, 5-6 (make-up Saturday), 5-8, 5-9.
        assert_eq!(c.working_deadline(d("2023-04-28"), 5), d("2023-05-09"));
        assert_eq!(c.working_days_between(d("2023-04-28"), d("2023-05-09")), 5);
        // Seven working days after Thursday 4-27: 4-28, then 5-4 … 5-10.
        assert_eq!(c.working_deadline(d("2023-04-27"), 7), d("2023-05-10"));
    }

    /// 2023 Dragon Boat: 6-22 … 6-24 off, Sunday 6-25 worked.
    #[test]
    fn dragon_boat_2023() {
        let c = Calendar::builtin();
        assert_eq!(c.working_deadline(d("2023-06-21"), 1), d("2023-06-25"));
        assert_eq!(c.working_deadline(d("2023-06-20"), 3), d("2023-06-26"));
        // A 15-day period ending on the holiday runs to the make-up Sunday.
        assert_eq!(c.calendar_deadline(d("2023-06-07"), 15), d("2023-06-25"));
    }

    /// 2023 National Day: 9-29 … 10-6 off, 10-7 and 10-8 (weekend) worked.
    #[test]
    fn national_day_2023() {
        let c = Calendar::builtin();
        assert_eq!(c.working_deadline(d("2023-09-28"), 2), d("2023-10-08"));
        assert_eq!(c.working_deadline(d("2023-09-27"), 7), d("2023-10-12"));
        assert_eq!(c.working_days_between(d("2023-09-28"), d("2023-10-09")), 3);
        assert_eq!(c.roll_forward(d("2023-10-01")), d("2023-10-07"));
    }

    #[test]
    fn unknown_years_only_rest_on_weekends() {
        let c = Calendar::builtin();
        assert!(!c.knows(2031));
        assert!(c.is_working_day(d("2031-10-01")));
        assert!(!c.is_working_day(d("2031-10-04")));
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_csv("date,kind,name,source\n2024-13-01,holiday,x,y\n").unwrap_err();
        assert!(e.starts_with("第2行"), "{e}");
        let e = parse_csv("date,kind,name,source\n2024-10-01,rest,x,y\n").unwrap_err();
        assert!(e.contains("holiday"), "{e}");
    }
}
