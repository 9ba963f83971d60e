//! Physical consistency between channels: S5 dilution (稀释), S6 decoupling of concentration
//! from load (浓度与工况脱钩) and S17 declared stopped while running (标停未停). These carry
//! the most evidential weight for 干扰采样: the other instruments of the same stack
//! contradict what the pollutant channel says.

use serde_json::json;

use super::{Context, segments, windows};
use crate::baseline::Source;
use crate::config::{Decoupling, Dilution, Role, StoppedButRunning};
use crate::finding::{Finding, Signature, factor_label, num, unit, zh_hours, zh_window};
use crate::qa::Qa;
use crate::series::Prepared;
use crate::stats::{self, Moments};

/// S5: O2 above what the unit's load calls for — the p90 of its steady running O2 in the
/// history (start-ups left out), as a line on flow where O2 falls as flow (load) rises, so a
/// boiler's night-time low load is no "rise" and a dilution at full load is one — plus
/// `o2_margin` for `min_hours`, with some pollutant's median in the window at most `drop` ×
/// its level just before: air or water let into the sample. Also O2 at or above
/// `ambient_o2` at full flow for `ambient_hours`: the probe is sampling ambient air.
pub fn dilution(cx: &Context, params: &Dilution, reach: f64) -> Vec<Finding> {
    let p = cx.p;
    let Some(o2) = p.o2 else {
        return Vec::new();
    };
    let oc = &p.channels[o2];
    // The facility's own norm (history, else the peers' p90, else the period's own).
    let Some((norm, src)) = cx
        .history
        .and_then(O2Norm::of)
        .map(|n| (n, Source::History))
        .or_else(|| {
            cx.base.peers(&oc.factor).map(|s| {
                let norm = O2Norm {
                    line: None,
                    p90: s.p90.median,
                };
                (norm, Source::Peers)
            })
        })
        .or_else(|| O2Norm::of(p).map(|n| (n, Source::Own)))
    else {
        return Vec::new();
    };
    let usual = |i: usize| norm.at(p, i);
    let high = |i: usize| {
        oc.usable(&p.settled, i) && usual(i).is_some_and(|u| oc.x[i] > u + params.o2_margin.value)
    };
    let full = 0.5 * p.flow_median;
    let ambient = |i: usize| {
        oc.usable(&p.running, i)
            && oc.x[i] >= params.ambient_o2.value
            && p.flow
                .is_some_and(|f| p.channels[f].qa[i] == Qa::Valid && p.channels[f].x[i] >= full)
    };
    // Raised O2 with a pollutant drop first, then near-ambient O2 not already covered.
    let candidates = segments(p.len, p.slots(params.min_hours.value), high)
        .into_iter()
        .map(|w| (w, false))
        .chain(
            segments(p.len, p.slots(params.ambient_hours.value), ambient)
                .into_iter()
                .map(|w| (w, true)),
        );
    let mut out: Vec<Finding> = Vec::new();
    for ((i0, i1), near_ambient) in candidates {
        let raised = |q: &Prepared, i: usize| {
            norm.at(q, i).is_none_or(|u| {
                let c = &q.channels[q.o2.expect("a norm needs O2")];
                c.x[i] > u + params.o2_margin.value
            })
        };
        let drops = pollutant_drops(cx, (i0, i1), params, (&raised, reach));
        let (s, e) = p.window(i0, i1);
        let keep = if near_ambient {
            !out.iter().any(|f| f.start < e && s < f.end)
        } else {
            drops.iter().any(|d| d.1 <= params.drop.value)
        };
        if keep {
            let mut v: Vec<f64> = (i0..i1).filter_map(usual).collect();
            let o2_usual = stats::quantile(&mut v, 0.5);
            out.push(dilution_finding(
                cx,
                (i0, i1),
                (o2_usual, &norm, src),
                &drops,
                near_ambient,
            ));
        }
    }
    out
}

/// The O2 a unit runs at in steady operation (start-ups' purge air left out): the p90 of
/// its values, or, where its O2 falls as flow rises (more load, less excess air), the line
/// of O2 on flow plus the p90 of the values around it.
#[derive(Debug, Clone, Copy)]
struct O2Norm {
    /// O2 ≈ a + b · flow, b < 0.
    line: Option<(f64, f64)>,
    p90: f64,
}

impl O2Norm {
    fn of(q: &Prepared) -> Option<O2Norm> {
        let c = &q.channels[q.o2?];
        let fc = q.flow.map(|f| &q.channels[f]);
        let steady: Vec<usize> = (0..q.len).filter(|&i| c.usable(&q.settled, i)).collect();
        let with_flow: Vec<(f64, f64)> = fc.map_or_else(Vec::new, |f| {
            steady
                .iter()
                .filter(|&&i| f.qa[i] == Qa::Valid)
                .map(|&i| (c.x[i], f.x[i]))
                .collect()
        });
        let mut m = Moments::default();
        for &(x, f) in &with_flow {
            m.add(x, f);
        }
        let (a, b) = m.line_x_on_y();
        let line = (with_flow.len() * 2 >= steady.len() && b < 0.0).then_some((a, b));
        let mut v: Vec<f64> = match line {
            Some((a, b)) => with_flow.iter().map(|&(x, f)| x - (a + b * f)).collect(),
            None => steady.iter().map(|&i| c.x[i]).collect(),
        };
        let p90 = stats::quantile(&mut v, 0.9);
        p90.is_finite().then_some(O2Norm { line, p90 })
    }

    /// The usual upper O2 at slot `i` of `q`; none where the line needs a flow `q` lacks.
    fn at(&self, q: &Prepared, i: usize) -> Option<f64> {
        match self.line {
            None => Some(self.p90),
            Some((a, b)) => {
                let f = &q.channels[q.flow?];
                (f.qa[i] == Qa::Valid).then(|| a + b * f.x[i] + self.p90)
            }
        }
    }
}

/// Each pollutant's median in the window relative to its level just before: the median of
/// up to `reference_hours` steady running values with O2 not raised before the window,
/// within `reach_hours`
/// (the history's if the window opens the period), else its usual median (history, else the
/// period). The level of the days just before, not of the weeks: the slow wander of a
/// pollutant's level would hide a dilution's fall from a month's median. (channel, ratio).
fn pollutant_drops(
    cx: &Context,
    (i0, i1): (usize, usize),
    params: &Dilution,
    (raised, reach): (&Raised<'_>, f64),
) -> Vec<(usize, f64)> {
    let p = cx.p;
    let n = p.slots(params.reference_hours.value);
    p.of_role(Role::Pollutant)
        .filter_map(|ch| {
            let c = &p.channels[ch];
            let mut before = steady_before(cx, &c.factor, (i0, n), raised, reach);
            let usual = if before.len() * 2 >= n {
                stats::quantile(&mut before, 0.5)
            } else {
                cx.base
                    .history(&c.factor)
                    .or(cx.base.own(&c.factor))
                    .map_or(f64::NAN, |h| h.p50)
            };
            if usual.is_nan() || usual <= 0.0 {
                return None;
            }
            let mut v: Vec<f64> = (i0..i1)
                .filter(|&i| c.usable(&p.running, i))
                .map(|i| c.x[i])
                .collect();
            let m = stats::quantile(&mut v, 0.5);
            m.is_finite().then_some((ch, m / usual))
        })
        .collect()
}

/// Whether a slot of a series (the period or its history) has O2 above the unit's norm.
type Raised<'a> = dyn Fn(&Prepared, usize) -> bool + 'a;

/// Up to `n` values of `factor` while the unit runs steadily with O2 valid and not
/// `raised`, before slot `i0` of the period and within `reach` hours of it, latest first:
/// the period's, then the history's.
fn steady_before(
    cx: &Context,
    factor: &str,
    (i0, n): (usize, usize),
    raised: &Raised<'_>,
    reach: f64,
) -> Vec<f64> {
    let t = cx.p.time(i0);
    let mut out = Vec::with_capacity(n);
    for (q, end) in std::iter::once((cx.p, i0)).chain(cx.history.map(|h| (h, h.len))) {
        let (Some(c), Some(o2)) = (
            q.channels.iter().find(|c| c.factor == factor),
            q.o2.map(|k| &q.channels[k]),
        ) else {
            continue;
        };
        for i in (0..end).rev() {
            let age = (t - q.time(i)) as f64 / 3600.0;
            if out.len() >= n || age > reach {
                return out;
            }
            if age > 0.0 && c.usable(&q.settled, i) && o2.qa[i] == Qa::Valid && !raised(q, i) {
                out.push(c.x[i]);
            }
        }
    }
    out
}

fn dilution_finding(
    cx: &Context,
    (i0, i1): (usize, usize),
    (o2_usual, norm, src): (f64, &O2Norm, Source),
    drops: &[(usize, f64)],
    ambient: bool,
) -> Finding {
    let p = cx.p;
    let o2 = p.o2.expect("dilution needs O2");
    let oc = &p.channels[o2];
    let mut v: Vec<f64> = (i0..i1)
        .filter(|&i| oc.qa[i] == Qa::Valid)
        .map(|i| oc.x[i])
        .collect();
    let o2_median = stats::quantile(&mut v, 0.5);
    let (start, end) = p.window(i0, i1);
    let drop_text: Vec<String> = drops
        .iter()
        .filter(|d| d.1 < 1.0)
        .map(|&(ch, r)| {
            format!(
                "{}降至此前正常运行时的 {:.0}%",
                factor_label(&p.channels[ch].factor),
                r * 100.0
            )
        })
        .collect();
    let what = if ambient {
        "接近环境空气（20.9%），而烟气流量仍在半负荷以上，采样探头可能在抽取环境空气"
    } else {
        "明显高于正常运行水平"
    };
    let explanation = format!(
        "{} 共 {}，烟气含氧量中位数 {}%，{}（{}稳定运行时{}含氧量第90百分位为 {}%）{}。氧含量升高而污染物浓度同步下降，是采样系统被稀释（掺入空气或水）的典型特征，属于干扰采样、致使监测数据严重失真的情形（环发〔2015〕175号第四、六项）。",
        zh_window(start, end),
        zh_hours(end - start),
        num(o2_median),
        what,
        src.zh(),
        if norm.line.is_some() {
            "、同等烟气流量下"
        } else {
            ""
        },
        num(o2_usual),
        if drop_text.is_empty() {
            String::new()
        } else {
            format!("，同期{}", drop_text.join("，"))
        },
    );
    let evidence = json!({
        "o2": cx.window(o2, (i0, i1)),
        "o2_median": o2_median,
        "o2_baseline_p90": o2_usual,
        "o2_baseline_source": src.id(),
        "o2_baseline_on_flow": norm.line.map(|(a, b)| json!({"intercept": a, "slope": b, "p90_above": norm.p90})),
        "ambient": ambient,
        "pollutants": drops.iter().map(|&(ch, r)| json!({
            "factor": p.channels[ch].factor,
            "ratio_to_usual": r,
            "window": cx.window(ch, (i0, i1)),
        })).collect::<Vec<_>>(),
    });
    let min_ratio = drops.iter().map(|d| d.1).fold(1.0, f64::min).max(0.05);
    let strength = (o2_median - o2_usual).max(1.0).sqrt() / min_ratio.sqrt();
    cx.finding(
        Signature::Dilution,
        None,
        (i0, i1),
        strength,
        explanation,
        evidence,
    )
}

/// S6: a pollutant that normally follows flow (load) no longer does. The outlet's own
/// relation — slope on flow and scatter around it, from its history, else from the period —
/// says what correlation a window with that much flow variation should show; a window whose
/// correlation falls at least `drop` below that expectation (itself at least
/// `min_baseline_corr`, with flow CV ≥ `min_flow_cv`, and significant: Fisher z ≥
/// `z_critical` on the Bartlett effective sample size) flags. Expecting less of quiet
/// windows (weekends, steady load) keeps them from looking decoupled. A concentration that
/// no longer answers to the process is being generated, not measured.
pub fn decoupling(cx: &Context, params: &Decoupling) -> Vec<Finding> {
    let p = cx.p;
    let Some(f) = p.flow else {
        return Vec::new();
    };
    let fc = &p.channels[f];
    let w = p.slots(params.window_hours.value);
    let mut out = flat_flow(cx, params, f, w);
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let (relation, src) = match (cx.base.history(&c.factor), cx.base.own(&c.factor)) {
            (Some(h), _) if h.flow_slope.is_finite() => (h, Source::History),
            (_, Some(o)) => (o, Source::Own),
            _ => continue,
        };
        let (slope, noise) = (relation.flow_slope, relation.flow_resid_sd);
        if !(slope > 0.0 && noise > 0.0) {
            continue;
        }
        let expected = |m: &Moments| {
            let signal = slope * m.sd_y();
            signal / (signal * signal + noise * noise).sqrt()
        };
        // The pair's moments in a window, and the lag-1 autocorrelations of each side
        // (Bartlett: autocorrelated series carry fewer independent values than rows).
        let ok = |i: usize| c.usable(&p.running, i) && fc.qa[i] == Qa::Valid;
        let sums = |s: usize, e: usize| {
            let (mut m, mut ax, mut af) =
                (Moments::default(), Moments::default(), Moments::default());
            for i in s..e {
                if ok(i) {
                    m.add(c.x[i], fc.x[i]);
                    if i > s && ok(i - 1) {
                        ax.add(c.x[i], c.x[i - 1]);
                        af.add(fc.x[i], fc.x[i - 1]);
                    }
                }
            }
            (m, ax, af)
        };
        // The scan's windows start every half window: each half is summed once, and a
        // window is two halves and the lag pair where they meet.
        let h = w / 2;
        let halves: Vec<_> = (0..p.len / h.max(1))
            .map(|k| sums(k * h, (k + 1) * h))
            .collect();
        let moments = |s: usize, e: usize| {
            let (m, ax, af) = match halves.get(s / h.max(1)..s / h.max(1) + 2) {
                Some([a, b]) if h > 0 && s.is_multiple_of(h) && e == s + 2 * h => {
                    let (mut ax, mut af) = (a.1.merged(&b.1), a.2.merged(&b.2));
                    if ok(s + h) && ok(s + h - 1) {
                        ax.add(c.x[s + h], c.x[s + h - 1]);
                        af.add(fc.x[s + h], fc.x[s + h - 1]);
                    }
                    (a.0.merged(&b.0), ax, af)
                }
                _ => sums(s, e),
            };
            let lag = |a: &Moments| a.correlation().clamp(0.0, 0.99);
            let r = lag(&ax) * lag(&af);
            let n_eff = (m.n * (1.0 - r) / (1.0 + r)).max(3.0);
            (m, n_eff)
        };
        // Fisher z of the fall from the expected correlation, on the effective sample size.
        let z = |m: &Moments, n_eff: f64| {
            let clip = |r: f64| r.clamp(-0.999, 0.999).atanh();
            (clip(expected(m)) - clip(m.correlation())) * (n_eff - 3.0).max(0.0).sqrt()
        };
        let decoupled = |(m, n_eff): &(Moments, f64)| {
            let rho0 = expected(m);
            m.n * 2.0 >= w as f64
                && m.cv_y() >= params.min_flow_cv.value
                && rho0 >= params.min_baseline_corr.value
                && rho0 - m.correlation() >= params.drop.value
                && z(m, *n_eff) >= params.z_critical.value
        };
        for (i0, i1) in windows(p.len, w, w / 2, w, |s, e| decoupled(&moments(s, e))) {
            let (m, n_eff) = moments(i0, i1);
            let (rho, rho0) = (m.correlation(), expected(&m));
            let (start, end) = p.window(i0, i1);
            let explanation = format!(
                "{} 在 {} 与流量的相关系数为 {:.2}；按{}浓度随流量变化的关系，在同期流量变化幅度（变异系数 {:.0}%）下应约为 {:.2}，下降 {:.2}。污染物浓度不再随工况变化，提示数据并非实测，可能由人工设定或程序生成。",
                factor_label(&c.factor),
                zh_window(start, end),
                rho,
                src.zh(),
                m.cv_y() * 100.0,
                rho0,
                rho0 - rho,
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "flow": cx.window(f, (i0, i1)),
                "correlation": rho,
                "expected_correlation": rho0,
                "baseline_slope": slope,
                "baseline_residual_sd": noise,
                "baseline_source": src.id(),
                "flow_cv": m.cv_y(),
                "effective_values": n_eff,
                "z": z(&m, n_eff),
            });
            out.push(cx.finding(
                Signature::Decoupling,
                Some(&c.factor),
                (i0, i1),
                (rho0 - rho) / params.drop.value,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// S6, the flow side: the flow channel held near-constant (CV below `flat_flow_cv`) over half
/// a window (scanned in quarter steps, so a hold of 1.5 half windows is always seen whole)
/// while the unit runs and a pollutant moves (CV at least `min_flow_cv`). A running
/// stack's flow meter always moves with load and draught; one that does not is no longer
/// measuring, and the pollutants' relation to flow is gone though each side looks
/// plausible alone.
fn flat_flow(cx: &Context, params: &Decoupling, f: usize, w: usize) -> Vec<Finding> {
    let p = cx.p;
    let fc = &p.channels[f];
    let mut out = Vec::new();
    // Prefix sums of the running flow: a window whose flow moves is dismissed in O(1), so
    // the pollutants are summed only where the flow is flat.
    let mut prefix = vec![(0.0f64, 0.0f64, 0.0f64); p.len + 1];
    for i in 0..p.len {
        let (n, s1, s2) = prefix[i];
        prefix[i + 1] = if p.running[i] && fc.qa[i] == Qa::Valid {
            (n + 1.0, s1 + fc.x[i], s2 + fc.x[i] * fc.x[i])
        } else {
            (n, s1, s2)
        };
    }
    let flow_flat = |s: usize, e: usize| {
        let (n, s1, s2) = (
            prefix[e].0 - prefix[s].0,
            prefix[e].1 - prefix[s].1,
            prefix[e].2 - prefix[s].2,
        );
        let mean = s1 / n;
        n * 4.0 >= w as f64
            && mean > 0.0
            && ((s2 / n - mean * mean).max(0.0)).sqrt() / mean < params.flat_flow_cv.value
    };
    let (h, q) = (w / 2, (w / 4).max(1));
    if !(0..p.len.saturating_sub(h) + 1)
        .step_by(q)
        .any(|s| flow_flat(s, (s + h).min(p.len)))
    {
        return out;
    }
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let moments = |s: usize, e: usize| {
            let mut m = Moments::default();
            for i in (s..e).filter(|&i| c.usable(&p.running, i) && fc.qa[i] == Qa::Valid) {
                m.add(c.x[i], fc.x[i]);
            }
            m
        };
        let pollutant_cv = |m: &Moments| m.variance_x().sqrt() / (m.mean_x()).abs();
        let flat = |m: &Moments| {
            m.n * 4.0 >= w as f64
                && m.cv_y() < params.flat_flow_cv.value
                && pollutant_cv(m) >= params.min_flow_cv.value
        };
        for (i0, i1) in windows(p.len, h, q, h, |s, e| {
            flow_flat(s, e) && flat(&moments(s, e))
        }) {
            let m = moments(i0, i1);
            let (start, end) = p.window(i0, i1);
            let explanation = format!(
                "{} 设施运行期间，{}几乎不变（变异系数 {:.2}%），而同期{}仍在正常波动（变异系数 {:.0}%）。运行中的烟气流量总随负荷和引风变化，流量长期恒定说明流量数据已不随工况变化，浓度与流量的对应关系中断，提示流量数据被设定或替换。",
                zh_window(start, end),
                factor_label(&fc.factor),
                m.cv_y() * 100.0,
                factor_label(&c.factor),
                pollutant_cv(&m) * 100.0,
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "flow": cx.window(f, (i0, i1)),
                "flow_cv": m.cv_y(),
                "pollutant_cv": pollutant_cv(&m),
                "flat_flow_cv": params.flat_flow_cv.value,
            });
            out.push(cx.finding(
                Signature::Decoupling,
                Some(&c.factor),
                (i0, i1),
                params.flat_flow_cv.value / m.cv_y().max(0.05 * params.flat_flow_cv.value),
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// S17: pollutant channels flagged F (停运) for `min_hours` while flow stays at or above
/// `flow_share` of its usual running median and O2 below `max_o2`: the unit declared stopped
/// was running, and its emissions were hidden from exceedance checks.
pub fn stopped_but_running(cx: &Context, params: &StoppedButRunning) -> Vec<Finding> {
    let p = cx.p;
    let Some(f) = p.flow else {
        return Vec::new();
    };
    let fc = &p.channels[f];
    let usual = cx
        .base
        .history(&fc.factor)
        .map(|h| h.p50)
        .filter(|m| m.is_finite())
        .unwrap_or(p.flow_median);
    if usual.is_nan() || usual <= 0.0 {
        return Vec::new();
    }
    let pollutants: Vec<usize> = p.of_role(Role::Pollutant).collect();
    let oc = p.o2.map(|o| &p.channels[o]);
    let hit = |i: usize| {
        pollutants.iter().any(|&k| p.channels[k].flag[i] == b'F')
            && fc.x[i] >= params.flow_share.value * usual
            && oc.is_none_or(|o| o.x[i].is_nan() || o.x[i] < params.max_o2.value)
    };
    let mut out = Vec::new();
    for (i0, i1) in segments(p.len, p.slots(params.min_hours.value), hit) {
        let mut v: Vec<f64> = (i0..i1)
            .map(|i| fc.x[i])
            .filter(|x| x.is_finite())
            .collect();
        let flow_median = stats::quantile(&mut v, 0.5);
        let (start, end) = p.window(i0, i1);
        let o2_text = oc
            .map(|o| {
                let mut v: Vec<f64> = (i0..i1).map(|i| o.x[i]).filter(|x| x.is_finite()).collect();
                format!(
                    "，含氧量中位数 {}%（未接近环境空气）",
                    num(stats::quantile(&mut v, 0.5))
                )
            })
            .unwrap_or_default();
        let explanation = format!(
            "{} 共 {}，污染物数据被标记为“停运”（F），但同期{}中位数为 {}{}，达到正常运行时的 {:.0}%{}。标记停运而设施仍在运行（标停未停），标记为无效的数据不参与超标判定，属于虚假标记。",
            zh_window(start, end),
            zh_hours(end - start),
            factor_label(&fc.factor),
            num(flow_median),
            unit(&fc.factor),
            flow_median / usual * 100.0,
            o2_text,
        );
        let mut evidence = json!({
            "flow": cx.window(f, (i0, i1)),
            "flow_median": flow_median,
            "usual_flow": usual,
            "pollutants": pollutants.iter().map(|&k| cx.window(k, (i0, i1))).collect::<Vec<_>>(),
        });
        if let Some(o) = p.o2 {
            evidence["o2"] = cx.window(o, (i0, i1));
        }
        let strength = ((i1 - i0) as f64 / p.slots(params.min_hours.value) as f64).sqrt()
            * (flow_median / (params.flow_share.value * usual)).max(1.0);
        out.push(cx.finding(
            Signature::StoppedButRunning,
            None,
            (i0, i1),
            strength,
            explanation,
            evidence,
        ));
    }
    out
}
