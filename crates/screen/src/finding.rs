//! What a detector reports: a [`Finding`] (疑点) with its signature, window, score, a
//! Chinese explanation for the analyst and the evidence behind it.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The falsification signatures (screening.md §2). The ids are the contract of
/// `ecowarden screen` and of the leads table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    ConstantValue,
    NarrowBand,
    NearDetectionLimit,
    LimitHugging,
    Dilution,
    Decoupling,
    MultiChannelFlat,
    CopiedSeries,
    LevelShift,
    StrategicGaps,
    FlagAbuse,
    CalibrationAnomaly,
    Oversmooth,
    DigitPreference,
    StoppedButRunning,
}

impl Signature {
    /// Every signature, in catalogue order.
    pub const ALL: [Signature; 15] = [
        Signature::ConstantValue,
        Signature::NarrowBand,
        Signature::NearDetectionLimit,
        Signature::LimitHugging,
        Signature::Dilution,
        Signature::Decoupling,
        Signature::MultiChannelFlat,
        Signature::CopiedSeries,
        Signature::LevelShift,
        Signature::StrategicGaps,
        Signature::FlagAbuse,
        Signature::CalibrationAnomaly,
        Signature::Oversmooth,
        Signature::DigitPreference,
        Signature::StoppedButRunning,
    ];

    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Signature::ConstantValue => ("constant_value", "S1", "恒值"),
            Signature::NarrowBand => ("narrow_band", "S2", "窄幅波动（量程2%以内）"),
            Signature::NearDetectionLimit => ("near_detection_limit", "S3", "检出限附近"),
            Signature::LimitHugging => ("limit_hugging", "S4", "贴限排放"),
            Signature::Dilution => ("dilution", "S5", "稀释排放"),
            Signature::Decoupling => ("decoupling", "S6", "浓度与工况脱钩"),
            Signature::MultiChannelFlat => ("multi_channel_flat", "S7", "多参数同时恒值"),
            Signature::CopiedSeries => ("copied_series", "S8", "复制数据"),
            Signature::LevelShift => ("level_shift", "S9", "浓度突降"),
            Signature::StrategicGaps => ("strategic_gaps", "S10", "选择性缺数"),
            Signature::FlagAbuse => ("flag_abuse", "S11", "标记滥用"),
            Signature::CalibrationAnomaly => ("calibration_anomaly", "S12", "校准异常"),
            Signature::Oversmooth => ("oversmooth", "S13", "过度平滑"),
            Signature::DigitPreference => ("digit_preference", "S14", "尾数偏好"),
            Signature::StoppedButRunning => ("stopped_but_running", "S17", "标停未停"),
        }
    }

    /// The id (`constant_value`).
    pub fn id(self) -> &'static str {
        self.describe().0
    }

    /// The catalogue number (`S1`).
    pub fn code(self) -> &'static str {
        self.describe().1
    }

    /// The Chinese name shown to analysts.
    pub fn name_zh(self) -> &'static str {
        self.describe().2
    }

    /// Reads an id.
    pub fn from_id(id: &str) -> Option<Signature> {
        Signature::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// One suspicious window of one outlet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub signature: Signature,
    /// The factor code, or `None` for an outlet-wide finding (S5, S7, S17).
    pub factor: Option<String>,
    /// Window start, Unix seconds (inclusive).
    pub start: i64,
    /// Window end, Unix seconds (exclusive: the end of the last sample's period).
    pub end: i64,
    /// 0 to 1; 0.5 at the threshold, towards 1 as the evidence grows.
    pub score: f64,
    /// Plain Chinese for the analyst: what was seen, against what, and why it matters.
    pub explanation: String,
    /// The values in the window, the baseline and the statistics behind the score.
    pub evidence: Evidence,
}

/// A finding's evidence (a JSON object), kept as its JSON text. A run holds every finding
/// until it ranks them, and as a tree of JSON values the evidence's numbers took about
/// 32 bytes each, several times their text: the Fujian-year bench was killed at 24 GB with
/// about 2 GB of findings a window. Serialised, it is the object again, not a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(String);

impl Evidence {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON value (parsed: for output and tests, not for the screening itself).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl From<serde_json::Value> for Evidence {
    fn from(v: serde_json::Value) -> Evidence {
        Evidence(v.to_string())
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        serde_json::Value::deserialize(d).map(Evidence::from)
    }
}

impl Finding {
    /// Whether two findings are about the same thing: signature, factor and an overlapping
    /// window. Dismissals and merges use it.
    pub fn same_as(
        &self,
        signature: Signature,
        factor: Option<&str>,
        start: i64,
        end: i64,
    ) -> bool {
        self.signature == signature
            && self.factor.as_deref() == factor
            && self.start < end.max(start + 1)
            && start < self.end.max(self.start + 1)
    }
}

/// Maps how far past its threshold a statistic is (1 = at the threshold) to a score:
/// 0.5 at the threshold, 0.75 at twice, approaching 1. NaN and values below 1 give 0.5 at
/// most, so a detector's score never leaves [0, 1].
pub fn score(strength: f64) -> f64 {
    if strength.is_nan() || strength <= 1.0 {
        return 0.5;
    }
    (1.0 - 0.5 / strength).clamp(0.5, 1.0)
}

/// Beijing time, the zone of HJ 212 `DataTime` and of every date an analyst reads.
fn cst(t: i64) -> DateTime<FixedOffset> {
    let zone = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&zone)
}

/// ISO 8601 with +08:00 (the contract of the JSON output).
pub fn iso(t: i64) -> String {
    cst(t).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Short Chinese-style time for explanations: `2026-11-03 08:00`.
pub fn zh_time(t: i64) -> String {
    cst(t).format("%Y-%m-%d %H:%M").to_string()
}

/// `2026-11-03 08:00 至 2026-11-04 02:00`.
pub fn zh_window(start: i64, end: i64) -> String {
    format!("{} 至 {}", zh_time(start), zh_time(end))
}

/// Hour of day (0–23) and weekday (0 = Monday) in Beijing time.
pub fn hour_and_weekday(t: i64) -> (u32, u32) {
    let local = t + 8 * 3600;
    let hour = local.rem_euclid(86_400) / 3600;
    // 1970-01-01 was a Thursday (weekday 3).
    let weekday = (local.div_euclid(86_400) + 3).rem_euclid(7);
    (hour as u32, weekday as u32)
}

/// Hours as Chinese text: `18 小时`, `2.5 小时`.
pub fn zh_hours(seconds: i64) -> String {
    let h = seconds as f64 / 3600.0;
    if (h - h.round()).abs() < 1e-9 {
        format!("{h:.0} 小时")
    } else {
        format!("{h:.1} 小时")
    }
}

/// A factor's Chinese name and code for explanations: `二氧化硫(a21026)`.
pub fn factor_label(code: &str) -> String {
    match hj212::codes::factor(code) {
        Some(info) => format!("{}({code})", info.name_zh),
        None => code.to_owned(),
    }
}

/// A factor's unit, or empty.
pub fn unit(code: &str) -> &'static str {
    hj212::codes::factor(code)
        .and_then(|info| info.unit)
        .unwrap_or("")
}

/// A line `x ↦ scale · x + offset` as an analyst reads it: `×0.8 + 1.2`, `×1.05 − 0.3`.
pub fn zh_line(scale: f64, offset: f64) -> String {
    let sign = if offset < 0.0 { "−" } else { "+" };
    format!("×{} {sign} {}", num(scale), num(offset.abs()))
}

/// A number as an analyst reads it: no trailing noise (`23.5`, `0.012`, `1200`).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    let a = x.abs();
    let s = if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_codes_are_unique() {
        let mut codes = std::collections::HashSet::new();
        for s in Signature::ALL {
            assert_eq!(Signature::from_id(s.id()), Some(s));
            assert!(codes.insert(s.code()));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.id()));
        }
    }

    #[test]
    fn times_are_beijing() {
        // 2026-11-03T00:00:00+08:00
        let t = 1_793_635_200;
        assert_eq!(iso(t), "2026-11-03T00:00:00+08:00");
        assert_eq!(hour_and_weekday(t), (0, 1)); // a Tuesday
        assert_eq!(zh_hours(5400), "1.5 小时");
    }

    #[test]
    fn score_is_half_at_threshold_and_bounded() {
        assert_eq!(score(1.0), 0.5);
        assert_eq!(score(2.0), 0.75);
        assert_eq!(score(f64::NAN), 0.5);
        assert!(score(f64::INFINITY) <= 1.0);
        assert_eq!(num(23.50), "23.5");
        assert_eq!(num(0.0125), "0.013");
    }
}
