//! The owned data area (`CP=&&…&&`): `DataTime`, fields grouped by factor
//! code (`w01018-Rtd`, `w01018-Flag`, … → factor `w01018`), and every other
//! key as sent. Values stay the exact strings sent; typed accessors read them.

use std::borrow::Cow;

use crate::codes::{self, DataFlag};
use crate::error::{Deviations, Error, ErrorKind};
use crate::segment::{Item, Segment};
use crate::text;
use crate::value::{Decimal, Timestamp};
use crate::version::Version;

/// Sub-fields of a factor defined by HJ 212-2017 Table 4 (`code-Field`).
pub const FACTOR_FIELDS: &[&str] = &[
    "Rtd",
    "Min",
    "Avg",
    "Max",
    "Cou",
    "ZsRtd",
    "ZsMin",
    "ZsAvg",
    "ZsMax",
    "Flag",
    "EFlag",
    "SampleTime",
    "Info",
    "SN",
    "RS",
    "RT",
    "Data",
    "DayData",
    "NightData",
];

/// Plain data-area keys defined by HJ 212-2017 Table 4 (besides `DataTime`).
pub const PLAIN_KEYS: &[&str] = &[
    "SystemTime",
    "QnRtn",
    "ExeRtn",
    "RtdInterval",
    "MinInterval",
    "RestartTime",
    "PolId",
    "BeginTime",
    "EndTime",
    "NewPW",
    "OverTime",
    "ReCount",
    "VaseNo",
    "CstartTime",
    "Ctime",
    "Stime",
    "InfoId",
];

/// The fields of one factor, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    /// Factor code, e.g. `w01018` (or a 2005/vendor code as sent).
    pub code: String,
    /// `(field, value)` pairs, e.g. `("Rtd", "40.1")`.
    pub fields: Vec<(String, String)>,
}

impl Factor {
    /// A factor with no fields yet.
    pub fn new(code: impl Into<String>) -> Self {
        Factor {
            code: code.into(),
            fields: Vec::new(),
        }
    }

    /// Adds a field (builder style).
    pub fn with(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((field.into(), value.into()));
        self
    }

    /// The value of `field` as sent.
    pub fn get(&self, field: &str) -> Option<&str> {
        lookup(&self.fields, field)
    }

    /// The value of `field` as an exact decimal.
    pub fn decimal(&self, field: &str) -> Option<Decimal> {
        Decimal::parse(self.get(field)?)
    }

    /// Real-time value (`-Rtd`).
    pub fn rtd(&self) -> Option<Decimal> {
        self.decimal("Rtd")
    }

    /// Period average (`-Avg`).
    pub fn avg(&self) -> Option<Decimal> {
        self.decimal("Avg")
    }

    /// Period minimum (`-Min`).
    pub fn min(&self) -> Option<Decimal> {
        self.decimal("Min")
    }

    /// Period maximum (`-Max`).
    pub fn max(&self) -> Option<Decimal> {
        self.decimal("Max")
    }

    /// Cumulative amount (`-Cou`).
    pub fn cou(&self) -> Option<Decimal> {
        self.decimal("Cou")
    }

    /// The data flag (`-Flag`, or the lower-case `-flag` some senders use).
    pub fn flag(&self) -> Option<DataFlag> {
        DataFlag::from_code(self.get("Flag").or_else(|| self.get("flag"))?)
    }

    /// When the analyser took the sample (`-SampleTime`).
    pub fn sample_time(&self) -> Option<Timestamp> {
        Timestamp::parse(self.get("SampleTime")?)
    }

    /// The code table row, for a 2017 code or a 2005 code that maps to one.
    pub fn info(&self) -> Option<&'static codes::FactorInfo> {
        codes::factor(&self.code).or_else(|| codes::factor(codes::code_2005_to_2017(&self.code)?))
    }
}

/// The data area of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cp {
    /// `DataTime` as sent.
    pub data_time: Option<String>,
    /// Factor fields grouped by code, in the order each code first appears.
    pub factors: Vec<Factor>,
    /// Every other key (`QnRtn`, `RestartTime`, vendor keys …), as sent.
    pub other: Vec<(String, String)>,
}

impl Cp {
    /// The factor with `code`.
    pub fn factor(&self, code: &str) -> Option<&Factor> {
        self.factors.iter().find(|f| f.code == code)
    }

    /// The factor codes, in order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.factors.iter().map(|f| f.code.as_str())
    }

    /// A non-factor key's value as sent.
    pub fn get(&self, key: &str) -> Option<&str> {
        lookup(&self.other, key)
    }

    /// `DataTime` read as a timestamp (+08:00).
    pub fn data_time(&self) -> Option<Timestamp> {
        Timestamp::parse(self.data_time.as_deref()?)
    }

    /// A view borrowing from this data area.
    pub fn view(&self) -> CpView<'_> {
        CpView {
            data_time: self.data_time.as_deref().map(Cow::Borrowed),
            codes: self.codes().map(Cow::Borrowed).collect(),
            fields: self
                .factors
                .iter()
                .enumerate()
                .flat_map(|(index, factor)| {
                    factor.fields.iter().map(move |(f, v)| {
                        (index, Cow::Borrowed(f.as_str()), Cow::Borrowed(v.as_str()))
                    })
                })
                .collect(),
            other: borrowed_pairs(&self.other),
        }
    }
}

/// The data area as read, borrowing every key and value from the frame (owned only
/// where GBK text had to be decoded): what [`Cp`] is built from, and what a writer
/// that only passes the fields on reads without allocating a string per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpView<'a> {
    /// `DataTime` as sent.
    pub data_time: Option<Cow<'a, str>>,
    /// Factor codes in the order each first appears.
    pub codes: Vec<Cow<'a, str>>,
    /// `(index into codes, field, value)` in the order sent: one flat list, so a
    /// message costs two vectors however many factors it carries.
    pub fields: Vec<(usize, Cow<'a, str>, Cow<'a, str>)>,
    /// Every other key, as sent.
    pub other: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> CpView<'a> {
    /// The `(field, value)` pairs of the factor at `index` in [`CpView::codes`], in the order sent.
    pub fn factor_fields(&self, index: usize) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .filter(move |(i, _, _)| *i == index)
            .map(|(_, field, value)| (field.as_ref(), value.as_ref()))
    }

    /// The owned data area, factors grouped.
    pub fn into_owned(self) -> Cp {
        let mut factors: Vec<Factor> = self.codes.into_iter().map(Factor::new).collect();
        for (index, field, value) in self.fields {
            factors[index]
                .fields
                .push((field.into_owned(), value.into_owned()));
        }
        Cp {
            data_time: self.data_time.map(Cow::into_owned),
            factors,
            other: owned_pairs(self.other),
        }
    }

    /// Reads the data area of `segment`, recording deviations.
    pub(crate) fn parse(
        segment: &Segment<'a>,
        source: &text::Source<'a>,
        version: Version,
        frame_offset: u64,
        dev: &mut Deviations,
    ) -> Result<CpView<'a>, Error> {
        let mut cp = CpView {
            // About one field per 16 bytes in uploads: room for them without regrowing.
            fields: Vec::with_capacity(segment.cp().len() / 16),
            // An upload names a handful of factors: room for them at once, not in three
            // reallocations.
            codes: Vec::with_capacity(8),
            ..CpView::default()
        };
        let at = |offset: usize| frame_offset + 6 + offset as u64;
        let mut report = |offset: usize, message: String| {
            dev.report(ErrorKind::MalformedCp, at(offset), message)
        };
        let mut run = Some(0);
        for item in segment.cp_items() {
            // The usual item's parts come back as three `&str`s, made `Cow`s only here:
            // fewer moves than an `Option` of three `Cow`s merged with the decoded path's.
            if let Some((code, field, value)) = plain_factor_field(&item, source) {
                let parts = (
                    Cow::Borrowed(code),
                    Cow::Borrowed(field),
                    Cow::Borrowed(value),
                );
                cp.add_factor_field(parts, version, item.offset, &mut run, &mut report)?;
            } else if let Some(parts) = cp.read_item(&item, source, &mut report)? {
                cp.add_factor_field(parts, version, item.offset, &mut run, &mut report)?;
            }
        }
        Ok(cp)
    }

    /// Reads an item the way every item can be read: decoded (GBK too), its key trimmed,
    /// `DataTime` and plain keys stored here. A factor field is handed back as
    /// `(code, field, value)` for the caller to add.
    fn read_item(
        &mut self,
        item: &Item<'a>,
        source: &text::Source<'a>,
        report: &mut impl FnMut(usize, String) -> Result<(), Error>,
    ) -> Result<Option<FieldParts<'a>>, Error> {
        if item.is_empty() {
            report(
                item.offset,
                "empty data-area item (stray ';' or ',')".into(),
            )?;
            return Ok(None);
        }
        let Some((key, value)) = text::decode_item(source, item, "data-area item", report)? else {
            return Ok(None);
        };
        let trimmed = text::sub(&key, key.trim());
        if trimmed.len() != key.len() {
            report(
                item.offset,
                format!("data-area key \"{key}\" has surrounding spaces"),
            )?;
        }
        if trimmed.is_empty() {
            report(
                item.offset,
                format!("data-area item \"={value}\" has no key"),
            )?;
            return Ok(None);
        }
        if trimmed == "DataTime" {
            if let Some(first) = &self.data_time {
                report(
                    item.offset,
                    format!("duplicate DataTime \"{value}\" ignored (first was \"{first}\")"),
                )?;
                return Ok(None);
            }
            if let Some(problem) = time_problem(&value) {
                report(item.offset, format!("DataTime \"{value}\" {problem}"))?;
            }
            self.data_time = Some(value);
        } else if let Some((code, field)) = trimmed
            .split_once('-')
            .filter(|(c, f)| !c.is_empty() && !f.is_empty())
        {
            let (code, field) = (text::sub(&trimmed, code), text::sub(&trimmed, field));
            return Ok(Some((code, field, value)));
        } else {
            if !PLAIN_KEYS.contains(&trimmed.as_ref()) {
                report(
                    item.offset,
                    format!("\"{trimmed}\" is not a standard data-area field"),
                )?;
            }
            if let Some((_, first)) = self.other.iter().find(|(k, _)| *k == trimmed) {
                report(
                    item.offset,
                    format!(
                        "duplicate key {trimmed}: value \"{value}\" ignored (first was \"{first}\")"
                    ),
                )?;
                return Ok(None);
            }
            self.other.push((trimmed, value));
        }
        Ok(None)
    }

    /// Adds a field of factor `code`. `run` is where the fields of the latest factor
    /// start while each factor's fields have come together, `None` once a factor came
    /// back after another: a duplicate is then looked for in the run alone, not in every
    /// field of the message.
    #[inline(always)]
    fn add_factor_field(
        &mut self,
        (code, field, value): FieldParts<'a>,
        version: Version,
        offset: usize,
        run: &mut Option<usize>,
        report: &mut impl FnMut(usize, String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let (index, new) = match self
            .codes
            .iter()
            .rposition(|c| text::same(c.as_bytes(), code.as_bytes()))
        {
            Some(index) => (index, false),
            None => {
                if !codes::is_standard_code(&code, version) {
                    report(
                        offset,
                        format!(
                            "factor code \"{code}\" is not in the form of an HJ 212-{version} code"
                        ),
                    )?;
                }
                self.codes.push(code);
                (self.codes.len() - 1, true)
            }
        };
        if self.fields.last().is_none_or(|(i, _, _)| *i != index) {
            *run = run.and(new.then_some(self.fields.len()));
        }
        let code = &self.codes[index];
        if !is_factor_field(&field) {
            report(
                offset,
                format!("\"{code}-{field}\" is not a standard factor field"),
            )?;
        }
        let earlier = &self.fields[run.unwrap_or(0)..];
        if let Some((_, _, first)) = earlier
            .iter()
            .find(|(i, f, _)| *i == index && text::same(f.as_bytes(), field.as_bytes()))
        {
            return report(
                offset,
                format!(
                    "duplicate key {code}-{field}: value \"{value}\" ignored (first was \"{first}\")"
                ),
            );
        }
        if field == "SampleTime"
            && let Some(problem) = time_problem(&value)
        {
            report(offset, format!("{code}-SampleTime \"{value}\" {problem}"))?;
        }
        self.fields.push((index, field, value));
        Ok(())
    }
}

/// A factor field's code, field name and value.
type FieldParts<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

/// The usual item, `code-Field=value` in UTF-8 with nothing to trim, split where the
/// item scan found the '-': no decoding, trimming or second search for the '-'.
#[inline(always)]
fn plain_factor_field<'a>(
    item: &Item<'a>,
    source: &text::Source<'a>,
) -> Option<(&'a str, &'a str, &'a str)> {
    let (code, field) = item.factor()?;
    if !untrimmed(item.key) {
        return None;
    }
    Some((
        source.text(code)?,
        source.text(field)?,
        source.text(item.value?)?,
    ))
}

/// `key` has no space `str::trim` would take away: its first and last bytes are ASCII
/// and not whitespace (a non-ASCII edge may be a wide space, so it is not decided here).
fn untrimmed(key: &[u8]) -> bool {
    let plain = |b: &u8| b.is_ascii() && !b.is_ascii_whitespace() && *b != 0x0B;
    key.first().is_some_and(plain) && key.last().is_some_and(plain)
}

/// Borrowed views of owned pairs.
pub(crate) fn borrowed_pairs(pairs: &[(String, String)]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
        .collect()
}

/// Owned copies of borrowed pairs.
pub(crate) fn owned_pairs(pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `field` is in [`FACTOR_FIELDS`]; the fields of hourly and real-time uploads are
/// matched first, so a typical field costs one comparison instead of a scan.
fn is_factor_field(field: &str) -> bool {
    matches!(field, "Avg" | "Min" | "Max" | "Flag" | "Rtd" | "Cou")
        || FACTOR_FIELDS.contains(&field)
}

/// Why a `YYYYMMDDhhmmss` value is not one, if it is not.
fn time_problem(value: &str) -> Option<&'static str> {
    match Timestamp::parse(value) {
        Some(t) if t.millis.is_some() => Some("has milliseconds (17 digits, not 14)"),
        Some(_) => None,
        None => Some("is not a YYYYMMDDhhmmss time"),
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(cp: &str, strict: bool) -> (Result<Cp, Error>, Vec<String>) {
        let data = format!("ST=32;CP=&&{cp}&&");
        let segment = Segment::parse(data.as_bytes(), 0).unwrap();
        let source = text::Source::new(data.as_bytes());
        let mut dev = Deviations::new(strict, 0);
        let result =
            CpView::parse(&segment, &source, Version::V2017, 0, &mut dev).map(CpView::into_owned);
        (
            result,
            dev.warnings.into_iter().map(|w| w.message).collect(),
        )
    }

    #[test]
    fn groups_by_factor() {
        let (cp, warnings) = parse(
            "DataTime=20160801084000;w00000-Cou=10.5,w00000-Flag=N;w01018-Avg=40.1,w01018-Flag=N;PolId=w01018",
            false,
        );
        let cp = cp.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cp.data_time.as_deref(), Some("20160801084000"));
        assert_eq!(cp.factors.len(), 2);
        let cod = cp.factor("w01018").unwrap();
        assert_eq!(cod.avg().unwrap().to_string(), "40.1");
        assert_eq!(cod.flag(), Some(DataFlag::Normal));
        assert_eq!(cod.info().unwrap().name_zh, "化学需氧量");
        assert_eq!(cp.get("PolId"), Some("w01018"));
        let (sampled, _) = parse("w01018-SampleTime=20240123110306,w01018-Rtd=4653.8", false);
        let cod = sampled.unwrap().factors.remove(0);
        assert_eq!(
            cod.sample_time().unwrap().to_rfc3339(),
            "2024-01-23T11:03:06+08:00"
        );
        assert_eq!(cod.rtd().unwrap().to_f64(), 4653.8);
        assert_eq!(cp.data_time().unwrap().hour, 8);
    }

    #[test]
    fn deviations_warn_or_fail() {
        let cases = [
            ("DataTime=20160824003817000", "milliseconds"),
            ("O3-Rtd=63.4", "not in the form"),
            ("a21026-flag=N", "not a standard factor field"),
            ("a21-Rtd=0.00;a21-Rtd=0.01", "duplicate key a21-Rtd"),
            ("a21026-Rtd=1;", "empty data-area item"),
            ("i12003-Info =0", "surrounding spaces"),
            ("FANSTATUS=1", "not a standard data-area field"),
            ("junk", "has no '='"),
        ];
        for (cp, expected) in cases {
            let (result, warnings) = parse(cp, false);
            assert!(result.is_ok());
            assert!(
                warnings.iter().any(|w| w.contains(expected)),
                "{cp}: {warnings:?}"
            );
            let (result, _) = parse(cp, true);
            assert_eq!(result.unwrap_err().kind(), ErrorKind::MalformedCp, "{cp}");
        }
    }

    #[test]
    fn duplicate_keeps_first_value() {
        let (cp, _) = parse("H102-Rtd=0,H102-Rtd=N", false);
        assert_eq!(cp.unwrap().factors[0].get("Rtd"), Some("0"));
    }

    /// A duplicate is found whether the factor's fields came together (the check then
    /// looks at the run alone) or the factor came back after another one.
    #[test]
    fn duplicates_are_found_in_runs_and_across_factors() {
        let cases = [
            (
                "a21026-Rtd=1,a21026-Flag=N,a21026-Rtd=2;a21002-Rtd=3",
                "a21026-Rtd",
            ),
            ("a21026-Rtd=1;a21002-Rtd=2,a21002-Rtd=3", "a21002-Rtd"),
            ("a21026-Rtd=1;a21002-Rtd=2;a21026-Rtd=3", "a21026-Rtd"),
            (
                "a21026-Rtd=1;a21002-Rtd=2;a21026-Flag=N;a21002-Rtd=4",
                "a21002-Rtd",
            ),
            (
                "a21026-Rtd=1;a21002-Rtd=2;a21026-Flag=N,a21026-Flag=D",
                "a21026-Flag",
            ),
        ];
        for (text, key) in cases {
            let (cp, warnings) = parse(text, false);
            assert_eq!(warnings.len(), 1, "{text}: {warnings:?}");
            assert!(
                warnings[0].contains(&format!("duplicate key {key}")),
                "{text}: {warnings:?}"
            );
            let cp = cp.unwrap();
            let (code, field) = key.split_once('-').unwrap();
            assert_eq!(
                cp.factor(code)
                    .unwrap()
                    .fields
                    .iter()
                    .filter(|(f, _)| f == field)
                    .count(),
                1
            );
        }
        let (cp, warnings) = parse(
            "a21026-Rtd=1;a21002-Rtd=2;a21026-Flag=N;a21002-Flag=N",
            false,
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cp.unwrap().factor("a21026").unwrap().get("Flag"), Some("N"));
    }

    /// Keys with a space at either end, or a non-ASCII edge that may be one, take the
    /// path that trims them, with a warning; the others are read as they are.
    #[test]
    fn keys_with_spaces_are_trimmed() {
        for text in [" a21026-Rtd=1", "a21026-Rtd\u{3000}=1", "\u{b}a21026-Rtd=1"] {
            let (cp, warnings) = parse(text, false);
            assert!(
                warnings[0].contains("surrounding spaces"),
                "{text:?}: {warnings:?}"
            );
            assert_eq!(cp.unwrap().factor("a21026").unwrap().get("Rtd"), Some("1"));
        }
        let (cp, warnings) = parse("a21026-Info=清洗;风机-Rtd=2", false);
        assert_eq!(cp.unwrap().factors[1].code, "风机");
        assert!(
            warnings.iter().all(|w| !w.contains("spaces")),
            "{warnings:?}"
        );
    }

    #[test]
    fn gbk_value_is_read_with_a_warning() {
        let mut data = b"ST=32;CP=&&i11001-Info=".to_vec();
        data.extend_from_slice(&[0xC7, 0xE5, 0xCF, 0xB4]);
        data.extend_from_slice(b"&&");
        let segment = Segment::parse(&data, 0).unwrap();
        let mut dev = Deviations::new(false, 0);
        let cp = CpView::parse(
            &segment,
            &text::Source::new(&data),
            Version::V2017,
            0,
            &mut dev,
        )
        .unwrap()
        .into_owned();
        assert_eq!(cp.factors[0].get("Info"), Some("清洗"));
        assert!(dev.warnings[0].message.contains("GBK"));
    }
}
