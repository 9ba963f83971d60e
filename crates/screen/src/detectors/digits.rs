//! S14 digit preference (尾数偏好): hand-made numbers favour some last digits (0 and 5
//! above all); measured ones, when their spread covers many units of the last reported digit,
//! do not. Last digits rather than Benford's first digit: CEMS data spans well under two
//! orders of magnitude, where even genuine data fails Benford (MDPI Atmosphere 2024).

use serde_json::json;

use super::{Context, prefix};
use crate::config::{DigitPreference, Role};
use crate::finding::{Finding, Signature, factor_label, zh_window};

/// Marks slots not counted.
const NONE: u8 = 255;

/// S14: χ² (9 degrees of freedom) of the last reported digit against uniform, in blocks of
/// `block_hours` (step half a block), each stretched until it holds `min_samples` values (up
/// to four blocks, so the scan stays linear), above `chi2_critical`. Stretched, because a
/// unit that runs only by day, or not on Sundays, has fewer values in a week than a test
/// needs, however its digits are made. Only values that differ from the one before count
/// (an analyser that holds its reading for an hour would otherwise count each digit six
/// times), and only channels whose p10–p90 spread spans `min_spread_units` of the last
/// digit.
pub fn digit_preference(cx: &Context, params: &DigitPreference) -> Vec<Finding> {
    let p = cx.p;
    let w = p.slots(params.block_hours.value);
    let mut out = Vec::new();
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(decimals) = c.decimals.filter(|_| c.role == Role::Pollutant) else {
            continue;
        };
        let scale = 10f64.powi(i32::from(decimals));
        let Some(own) = cx.base.own(&c.factor) else {
            continue;
        };
        let spread = (own.p90 - own.p10) * scale;
        if spread.is_nan() || spread < params.min_spread_units.value {
            continue;
        }
        let mut prev = f64::NAN;
        let digit: Vec<u8> = (0..p.len)
            .map(|i| {
                if !c.usable(&p.running, i) {
                    return NONE;
                }
                let x = c.x[i];
                let changed = x != prev;
                prev = x;
                if changed {
                    ((x.abs() * scale).round() as u64 % 10) as u8
                } else {
                    NONE
                }
            })
            .collect();
        let tally = |s: usize, e: usize| {
            let mut counts = [0u32; 10];
            for &d in &digit[s..e] {
                if d < 10 {
                    counts[usize::from(d)] += 1;
                }
            }
            counts
        };
        let chi2 = |counts: &[u32; 10]| {
            let n: u32 = counts.iter().sum();
            let expected = f64::from(n) / 10.0;
            let stat = counts
                .iter()
                .map(|&k| (f64::from(k) - expected).powi(2) / expected)
                .sum::<f64>();
            (n, stat)
        };
        let qualifies = |s: usize, e: usize| {
            let (n, stat) = chi2(&tally(s, e));
            f64::from(n) >= params.min_samples.value && stat > params.chi2_critical.value
        };
        let counted = prefix(p.len, |i| digit[i] < 10);
        let need = params.min_samples.value as u32;
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut s = 0;
        while s < p.len {
            let full = counted.partition_point(|&k| k < counted[s] + need);
            let e = (s + w).max(full.min(s + 4 * w)).min(p.len);
            if qualifies(s, e) {
                match blocks.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => blocks.push((s, e)),
                }
            }
            if e >= p.len {
                break;
            }
            s += (w / 2).max(1);
        }
        for (i0, i1) in blocks {
            let counts = tally(i0, i1);
            let (n, stat) = chi2(&counts);
            let (start, end) = p.window(i0, i1);
            let top: Vec<String> = {
                let mut idx: Vec<usize> = (0..10).collect();
                idx.sort_by_key(|&d| std::cmp::Reverse(counts[d]));
                idx.iter()
                    .take(2)
                    .map(|&d| format!("{d}（{:.0}%）", f64::from(counts[d]) / f64::from(n) * 100.0))
                    .collect()
            };
            let explanation = format!(
                "{} 在 {} 的 {} 个数据中，末位数字分布极不均匀（χ² = {:.1}，临界值 {:.2}），末位为 {} 的明显偏多，而实测数据末位应近似均匀分布。提示数据系人工填报或编造。",
                factor_label(&c.factor),
                zh_window(start, end),
                n,
                stat,
                params.chi2_critical.value,
                top.join("、"),
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "last_digit_counts": counts,
                "chi2": stat,
                "critical": params.chi2_critical.value,
                "decimals": decimals,
            });
            out.push(cx.finding(
                Signature::DigitPreference,
                Some(&c.factor),
                (i0, i1),
                stat / params.chi2_critical.value,
                explanation,
                evidence,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::detectors::testdata::{hourly, wander};
    use crate::{Config, Input, Signature};

    /// Four weeks of hourly SO2 of a unit that runs 07:00–19:00 only (84 values a week, fewer
    /// than a test needs), with or without two in three last digits typed as 0 or 5.
    fn day_shift(typed: bool) -> usize {
        let mut x = wander(3, 28 * 24, 60.0, 40.0, 1);
        for (i, v) in x.iter_mut().enumerate() {
            if !(7..19).contains(&(i % 24)) {
                *v = f64::NAN;
            } else if typed && i % 3 != 0 {
                let tens = v.floor() * 10.0;
                *v = (tens + if i % 2 == 0 { 0.0 } else { 5.0 }) / 10.0;
            }
        }
        let series = hourly("A", "a21026", 1_793_462_400, x, 1);
        let report = crate::screen(
            &[Input {
                series: &series,
                history: None,
            }],
            &Config::default(),
            1,
            &|_| {},
        );
        report.results[0]
            .as_ref()
            .expect("screens")
            .iter()
            .filter(|f| f.signature == Signature::DigitPreference)
            .count()
    }

    #[test]
    fn a_day_shift_units_typed_digits_are_tested_over_more_than_a_week() {
        assert!(day_shift(true) > 0);
        assert_eq!(day_shift(false), 0);
    }
}
