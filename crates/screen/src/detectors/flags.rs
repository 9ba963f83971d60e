//! Signatures of the flag stream and of data availability: S10 strategic gaps (选择性缺数),
//! S11 flag abuse (标记滥用) and S12 calibration anomalies (校准异常). Data flagged invalid
//! is not used to judge exceedances, so the flags themselves are an attack surface.

use serde_json::json;

use super::{Context, segments};
use crate::baseline::Source;
use crate::config::{CalibrationAnomaly, FlagAbuse, Role, StrategicGaps};
use crate::finding::{Finding, Signature, factor_label, iso, num, unit, zh_hours, zh_window};
use crate::qa::Qa;
use crate::stats::binomial_tail;

/// S10: gaps (missing data) start far more often right after a value near or above the limit
/// than at other times. With `high_share`·L the "near" level and the highest valid value of
/// the last `lookback_hours` the recent level, it flags when at least `min_gaps` gaps follow
/// high values, at `rate_ratio` × the rate after low values, with a binomial tail below
/// `p_value` (Wang et al. 2022: monitors turned off when an exceedance is expected).
pub fn strategic_gaps(cx: &Context, params: &StrategicGaps) -> Vec<Finding> {
    let p = cx.p;
    let look = p.slots(params.lookback_hours.value);
    let mut out = Vec::new();
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(limit) = c.limit.filter(|l| *l > 0.0 && c.role == Role::Pollutant) else {
            continue;
        };
        let high_level = params.high_share.value * limit;
        let (mut n_high, mut g_high, mut n_low, mut g_low) = (0u64, 0u64, 0u64, 0u64);
        let mut gaps: Vec<(usize, usize, f64)> = Vec::new();
        let u: Vec<f64> = (0..p.len)
            .map(|i| {
                if c.usable(&p.running, i) {
                    c.x[i]
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        for i in 0..p.len.saturating_sub(1) {
            if u[i] == f64::NEG_INFINITY {
                continue;
            }
            let recent = u[i.saturating_sub(look - 1)..=i]
                .iter()
                .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let gap = c.qa[i + 1] == Qa::Missing;
            if recent >= high_level {
                n_high += 1;
                if gap {
                    g_high += 1;
                    let end = (i + 1..p.len)
                        .find(|&j| c.qa[j] != Qa::Missing)
                        .unwrap_or(p.len);
                    gaps.push((i + 1, end, recent));
                }
            } else {
                n_low += 1;
                g_low += u64::from(gap);
            }
        }
        let p_low = (g_low as f64 + 1.0) / (n_low as f64 + 2.0);
        let rate_high = g_high as f64 / (n_high.max(1)) as f64;
        if g_high < params.min_gaps.value as u64 || rate_high < params.rate_ratio.value * p_low {
            continue;
        }
        let tail = binomial_tail(g_high, n_high, p_low);
        if tail > params.p_value.value {
            continue;
        }
        let (i0, i1) = (gaps[0].0.saturating_sub(look), gaps[gaps.len() - 1].1);
        let valid = c.qa.iter().filter(|&&q| q == Qa::Valid).count();
        let (start, end) = p.window(i0, i1);
        let explanation = format!(
            "{} 在 {} 期间，数据在接近或超过排放限值（{}{} 的 {:.0}%）后出现缺失 {} 次，占此类时段的 {:.1}%，而其他时段缺失的起始比例仅 {:.2}%（二项检验 p = {:.1e}）。数据恰在可能超标时中断，提示选择性停用或断开监测设备。本期数据有效率 {:.1}%。",
            factor_label(&c.factor),
            zh_window(start, end),
            num(limit),
            unit(&c.factor),
            params.high_share.value * 100.0,
            g_high,
            rate_high * 100.0,
            p_low * 100.0,
            tail,
            valid as f64 / p.len.max(1) as f64 * 100.0,
        );
        let evidence = json!({
            "window": cx.window(ch, (i0, i1)),
            "limit": limit,
            "gaps_after_high": g_high,
            "high_values": n_high,
            "gaps_after_low": g_low,
            "low_values": n_low,
            "p_value": tail,
            "completeness": valid as f64 / p.len.max(1) as f64,
            "gaps": gaps.iter().take(50).map(|&(s, e, level)| json!({
                "start": iso(p.time(s)), "hours": (e - s) as f64 * p.interval as f64 / 3600.0, "level_before": level,
            })).collect::<Vec<_>>(),
        });
        let strength = (rate_high / (params.rate_ratio.value * p_low)).sqrt()
            * (params.p_value.value / tail.max(1e-300)).log10().max(1.0);
        out.push(cx.finding(
            Signature::StrategicGaps,
            Some(&c.factor),
            (i0, i1),
            strength,
            explanation,
            evidence,
        ));
    }
    out
}

/// S11: flags that hide exceedances or are far more frequent than peers'. Either more than
/// `exceedance_share` of at least `min_exceedances` would-be exceedances (values ≥ L sent
/// under a flag) carry one of `flags` (the slaughterhouse case: exceedance hours marked 设备
/// 故障), or the flag rate exceeds both `rate_floor` and `rate_vs_peer_p95` × the peers' p95
/// (else the outlet's history).
pub fn flag_abuse(cx: &Context, params: &FlagAbuse) -> Vec<Finding> {
    let p = cx.p;
    let set = params.flags.value.as_bytes();
    let mut out = Vec::new();
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let flagged = |i: usize| set.contains(&c.flag[i]);
        if let Some(limit) = c.limit.filter(|l| *l > 0.0) {
            let over: Vec<usize> = (0..p.len)
                .filter(|&i| {
                    p.running[i]
                        && c.x[i] >= limit
                        && c.qa[i] != Qa::OutOfRange
                        && c.flag[i] != b'C'
                })
                .collect();
            let hidden: Vec<usize> = over.iter().copied().filter(|&i| flagged(i)).collect();
            let share = hidden.len() as f64 / over.len().max(1) as f64;
            if over.len() as f64 >= params.min_exceedances.value
                && share > params.exceedance_share.value
            {
                let (i0, i1) = (hidden[0], hidden[hidden.len() - 1] + 1);
                let (start, end) = p.window(i0, i1);
                let counts = flag_counts(hidden.iter().map(|&i| c.flag[i]));
                let explanation = format!(
                    "{} 在 {} 有 {} 个数据达到或超过排放限值 {}{}，其中 {} 个（{:.0}%）被标记为{}，标记后不参与超标判定。超标时段集中被标记且无对应运维记录时，属于虚假标记，按篡改、伪造自动监测数据处理（法释〔2023〕7号第一条第七项）。",
                    factor_label(&c.factor),
                    zh_window(start, end),
                    over.len(),
                    num(limit),
                    unit(&c.factor),
                    hidden.len(),
                    share * 100.0,
                    counts.0,
                );
                let evidence = json!({
                    "window": cx.window(ch, (i0, i1)),
                    "limit": limit,
                    "exceedances": over.len(),
                    "flagged_exceedances": hidden.len(),
                    "flags": counts.1,
                    "flagged_times": hidden.iter().take(100).map(|&i| iso(p.time(i))).collect::<Vec<_>>(),
                });
                out.push(cx.finding(
                    Signature::FlagAbuse,
                    Some(&c.factor),
                    (i0, i1),
                    share / params.exceedance_share.value
                        * (over.len() as f64 / params.min_exceedances.value).sqrt(),
                    explanation,
                    evidence,
                ));
                continue;
            }
        }
        let Some(own) = cx.base.own(&c.factor) else {
            continue;
        };
        let reference = match (cx.base.peers(&c.factor), cx.base.history(&c.factor)) {
            (Some(s), _) if s.flag_rate.p95.is_finite() => Some((s.flag_rate.p95, Source::Peers)),
            (_, Some(h)) if h.flag_rate.is_finite() => Some((h.flag_rate, Source::History)),
            _ => None,
        };
        let threshold = params
            .rate_floor
            .value
            .max(params.rate_vs_peer_p95.value * reference.map_or(0.0, |r| r.0));
        if own.flag_rate.is_nan() || own.flag_rate <= threshold {
            continue;
        }
        let marked: Vec<usize> = (0..p.len).filter(|&i| p.running[i] && flagged(i)).collect();
        if ((marked.len() as i64 * p.interval) as f64) < params.min_flagged_hours.value * 3600.0 {
            continue;
        }
        let (Some(&i0), Some(&last)) = (marked.first(), marked.last()) else {
            continue;
        };
        let (start, end) = p.window(i0, last + 1);
        let counts = flag_counts(marked.iter().map(|&i| c.flag[i]));
        let ref_text = reference
            .map(|(r, s)| format!("，{}第95百分位为 {:.1}%", s.zh(), r * 100.0))
            .unwrap_or_default();
        let explanation = format!(
            "{} 在 {} 运行期间有 {:.1}% 的数据被标记为{}{}。标记率异常偏高，需核对运维、故障记录是否真实，标记为无效的数据不参与超标判定。",
            factor_label(&c.factor),
            zh_window(start, end),
            own.flag_rate * 100.0,
            counts.0,
            ref_text,
        );
        let evidence = json!({
            "window": cx.window(ch, (i0, last + 1)),
            "flag_rate": own.flag_rate,
            "threshold": threshold,
            "reference": reference.map(|(r, s)| json!({"rate": r, "source": s.id()})),
            "flags": counts.1,
        });
        out.push(cx.finding(
            Signature::FlagAbuse,
            Some(&c.factor),
            (i0, last + 1),
            own.flag_rate / threshold,
            explanation,
            evidence,
        ));
    }
    out
}

/// Counts of flag letters: Chinese text ("维护(M) 3 次、故障(D) 5 次") and JSON.
fn flag_counts(flags: impl Iterator<Item = u8>) -> (String, serde_json::Value) {
    let mut counts = std::collections::BTreeMap::<char, usize>::new();
    for f in flags {
        *counts.entry(char::from(f)).or_default() += 1;
    }
    let text = counts
        .iter()
        .map(|(f, n)| {
            let meaning = hj212::codes::DataFlag::from_code(&f.to_string())
                .map_or("未知", |d| d.meaning_zh());
            format!("“{meaning}”({f}) {n} 次")
        })
        .collect::<Vec<_>>()
        .join("、");
    (text, json!(counts))
}

/// S12: calibration readings (the values sent under C flags) that are too perfect or out of
/// control. A calibration shows a zero and a span reading when the series is fine enough to
/// hold both (minute data); an hourly logger may send only the zero reading as the hour's
/// value. Both are read:
/// - zero and span identical over `identical_events` calibrations in a row (real readings
///   scatter);
/// - zero readings alone identical over a chain that `tie_rate` (the most a zero reading
///   centred on zero and clipped at 0 ties with the last one by chance) makes less likely
///   than `alpha` over the period's checks; a run at exactly 0 counts only where the logger
///   sends negative values, else it is a negative zero clipped;
/// - zero readings beyond `zero_drift` × range in `drift_events` calibrations.
///
/// Single C values count as zero readings only on a logger that never shows a span, and where
/// at least `zero_readings` of its checks (history included) read within the drift limit: a
/// C hour that averages process and span gas never reads near zero and says nothing about
/// the zero.
pub fn calibration_anomaly(cx: &Context, params: &CalibrationAnomaly) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(fs) = c.range.filter(|r| *r > 0.0 && c.role == Role::Pollutant) else {
            continue;
        };
        let limit = params.zero_drift.value * fs;
        let mut events = calibrations(c);
        let past_channel = cx
            .history
            .and_then(|h| h.channels.iter().find(|hc| hc.factor == c.factor));
        let past_x = past_channel.map_or(&[][..], |hc| &hc.x[..]);
        if events.iter().any(|e| e.3.is_some()) {
            // A logger that shows zero and span: a lone reading is a calibration cut short.
            events.retain(|e| e.3.is_some());
        } else if !events.is_empty() {
            let past = past_channel.map(calibrations).unwrap_or_default();
            let near_zero = past
                .iter()
                .chain(&events)
                .filter(|e| e.2.abs() <= limit)
                .count();
            if near_zero < params.zero_readings.value as usize {
                events.clear();
            }
        }
        // Longest chain of identical readings.
        let (mut best, mut run_start) = ((0usize, 0usize), 0usize);
        for k in 1..events.len() {
            if events[k].2 != events[k - 1].2 || events[k].3 != events[k - 1].3 {
                run_start = k;
            }
            if k + 1 - run_start > best.1 + 1 - best.0 {
                best = (run_start, k);
            }
        }
        let chain = if events.is_empty() {
            0
        } else {
            best.1 + 1 - best.0
        };
        // Zero readings alone tie by chance far more often than zero and span together; and
        // a run of zeros from a logger that never sends a negative value is what a zero
        // drifting below 0 sends once clipped.
        let clipped = events
            .get(best.0)
            .is_some_and(|e| e.2 == 0.0 && e.3.is_none())
            && !c.x.iter().chain(past_x).any(|&x| x < 0.0);
        let needed = if clipped {
            f64::INFINITY
        } else if events.get(best.0).is_some_and(|e| e.3.is_none()) {
            let n = events.len() as f64;
            1.0 + ((params.alpha.value / n).ln() / params.tie_rate.value.ln()).ceil()
        } else {
            params.identical_events.value
        };
        let drifted: Vec<&Calibration> = events.iter().filter(|e| e.2.abs() > limit).collect();
        let (range, strength, what, kind) = if chain >= 2 && chain as f64 >= needed {
            let (a, b) = (events[best.0], events[best.1]);
            let span =
                a.3.map(|s| format!("、量程读数均为 {}{}", num(s), unit(&c.factor)))
                    .unwrap_or_default();
            (
                (a.0, b.1),
                chain as f64 / needed,
                format!(
                    "连续 {} 次校准的零点读数均为 {}{}{}，分毫不差。真实仪器的校准读数必有随机波动，完全相同提示校准数据系人工设定或仪器参数被修改",
                    chain,
                    num(a.2),
                    if a.3.is_some() { "" } else { unit(&c.factor) },
                    span,
                ),
                "identical",
            )
        } else if drifted.len() as f64 >= params.drift_events.value {
            let worst = drifted.iter().map(|e| e.2.abs()).fold(0.0, f64::max);
            (
                (drifted[0].0, drifted[drifted.len() - 1].1),
                worst / limit,
                format!(
                    "{} 次校准的零点读数超出量程（{}{}）的 ±{:.1}%，最大偏差 {}{}，仪器已失控，期间数据的有效性存疑",
                    drifted.len(),
                    num(fs),
                    unit(&c.factor),
                    params.zero_drift.value * 100.0,
                    num(worst),
                    unit(&c.factor)
                ),
                "zero_drift",
            )
        } else {
            continue;
        };
        let (start, end) = p.window(range.0, range.1);
        let explanation = format!(
            "{} 在 {} 的校准记录中，{}。",
            factor_label(&c.factor),
            zh_window(start, end),
            what
        );
        let evidence = json!({
            "kind": kind,
            "range": fs,
            "calibrations": events.iter().take(100).map(|&(s, e, zero, span)| json!({
                "start": iso(p.time(s)), "duration": zh_hours(((e - s) as i64) * p.interval), "zero": zero, "span": span,
            })).collect::<Vec<_>>(),
            "window": cx.window(ch, range),
        });
        out.push(cx.finding(
            Signature::CalibrationAnomaly,
            Some(&c.factor),
            range,
            strength,
            explanation,
            evidence,
        ));
    }
    out
}

/// A calibration: first slot, end slot, zero reading, span reading (none when the series
/// shows one reading per calibration).
type Calibration = (usize, usize, f64, Option<f64>);

/// The calibrations of a channel: each run of C flags with a finite reading; a run of two or
/// more whose lowest reading is under half its highest shows a zero and a span.
fn calibrations(c: &crate::series::PreparedChannel) -> Vec<Calibration> {
    segments(c.x.len(), 1, |i| c.flag[i] == b'C')
        .into_iter()
        .filter_map(|(s, e)| {
            let v = (s..e).map(|i| c.x[i]).filter(|x| x.is_finite());
            let (lo, hi, n) = v.fold((f64::INFINITY, f64::NEG_INFINITY, 0), |(lo, hi, n), x| {
                (lo.min(x), hi.max(x), n + 1)
            });
            match n {
                0 => None,
                1 => Some((s, e, lo, None)),
                _ => (lo < 0.5 * hi).then_some((s, e, lo, Some(hi))),
            }
        })
        .collect()
}
