//! S2 narrow band (量程2%以内) and S13 unrealistic smoothness (过度平滑): a series that
//! moves too little, either in range or from one value to the next.

use std::collections::VecDeque;

use serde_json::json;

use super::{Context, windows};
use crate::baseline::Source;
use crate::config::{NarrowBand, Oversmooth, Role};
use crate::finding::{Finding, Signature, factor_label, num, unit, zh_window};

/// S2: over at least `min_hours`, with `min_running_hours` of operation, the range
/// (max − min) of a pollutant stays below `range_share` of the instrument range (checklist
/// item 22: 长期, a duration, so a boiler stopped at night counts its days too) and below
/// `vs_baseline` of the usual p10–p90 spread (history, else peers scaled to this outlet's
/// level), so a steady but honest outlet with a wide range instrument is not flagged.
pub fn narrow_band(cx: &Context, params: &NarrowBand) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    let span = p.slots(params.min_hours.value);
    let min_count = p.slots(params.min_running_hours.value);
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(fs) = c.range.filter(|r| *r > 0.0 && c.role == Role::Pollutant) else {
            continue;
        };
        let own = cx.base.own(&c.factor);
        let spread = cx.base.reference(
            &c.factor,
            |h| h.p90 - h.p10,
            |s| {
                let level = own.map_or(f64::NAN, |o| o.p50);
                crate::baseline::Spread {
                    median: s.relative_spread.median * level,
                    p95: s.relative_spread.p95 * level,
                }
            },
        );
        let Some((spread, src)) = spread.filter(|(s, _)| *s > 0.0) else {
            continue;
        };
        let threshold = (params.range_share.value * fs).min(params.vs_baseline.value * spread);
        let blocks = hour_blocks(p, c);
        for (l, r, lo, hi) in narrow_runs(&blocks, threshold, (min_count, span)) {
            let (i0, i1) = (blocks[l].s, blocks[r].e);
            let (start, end) = p.window(i0, i1);
            let range = hi - lo;
            let count: usize = blocks[l..=r].iter().map(|b| b.n).sum();
            let explanation = format!(
                "{} 在 {} 的 {} 个运行期有效数据中，最大值与最小值仅相差 {}{}，为量程 {}{} 的 {:.2}%（检查要点第22项：长期在量程2%以内波动），也远小于{}常见波动幅度（p10–p90 为 {}{}）。数据几乎不随工况变化，可能经过人为设定或修改。",
                factor_label(&c.factor),
                zh_window(start, end),
                count,
                num(range),
                unit(&c.factor),
                num(fs),
                unit(&c.factor),
                range / fs * 100.0,
                src.zh(),
                num(spread),
                unit(&c.factor),
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "min": lo,
                "max": hi,
                "range": fs,
                "range_share": range / fs,
                "threshold": threshold,
                "baseline_spread": spread,
                "baseline_source": src.id(),
                "baseline": cx.base.band_json(&c.factor),
            });
            let tightness = (threshold / range.max(0.1 * threshold)).min(10.0);
            let length = (count as f64 / min_count.max(1) as f64).sqrt();
            out.push(cx.finding(
                Signature::NarrowBand,
                Some(&c.factor),
                (i0, i1),
                tightness * length,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// An hour's usable values of a channel: slots `[s, e)`, their min, max and count. S2's
/// windows are days long, so hours are fine enough, and a pass over hour extremes is
/// several times cheaper than one over values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Block {
    s: usize,
    e: usize,
    lo: f64,
    hi: f64,
    n: usize,
}

/// The non-empty hour blocks of channel `c`.
fn hour_blocks(p: &crate::series::Prepared, c: &crate::series::PreparedChannel) -> Vec<Block> {
    let per = p.slots(1.0);
    let mut out = Vec::with_capacity(p.len / per + 1);
    for s in (0..p.len).step_by(per) {
        let e = (s + per).min(p.len);
        let (mut lo, mut hi, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0);
        for i in (s..e).filter(|&i| c.usable(&p.running, i)) {
            lo = lo.min(c.x[i]);
            hi = hi.max(c.x[i]);
            n += 1;
        }
        if n > 0 {
            out.push(Block { s, e, lo, hi, n });
        }
    }
    out
}

/// Maximal stretches `[l, r]` of blocks holding at least `min_count` values over at least
/// `span` slots whose range stays within `threshold`, with their min and max. Two pointers
/// and monotone deques: linear in the blocks.
fn narrow_runs(
    b: &[Block],
    threshold: f64,
    (min_count, span): (usize, usize),
) -> Vec<(usize, usize, f64, f64)> {
    let mut out: Vec<(usize, usize, f64, f64)> = Vec::new();
    let mut maxq: VecDeque<usize> = VecDeque::new();
    let mut minq: VecDeque<usize> = VecDeque::new();
    let (mut l, mut count) = (0, 0);
    for r in 0..b.len() {
        while maxq.back().is_some_and(|&k| b[k].hi <= b[r].hi) {
            maxq.pop_back();
        }
        maxq.push_back(r);
        while minq.back().is_some_and(|&k| b[k].lo >= b[r].lo) {
            minq.pop_back();
        }
        minq.push_back(r);
        count += b[r].n;
        while let (Some(&hi), Some(&lo)) = (maxq.front(), minq.front()) {
            if b[hi].hi - b[lo].lo <= threshold {
                break;
            }
            count -= b[l].n;
            l += 1;
            if hi < l {
                maxq.pop_front();
            }
            if lo < l {
                minq.pop_front();
            }
        }
        if l > r || count < min_count.max(1) || b[r].e - b[l].s < span {
            continue;
        }
        let (hi, lo) = (b[maxq[0]].hi, b[minq[0]].lo);
        match out.last_mut() {
            Some(last) if l <= last.1 => {
                last.1 = r;
                last.2 = last.2.min(lo);
                last.3 = last.3.max(hi);
            }
            _ => out.push((l, r, lo, hi)),
        }
    }
    out
}

/// S13: roughness, sd(Δx)/mean(x), in blocks of `block_hours` (step half a block) below
/// `vs_baseline` × the outlet's own roughness in its history (analysers differ in how
/// smooth they read, so the outlet is its best reference), else × the peers' median: data
/// passed through a low-pass filter keeps its level and range but loses the
/// sample-to-sample noise every real analyser has.
pub fn oversmooth(cx: &Context, params: &Oversmooth) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    let w = p.slots(params.block_hours.value);
    for (ch, c) in p.channels.iter().enumerate() {
        if c.role != Role::Pollutant {
            continue;
        }
        let Some((reference, src)) = cx
            .base
            .reference(&c.factor, |h| h.roughness, |s| s.roughness)
            .filter(|(r, s)| *r > 0.0 && *s != Source::Own)
        else {
            continue;
        };
        let threshold = params.vs_baseline.value * reference;
        // Prefix sums over valid running values and over consecutive valid pairs.
        let n = p.len;
        let mut sx = vec![0.0; n + 1];
        let mut cnt = vec![0u32; n + 1];
        let mut sd = vec![0.0; n + 1];
        let mut sdd = vec![0.0; n + 1];
        let mut pairs = vec![0u32; n + 1];
        for i in 0..n {
            let ok = c.usable(&p.running, i);
            let x = if ok { c.x[i] } else { 0.0 };
            sx[i + 1] = sx[i] + x;
            cnt[i + 1] = cnt[i] + u32::from(ok);
            let pair = ok && i > 0 && c.usable(&p.running, i - 1);
            let d = if pair { x - c.x[i - 1] } else { 0.0 };
            sd[i + 1] = sd[i] + d;
            sdd[i + 1] = sdd[i] + d * d;
            pairs[i + 1] = pairs[i] + u32::from(pair);
        }
        let ratio = |s: usize, e: usize| {
            let k = f64::from(cnt[e] - cnt[s]);
            let m = f64::from(pairs[e] - pairs[s]);
            if k < (w / 2).max(3) as f64 || m < 2.0 {
                return f64::NAN;
            }
            let mean = (sx[e] - sx[s]) / k;
            let dvar = (sdd[e] - sdd[s]) / m - ((sd[e] - sd[s]) / m).powi(2);
            if mean <= 0.0 {
                f64::NAN
            } else {
                dvar.max(0.0).sqrt() / mean
            }
        };
        let blocks = windows(n, w, w / 2, p.slots(24.0), |s, e| ratio(s, e) < threshold);
        for (i0, i1) in blocks {
            let r = ratio(i0, i1);
            let (start, end) = p.window(i0, i1);
            let explanation = format!(
                "{} 在 {} 相邻数据的变化异常平缓：相邻差值的标准差与均值之比为 {}，仅为{}（{}）的 {:.0}%。真实仪表的读数总带有逐点的随机波动，过度平滑提示数据经过滤波、插值或人工编造。",
                factor_label(&c.factor),
                zh_window(start, end),
                num(r),
                src.zh(),
                num(reference),
                r / reference * 100.0,
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "roughness": r,
                "baseline_roughness": reference,
                "baseline_source": src.id(),
                "threshold": threshold,
                "baseline": cx.base.band_json(&c.factor),
            });
            out.push(cx.finding(
                Signature::Oversmooth,
                Some(&c.factor),
                (i0, i1),
                (threshold / r.max(threshold * 0.1)).min(10.0),
                explanation,
                evidence,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testdata::{hourly, wander};
    use crate::{Config, Input};

    /// S2 findings of ten days of hourly SO2 of a unit stopped 20:00–07:00, the last five
    /// held within ±0.5 mg/m³ of 40 (65 running hours, over 100 hours).
    fn night_stopped_band(config: &Config) -> usize {
        let mut x = wander(5, 240, 40.0, 40.0, 1);
        for (i, v) in x.iter_mut().enumerate() {
            if !(7..20).contains(&(i % 24)) {
                *v = f64::NAN;
            } else if i >= 120 {
                *v = 40.0 + ((i * 7) % 11) as f64 / 10.0 - 0.5;
            }
        }
        let series = hourly("A", "a21026", 1_793_462_400, x, 1);
        let input = [Input {
            series: &series,
            history: None,
        }];
        crate::screen(&input, config, 1, &|_| {}).results[0]
            .as_ref()
            .expect("screens")
            .iter()
            .filter(|f| f.signature == Signature::NarrowBand)
            .count()
    }

    #[test]
    fn a_band_held_for_days_by_a_unit_stopped_at_night_is_found() {
        assert_eq!(night_stopped_band(&Config::default()), 1);
        // 72 running hours, as before: five days of 13 are not enough.
        let mut config = Config::default();
        config.narrow_band.min_running_hours.value = 72.0;
        assert_eq!(night_stopped_band(&config), 0);
    }

    #[test]
    fn narrow_runs_finds_the_flat_stretch() {
        let x = [0.0, 10.0, 5.0, 5.1, 5.05, 4.95, 5.0, 20.0, 1.0];
        let b: Vec<Block> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| Block {
                s: i,
                e: i + 1,
                lo: v,
                hi: v,
                n: 1,
            })
            .collect();
        let r = narrow_runs(&b, 0.2, (4, 4));
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].0, r[0].1), (2, 6));
        assert!((r[0].3 - r[0].2 - 0.15).abs() < 1e-9);
    }
}
