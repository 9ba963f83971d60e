//! S1 constant value (恒值) and S7 several channels flat at once (多参数同时恒值).
//!
//! A run is a sequence of identical valid values; flagged or missing slots in between are
//! skipped (a daily calibration does not end a frozen value), but a gap longer than the
//! minimum run ends it. Whether a run is long is judged against chance: with `p` the share
//! of consecutive values that repeat (from peers, else the outlet), a run of `L` values
//! happens by chance about `n·p^(L−1)` times in `n` values. Coarse analysers (a wastewater
//! COD value held for an hour) therefore need far longer runs than a flue-gas SO2 monitor.

use serde_json::json;

use super::Context;
use crate::baseline::Source;
use crate::config::{ConstantValue, MultiChannelFlat, Role};
use crate::finding::{Finding, Signature, factor_label, num, unit, zh_hours, zh_window};
use crate::qa::Qa;

/// A run of identical valid values in one channel: slots `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub ch: usize,
    pub start: usize,
    pub end: usize,
    /// Valid values in the run.
    pub len: usize,
    /// Of those, values while the unit runs.
    pub running: usize,
    pub value: f64,
}

/// Runs of at least `min_len` identical valid values in channel `ch`, with gaps of at most
/// `max_gap` slots between values.
pub fn runs(cx: &Context, ch: usize, min_len: usize, max_gap: usize) -> Vec<Run> {
    let p = cx.p;
    let c = &p.channels[ch];
    let mut out = Vec::new();
    let mut cur: Option<Run> = None;
    let mut last = 0usize;
    for i in 0..p.len {
        if c.qa[i] != Qa::Valid {
            continue;
        }
        let x = c.x[i];
        let r = usize::from(p.running[i]);
        match &mut cur {
            Some(run) if run.value == x && i - last <= max_gap => {
                run.end = i + 1;
                run.len += 1;
                run.running += r;
            }
            _ => {
                if let Some(run) = cur.take().filter(|run| run.len >= min_len) {
                    out.push(run);
                }
                cur = Some(Run {
                    ch,
                    start: i,
                    end: i + 1,
                    len: 1,
                    running: r,
                    value: x,
                });
            }
        }
        last = i;
    }
    out.extend(cur.filter(|run| run.len >= min_len));
    out
}

/// The chance model of a channel: the probability that a value repeats, clamped. The larger
/// of the peers' median and the outlet's own history, since a coarse instrument repeats more
/// than its peers for honest reasons; the period itself is never used (it holds the runs).
fn repeat_probability(cx: &Context, factor: &str, lo: f64, hi: f64) -> (f64, &'static str) {
    let peers = cx.base.peers(factor).map(|s| s.repeat_rate.median);
    let history = cx.base.history(factor).map(|h| h.repeat_rate);
    match (
        peers.filter(|p| p.is_finite()),
        history.filter(|h| h.is_finite()),
    ) {
        (Some(p), Some(h)) if h > p => (h.clamp(lo, hi), Source::History.zh()),
        (Some(p), _) => (p.clamp(lo, hi), Source::Peers.zh()),
        (None, Some(h)) => (h.clamp(lo, hi), Source::History.zh()),
        (None, None) => (hi, "保守估计"),
    }
}

/// Shortest run whose expected chance count among `n` values is below `alpha`.
fn chance_length(n: usize, p: f64, alpha: f64) -> usize {
    let n = n.max(1) as f64;
    // n · p^(L−1) < alpha  ⇔  L > 1 + ln(alpha / n) / ln p
    (1.0 + (alpha / n).ln() / p.ln()).ceil().max(1.0) as usize
}

/// S1: one channel holds the same value for longer than chance and `min_hours` allow while
/// the unit runs. Checklist item 21 (数据长期在某一固定值上下小幅波动).
/// `runs` are [`candidate_runs`]: S1's runs are among them, since S1 asks for longer and
/// less likely runs than S7.
pub fn constant_value(cx: &Context, params: &ConstantValue, runs: &[Run]) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    let min_slots = p.slots(params.min_hours.value);
    for (ch, c) in p.channels.iter().enumerate() {
        if !matches!(c.role, Role::Pollutant | Role::O2 | Role::Flow) {
            continue;
        }
        let n = c.qa.iter().filter(|&&q| q == Qa::Valid).count();
        let (prob, src) = repeat_probability(
            cx,
            &c.factor,
            params.min_repeat.value,
            params.max_repeat.value,
        );
        let need = chance_length(n, prob, params.alpha.value).max(min_slots);
        for run in runs.iter().filter(|r| r.ch == ch && r.len >= need) {
            if (run.running as f64) < params.running_share.value * run.len as f64 {
                continue;
            }
            let chance = n as f64 * prob.powi(run.len as i32 - 1);
            let (start, end) = p.window(run.start, run.end);
            let flow_text = match p.flow {
                Some(f) if f != ch => {
                    let fc = &p.channels[f];
                    let (lo, hi) = (run.start..run.end)
                        .filter(|&i| fc.qa[i] == Qa::Valid)
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                            (lo.min(fc.x[i]), hi.max(fc.x[i]))
                        });
                    if lo.is_finite() && hi > lo {
                        format!(
                            "，同期{}在 {}–{} 之间变化",
                            factor_label(&fc.factor),
                            num(lo),
                            num(hi)
                        )
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            };
            let explanation = format!(
                "{} 在 {} 连续 {}（{} 个有效数据）保持 {}{} 不变{}。按{}相邻数据相同的比例 {:.1}% 估算，偶然出现如此长恒值的期望次数约 {:.1e}。对应现场检查要点第21项“数据长期在某一固定值上下小幅波动”，可能存在修改参数或数据的行为。",
                factor_label(&c.factor),
                zh_window(start, end),
                zh_hours(end - start),
                run.len,
                num(run.value),
                unit(&c.factor),
                flow_text,
                src,
                prob * 100.0,
                chance,
            );
            let evidence = json!({
                "window": cx.window(ch, (run.start, run.end)),
                "value": run.value,
                "run_values": run.len,
                "required_values": need,
                "repeat_probability": prob,
                "chance_runs": chance,
                "baseline": cx.base.band_json(&c.factor),
            });
            out.push(cx.finding(
                Signature::ConstantValue,
                Some(&c.factor),
                (run.start, run.end),
                run.len as f64 / need as f64,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// The runs S1 and S7 look at, found in one pass per channel: every channel's runs that
/// are unlikely at S7's `channel_alpha` and at least its `min_hours` long (S7's shorter
/// minimum also ends runs at shorter gaps), with S1's bounds on the repeat probability.
pub fn candidate_runs(cx: &Context, params: &MultiChannelFlat, s1: &ConstantValue) -> Vec<Run> {
    let p = cx.p;
    let min_slots = p.slots(params.min_hours.value);
    let mut out = Vec::new();
    for (ch, c) in p.channels.iter().enumerate() {
        let n = c.qa.iter().filter(|&&q| q == Qa::Valid).count();
        let (prob, _) = repeat_probability(cx, &c.factor, s1.min_repeat.value, s1.max_repeat.value);
        let need = chance_length(n, prob, params.channel_alpha.value).max(min_slots);
        out.extend(runs(cx, ch, need, min_slots));
    }
    out
}

/// S7: at least `min_channels` channels flat at the same time for `min_hours`: a frozen or
/// replaying data-acquisition unit rather than one stuck analyser.
pub fn multi_channel_flat(cx: &Context, params: &MultiChannelFlat, runs: &[Run]) -> Vec<Finding> {
    let p = cx.p;
    let need = params.min_channels.value.max(2.0) as usize;
    let min_slots = p.slots(params.min_hours.value);
    // Sweep over the starts and ends of runs while the unit runs.
    let runs: Vec<Run> = runs
        .iter()
        .copied()
        .filter(|r| 2 * r.running >= r.len)
        .collect();
    let mut events: Vec<(usize, i32)> = runs
        .iter()
        .flat_map(|r| [(r.start, 1), (r.end, -1)])
        .collect();
    events.sort_unstable();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut open: Option<usize> = None;
    for (slot, d) in events {
        let before = depth;
        depth += d;
        if before < need as i32 && depth >= need as i32 {
            open = Some(slot);
        } else if before >= need as i32
            && depth < need as i32
            && let Some(s) = open.take().filter(|&s| slot - s >= min_slots)
        {
            out.push(flat_finding(cx, &runs, (s, slot), need));
        }
    }
    out
}

fn flat_finding(cx: &Context, runs: &[Run], (s, e): (usize, usize), need: usize) -> Finding {
    let p = cx.p;
    let flat: Vec<&Run> = runs.iter().filter(|r| r.start < e && s < r.end).collect();
    let names: Vec<String> = flat
        .iter()
        .map(|r| {
            let f = &p.channels[r.ch].factor;
            format!("{}={}{}", factor_label(f), num(r.value), unit(f))
        })
        .collect();
    let (start, end) = p.window(s, e);
    let explanation = format!(
        "{} 共 {}，{} 个监测参数同时保持不变：{}。多个独立仪表同时恒值，提示数采仪数据冻结或回放，可能存在伪造、篡改自动监测数据的行为（法释〔2023〕7号第十一条）。",
        zh_window(start, end),
        zh_hours(end - start),
        flat.len(),
        names.join("，"),
    );
    let evidence = json!({
        "channels": flat.iter().map(|r| json!({
            "factor": p.channels[r.ch].factor,
            "value": r.value,
            "window": cx.window(r.ch, (s, e)),
        })).collect::<Vec<_>>(),
        "required_channels": need,
    });
    cx.finding(
        Signature::MultiChannelFlat,
        None,
        (s, e),
        flat.len() as f64 / need as f64 * ((e - s) as f64 / p.slots(3.0) as f64).sqrt().max(1.0),
        explanation,
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_length_grows_with_repeat_probability() {
        assert_eq!(chance_length(1000, 0.2, 1e-3), 10);
        assert!(chance_length(1000, 0.9, 1e-3) > 100);
        assert_eq!(chance_length(0, 0.5, 1.0), 1);
    }
}
