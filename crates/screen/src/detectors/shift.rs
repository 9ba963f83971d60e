//! S9 abrupt drop (浓度突降): the pollutant's level falls and stays down while the process
//! does not explain it — the footprint of an analyser parameter changed (the Panzhihua case)
//! or of treatment switched on only when someone is watching.
//!
//! The concentration is first regressed on flow over the period and the history read before
//! it, so a weekend's lower load is not a "drop"; the residual's mean over `window_hours`
//! before each slot is compared with the mean after it (prefix sums: linear time), for slots
//! in the period (with the history, from its first hour on: a daily run sees a drop on its
//! day). A drop counts when it exceeds
//! `mad_multiple` (`event_mad_multiple` within `event_hours` of a known inspection or
//! notification) robust standard deviations of that before-minus-after statistic over the
//! whole period (so the day-to-day wander of autocorrelated data sets the bar) and
//! `min_drop` of the level before. Drops at night, at weekends or within `event_hours` of a known inspection or
//! notification are named and score higher (Zou 2021: pollution rises when unwatched).

use serde_json::json;

use super::{Context, segments};
use crate::config::{LevelShift, Role};
use crate::finding::{Finding, Signature, factor_label, hour_and_weekday, num, unit, zh_time};
use crate::qa::Qa;
use crate::series::Prepared;
use crate::stats::{self, Moments};

pub fn level_shift(cx: &Context, params: &LevelShift, reach_hours: f64) -> Vec<Finding> {
    let p = cx.p;
    let w = p.slots(params.window_hours.value);
    let per = p.slots(1.0);
    let reach = p.slots(reach_hours);
    let persist = p.slots(params.persist_hours.value);
    let mut out = Vec::new();
    // The history before the period, in whole hours: a drop in the period's first day (a
    // daily run's only day) has a day before it to compare with, and the day-to-day wander
    // that sets the bar is measured over days enough.
    let lead = cx
        .history
        .filter(|h| h.interval == p.interval && h.t0 < p.t0)
        .map_or(0, |h| ((p.t0 - h.t0) / p.interval) as usize / per * per);
    if lead + p.len < 2 * w {
        return out;
    }
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let track = Track::new(cx, ch, lead);
        // The usable slots in time order: the windows count running values, so a stop (a
        // night, a weekend, an outage) neither empties a window nor puts its zeros in one.
        let at: Vec<usize> = (0..track.len()).filter(|&i| track.ok[i]).collect();
        let m = at.len();
        if m < 2 * w {
            continue;
        }
        let mut moments = Moments::default();
        for &i in &at {
            moments.add(track.x[i], track.flow[i]);
        }
        let (a, b) = moments.line_x_on_y();
        if !a.is_finite() {
            continue;
        }
        // Prefix sums of residual and value over the usable values.
        let (mut se, mut sx) = (vec![0.0; m + 1], vec![0.0; m + 1]);
        for (j, &i) in at.iter().enumerate() {
            se[j + 1] = se[j] + track.x[i] - (a + b * track.flow[i]);
            sx[j + 1] = sx[j] + track.x[i];
        }
        let mean = |s: &[f64], i: usize, j: usize| (s[j] - s[i]) / (j - i) as f64;
        // Candidate boundaries: the first usable value of each hour (the windows are a day
        // long, so hours are fine enough and the scan is per hour, not per value).
        let bounds: Vec<usize> = (w..=m - w)
            .filter(|&j| at[j] / per != at[j - 1] / per)
            .collect();
        // Drop at a boundary: residual mean of the `w` values before minus the `w` after,
        // each window within `reach` of the boundary.
        let drops: Vec<f64> = bounds
            .iter()
            .map(|&j| {
                if at[j] - at[j - w] > reach || at[j + w - 1] - at[j] >= reach {
                    f64::NAN
                } else {
                    mean(&se, j - w, j) - mean(&se, j, j + w)
                }
            })
            .collect();
        // The noise of the statistic itself, autocorrelation and all: robust σ of the drop
        // over every hour (a real shift moves only the 2·w values around it).
        let mut finite: Vec<f64> = drops.iter().copied().filter(|d| d.is_finite()).collect();
        if finite.len() < 4 * w.div_ceil(per) {
            continue;
        }
        let sigma = stats::robust_sigma(&mut finite);
        if sigma.is_nan() || sigma <= 0.0 {
            continue;
        }
        // The period's slot of track slot `i` (negative: in the history).
        let slot = |i: usize| i as i64 - lead as i64;
        // Near a known inspection or notification the bar is the definition's; elsewhere
        // nothing anchors the drop, and the day-to-day wander of clean data sets it higher.
        let near = params.event_hours.value * 3600.0;
        let bar = |k: usize| {
            let t = p.t0 + slot(at[bounds[k]]) * p.interval;
            if p.series
                .events
                .iter()
                .any(|&e| ((t - e) as f64).abs() <= near)
            {
                params.event_mad_multiple.value
            } else {
                params.mad_multiple.value
            }
        };
        // The `persist` values (at least `w`) on each side within `reach`: a level shift
        // stays, where the wander of clean data comes back within a day or two.
        let around = |j: usize| {
            let s = at[..j].partition_point(|&i| at[j] - i > reach);
            let e = j + at[j..].partition_point(|&i| i - at[j] < reach);
            (s.max(j.saturating_sub(persist)), e.min(j + persist))
        };
        let falls = |d: f64, level: f64| level > 0.0 && d >= params.min_drop.value * level;
        let hit = |k: usize| {
            let (d, j) = (drops[k], bounds[k]);
            d >= bar(k) * sigma && falls(d, mean(&sx, j - w, j)) && {
                let (s, e) = around(j);
                falls(mean(&se, s, j) - mean(&se, j, e), mean(&sx, s, j))
            }
        };
        // Drops whose values after reach into the period: those in the history's last day
        // could not be judged by the run that screened it (its day after was not complete);
        // earlier ones were.
        let judged = |k: usize| at[bounds[k] + w - 1] >= lead;
        for (k0, k1) in segments(bounds.len(), 1, |k| judged(k) && hit(k)) {
            let k = (k0..k1)
                .max_by(|&i, &j| drops[i].total_cmp(&drops[j]))
                .unwrap_or(k0);
            let (d, j) = (drops[k], bounds[k]);
            let (level, after) = (mean(&sx, j - w, j), mean(&sx, j, j + w));
            let t = p.t0 + slot(at[j]) * p.interval;
            // The finding's slots in the period: from the drop (or the period's start) to
            // the end of the values after it; the evidence from the values before it on.
            let clamp = |i: usize| slot(i).clamp(0, p.len as i64) as usize;
            let (s, e) = (clamp(at[j]), clamp(at[j + w - 1] + 1));
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
                "window": cx.window(ch, (clamp(at[j - w]), e)),
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
                (s, e.max(s + 1)),
                strength,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// One pollutant's values, flow (0 without a flow channel) and usability (valid, running
/// steadily, flow valid), led in by `lead` slots of the history just before
/// the period.
struct Track {
    x: Vec<f64>,
    flow: Vec<f64>,
    ok: Vec<bool>,
}

impl Track {
    fn new(cx: &Context, ch: usize, lead: usize) -> Track {
        let p = cx.p;
        let len = lead + p.len;
        let mut track = Track {
            x: vec![f64::NAN; len],
            flow: vec![0.0; len],
            ok: vec![false; len],
        };
        let factor = &p.channels[ch].factor;
        if let Some(h) = cx.history.filter(|_| lead > 0) {
            // The history's slot at the time `lead − i` slots before the period's first.
            let slot = |i: usize| {
                let d = p.t0 - (lead - i) as i64 * p.interval - h.t0;
                (d >= 0 && d % h.interval == 0)
                    .then(|| (d / h.interval) as usize)
                    .filter(|&j| j < h.len)
                    .map(|j| (i, j))
            };
            track.fill(h, factor, (0..lead).filter_map(slot));
        }
        track.fill(p, factor, (0..p.len).map(|i| (lead + i, i)));
        track
    }

    /// Track slot `i` from slot `j` of `from`, for each `(i, j)`.
    fn fill(&mut self, from: &Prepared, factor: &str, slots: impl Iterator<Item = (usize, usize)>) {
        let Some(c) = from.channels.iter().find(|c| c.factor == factor) else {
            return;
        };
        let fc = from.flow.map(|f| &from.channels[f]);
        for (i, j) in slots {
            self.x[i] = c.x[j];
            self.flow[i] = fc.map_or(0.0, |f| f.x[j]);
            self.ok[i] = c.usable(&from.settled, j) && fc.is_none_or(|f| f.qa[j] == Qa::Valid);
        }
    }

    fn len(&self) -> usize {
        self.x.len()
    }
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

#[cfg(test)]
mod tests {
    use crate::detectors::testdata::so2_series;
    use crate::{Config, Input, Signature};

    /// 10-minute SO2 around `level` with autocorrelated noise (a fixed LCG), one decimal.
    fn so2(seed: u64, levels: &[(usize, f64)]) -> Vec<f64> {
        let mut state = seed;
        let mut noise = 0.0;
        levels
            .iter()
            .flat_map(|&(n, level)| std::iter::repeat_n(level, n))
            .map(|level| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                noise = 0.7 * noise + 3.0 * u;
                ((level + noise) * 10.0).round() / 10.0
            })
            .collect()
    }

    /// The S9 findings' start times of one day screened with seven days of history before it.
    fn drops(history_levels: &[(usize, f64)], day_level: f64, with_history: bool) -> Vec<i64> {
        let t0 = 1_793_462_400;
        let history = so2_series("A", t0, so2(1, history_levels));
        let n: usize = history_levels.iter().map(|(n, _)| n).sum();
        let day = so2_series("A", t0 + n as i64 * 600, so2(2, &[(144, day_level)]));
        let input = Input {
            series: &day,
            history: with_history.then_some(&history),
        };
        crate::screen(&[input], &Config::default(), 1, &|_| {}).results[0]
            .as_ref()
            .expect("screens")
            .iter()
            .filter(|f| f.signature == Signature::LevelShift)
            .map(|f| f.start)
            .collect()
    }

    #[test]
    fn a_daily_run_sees_a_drop_on_its_day_with_the_history_before_it() {
        // Seven steady days, then the screened day at half the level from midnight.
        let found = drops(&[(1008, 60.0)], 30.0, true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0], 1_793_462_400 + 1008 * 600);
        // Alone, one day has no day before it.
        assert!(drops(&[(1008, 60.0)], 30.0, false).is_empty());
        // A steady day after steady days: nothing.
        assert!(drops(&[(1008, 60.0)], 60.0, true).is_empty());
    }

    #[test]
    fn a_drop_in_the_historys_last_day_is_judged_by_the_next_run() {
        // The drop came at 18:00 of the last history day: its own run could not see a whole
        // day after it.
        let found = drops(&[(972, 60.0), (36, 30.0)], 30.0, true);
        assert_eq!(found.len(), 1, "{found:?}");
        // The finding's window starts with the screened day.
        assert_eq!(found[0], 1_793_462_400 + 1008 * 600);
    }
}
