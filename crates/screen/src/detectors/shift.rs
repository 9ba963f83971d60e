//! S9 abrupt drop (浓度突降): the pollutant's level falls and stays down while the process
//! does not explain it — the footprint of an analyser parameter changed (the Panzhihua case)
//! or of treatment switched on only when someone is watching.
//!
//! The concentration is first regressed on flow over the period, so a weekend's lower load
//! is not a "drop"; the residual's mean over `window_hours` before each slot is compared with
//! the mean after it (prefix sums: linear time). A drop counts when it exceeds
//! `mad_multiple` robust standard deviations of that before-minus-after statistic over the
//! whole period (so the day-to-day wander of autocorrelated data sets the bar) and
//! `min_drop` of the level before. Drops at night, at weekends or within `event_hours` of a known inspection or
//! notification are named and score higher (Zou 2021: pollution rises when unwatched).

use serde_json::json;

use super::{Context, segments};
use crate::config::{LevelShift, Role};
use crate::finding::{Finding, Signature, factor_label, hour_and_weekday, num, unit, zh_time};
use crate::qa::Qa;
use crate::stats::{self, Moments};

pub fn level_shift(cx: &Context, params: &LevelShift) -> Vec<Finding> {
    let p = cx.p;
    let w = p.slots(params.window_hours.value);
    let per = p.slots(1.0);
    let wb = w.div_ceil(per);
    let mut out = Vec::new();
    if p.len < 2 * w {
        return out;
    }
    let fc = p.flow.map(|f| &p.channels[f]);
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let with_flow = |i: usize| fc.is_none_or(|f| f.qa[i] == Qa::Valid);
        let ok = |i: usize| c.usable(&p.running, i) && with_flow(i);
        let mut m = Moments::default();
        for i in (0..p.len).filter(|&i| ok(i)) {
            m.add(c.x[i], fc.map_or(0.0, |f| f.x[i]));
        }
        let (a, b) = m.line_x_on_y();
        if !a.is_finite() {
            continue;
        }
        let fitted = |i: usize| a + b * fc.map_or(0.0, |f| f.x[i]);
        // Prefix sums of residual, value and count over hour blocks: the windows are a day
        // long, so hours are fine enough and the scan is per hour, not per value.
        let n = p.len;
        let nb = n.div_ceil(per);
        let (mut se, mut sx, mut cnt) = (vec![0.0; nb + 1], vec![0.0; nb + 1], vec![0u32; nb + 1]);
        for k in 0..nb {
            let (mut e, mut x, mut u) = (0.0, 0.0, 0u32);
            for i in (k * per..((k + 1) * per).min(n)).filter(|&i| ok(i)) {
                e += c.x[i] - fitted(i);
                x += c.x[i];
                u += 1;
            }
            se[k + 1] = se[k] + e;
            sx[k + 1] = sx[k] + x;
            cnt[k + 1] = cnt[k] + u;
        }
        let mean =
            |s: &[f64], i: usize, j: usize| (s[j] - s[i]) / f64::from((cnt[j] - cnt[i]).max(1));
        let enough = |i: usize, j: usize| (cnt[j] - cnt[i]) as usize * 2 >= (j - i) * per;
        // Drop at block boundary k: residual mean before minus after.
        let drops: Vec<f64> = (0..=nb)
            .map(|k| {
                if k < wb || k + wb > nb || !enough(k - wb, k) || !enough(k, k + wb) {
                    f64::NAN
                } else {
                    mean(&se, k - wb, k) - mean(&se, k, k + wb)
                }
            })
            .collect();
        // The noise of the statistic itself, autocorrelation and all: robust σ of the drop
        // over every hour (a real shift moves only the 2·w hours around it).
        let mut finite: Vec<f64> = drops.iter().copied().filter(|d| d.is_finite()).collect();
        if finite.len() < 4 * wb {
            continue;
        }
        let sigma = stats::robust_sigma(&mut finite);
        if sigma.is_nan() || sigma <= 0.0 {
            continue;
        }
        let hit = |k: usize| {
            let d = drops[k];
            d >= params.mad_multiple.value * sigma && {
                let level = mean(&sx, k - wb, k);
                level > 0.0 && d >= params.min_drop.value * level
            }
        };
        for (k0, k1) in segments(nb + 1, 1, hit) {
            let k = (k0..k1)
                .max_by(|&i, &j| drops[i].total_cmp(&drops[j]))
                .unwrap_or(k0);
            let (d, level) = (drops[k], mean(&sx, k - wb, k));
            let after = mean(&sx, k, k + wb);
            let s = k * per;
            let t = p.time(s);
            let when = suspicious_time(t, &p.series.events, params);
            let when_text = if when.is_empty() {
                String::new()
            } else {
                format!("，突降时间{}", when.join("、"))
            };
            let explanation = format!(
                "{} 于 {} 前后由 {}{} 降至 {}{}（下降 {:.0}%），扣除流量（负荷）变化后，降幅为日间正常波动（稳健标准差）的 {:.1} 倍{}。工况未变而浓度突降，提示仪表参数被修改或治理设施仅在受监督时运行。",
                factor_label(&c.factor),
                zh_time(t),
                num(level),
                unit(&c.factor),
                num(after),
                unit(&c.factor),
                (1.0 - after / level) * 100.0,
                d / sigma,
                when_text,
            );
            let evidence = json!({
                "window": cx.window(ch, (s.saturating_sub(w), (s + w).min(n))),
                "shift_at": crate::finding::iso(t),
                "mean_before": level,
                "mean_after": after,
                "residual_drop": d,
                "drop_sigma": sigma,
                "suspicious_time": when,
                "baseline": cx.base.band_json(&c.factor),
            });
            let strength =
                d / (params.mad_multiple.value * sigma) * if when.is_empty() { 1.0 } else { 1.5 };
            out.push(cx.finding(
                Signature::LevelShift,
                Some(&c.factor),
                (s, (s + w).min(n)),
                strength,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// Why a time is suspicious: night, weekend, or near a known event.
fn suspicious_time(t: i64, events: &[i64], params: &LevelShift) -> Vec<String> {
    let (hour, weekday) = hour_and_weekday(t);
    let (from, to) = (params.night_from.value as u32, params.night_to.value as u32);
    let mut why = Vec::new();
    if hour >= from || hour < to {
        why.push("在夜间".to_owned());
    }
    if weekday >= 5 {
        why.push("在周末".to_owned());
    }
    let near = params.event_hours.value * 3600.0;
    if let Some(e) = events.iter().find(|&&e| ((t - e) as f64).abs() <= near) {
        why.push(format!(
            "距检查或通知时间（{}）不足 {} 小时",
            zh_time(*e),
            params.event_hours.value
        ));
    }
    why
}
