//! Identifiers shared by every module, as newtypes that parse (never bare strings).
//!
//! "Parse, don't validate": once a value is a `RegionCode` or a `CreditCode` it is known to be
//! well formed, so the store and the pages never re-check it. Each parser's error says, in
//! Chinese, what is wrong and where, because officers read these messages in import reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier did not parse. The message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseIdError(pub String);

fn err(msg: impl Into<String>) -> ParseIdError {
    ParseIdError(msg.into())
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A six-digit GB/T 2260 administrative division code (行政区划代码).
///
/// Only the shape is checked here; whether the code exists in the organisation is the `org`
/// module's business, because the set of regions is data, not code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

/// Administrative level of a region code, read from its trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
}

impl RegionCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level implied by the code's shape (`350000` province, `350100` city, else county).
    pub fn shape_level(&self) -> RegionLevel {
        if self.0.ends_with("0000") {
            RegionLevel::Province
        } else if self.0.ends_with("00") {
            RegionLevel::City
        } else {
            RegionLevel::County
        }
    }
}

impl FromStr for RegionCode {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!("行政区划代码应为6位数字，收到“{s}”")));
        }
        if s.starts_with("00") {
            return Err(err(format!("行政区划代码“{s}”的省级部分不能为00")));
        }
        Ok(Self(s.to_owned()))
    }
}
string_serde!(RegionCode);

/// The 31 characters GB 32100-2015 allows (no I, O, S, V, Z), in value order.
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Position weights 3^(i) mod 31 for the first 17 characters (GB 32100-2015 §5).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An 18-character unified social credit code (统一社会信用代码, GB 32100-2015), check character verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The check character for the first 17 characters; `None` if one of them is not allowed.
    pub fn check_char(first17: &[u8]) -> Option<u8> {
        let mut sum = 0u32;
        for (i, b) in first17.iter().enumerate() {
            let v = USCC_CHARSET.iter().position(|c| c == b)? as u32;
            sum += v * USCC_WEIGHTS[i];
        }
        let c = (31 - sum % 31) % 31;
        Some(USCC_CHARSET[c as usize])
    }

    /// A valid code of an enterprise (登记管理部门 9, 机构类别 1) in `region`, its nine
    /// organisation-code characters chosen by `pick(n)` (an index below n): for demo and test
    /// data, which must pass the same check as real codes.
    pub fn generate(region: &str, mut pick: impl FnMut(usize) -> usize) -> CreditCode {
        let mut body = format!("91{region}");
        for _ in 0..9 {
            body.push(USCC_CHARSET[pick(USCC_CHARSET.len())] as char);
        }
        let check = Self::check_char(body.as_bytes()).expect("charset") as char;
        format!("{body}{check}")
            .parse()
            .expect("valid by construction")
    }
}

impl FromStr for CreditCode {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        let n = up.chars().count();
        if n != 18 {
            return Err(err(format!(
                "统一社会信用代码应为18位，收到{n}位“{}”",
                s.trim()
            )));
        }
        let bytes = up.as_bytes();
        for (i, ch) in up.chars().enumerate() {
            if !ch.is_ascii() || !USCC_CHARSET.contains(&(ch as u8)) {
                return Err(err(format!(
                    "统一社会信用代码第{}位“{ch}”不是允许的字符（不使用I、O、S、V、Z）",
                    i + 1
                )));
            }
        }
        let expected = Self::check_char(&bytes[..17]).expect("charset checked above");
        if bytes[17] != expected {
            return Err(err(format!(
                "统一社会信用代码第18位校验码错误：应为“{}”，实际为“{}”",
                expected as char, bytes[17] as char
            )));
        }
        Ok(Self(up))
    }
}
string_serde!(CreditCode);

/// A case number (案号) such as `闽环罚〔2023〕12号`.
///
/// Units use their own prefixes, so only the shape is fixed: a prefix, the year in 〔〕 (ASCII
/// brackets and 【】 are normalised, as officers type them), a serial and 号.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNo(String);

impl CaseNo {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Builds the canonical number for a unit prefix, year and serial.
    pub fn new(prefix: &str, year: i32, serial: u32) -> Self {
        Self(format!("{prefix}〔{year}〕{serial}号"))
    }

    /// The year inside the brackets.
    pub fn year(&self) -> i32 {
        let open = self.0.find('〔').expect("parsed");
        self.0[open + '〔'.len_utf8()..open + '〔'.len_utf8() + 4]
            .parse()
            .expect("parsed")
    }
}

impl FromStr for CaseNo {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '[' | '【' | '(' | '（' | '［' => '〔',
                ']' | '】' | ')' | '）' | '］' => '〕',
                c => c,
            })
            .collect();
        let bad = || {
            err(format!(
                "案号“{}”格式不正确，应为“前缀〔年份〕序号号”，例如“闽环罚〔2023〕12号”",
                s.trim()
            ))
        };
        if t.chars().count() > 64 {
            return Err(err("案号不能超过64个字符"));
        }
        let open = t.find('〔').ok_or_else(bad)?;
        // The closing bracket after the opening one: "〕〔…" is malformed, not a slice panic
        // (found by the `ids` fuzz target).
        let close = t[open..].find('〕').map(|i| open + i).ok_or_else(bad)?;
        let prefix = &t[..open];
        let year = &t[open + '〔'.len_utf8()..close];
        let rest = &t[close + '〕'.len_utf8()..];
        let serial = rest.strip_suffix('号').ok_or_else(bad)?;
        if prefix.is_empty()
            || year.len() != 4
            || !year.bytes().all(|b| b.is_ascii_digit())
            || serial.is_empty()
            || !serial.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        Ok(Self(t))
    }
}
string_serde!(CaseNo);

/// An amount of money in yuan, held exactly as whole fen (分).
///
/// Fines are summed over a million cases for statistics: integers keep the sums exact on both
/// SQLite and PostgreSQL without a decimal type that one of them lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Self(fen)
    }
    pub fn fen(self) -> i64 {
        self.0
    }
    pub fn from_yuan(yuan: i64) -> Self {
        Self(yuan * 100)
    }
    /// Amount in 万元 with two decimals, as the article quotes fines ("963万元").
    pub fn wan_yuan(self) -> String {
        let wan = self.0 as f64 / 1_000_000.0;
        format!("{wan:.2}")
    }
}

impl fmt::Display for Money {
    /// `1,234.50`: grouped yuan with two decimals, as on a penalty decision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}{grouped}.{:02}", abs % 100)
    }
}

impl FromStr for Money {
    type Err = ParseIdError;
    /// Accepts `12345`, `12,345.6`, `¥12345.60`, `12345元`; at most two decimals, not negative.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || err(format!("金额“{t}”不是有效数字（单位：元，最多两位小数）"));
        let t2 = t
            .trim_start_matches(['¥', '￥'])
            .trim_end_matches('元')
            .replace(',', "");
        let (int, frac) = match t2.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t2.as_str(), ""),
        };
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let yuan: i64 = int.parse().map_err(|_| bad())?;
        let frac_fen: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        yuan.checked_mul(100)
            .and_then(|f| f.checked_add(frac_fen))
            .map(Money)
            .ok_or_else(bad)
    }
}

impl Serialize for Money {
    /// Serialised as a decimal string ("963.00") so no JSON reader rounds it through a float.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}.{:02}", self.0 / 100, (self.0 % 100).abs()))
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::I(i) => Ok(Money::from_yuan(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn credit_code_accepts_valid_and_names_wrong_check_char() {
        // A real published code (国家电网有限公司).
        let ok: CreditCode = "91110000710931141j".parse().unwrap();
        assert_eq!(ok.as_str(), "91110000710931141J");
        let e = "91110000710931141K".parse::<CreditCode>().unwrap_err();
        assert!(e.0.contains("第18位"), "{e}");
        assert!(e.0.contains("应为“J”"), "{e}");
        let e = "9111000071093114IJ".parse::<CreditCode>().unwrap_err();
        assert!(e.0.contains("第17位"), "{e}");
        assert!("123".parse::<CreditCode>().unwrap_err().0.contains("18位"));
    }

    proptest! {
        #[test]
        fn credit_code_with_computed_check_char_always_parses(body in "[0-9A-HJ-NP-RTUWXY]{17}") {
            let c = CreditCode::check_char(body.as_bytes()).unwrap() as char;
            let code = format!("{body}{c}");
            prop_assert!(code.parse::<CreditCode>().is_ok());
        }

        #[test]
        fn money_display_parse_round_trips(fen in 0i64..10_000_000_000_000) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(m.to_string().parse::<Money>().unwrap(), m);
        }
    }

    #[test]
    fn money_parses_exactly() {
        assert_eq!("963".parse::<Money>().unwrap().fen(), 96_300);
        assert_eq!("1,234.5".parse::<Money>().unwrap().fen(), 123_450);
        assert_eq!("¥0.07元".parse::<Money>().unwrap().fen(), 7);
        assert!("1.234".parse::<Money>().is_err());
        assert!("-5".parse::<Money>().is_err());
        assert!("abc".parse::<Money>().is_err());
        assert_eq!(Money::from_fen(123_456_789).to_string(), "1,234,567.89");
    }

    #[test]
    fn case_no_normalises_brackets() {
        let c: CaseNo = "闽环罚[2023]12号".parse().unwrap();
        assert_eq!(c.as_str(), "闽环罚〔2023〕12号");
        assert_eq!(c.year(), 2023);
        assert!("闽环罚2023-12".parse::<CaseNo>().is_err());
        assert!("〔2023〕12号".parse::<CaseNo>().is_err());
        // Brackets the wrong way round are an error, never a panic.
        assert!("〕〔〔〔".parse::<CaseNo>().is_err());
        assert!("闽环罚]2023[12号".parse::<CaseNo>().is_err());
    }

    #[test]
    fn region_code_levels() {
        let p: RegionCode = "350000".parse().unwrap();
        assert_eq!(p.shape_level(), RegionLevel::Province);
        assert_eq!(
            "350100".parse::<RegionCode>().unwrap().shape_level(),
            RegionLevel::City
        );
        assert_eq!(
            "350128".parse::<RegionCode>().unwrap().shape_level(),
            RegionLevel::County
        );
        assert!("35010".parse::<RegionCode>().is_err());
        assert!("3501a0".parse::<RegionCode>().is_err());
    }
}
