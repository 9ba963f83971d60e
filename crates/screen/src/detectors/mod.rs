//! The signature detectors. Each is a pure function of a prepared series, its baseline and
//! its parameters (a section of the thresholds file), returning findings. None allocates per
//! value beyond a few vectors per channel, so the whole catalogue is a handful of linear
//! passes.
//!
//! | file | signatures |
//! |---|---|
//! | `flat` | S1 constant_value, S7 multi_channel_flat |
//! | `band` | S2 narrow_band, S13 oversmooth |
//! | `level` | S3 near_detection_limit, S4 limit_hugging |
//! | `physics` | S5 dilution, S6 decoupling, S17 stopped_but_running |
//! | `copy` | S8 copied_series (within an outlet; across outlets in [`copy::across`]) |
//! | `shift` | S9 level_shift |
//! | `flags` | S10 strategic_gaps, S11 flag_abuse, S12 calibration_anomaly |
//! | `digits` | S14 digit_preference |

pub mod band;
pub mod copy;
pub mod digits;
pub mod flags;
pub mod flat;
pub mod level;
pub mod physics;
pub mod shift;

use serde_json::Value;

use crate::baseline::Baseline;
use crate::config::Config;
use crate::finding::{Finding, Signature, score};
use crate::series::Prepared;

/// What every detector sees.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub p: &'a Prepared<'a>,
    /// The outlet's history before the period, prepared, if the caller has it: S8 looks for
    /// the period's data in it, S9 compares the period's first day with it.
    pub history: Option<&'a Prepared<'a>>,
    pub base: Baseline<'a>,
    /// Values kept per evidence window.
    pub evidence_points: usize,
}

impl Context<'_> {
    /// A finding over slots `[i0, i1)`, scored from `strength` (1 = at the threshold).
    pub fn finding(
        &self,
        signature: Signature,
        factor: Option<&str>,
        (i0, i1): (usize, usize),
        strength: f64,
        explanation: String,
        evidence: Value,
    ) -> Finding {
        let (start, end) = self.p.window(i0, i1);
        Finding {
            signature,
            factor: factor.map(str::to_owned),
            start,
            end,
            score: score(strength),
            explanation,
            evidence: evidence.into(),
        }
    }

    /// The values of channel `ch` in `[i0, i1)` for the evidence.
    pub fn window(&self, ch: usize, (i0, i1): (usize, usize)) -> Value {
        self.p.evidence_window(ch, i0, i1, self.evidence_points)
    }
}

/// Runs every per-outlet detector of the catalogue. Returns the findings and S8's window
/// fingerprints, which [`copy::across`] matches between outlets.
pub fn run(cx: &Context, config: &Config) -> (Vec<Finding>, Vec<copy::Fingerprint>) {
    let mut out = Vec::new();
    let prints = copy::fingerprints(cx.p, &config.copied_series, true);
    let runs = flat::candidate_runs(cx, &config.multi_channel_flat, &config.constant_value);
    out.extend(flat::constant_value(cx, &config.constant_value, &runs));
    out.extend(flat::multi_channel_flat(
        cx,
        &config.multi_channel_flat,
        &runs,
    ));
    out.extend(band::narrow_band(cx, &config.narrow_band));
    out.extend(band::oversmooth(cx, &config.oversmooth));
    out.extend(level::near_detection_limit(
        cx,
        &config.near_detection_limit,
    ));
    out.extend(level::limit_hugging(cx, &config.limit_hugging));
    out.extend(physics::dilution(
        cx,
        &config.dilution,
        config.qa.reach_hours.value,
    ));
    out.extend(physics::decoupling(cx, &config.decoupling));
    out.extend(physics::stopped_but_running(
        cx,
        &config.stopped_but_running,
    ));
    let past = cx
        .history
        .map(|h| (h, copy::fingerprints(h, &config.copied_series, false)));
    let past = past.as_ref().map(|(h, prints)| (*h, prints.as_slice()));
    let copies = copy::within(cx, &config.copied_series, &prints, past);
    out.extend(copy::earlier_days(
        cx,
        &config.copied_series,
        cx.history,
        &copies,
    ));
    out.extend(copies);
    out.extend(shift::level_shift(
        cx,
        &config.level_shift,
        config.qa.reach_hours.value,
    ));
    out.extend(flags::strategic_gaps(cx, &config.strategic_gaps));
    out.extend(flags::flag_abuse(cx, &config.flag_abuse));
    out.extend(flags::calibration_anomaly(cx, &config.calibration_anomaly));
    out.extend(digits::digit_preference(cx, &config.digit_preference));
    (out, prints)
}

/// Maximal runs `[start, end)` of slots where `hit` holds, at least `min_len` long.
pub fn segments(
    len: usize,
    min_len: usize,
    mut hit: impl FnMut(usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=len {
        let h = i < len && hit(i);
        match (h, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= min_len.max(1) {
                    out.push((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The union of windows `[s, s + w)` (step `step`) for which `qualifies(s, s + w)` holds,
/// as maximal `[start, end)` ranges. A series shorter than `w` is one window if it is at
/// least `min_len` long.
pub fn windows(
    len: usize,
    w: usize,
    step: usize,
    min_len: usize,
    mut qualifies: impl FnMut(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    if len == 0 {
        return out;
    }
    let mut push = |s: usize, e: usize| match out.last_mut() {
        Some(last) if s <= last.1 => last.1 = last.1.max(e),
        _ => out.push((s, e)),
    };
    if len < w {
        if len >= min_len.max(1) && qualifies(0, len) {
            push(0, len);
        }
        return out;
    }
    let step = step.max(1);
    let mut s = 0;
    loop {
        if qualifies(s, s + w) {
            push(s, s + w);
        }
        if s + w >= len {
            break;
        }
        // The last window ends at the series' end.
        s = (s + step).min(len - w);
    }
    out
}

/// Prefix sums of a predicate: `sum[e] − sum[s]` counts hits in `[s, e)`.
pub fn prefix(len: usize, mut hit: impl FnMut(usize) -> bool) -> Vec<u32> {
    let mut sum = Vec::with_capacity(len + 1);
    let mut acc = 0u32;
    sum.push(0);
    for i in 0..len {
        acc += u32::from(hit(i));
        sum.push(acc);
    }
    sum
}

/// Hits of a prefix-sum vector in `[s, e)`.
#[inline]
pub fn count(sum: &[u32], s: usize, e: usize) -> u32 {
    sum[e] - sum[s]
}

/// Test data the detectors' tests share.
#[cfg(test)]
pub(crate) mod testdata {
    use arrow_array::{Float64Array, Int64Array};

    use crate::series::{Channel, ChannelMeta, Flags, Series};

    /// A thermal-power outlet `mn` with one hourly channel `factor` from `t0`, no flags, at
    /// `decimals`; NaN is a value not sent.
    pub fn hourly(mn: &str, factor: &str, t0: i64, values: Vec<f64>, decimals: u8) -> Series {
        Series::new(
            mn,
            format!("{mn}排口"),
            "thermal_power",
            3600,
            Int64Array::from_iter_values((0..values.len() as i64).map(|i| t0 + i * 3600)),
            vec![Channel {
                factor: factor.into(),
                values: Float64Array::from_iter(values.iter().map(|v| (!v.is_nan()).then_some(*v))),
                flags: Flags::None,
                meta: ChannelMeta {
                    decimals: Some(decimals),
                    ..ChannelMeta::default()
                },
            }],
        )
        .expect("consistent lengths")
    }

    /// `n` values of an autocorrelated level around `level` (a fixed LCG), rounded to
    /// `decimals`.
    pub fn wander(seed: u64, n: usize, level: f64, noise: f64, decimals: u8) -> Vec<f64> {
        let mut state = seed;
        let mut x = level;
        let scale = 10f64.powi(i32::from(decimals));
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                x = level + 0.7 * (x - level) + noise * u;
                (x * scale).round() / scale
            })
            .collect()
    }

    /// A thermal-power outlet `mn` with one 10-minute SO2 channel from `t0`, no flags.
    pub fn so2_series(mn: &str, t0: i64, values: Vec<f64>) -> Series {
        Series::new(
            mn,
            format!("{mn}排口"),
            "thermal_power",
            600,
            Int64Array::from_iter_values((0..values.len() as i64).map(|i| t0 + i * 600)),
            vec![Channel {
                factor: "a21026".into(),
                values: Float64Array::from(values),
                flags: Flags::None,
                meta: ChannelMeta::default(),
            }],
        )
        .expect("consistent lengths")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_windows_merge() {
        let v = [0, 1, 1, 0, 1, 1, 1, 0];
        assert_eq!(segments(v.len(), 2, |i| v[i] == 1), vec![(1, 3), (4, 7)]);
        assert_eq!(segments(v.len(), 3, |i| v[i] == 1), vec![(4, 7)]);
        // Windows of 3, step 1, qualifying when they hold at least two ones.
        let sum = prefix(v.len(), |i| v[i] == 1);
        let w = windows(v.len(), 3, 1, 1, |s, e| count(&sum, s, e) >= 2);
        assert_eq!(w, vec![(0, 8)]);
        let w = windows(v.len(), 3, 1, 1, |s, e| count(&sum, s, e) == 3);
        assert_eq!(w, vec![(4, 7)]);
        assert!(windows(2, 3, 1, 3, |_, _| true).is_empty());
        assert_eq!(windows(2, 3, 1, 2, |_, _| true), vec![(0, 2)]);
    }
}
