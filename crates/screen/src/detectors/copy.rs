//! S8 copied or replayed series (复制数据): a window of `window_hours` that repeats exactly,
//! earlier in the same outlet (a data logger replaying a good day) or in another outlet
//! (data copied from a neighbour).
//!
//! Each window of valid values is hashed with a rolling polynomial hash, so all windows cost
//! one multiply-add per value. Only windows whose hash is divisible by the number of samples
//! per hour are kept ("content-defined" sampling: both copies of a window make the same
//! choice, so a copy is found as long as it spans about an hour more than the window). Equal
//! hashes are then confirmed on the values and the match is grown to its full length. Windows
//! in which fewer than `min_change_share` of the values change are skipped: flat data matches
//! itself trivially and is S1's business.

use serde_json::json;

use super::Context;
use crate::config::{CopiedSeries, Role};
use crate::finding::{Finding, Signature, factor_label, iso, score, zh_hours, zh_window};
use crate::qa::Qa;
use crate::series::Prepared;

/// A sampled window: its content hash (factor mixed in), channel and first slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fingerprint {
    pub key: u64,
    pub ch: u32,
    pub pos: u32,
}

/// SplitMix64 finaliser: spreads a value's bits over the whole word.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const BASE: u64 = 0x9e37_79b9_7f4a_7c15 | 1;

/// The channels S8 looks at: the measured ones a fabricator would copy.
fn copied_role(role: Role) -> bool {
    matches!(role, Role::Pollutant | Role::O2 | Role::Flow)
}

/// Sampled fingerprints of every window of `window_hours` (see the module notes).
pub fn fingerprints(p: &Prepared, params: &CopiedSeries) -> Vec<Fingerprint> {
    let k = p.slots(params.window_hours.value);
    let per_hour = (3600 / p.interval).max(1) as u64;
    let min_changes = (params.min_change_share.value * (k - 1) as f64).ceil() as u32;
    let mut out = Vec::new();
    if k < 2 || p.len < k || p.len > u32::MAX as usize {
        return out;
    }
    let base_k = (0..k).fold(1u64, |acc, _| acc.wrapping_mul(BASE));
    for (ch, c) in p.channels.iter().enumerate() {
        if !copied_role(c.role) {
            continue;
        }
        let salt = c.factor.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
        // Per slot: the value's word (0 when invalid), invalid, and changed from the slot
        // before; then one rolling pass.
        let valid: Vec<bool> = c.qa.iter().map(|&q| q == Qa::Valid).collect();
        let word: Vec<u64> = (0..p.len)
            .map(|i| {
                if valid[i] {
                    mix(c.x[i].to_bits() ^ salt)
                } else {
                    0
                }
            })
            .collect();
        let changed = |i: usize| i > 0 && valid[i] && valid[i - 1] && c.x[i] != c.x[i - 1];
        let (mut h, mut invalid, mut changes) = (0u64, 0u32, 0u32);
        for i in 0..p.len {
            h = h.wrapping_mul(BASE).wrapping_add(word[i]);
            invalid += u32::from(!valid[i]);
            changes += u32::from(changed(i));
            if i >= k {
                let old = i - k;
                h = h.wrapping_sub(word[old].wrapping_mul(base_k));
                invalid -= u32::from(!valid[old]);
                // The pair (old, old + 1) leaves the window.
                changes -= u32::from(changed(old + 1));
            }
            if i + 1 >= k && invalid == 0 && changes >= min_changes {
                let key = mix(h);
                if key.is_multiple_of(per_hour) {
                    out.push(Fingerprint {
                        key,
                        ch: ch as u32,
                        pos: (i + 1 - k) as u32,
                    });
                }
            }
        }
    }
    out
}

/// Grows an exact match of `[a, a + k)` and `[b, b + k)` (a in `pa`, b in `pb`) in both
/// directions; `None` if the windows differ (a hash collision). With `same`, the source is
/// kept before the copy.
fn grow(
    xa: &[f64],
    xb: &[f64],
    (a, b): (usize, usize),
    k: usize,
    same: bool,
) -> Option<(usize, usize, usize)> {
    let eq = |i: usize, j: usize| xa[i].to_bits() == xb[j].to_bits() && !xa[i].is_nan();
    if !(0..k).all(|d| eq(a + d, b + d)) {
        return None;
    }
    let (mut a0, mut b0, mut len) = (a, b, k);
    while a0 > 0 && b0 > 0 && eq(a0 - 1, b0 - 1) {
        a0 -= 1;
        b0 -= 1;
        len += 1;
    }
    while a0 + len < xa.len()
        && b0 + len < xb.len()
        && (!same || a0 + len < b0)
        && eq(a0 + len, b0 + len)
    {
        len += 1;
    }
    Some((a0, b0, len))
}

/// S8 within one outlet: windows that repeat at least a window apart.
pub fn within(cx: &Context, params: &CopiedSeries, prints: &[Fingerprint]) -> Vec<Finding> {
    let p = cx.p;
    let k = p.slots(params.window_hours.value);
    let mut sorted = prints.to_vec();
    sorted.sort_unstable_by_key(|f| (f.ch, f.key, f.pos));
    let mut covered: Vec<(u32, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for group in sorted.chunk_by(|a, b| a.ch == b.ch && a.key == b.key) {
        let Some(first) = group.first() else { continue };
        let ch = first.ch as usize;
        for later in &group[1..] {
            let (a, b) = (first.pos as usize, later.pos as usize);
            if b < a + k
                || covered
                    .iter()
                    .any(|&(c, s, e)| c == first.ch && s <= b && b < e)
            {
                continue;
            }
            let x = &p.channels[ch].x;
            let Some((a0, b0, len)) = grow(x, x, (a, b), k, true) else {
                continue;
            };
            covered.push((first.ch, b0, b0 + len));
            let factor = &p.channels[ch].factor;
            let (src_start, src_end) = p.window(a0, a0 + len);
            let (start, end) = p.window(b0, b0 + len);
            let explanation = format!(
                "{} 在 {} 共 {} 的数据，与本排口 {} 的数据逐一完全相同。连续这么长的实测数据不可能重复，提示数采仪回放或人工复制历史数据，属于伪造自动监测数据。",
                factor_label(factor),
                zh_window(start, end),
                zh_hours(end - start),
                zh_window(src_start, src_end),
            );
            let evidence = json!({
                "window": cx.window(ch, (b0, b0 + len)),
                "source": {"mn": p.series.mn, "start": iso(src_start), "end": iso(src_end),
                           "window": cx.window(ch, (a0, a0 + len))},
                "matched_values": len,
                "window_values": k,
            });
            out.push(cx.finding(
                Signature::CopiedSeries,
                Some(factor),
                (b0, b0 + len),
                len as f64 / k as f64,
                explanation,
                evidence,
            ));
        }
    }
    out
}

/// S8 across outlets: windows equal between two different outlets (same factor). Returns
/// (outlet index, finding) for both sides of each match: which side copied is for the
/// inspector to establish.
pub fn across(
    outlets: &[(&Prepared, &[Fingerprint])],
    params: &CopiedSeries,
    evidence_points: usize,
) -> Vec<(usize, Finding)> {
    let mut all: Vec<(u64, u32, u32, u32)> = outlets
        .iter()
        .enumerate()
        .flat_map(|(o, (_, prints))| prints.iter().map(move |f| (f.key, o as u32, f.ch, f.pos)))
        .collect();
    all.sort_unstable();
    let mut covered: Vec<(u32, u32, u32, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        for (i, &(_, oa, ca, pa)) in group.iter().enumerate() {
            for &(_, ob, cb, pb) in &group[i + 1..] {
                let (a, b) = (outlets[oa as usize].0, outlets[ob as usize].0);
                if oa == ob || a.series.mn == b.series.mn || a.interval != b.interval {
                    continue;
                }
                let (pa, pb) = (pa as usize, pb as usize);
                if covered
                    .iter()
                    .any(|&(x, y, c, s, e)| x == oa && y == ob && c == ca && s <= pa && pa < e)
                {
                    continue;
                }
                let k = a.slots(params.window_hours.value);
                let (xa, xb) = (&a.channels[ca as usize].x, &b.channels[cb as usize].x);
                let Some((a0, b0, len)) = grow(xa, xb, (pa, pb), k, false) else {
                    continue;
                };
                covered.push((oa, ob, ca, a0, a0 + len));
                let sides = [(oa, a, ca, a0), (ob, b, cb, b0)];
                for (this, other) in [(sides[0], sides[1]), (sides[1], sides[0])] {
                    let finding = across_finding(
                        (this.1, this.2 as usize, this.3),
                        (other.1, other.2 as usize, other.3),
                        len,
                        k,
                        evidence_points,
                    );
                    out.push((this.0 as usize, finding));
                }
            }
        }
    }
    out
}

/// The finding on `this` side of a cross-outlet match with `other`.
fn across_finding(
    (this, ch, s): (&Prepared, usize, usize),
    (other, och, os): (&Prepared, usize, usize),
    len: usize,
    k: usize,
    evidence_points: usize,
) -> Finding {
    let factor = this.channels[ch].factor.clone();
    let (start, end) = this.window(s, s + len);
    let (ostart, oend) = other.window(os, os + len);
    let explanation = format!(
        "{} 在 {} 共 {} 的数据，与另一排口（{}，MN {}）{} 的数据逐一完全相同。不同排放口的实测数据不可能一致，提示其中一方复制了另一方的数据，属于伪造自动监测数据。",
        factor_label(&factor),
        zh_window(start, end),
        zh_hours(end - start),
        other.series.outlet,
        other.series.mn,
        zh_window(ostart, oend),
    );
    let evidence = json!({
        "window": this.evidence_window(ch, s, s + len, evidence_points),
        "other": {"mn": other.series.mn, "outlet": other.series.outlet,
                  "start": iso(ostart), "end": iso(oend),
                  "window": other.evidence_window(och, os, os + len, evidence_points)},
        "matched_values": len,
        "window_values": k,
    });
    Finding {
        signature: Signature::CopiedSeries,
        factor: Some(factor),
        start,
        end,
        score: score(len as f64 / k as f64),
        explanation,
        evidence,
    }
}
