//! QA state of each value (数据有效性), the equivalent of ECMPS's per-hour status: value
//! signatures look only at valid values, flag signatures at the flags.
//!
//! From the HJ 212 data flag (Table 8) and the instrument range:
//!
//! | flag | meaning | state |
//! |---|---|---|
//! | N (or none) | normal | valid, unless outside [−tolerance·range, range] → out of range |
//! | T | above the measuring upper limit | out of range |
//! | B | instrument ↔ data-logger communication failure | missing |
//! | F M S D C, others | stopped, maintenance, manual value, fault, calibration, … | flagged |
//! | no value, NaN | | missing |
//!
//! Data under C/M/D/F flags is excluded from valid means (HJ 75 [mem]); S, a value typed in
//! by hand, is never a measurement. An unknown letter (Table 8 is "extensible") is flagged,
//! not valid: only what the standard calls normal counts as measured.

use arrow_array::{Array, Float64Array, Int64Array, UInt8Array};

use crate::config::Config;
use crate::series::{Channel, Flags, Series};

/// The QA state of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Qa {
    Valid,
    Flagged,
    Missing,
    OutOfRange,
}

impl Qa {
    /// Chinese label for evidence and pages.
    pub fn label_zh(self) -> &'static str {
        match self {
            Qa::Valid => "有效",
            Qa::Flagged => "已标记",
            Qa::Missing => "缺失",
            Qa::OutOfRange => "超量程",
        }
    }
}

/// The flag letter of a flag text (`"N"` → `b'N'`); N for empty text.
pub fn flag_code(text: &str) -> u8 {
    text.trim().bytes().next().unwrap_or(b'N')
}

/// The state of value `x` (NaN = none sent) with flag letter `flag`, an instrument `range`
/// and the lowest plausible value `floor`.
#[inline]
pub fn classify(x: f64, flag: u8, range: Option<f64>, floor: f64) -> Qa {
    if x.is_nan() || flag == b'B' {
        return Qa::Missing;
    }
    match flag {
        b'N' => {
            if !x.is_finite() || x < floor || range.is_some_and(|r| x > r) {
                Qa::OutOfRange
            } else {
                Qa::Valid
            }
        }
        b'T' => Qa::OutOfRange,
        _ => Qa::Flagged,
    }
}

/// Hourly values from minute data by the HJ 75 rule: an hour is valid (N) with at least
/// `hour_valid_minutes` valid minutes, its value the mean of them. Otherwise the hour keeps
/// the mean of whatever values were sent and the most frequent non-N flag of the hour (B when
/// the minutes are simply missing), so the flag signatures still see what the operator
/// marked. Used to derive the hourly series a data logger would send from its minute data.
pub fn hourly(minute: &Series, config: &Config) -> Series {
    let need = config.qa.hour_valid_minutes.value;
    let minutes_per_row = minute.interval as f64 / 60.0;
    let t = &minute.time;
    // Rows grouped by hour, in time order.
    let mut order: Vec<usize> = (0..t.len()).filter(|&i| t.is_valid(i)).collect();
    order.sort_by_key(|&i| t.value(i));
    let mut hours: Vec<(i64, Vec<usize>)> = Vec::new();
    for i in order {
        let h = t.value(i).div_euclid(3600) * 3600;
        match hours.last_mut() {
            Some((last, rows)) if *last == h => rows.push(i),
            _ => hours.push((h, vec![i])),
        }
    }
    let channels = minute
        .channels
        .iter()
        .map(|c| {
            let mut values = Vec::with_capacity(hours.len());
            let mut flags = Vec::with_capacity(hours.len());
            for (_, rows) in &hours {
                let (v, f) = hour_value(c, rows, minutes_per_row, need);
                values.push(v);
                flags.push(f);
            }
            Channel {
                factor: c.factor.clone(),
                values: Float64Array::from(values),
                flags: Flags::Code(UInt8Array::from(flags)),
                meta: c.meta.clone(),
            }
        })
        .collect();
    Series {
        mn: minute.mn.clone(),
        outlet: minute.outlet.clone(),
        industry: minute.industry.clone(),
        interval: 3600,
        time: Int64Array::from_iter_values(hours.iter().map(|(h, _)| *h)),
        channels,
        events: minute.events.clone(),
    }
}

/// One channel's value and flag for the minute rows of one hour.
fn hour_value(c: &Channel, rows: &[usize], minutes_per_row: f64, need: f64) -> (Option<f64>, u8) {
    let (mut valid_sum, mut valid_n) = (0.0, 0usize);
    let (mut any_sum, mut any_n) = (0.0, 0usize);
    let mut counts = [0u32; 256];
    for &i in rows {
        let x = if c.values.is_null(i) {
            f64::NAN
        } else {
            c.values.value(i)
        };
        let f = c.flags.code(i);
        if !x.is_nan() {
            any_sum += x;
            any_n += 1;
        }
        if classify(x, f, None, f64::NEG_INFINITY) == Qa::Valid {
            valid_sum += x;
            valid_n += 1;
        } else {
            counts[usize::from(f)] += 1;
        }
    }
    if valid_n as f64 * minutes_per_row >= need {
        return (Some(valid_sum / valid_n as f64), b'N');
    }
    let flag = (0..256)
        .filter(|&f| f != usize::from(b'N') && counts[f] > 0)
        .max_by_key(|&f| (counts[f], std::cmp::Reverse(f)))
        .map_or(b'B', |f| f as u8);
    let value = (any_n > 0).then(|| any_sum / any_n as f64);
    (value, flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::ChannelMeta;

    #[test]
    fn flags_map_to_states() {
        let r = Some(100.0);
        assert_eq!(classify(5.0, b'N', r, -2.0), Qa::Valid);
        assert_eq!(classify(150.0, b'N', r, -2.0), Qa::OutOfRange);
        assert_eq!(classify(-5.0, b'N', r, -2.0), Qa::OutOfRange);
        assert_eq!(classify(5.0, b'T', r, -2.0), Qa::OutOfRange);
        assert_eq!(classify(5.0, b'B', r, -2.0), Qa::Missing);
        assert_eq!(classify(f64::NAN, b'N', r, -2.0), Qa::Missing);
        for f in *b"FMSDCX" {
            assert_eq!(classify(5.0, f, r, -2.0), Qa::Flagged);
        }
        assert_eq!(flag_code(""), b'N');
    }

    #[test]
    fn an_hour_needs_45_valid_minutes() {
        // Two hours of 10-minute rows: the first has 5 valid rows (50 min), the second 4.
        let t0 = 1_793_635_200;
        let time = Int64Array::from_iter_values((0..12).map(|i| t0 + i * 600));
        let values = Float64Array::from((0..12).map(|i| Some(f64::from(i))).collect::<Vec<_>>());
        let flags = UInt8Array::from(b"NNNNNCNNNNMM".iter().map(|&b| Some(b)).collect::<Vec<_>>());
        let s = Series::new(
            "MN",
            "outlet",
            "thermal_power",
            600,
            time,
            vec![Channel {
                factor: "a21026".into(),
                values,
                flags: Flags::Code(flags),
                meta: ChannelMeta::default(),
            }],
        )
        .unwrap();
        let h = hourly(&s, &Config::default());
        assert_eq!(h.time.len(), 2);
        let c = &h.channels[0];
        assert_eq!(c.values.value(0), 2.0); // mean of 0..=4
        assert_eq!(c.flags.code(0), b'N');
        assert_eq!(c.flags.code(1), b'M'); // 40 valid minutes: invalid, M the commonest flag
        assert_eq!(c.values.value(1), 8.5); // mean of the values sent
    }
}
