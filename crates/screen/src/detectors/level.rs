//! Where the values sit: S3 pinned near the detection limit (检出限附近) and S4 hugging the
//! emission limit (贴限排放). Both count shares of operating values in a band over sliding
//! windows of a week and compare them with what peers show.

use serde_json::json;

use super::{Context, count, prefix, windows};
use crate::config::{LimitHugging, NearDetectionLimit, Role};
use crate::finding::{Finding, Signature, factor_label, num, unit, zh_window};

/// S3: in a window of `window_hours`, at least `share` of operating values are ≤
/// `multiple` × DL, while peers (else the outlet's history) sit at ≥ `baseline_multiple` ×
/// DL. An outlet whose peers emit well above the detection limit and which itself reads
/// "nothing" for a week has an analyser that is not measuring the flue gas (checklist 20).
pub fn near_detection_limit(cx: &Context, params: &NearDetectionLimit) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    let w = p.slots(params.window_hours.value);
    let step = p.slots(6.0);
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(dl) = c
            .detection_limit
            .filter(|d| *d > 0.0 && c.role == Role::Pollutant)
        else {
            continue;
        };
        // Only a baseline other than the period itself can say "normally well above DL".
        let Some((level, src)) = cx
            .base
            .peer_reference(&c.factor, |h| h.p50, |s| s.p50)
            .filter(|(_, s)| *s != crate::baseline::Source::Own)
        else {
            continue;
        };
        if level < params.baseline_multiple.value * dl {
            continue;
        }
        let cap = params.multiple.value * dl;
        let usable = prefix(p.len, |i| c.usable(&p.running, i));
        let low = prefix(p.len, |i| c.usable(&p.running, i) && c.x[i] <= cap);
        let min_len = p.slots(params.min_hours.value);
        let qualifies = |s: usize, e: usize| {
            let n = count(&usable, s, e);
            n as usize * 2 >= (e - s)
                && f64::from(count(&low, s, e)) >= params.share.value * f64::from(n)
        };
        for (i0, i1) in windows(p.len, w, step, min_len, qualifies) {
            let n = count(&usable, i0, i1);
            let k = count(&low, i0, i1);
            let share = f64::from(k) / f64::from(n.max(1));
            let (start, end) = p.window(i0, i1);
            let explanation = format!(
                "{} 在 {} 的 {} 个运行期有效数据中有 {:.0}% 不超过检出限（{}{}）的 {} 倍，而{}该因子的中位浓度为 {}{}，是检出限的 {:.0} 倍。对应现场检查要点第20项“数据长期在仪器检出限上下波动”，可能存在采样管路稀释、堵塞或仪器参数被修改。",
                factor_label(&c.factor),
                zh_window(start, end),
                n,
                share * 100.0,
                num(dl),
                unit(&c.factor),
                num(params.multiple.value),
                src.zh(),
                num(level),
                unit(&c.factor),
                level / dl,
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "detection_limit": dl,
                "share_near_dl": share,
                "baseline_median": level,
                "baseline_source": src.id(),
                "baseline": cx.base.band_json(&c.factor),
            });
            let strength =
                share / params.share.value * (level / (params.baseline_multiple.value * dl)).sqrt();
            out.push(cx.finding(
                Signature::NearDetectionLimit,
                Some(&c.factor),
                (i0, i1),
                strength,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// S4: in a window of `window_hours`, the share of operating values in
/// [`band_low`·L, L) is at least `min_share` and `vs_peers` × the peers' share, while at most
/// `max_over` reach L: the distribution piles up just under the limit instead of spreading
/// across it (bunching, Stoerk 2016).
pub fn limit_hugging(cx: &Context, params: &LimitHugging) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    let w = p.slots(params.window_hours.value);
    let step = p.slots(6.0);
    let lo_share = params.band_low.value;
    for (ch, c) in p.channels.iter().enumerate() {
        let Some(limit) = c.limit.filter(|l| *l > 0.0 && c.role == Role::Pollutant) else {
            continue;
        };
        let reference = cx
            .base
            .peer_reference(&c.factor, |h| h.hug_share, |s| s.hug_share);
        let need = params
            .min_share
            .value
            .max(params.vs_peers.value * reference.map_or(0.0, |(r, _)| r));
        let usable = prefix(p.len, |i| c.usable(&p.running, i));
        let band = prefix(p.len, |i| {
            c.usable(&p.running, i) && c.x[i] >= lo_share * limit && c.x[i] < limit
        });
        // Values at or above L count whatever their flag (a flagged exceedance is still one),
        // except calibration readings, which are span gas, not flue gas.
        let over = prefix(p.len, |i| {
            p.running[i] && c.x[i] >= limit && c.flag[i] != b'C'
        });
        let min_len = p.slots(params.min_hours.value);
        let qualifies = |s: usize, e: usize| {
            let n = f64::from(count(&usable, s, e));
            n * 2.0 >= (e - s) as f64
                && f64::from(count(&band, s, e)) >= need * n
                && f64::from(count(&over, s, e)) <= params.max_over.value * n
        };
        for (i0, i1) in windows(p.len, w, step, min_len, qualifies) {
            let n = f64::from(count(&usable, i0, i1)).max(1.0);
            let share = f64::from(count(&band, i0, i1)) / n;
            let over_share = f64::from(count(&over, i0, i1)) / n;
            let (start, end) = p.window(i0, i1);
            let (ref_text, ref_json) = match reference {
                Some((r, src)) => (
                    format!("，{}仅为 {:.1}%", src.zh(), r * 100.0),
                    json!({"share": r, "source": src.id()}),
                ),
                None => (String::new(), serde_json::Value::Null),
            };
            let explanation = format!(
                "{} 在 {} 有 {:.0}% 的运行期数据落在排放限值 {}{} 的 {:.0}%–100% 之间{}，而达到或超过限值的仅 {:.1}%。数据在限值下方异常聚集，提示存在“贴限”控制或对超标数据的修改。",
                factor_label(&c.factor),
                zh_window(start, end),
                share * 100.0,
                num(limit),
                unit(&c.factor),
                lo_share * 100.0,
                ref_text,
                over_share * 100.0,
            );
            let evidence = json!({
                "window": cx.window(ch, (i0, i1)),
                "limit": limit,
                "band": [lo_share * limit, limit],
                "share_in_band": share,
                "share_over": over_share,
                "peer_share": ref_json,
                "required_share": need,
                "histogram": histogram(&c.x[i0..i1], limit),
            });
            out.push(cx.finding(
                Signature::LimitHugging,
                Some(&c.factor),
                (i0, i1),
                share / need,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// Counts of x/L in bins of 0.1 from 0 to 1.2 (the last bin open): the shape of bunching.
fn histogram(x: &[f64], limit: f64) -> Vec<u32> {
    let mut bins = vec![0u32; 13];
    for &v in x.iter().filter(|v| v.is_finite()) {
        let b = ((v / limit) * 10.0).floor().clamp(0.0, 12.0) as usize;
        bins[b] += 1;
    }
    bins
}
