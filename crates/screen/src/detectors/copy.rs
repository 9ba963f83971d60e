//! S8 copied or replayed series (复制数据): a window that repeats, earlier in the same outlet
//! (a data logger replaying a good day) or in another outlet (data copied from a neighbour),
//! either exactly or scaled (each value × a + b and re-rounded: a good day scaled down to pass,
//! or a neighbour's data made to look like one's own).
//!
//! A window is `k` consecutive valid values of a channel: flagged hours (daily zero checks,
//! maintenance) and lost rows are skipped, as they are no part of the data a logger replays
//! and would otherwise cut every day of an hourly series into pieces shorter than a window.
//! Windows are hashed with a rolling polynomial hash, so all windows cost one multiply-add
//! per value. Only windows whose hash is divisible by the number of samples in two hours are
//! kept ("content-defined" sampling: both copies of a window make the same choice, so a copy
//! is found as long as it spans a few hours more than the window), and only keys seen twice
//! are sorted ([`repeated`]). Two hashes per window:
//! - **exact**: the values of `window_hours`; equal hashes are confirmed value by value;
//! - **scaled**: the signs of the steps (up, down, unchanged) of `scaled_window_hours`, which
//!   survive × a + b; equal hashes are confirmed by a least-squares line that holds within
//!   the reporting precision at every value. Windows are at least `scaled_min_steps` steps
//!   long (a day of hourly data) and must turn often (`scaled_min_turn_share`): a smooth load
//!   curve has the same shape every day. A shape match of equal values counts as exact, so
//!   an exact copy cut by gaps into pieces shorter than `window_hours` is still found.
//!
//! Either match is then grown to its full length. Windows in which fewer than
//! `min_change_share` of the values change are skipped: flat data matches itself trivially
//! and is S1's business.
//!
//! Within an outlet, [`earlier_days`] also compares each day-long window with the same hours
//! of each of the two weeks before, slot by slot, which neither a lost row nor the
//! re-rounding of a scaled copy of coarse data defeats.

use std::collections::HashMap;

use serde_json::json;

use super::Context;
use crate::config::{CopiedSeries, Role};
use crate::finding::{
    Finding, Signature, factor_label, iso, num, score, zh_hours, zh_line, zh_window,
};
use crate::qa::Qa;
use crate::series::Prepared;
use crate::stats::Moments;

/// A sampled window: its content hash (factor mixed in), which hash, channel and first slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fingerprint {
    pub key: u64,
    /// A hash of step signs (scaled copies) rather than of values.
    pub scaled: bool,
    pub ch: u32,
    /// The window's first value, counted among the channel's valid values.
    pub pos: u32,
}

/// A channel's valid values in time order and their slots. S8 matches windows of valid
/// values: flagged hours (a daily zero check, a maintenance) and lost rows are not part of
/// a replayed day's shape, and a copy keeps matching across them.
fn valid_values(p: &Prepared, ch: usize) -> (Vec<f64>, Vec<usize>) {
    let c = &p.channels[ch];
    (0..p.len)
        .filter(|&i| c.qa[i] == Qa::Valid)
        .map(|i| (c.x[i], i))
        .unzip()
}

/// Slots `[start, end)` of the valid values `[v0, v0 + len)`.
fn slots_of(slot: &[usize], v0: usize, len: usize) -> (usize, usize) {
    (slot[v0], slot[v0 + len - 1] + 1)
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

/// Sampled fingerprints of every window of each kind (see the module notes); with `exact`
/// false, of the shape kind only, which finds exact copies too (a history is only searched
/// for the period's windows, so the shorter shape window is enough there).
pub fn fingerprints(p: &Prepared, params: &CopiedSeries, exact: bool) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    if p.len > u32::MAX as usize {
        return out;
    }
    // About one window in two hours is kept (see the module notes).
    let every = 2 * (3600 / p.interval).max(1) as u64;
    let k = p.slots(params.window_hours.value);
    let steps = window_slots(p, params, true) - 1;
    let share = params.min_change_share.value;
    for (ch, c) in p.channels.iter().enumerate() {
        if !copied_role(c.role) {
            continue;
        }
        let ch = ch as u32;
        let salt = c.factor.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
        let shape_salt = mix(salt ^ 0x005c_a1ed);
        let shape = [mix(shape_salt), mix(shape_salt ^ 1), mix(shape_salt ^ 2)];
        // One pass for both hashes. A step is from slot i − 1 to i, both valid; a turn is a
        // step against the last step that moved: a window that rarely turns (a smooth load
        // curve) has a shape every day shares.
        let mut last = 0i8;
        let xs = valid_values(p, ch as usize).0;
        let slots: Vec<Slot> = (0..xs.len())
            .map(|i| {
                let d = if i > 0 { xs[i] - xs[i - 1] } else { 0.0 };
                let sign = i8::from(d > 0.0) - i8::from(d < 0.0);
                let turn = sign != 0 && sign == -last;
                if sign != 0 {
                    last = sign;
                }
                Slot {
                    value: if exact {
                        mix(xs[i].to_bits() ^ salt)
                    } else {
                        0
                    },
                    shape: shape[(sign + 1) as usize],
                    changed: sign != 0,
                    turn,
                }
            })
            .collect();
        if exact {
            let min_changes = (share * (k - 1) as f64).ceil() as u32;
            let values = (|s: &Slot| s.value, |s: &Slot| s.changed);
            roll(&slots, k, values, min_changes, every, |key, pos| {
                out.push(Fingerprint {
                    key,
                    scaled: false,
                    ch,
                    pos,
                });
            });
        }
        let min_turns = (params.scaled_min_turn_share.value * steps as f64).ceil() as u32;
        let scaled = (|s: &Slot| s.shape, |s: &Slot| s.turn);
        // Steps start at slot 1, and a window of steps from slot s + 1 covers the values from
        // slot s: rolled over the slots from 1, a window's position is its first value's.
        let steps_from_1 = slots.get(1..).unwrap_or_default();
        roll(steps_from_1, steps, scaled, min_turns, every, |key, pos| {
            out.push(Fingerprint {
                key,
                scaled: true,
                ch,
                pos,
            });
        });
    }
    out
}

/// What the two hashes read of one slot.
struct Slot {
    /// The value's word (0 when only shapes are hashed).
    value: u64,
    /// The sign word of the step from the slot before (slot 0 has none: the shape hash
    /// starts at slot 1).
    shape: u64,
    changed: bool,
    turn: bool,
}

/// Calls `emit(key, first slot)` for each window of `w` slots with at least `min_changes`
/// changed slots and whose hash is a multiple of `every`: one rolling pass over (word,
/// changed) of each slot.
fn roll(
    slots: &[Slot],
    w: usize,
    (word, changed): (impl Fn(&Slot) -> u64, impl Fn(&Slot) -> bool),
    min_changes: u32,
    every: u64,
    mut emit: impl FnMut(u64, u32),
) {
    let len = slots.len();
    if w < 2 || len < w {
        return;
    }
    let base_w = (0..w).fold(1u64, |acc, _| acc.wrapping_mul(BASE));
    let (mut h, mut changes) = (0u64, 0u32);
    for i in 0..len {
        let new = &slots[i];
        h = h.wrapping_mul(BASE).wrapping_add(word(new));
        changes += u32::from(changed(new));
        if i >= w {
            let old = &slots[i - w];
            h = h.wrapping_sub(word(old).wrapping_mul(base_w));
            changes -= u32::from(changed(old));
        }
        if i + 1 >= w && changes >= min_changes {
            let key = mix(h);
            if key.is_multiple_of(every) {
                emit(key, (i + 1 - w) as u32);
            }
        }
    }
}

/// The indices in `0..n` whose `key` may occur more than once: a table of counters indexed
/// by the keys' top bits (the keys are hashes, and their low bits are biased by the
/// sampling), so that only these few are sorted. Unique keys sharing a counter pass too;
/// with four counters per key, about one in five.
fn repeated(n: usize, key: impl Fn(usize) -> u64) -> impl Iterator<Item = usize> {
    let bits = (4 * n).max(2).next_power_of_two().trailing_zeros();
    let slot = move |k: u64| (k >> (64 - bits)) as usize;
    let mut seen = vec![0u8; 1 << bits];
    for i in 0..n {
        let c = &mut seen[slot(key(i))];
        *c = c.saturating_add(1);
    }
    (0..n).filter(move |&i| seen[slot(key(i))] > 1)
}

/// Every `(key, index)` of `0..n` whose key occurs more than once, sorted. For a whole run's
/// fingerprints (17.3 M in 5,000 outlets' 14 days): a table of counters as [`repeated`] keeps
/// for one outlet would be 128 MB there, each count a miss in memory. Instead the pairs are
/// spread into buckets by their keys' top bits, each small enough to sort in a core's cache,
/// and the buckets are sorted on `threads` threads.
fn repeated_sorted(n: usize, key: impl Fn(usize) -> u64, threads: usize) -> Vec<(u64, u32)> {
    /// Pairs a bucket holds on average: 256 KB.
    const BUCKET: usize = 1 << 14;
    let bits = (n / BUCKET).max(1).next_power_of_two().trailing_zeros();
    let bucket = |k: u64| k.checked_shr(64 - bits).unwrap_or(0) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for i in 0..n {
        starts[bucket(key(i)) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut pairs = vec![(0u64, 0u32); n];
    let mut next = starts.clone();
    for i in 0..n {
        let k = key(i);
        let at = &mut next[bucket(k)];
        pairs[*at] = (k, i as u32);
        *at += 1;
    }
    let mut buckets = Vec::with_capacity(starts.len() - 1);
    let mut rest = pairs.as_mut_slice();
    for b in starts.windows(2) {
        let (head, tail) = rest.split_at_mut(b[1] - b[0]);
        buckets.push(head);
        rest = tail;
    }
    let per_thread = buckets.len().div_ceil(threads.max(1));
    std::thread::scope(|s| {
        for part in buckets.chunks_mut(per_thread) {
            s.spawn(move || part.iter_mut().for_each(|b| b.sort_unstable()));
        }
    });
    let mut out = Vec::new();
    for run in pairs.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        out.extend_from_slice(run);
    }
    out
}

/// A confirmed copy: `[b0, b0 + len)` of one series repeats `[a0, a0 + len)` of the other,
/// exactly (`fit` none) or as `x_b = scale · x_a + offset` within `tolerance`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Match {
    a0: usize,
    b0: usize,
    len: usize,
    fit: Option<Fit>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    scale: f64,
    offset: f64,
    /// What re-rounding both sides explains; every matched value lies within it.
    tolerance: f64,
}

impl Fit {
    /// The same line seen from the other side: `x_a = x_b / scale − offset / scale`.
    fn inverse(self) -> Fit {
        Fit {
            scale: 1.0 / self.scale,
            offset: -self.offset / self.scale,
            tolerance: self.tolerance / self.scale,
        }
    }
}

/// Confirms a fingerprint match of windows at `a` (in `xa`) and `b` (in `xb`) on the values
/// and grows it in both directions; `None` for a hash collision. With `same` (one series),
/// the source is kept before the copy. `unit` is the copy's reporting precision.
fn confirm(
    (xa, xb): (&[f64], &[f64]),
    (a, b): (usize, usize),
    (k, scaled): (usize, bool),
    same: bool,
    unit: f64,
    params: &CopiedSeries,
) -> Option<Match> {
    let exact = |i: usize, j: usize| xa[i].to_bits() == xb[j].to_bits() && !xa[i].is_nan();
    let equal = (0..k).all(|d| exact(a + d, b + d));
    // A shape match of equal values is an exact copy: the shape hash's shorter window also
    // finds exact copies that gaps cut into pieces shorter than the exact window.
    let fit = match (scaled, equal) {
        (_, true) => None,
        (true, false) => Some(line(
            (&xa[a..a + k], &xb[b..b + k]),
            unit,
            (
                params.scaled_tolerance_units.value,
                params.scaled_min_spread.value,
            ),
            params.min_scale.value,
        )?),
        (false, false) => return None,
    };
    let holds = |i: usize, j: usize| match fit {
        None => exact(i, j),
        Some(f) => (xb[j] - (f.scale * xa[i] + f.offset)).abs() <= f.tolerance,
    };
    let (mut a0, mut b0, mut len) = (a, b, k);
    while a0 > 0 && b0 > 0 && holds(a0 - 1, b0 - 1) {
        a0 -= 1;
        b0 -= 1;
        len += 1;
    }
    while a0 + len < xa.len()
        && b0 + len < xb.len()
        && (!same || a0 + len < b0)
        && holds(a0 + len, b0 + len)
    {
        len += 1;
    }
    Some(Match { a0, b0, len, fit })
}

/// The least-squares line `y = scale · x + offset` of two windows (not equal) if it holds at
/// every value within `tolerance_units` × (1 + scale) units of the last decimal (re-rounding
/// both sides moves a value by up to half that at 1) and the values move (sd) at least
/// `min_spread` × that tolerance.
fn line(
    (x, y): (&[f64], &[f64]),
    unit: f64,
    (tolerance_units, min_spread): (f64, f64),
    min_scale: f64,
) -> Option<Fit> {
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mut m = Moments::default();
    for (&xi, &yi) in x.iter().zip(y) {
        m.add(yi, xi);
    }
    let (offset, scale) = m.line_x_on_y();
    if !(scale >= min_scale && scale <= 1.0 / min_scale) {
        return None;
    }
    let tolerance = tolerance_units * (1.0 + scale) * unit;
    let max_deviation = x
        .iter()
        .zip(y)
        .map(|(&xi, &yi)| (yi - (scale * xi + offset)).abs())
        .fold(0.0, f64::max);
    let moves = m.variance_x().sqrt() >= min_spread * tolerance;
    (max_deviation <= tolerance && moves).then_some(Fit {
        scale,
        offset,
        tolerance,
    })
}

/// The reporting precision of a channel (one unit of its last decimal).
fn unit(p: &Prepared, ch: usize) -> f64 {
    10f64.powi(-i32::from(p.channels[ch].decimals.unwrap_or(3)))
}

/// How the copy relates to its source, for the explanation: "逐一完全相同" or the line.
fn relation_zh(fit: Option<Fit>) -> String {
    match fit {
        None => "逐一完全相同".to_owned(),
        Some(f) => format!(
            "呈严格的线性关系：逐点等于后者 {}（偏差均在 {} 以内，即报送精度的舍入误差）",
            zh_line(f.scale, f.offset),
            num(f.tolerance),
        ),
    }
}

/// The line as evidence, or null for an exact copy.
fn relation_json(fit: Option<Fit>) -> serde_json::Value {
    fit.map_or(
        serde_json::Value::Null,
        |f| json!({"scale": f.scale, "offset": f.offset, "max_deviation": f.tolerance}),
    )
}

/// The window of a fingerprint's kind, in values. A scaled window has enough steps to be
/// unlikely by chance (hourly data: a day).
fn window_slots(p: &Prepared, params: &CopiedSeries, scaled: bool) -> usize {
    if scaled {
        p.slots(params.scaled_window_hours.value)
            .max(params.scaled_min_steps.value as usize + 1)
    } else {
        p.slots(params.window_hours.value)
    }
}

/// S8 within one outlet: windows of the period that repeat an earlier window of the period,
/// at least a window before, or of the outlet's history before the period (`history`: its
/// prepared series and fingerprints), so a daily run still finds last week's data replayed.
pub fn within(
    cx: &Context,
    params: &CopiedSeries,
    prints: &[Fingerprint],
    history: Option<(&Prepared, &[Fingerprint])>,
) -> Vec<Finding> {
    let p = cx.p;
    let past = history.map_or(&[][..], |(_, h)| h);
    // (print, from the history); keys carry the factor, so both sides of a copy share one.
    let all: Vec<(&Fingerprint, bool)> = past
        .iter()
        .map(|f| (f, true))
        .chain(prints.iter().map(|f| (f, false)))
        .collect();
    let mut sorted: Vec<(&Fingerprint, bool)> = repeated(all.len(), |i| all[i].0.key)
        .map(|i| all[i])
        .collect();
    // Exact matches first (a scaled match over the same slots adds nothing); in a group the
    // history first, then the period in time order: the source is the earliest.
    sorted.sort_unstable_by_key(|(f, old)| (f.scaled, f.key, !old, f.pos));
    let mut covered: Vec<(u32, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    // Each channel's valid values, once (only channels with a repeated window are read).
    let wanted = |prints: &[&Fingerprint], q: &Prepared| -> Vec<(Vec<f64>, Vec<usize>)> {
        (0..q.channels.len())
            .map(|ch| {
                if prints.iter().any(|f| f.ch as usize == ch) {
                    valid_values(q, ch)
                } else {
                    Default::default()
                }
            })
            .collect()
    };
    let now: Vec<&Fingerprint> = sorted.iter().filter(|f| !f.1).map(|f| f.0).collect();
    let then: Vec<&Fingerprint> = sorted.iter().filter(|f| f.1).map(|f| f.0).collect();
    let values = wanted(&now, p);
    let past_values = history.map_or_else(Vec::new, |(h, _)| wanted(&then, h));
    for group in sorted.chunk_by(|a, b| (a.0.scaled, a.0.key) == (b.0.scaled, b.0.key)) {
        let Some(&(first, old)) = group.first() else {
            continue;
        };
        let src = if old {
            history.map(|(h, _)| h)
        } else {
            Some(p)
        };
        let Some(src) = src else { continue };
        let src_ch = first.ch as usize;
        let k = window_slots(p, params, first.scaled);
        let (src_x, src_slot) = if old {
            &past_values[src_ch]
        } else {
            &values[src_ch]
        };
        for &(later, _) in group[1..].iter().filter(|(_, old)| !old) {
            let (a, b, ch) = (first.pos as usize, later.pos as usize, later.ch as usize);
            if p.channels[ch].factor != src.channels[src_ch].factor
                || (!old && b < a + k)
                || covered
                    .iter()
                    .any(|&(c, s, e)| c == later.ch && s <= b && b < e)
            {
                continue;
            }
            let (this_x, this_slot) = &values[ch];
            let x = (&src_x[..], &this_x[..]);
            let Some(m) = confirm(x, (a, b), (k, first.scaled), !old, unit(p, ch), params) else {
                continue;
            };
            covered.push((later.ch, m.b0, m.b0 + m.len));
            let len = m.len;
            let (a0, a1) = slots_of(src_slot, m.a0, len);
            let (b0, b1) = slots_of(this_slot, m.b0, len);
            out.push(within_finding(
                cx,
                (src, src_ch, (a0, a1)),
                (ch, (b0, b1)),
                (len, k, m.fit),
            ));
        }
    }
    out
}

/// The finding of a copy within one outlet: slots `[b0, b1)` of channel `ch` repeat `[a0, a1)`
/// of `src_ch` in `src` (the period or its history); `len` values matched, `k` a window.
fn within_finding(
    cx: &Context,
    (src, src_ch, (a0, a1)): (&Prepared, usize, (usize, usize)),
    (ch, (b0, b1)): (usize, (usize, usize)),
    (len, k, fit): (usize, usize, Option<Fit>),
) -> Finding {
    let p = cx.p;
    let factor = &p.channels[ch].factor;
    let (src_start, src_end) = src.window(a0, a1);
    let (start, end) = p.window(b0, b1);
    let explanation = format!(
        "{} 在 {} 共 {} 的数据，与本排口 {} 的数据{}。连续这么长的实测数据不可能{}，提示{}，属于伪造自动监测数据。",
        factor_label(factor),
        zh_window(start, end),
        zh_hours(end - start),
        zh_window(src_start, src_end),
        relation_zh(fit),
        if fit.is_some() {
            "按固定比例重现"
        } else {
            "重复"
        },
        if fit.is_some() {
            "将历史数据按比例缩放后冒充实测"
        } else {
            "数采仪回放或人工复制历史数据"
        },
    );
    let evidence = json!({
        "window": cx.window(ch, (b0, b1)),
        "source": {"mn": p.series.mn, "start": iso(src_start), "end": iso(src_end),
                   "window": src.evidence_window(src_ch, a0, a1, cx.evidence_points)},
        "matched_values": len,
        "window_values": k,
        "relation": relation_json(fit),
    });
    cx.finding(
        Signature::CopiedSeries,
        Some(factor),
        (b0, b1),
        len as f64 / k as f64,
        explanation,
        evidence,
    )
}

/// S8 against earlier days (screening.md: "earlier days", "ACF(24 h) ≈ 1"): each window of
/// `window_hours` of the period (windows side by side, so a copy of two windows' length
/// holds one whole) against the same hours 1 to `max_lag_days` days before, in the period or
/// its `history`, slot by slot on the time grid. The hashes of [`within`] match runs of valid
/// values, which a lost row on one side shifts, and step signs, which re-rounding a scaled
/// copy of coarse data flips (a step of 0.1 × 0.8 rounds to 0); here a slot missing on
/// either side is only skipped, and the line of [`line`] is fitted to the values
/// themselves ([`day_match`]). Quick tests of the first few pairs reject most day pairs before
/// the full fit, so the scan costs a few operations per value and lag. Windows that an S8
/// finding of the same factor (`found`) already covers are left alone.
pub fn earlier_days(
    cx: &Context,
    params: &CopiedSeries,
    history: Option<&Prepared>,
    found: &[Finding],
) -> Vec<Finding> {
    let p = cx.p;
    let mut out = Vec::new();
    if 86_400 % p.interval != 0 {
        return out;
    }
    let day = p.slots(24.0);
    let stride = p.slots(1.0);
    let w = p.slots(params.window_hours.value);
    let min_pairs = (params.day_min_pair_share.value * (w / stride) as f64).ceil() as usize;
    let max_lag = params.max_lag_days.value as usize;
    let history = history.filter(|h| h.interval == p.interval);
    for (ch, c) in p.channels.iter().enumerate() {
        if !copied_role(c.role) {
            continue;
        }
        let past = history.and_then(|h| {
            let k = h.channels.iter().position(|x| x.factor == c.factor)?;
            Some((h, k))
        });
        // The value sent `lag` slots before slot `i` (any flag), whether it is valid, and
        // whether it lies in the history.
        let source = |i: usize, lag: usize| -> Option<(f64, bool, bool)> {
            let (q, j, old) = if i >= lag {
                (c, i - lag, false)
            } else {
                let (h, k) = past?;
                let off = p.time(i) - lag as i64 * p.interval - h.t0;
                if off < 0 || off % h.interval != 0 || off / h.interval >= h.len as i64 {
                    return None;
                }
                (&h.channels[k], (off / h.interval) as usize, true)
            };
            sent(q, j).then(|| (q.x[j], q.qa[j] == Qa::Valid, old))
        };
        let unit = unit(p, ch);
        let covered = |s: usize, e: usize| {
            let (start, end) = p.window(s, e);
            found.iter().any(|f| {
                f.signature == Signature::CopiedSeries
                    && f.factor.as_deref() == Some(c.factor.as_str())
                    && f.start < end
                    && start < f.end
            })
        };
        // A match grows past its window: later windows start after it.
        let (mut s, mut after) = (0, 0);
        while s + w <= p.len {
            let e = s + w;
            if s < after {
                s = e;
                continue;
            }
            let here: Vec<usize> = (s..e).step_by(stride).filter(|&i| sent(c, i)).collect();
            if here.len() < min_pairs || covered(s, e) {
                s = e;
                continue;
            }
            for lag in (1..=max_lag).map(|d| d * day) {
                let Some((fit, pair)) = day_match(
                    (c, &p.running),
                    &here,
                    |i| source(i, lag),
                    (unit, min_pairs),
                    params,
                ) else {
                    continue;
                };
                let holds = |i: usize| match (source(i, lag), pair(i)) {
                    (Some((x, _, _)), true) => match fit {
                        None => x.to_bits() == c.x[i].to_bits(),
                        Some(f) => (c.x[i] - (f.scale * x + f.offset)).abs() <= f.tolerance,
                    },
                    _ => true,
                };
                // Every slot of the window, then grown both ways while the relation holds
                // and the source stays on one side of the history's end.
                if !(s..e).all(holds) {
                    continue;
                }
                let side = source(here[0], lag).is_some_and(|v| v.2);
                let crosses = |i: usize| source(i, lag).is_some_and(|v| v.2 != side);
                let (mut b0, mut b1) = (s, e);
                while b0 > 0 && holds(b0 - 1) && !crosses(b0 - 1) {
                    b0 -= 1;
                }
                while b1 < p.len && holds(b1) && !crosses(b1) {
                    b1 += 1;
                }
                // From the first to the last pair compared: not into the gaps around.
                b0 = (b0..b1).find(|&i| pair(i)).unwrap_or(s);
                b1 = (b0..b1).rev().find(|&i| pair(i)).map_or(e, |i| i + 1);
                let matched = (b0..b1).filter(|&i| pair(i)).count();
                let (src, src_ch, a0) = match past {
                    Some((h, k)) if side => {
                        let t = p.time(b0) - lag as i64 * p.interval;
                        (h, k, ((t - h.t0).max(0) / h.interval) as usize)
                    }
                    _ => (p, ch, b0.saturating_sub(lag)),
                };
                let a1 = (a0 + (b1 - b0)).min(src.len);
                out.push(within_finding(
                    cx,
                    (src, src_ch, (a0, a1)),
                    (ch, (b0, b1)),
                    (matched, w, fit),
                ));
                after = b1;
                break;
            }
            s = e;
        }
    }
    out
}

/// Whether slot `j` of a channel holds a value sent (any flag): a replayed stretch repeats
/// stopped and flagged hours too.
fn sent(c: &crate::series::PreparedChannel, j: usize) -> bool {
    c.qa[j] != Qa::Missing && c.x[j].is_finite()
}

/// Which slots of a window a day match compares.
type Compared<'a> = Box<dyn Fn(usize) -> bool + 'a>;

/// A window's match against one earlier day: the sampled slots `here` (values sent) and
/// `source(i)` = (value, valid, in the history) of the same hour that day. Exact when every
/// value sent on both days is equal, changes often (`min_change_share`) and moves (sd) at
/// least `day_min_spread` tolerances: a stopped stack's readings repeat by chance, a copy's
/// do not. Else a line over the values valid on the earlier day and valid while running on
/// this one ([`line`], with `day_tolerance_units`), after a quick correlation of the first
/// few pairs has not ruled it out. Returns the fit (none: exact) and which slots it compares.
fn day_match<'a>(
    (c, running): (&'a crate::series::PreparedChannel, &'a [bool]),
    here: &[usize],
    source: impl Fn(usize) -> Option<(f64, bool, bool)> + Copy + 'a,
    (unit, min_pairs): (f64, usize),
    params: &CopiedSeries,
) -> Option<(Option<Fit>, Compared<'a>)> {
    /// Pairs of the quick tests.
    const QUICK: usize = 8;
    let tolerance_units = params.day_tolerance_units.value;
    let spread = params.day_min_spread.value;
    let pairs = |keep: &dyn Fn(usize) -> bool| -> (Vec<f64>, Vec<f64>) {
        here.iter()
            .filter(|&&i| keep(i))
            .filter_map(|&i| source(i).map(|(x, _, _)| (x, c.x[i])))
            .unzip()
    };
    let both_sent = move |i: usize| source(i).is_some();
    // The first few pairs equal: an exact copy is tried; the first unequal pair (most day
    // pairs' first) ends the test.
    let mut equal_pairs = 0;
    for (x, y) in here
        .iter()
        .filter_map(|&i| source(i).map(|(x, _, _)| (x, c.x[i])))
        .take(QUICK)
    {
        if x.to_bits() != y.to_bits() {
            equal_pairs = 0;
            break;
        }
        equal_pairs += 1;
    }
    if equal_pairs >= 3 {
        let (xs, ys) = pairs(&both_sent);
        let changes = ys.windows(2).filter(|v| v[0] != v[1]).count();
        let mut m = Moments::default();
        ys.iter().for_each(|&y| m.add(y, y));
        let equal = xs.iter().zip(&ys).all(|(a, b)| a.to_bits() == b.to_bits());
        let moves = m.variance_x().sqrt() >= spread * tolerance_units * 2.0 * unit;
        let often = changes as f64 >= params.min_change_share.value * (ys.len().max(1) - 1) as f64;
        return (equal && ys.len() >= min_pairs && moves && often)
            .then(|| (None, Box::new(both_sent) as Compared));
    }
    let compared = move |i: usize| c.usable(running, i) && source(i).is_some_and(|v| v.1);
    let mut quick = Moments::default();
    for &i in here.iter().filter(|&&i| compared(i)).take(QUICK) {
        quick.add(c.x[i], source(i)?.0);
    }
    if quick.n < 3.0 || quick.correlation().is_nan() || quick.correlation() < 0.9 {
        return None;
    }
    let (xs, ys) = pairs(&compared);
    if xs.len() < min_pairs {
        return None;
    }
    let fit = line(
        (&xs, &ys),
        unit,
        (tolerance_units, spread),
        params.min_scale.value,
    )?;
    Some((Some(fit), Box::new(compared)))
}

/// S8 across outlets: windows equal, or equal up to × a + b, between two different outlets
/// (same factor). Returns (outlet index, finding) for both sides of each match: which side
/// copied is for the inspector to establish.
pub fn across(
    outlets: &[(&Prepared, &[Fingerprint])],
    params: &CopiedSeries,
    evidence_points: usize,
    threads: usize,
) -> Vec<(usize, Finding)> {
    // Sized first: grown as it fills, this vector (one entry per fingerprint of the run) was
    // copied and faulted in again at every doubling.
    let mut prints: Vec<(u32, &Fingerprint)> =
        Vec::with_capacity(outlets.iter().map(|(_, p)| p.len()).sum());
    for (o, (_, fs)) in outlets.iter().enumerate() {
        prints.extend(fs.iter().map(|f| (o as u32, f)));
    }
    // The hashes that repeat, sorted, exact matches first (as within one outlet), as compact
    // (key, index) pairs: this sort is the one cost of S8 that grows with the whole run.
    let order = repeated_sorted(
        prints.len(),
        |i| {
            let f = prints[i].1;
            (f.key >> 1) | u64::from(f.scaled) << 63
        },
        threads,
    );
    let member = |i: u32| {
        let (o, f) = prints[i as usize];
        (f.scaled, o, f.ch, f.pos as usize)
    };
    // The pairs of each group, in order, confirmed on the values a batch at a time on
    // `threads` threads: on clean data nearly all are chance (a day of hourly or hour-held
    // values has only so many shapes among thousands of outlets: 1.06 M pairs in 5,000
    // outlets' 14 days), and a confirmation does not depend on the matches before it. Which
    // matches count is then decided in order, as one pass would.
    let mut covered: Vec<(u32, u32, u32, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    // Valid values of each (outlet, channel) compared, read once.
    let mut cache: HashMap<(u32, u32), (Vec<f64>, Vec<usize>)> = HashMap::new();
    let mut batch: Vec<(u32, u32)> = Vec::new();
    let mut groups = order.chunk_by(|a, b| a.0 == b.0).peekable();
    while let Some(group) = groups.next() {
        for (i, &(_, ia)) in group.iter().enumerate() {
            let (_, oa, _, _) = member(ia);
            for &(_, ib) in &group[i + 1..] {
                let (_, ob, _, _) = member(ib);
                let (a, b) = (outlets[oa as usize].0, outlets[ob as usize].0);
                if oa != ob && a.series.mn != b.series.mn && a.interval == b.interval {
                    batch.push((ia, ib));
                }
            }
        }
        if batch.len() < 1 << 18 && groups.peek().is_some() {
            continue;
        }
        let mut wanted: Vec<(u32, u32)> = batch
            .iter()
            .flat_map(|&(ia, ib)| [ia, ib])
            .map(|i| {
                let (_, o, c, _) = member(i);
                (o, c)
            })
            .filter(|k| !cache.contains_key(k))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let read = crate::par_map(&wanted, threads, |_, &(o, c)| {
            valid_values(outlets[o as usize].0, c as usize)
        });
        cache.extend(wanted.into_iter().zip(read));
        let confirmed = crate::par_map(&batch, threads, |_, &(ia, ib)| {
            let (scaled, oa, ca, pa) = member(ia);
            let (_, ob, cb, pb) = member(ib);
            let (a, b) = (outlets[oa as usize].0, outlets[ob as usize].0);
            let k = window_slots(a, params, scaled);
            let (xa, xb) = (&cache[&(oa, ca)].0, &cache[&(ob, cb)].0);
            let unit = unit(b, cb as usize);
            confirm((xa, xb), (pa, pb), (k, scaled), false, unit, params)
        });
        for (&(ia, ib), m) in batch.iter().zip(confirmed) {
            let Some(m) = m else {
                continue;
            };
            let (scaled, oa, ca, pa) = member(ia);
            let (_, ob, cb, _) = member(ib);
            if covered
                .iter()
                .any(|&(x, y, c, s, e)| x == oa && y == ob && c == ca && s <= pa && pa < e)
            {
                continue;
            }
            covered.push((oa, ob, ca, m.a0, m.a0 + m.len));
            let (a, b) = (outlets[oa as usize].0, outlets[ob as usize].0);
            let k = window_slots(a, params, scaled);
            let sides = [
                (
                    oa,
                    a,
                    ca,
                    slots_of(&cache[&(oa, ca)].1, m.a0, m.len),
                    m.fit.map(Fit::inverse),
                ),
                (ob, b, cb, slots_of(&cache[&(ob, cb)].1, m.b0, m.len), m.fit),
            ];
            for (this, other) in [(sides[0], sides[1]), (sides[1], sides[0])] {
                let finding = across_finding(
                    (this.1, this.2 as usize, this.3),
                    (other.1, other.2 as usize, other.3),
                    (m.len, k, this.4),
                    evidence_points,
                );
                out.push((this.0 as usize, finding));
            }
        }
        batch.clear();
    }
    out
}

/// The finding on `this` side of a cross-outlet match with `other`; `fit` is this side as a
/// line of the other.
fn across_finding(
    (this, ch, (s, e)): (&Prepared, usize, (usize, usize)),
    (other, och, (os, oe)): (&Prepared, usize, (usize, usize)),
    (len, k, fit): (usize, usize, Option<Fit>),
    evidence_points: usize,
) -> Finding {
    let factor = this.channels[ch].factor.clone();
    let (start, end) = this.window(s, e);
    let (ostart, oend) = other.window(os, oe);
    let explanation = format!(
        "{} 在 {} 共 {} 的数据，与另一排口（{}，MN {}）{} 的数据{}。不同排放口的实测数据不可能{}，提示其中一方{}，属于伪造自动监测数据。",
        factor_label(&factor),
        zh_window(start, end),
        zh_hours(end - start),
        other.series.outlet,
        other.series.mn,
        zh_window(ostart, oend),
        relation_zh(fit),
        if fit.is_some() {
            "按固定比例一致"
        } else {
            "一致"
        },
        if fit.is_some() {
            "将另一方的数据按比例缩放后冒充实测"
        } else {
            "复制了另一方的数据"
        },
    );
    let evidence = json!({
        "window": this.evidence_window(ch, s, e, evidence_points),
        "other": {"mn": other.series.mn, "outlet": other.series.outlet,
                  "start": iso(ostart), "end": iso(oend),
                  "window": other.evidence_window(och, os, oe, evidence_points)},
        "matched_values": len,
        "window_values": k,
        "relation": relation_json(fit),
    });
    Finding {
        signature: Signature::CopiedSeries,
        factor: Some(factor),
        start,
        end,
        score: score(len as f64 / k as f64),
        explanation,
        evidence: evidence.into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testdata::{hourly, so2_series, wander};
    use crate::series::Series;
    use crate::{Config, Input, Signature};

    /// The bucketed sort keeps exactly the pairs a plain sort of all keys would find
    /// repeated, in the same order, for runs smaller and larger than a bucket, keys that
    /// share their top bits, and one thread or several.
    #[test]
    fn repeated_keys_are_those_a_full_sort_finds() {
        for (n, distinct) in [
            (0, 1),
            (1, 1),
            (500, 300),
            (40_000, 30_000),
            (300_000, 250_000),
        ] {
            // Keys from a fixed LCG: about n − distinct of them repeat; every 7th one has
            // only low bits, so they crowd the first bucket.
            let keys: Vec<u64> = (0..n as u64)
                .map(|i| {
                    let k = super::mix(i.wrapping_mul(0x2545_f491) % distinct as u64);
                    if i % 7 == 0 { k >> 40 } else { k }
                })
                .collect();
            let mut all: Vec<(u64, u32)> = (0..n).map(|i| (keys[i], i as u32)).collect();
            all.sort_unstable();
            let want: Vec<(u64, u32)> = all
                .chunk_by(|a, b| a.0 == b.0)
                .filter(|r| r.len() > 1)
                .flatten()
                .copied()
                .collect();
            assert!(n < 500 || !want.is_empty());
            for threads in [1, 3] {
                assert_eq!(
                    super::repeated_sorted(n, |i| keys[i], threads),
                    want,
                    "{n} {threads}"
                );
            }
        }
    }

    /// Three days of 10-minute SO2 with autocorrelated noise (a fixed LCG), one decimal.
    fn so2(seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut level = 60.0;
        (0..432)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                level = 60.0 + 0.7 * (level - 60.0) + 12.0 * u;
                (level * 10.0).round() / 10.0
            })
            .collect()
    }

    fn series(mn: &str, values: Vec<f64>) -> Series {
        so2_series(mn, 1_793_462_400, values)
    }

    /// `to[at..at + len]` replaced by `scale · from[src..] + offset`, rounded to one decimal.
    fn paste(
        (from, src): (&[f64], usize),
        (to, at): (&mut [f64], usize),
        len: usize,
        (scale, offset): (f64, f64),
    ) {
        for k in 0..len {
            to[at + k] = ((scale * from[src + k] + offset) * 10.0).round() / 10.0;
        }
    }

    /// The S8 findings of each series screened together: explanation, relation, window.
    fn copies(series: &[Series]) -> Vec<Vec<serde_json::Value>> {
        let inputs: Vec<Input> = series
            .iter()
            .map(|s| Input {
                series: s,
                history: None,
            })
            .collect();
        screen_copies(&inputs)
    }

    fn screen_copies(inputs: &[Input]) -> Vec<Vec<serde_json::Value>> {
        crate::screen(inputs, &Config::default(), 1, &|_| {})
            .results
            .into_iter()
            .map(|r| {
                r.expect("screens")
                    .into_iter()
                    .filter(|f| f.signature == Signature::CopiedSeries)
                    .map(|f| serde_json::json!({"explanation": f.explanation, "relation": f.evidence.value()["relation"], "start": f.start, "end": f.end}))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_day_scaled_down_is_found_with_its_line() {
        let mut x = so2(1);
        // Day 3, 02:00–20:00, is day 1's 02:00–20:00 × 0.8.
        let day1 = x.clone();
        paste((&day1, 12), (&mut x, 300), 108, (0.8, 0.0));
        let found = copies(&[series("A", x)]);
        let f = &found[0];
        assert_eq!(f.len(), 1, "{f:?}");
        let scale = f[0]["relation"]["scale"].as_f64().unwrap();
        assert!((scale - 0.8).abs() < 0.01, "{scale}");
        let text = f[0]["explanation"].as_str().unwrap();
        assert!(
            text.contains("×0.8") && text.contains("按比例缩放"),
            "{text}"
        );
        // 18 hours matched, not just the 12-hour window.
        let hours = (f[0]["end"].as_i64().unwrap() - f[0]["start"].as_i64().unwrap()) / 3600;
        assert!(hours >= 17, "{hours} h");
    }

    #[test]
    fn a_neighbours_data_shifted_is_found_on_both_sides_and_noise_is_not() {
        let a = so2(2);
        let mut b = so2(3);
        // B's day 2 is A's day 2 + 1.5 mg/m³.
        paste((&a, 144), (&mut b, 144), 144, (1.0, 1.5));
        let c = so2(4);
        let found = copies(&[series("A", a), series("B", b), series("C", c)]);
        assert_eq!(found[0].len(), 1, "{:?}", found[0]);
        assert_eq!(found[1].len(), 1, "{:?}", found[1]);
        assert!(found[2].is_empty(), "{:?}", found[2]);
        let offset = |f: &serde_json::Value| f["relation"]["offset"].as_f64().unwrap();
        assert!((offset(&found[1][0]) - 1.5).abs() < 0.05);
        assert!((offset(&found[0][0]) + 1.5).abs() < 0.05);
        assert!(
            found[1][0]["explanation"]
                .as_str()
                .unwrap()
                .contains("A排口")
        );
    }

    #[test]
    fn an_exact_copy_is_named_exact() {
        let mut x = so2(5);
        // 30 hours of day 1 again from day 2, 18:00.
        let day1 = x.clone();
        paste((&day1, 0), (&mut x, 252), 180, (1.0, 0.0));
        let found = copies(&[series("A", x)]);
        assert_eq!(found[0].len(), 1, "{:?}", found[0]);
        assert!(found[0][0]["relation"].is_null());
        assert!(
            found[0][0]["explanation"]
                .as_str()
                .unwrap()
                .contains("逐一完全相同")
        );
    }

    #[test]
    fn yesterdays_data_replayed_today_is_found_in_the_history() {
        let t0 = 1_793_462_400;
        let x = so2(6);
        let (past, mut today) = (x[..288].to_vec(), x[288..].to_vec());
        // Today 00:00–18:00 is the history's first day 00:00–18:00 again: shorter than the
        // exact window, found by the shape window and named exact.
        paste((&past, 0), (&mut today, 0), 108, (1.0, 0.0));
        let history = so2_series("A", t0, past);
        let period = so2_series("A", t0 + 288 * 600, today);
        let found = screen_copies(&[Input {
            series: &period,
            history: Some(&history),
        }]);
        assert_eq!(found[0].len(), 1, "{:?}", found[0]);
        let f = &found[0][0];
        assert!(f["relation"].is_null());
        let text = f["explanation"].as_str().unwrap();
        assert!(text.contains("2026-11-01 00:00"), "{text}");
        // Without the history there is nothing to match.
        assert!(copies(std::slice::from_ref(&period))[0].is_empty());
    }

    #[test]
    fn a_day_of_coarse_dust_scaled_and_re_rounded_is_found_against_earlier_days() {
        // Ten days of hourly dust around 3 mg/m³ at one decimal: steps of 0.1–0.3, which
        // × 0.8 and re-rounding turn flat or reverse, so no shape hash matches.
        let t0 = 1_793_462_400;
        let mut x = wander(7, 240, 3.0, 1.6, 1);
        let day2 = x[24..72].to_vec();
        for (k, v) in day2.iter().enumerate() {
            x[192 + k] = ((0.8 * v + 0.4) * 10.0).round() / 10.0;
        }
        // A row lost in the copy.
        x[200] = f64::NAN;
        let series = hourly("A", "a34013", t0, x, 1);
        let input = [Input {
            series: &series,
            history: None,
        }];
        let found = screen_copies(&input);
        assert_eq!(found[0].len(), 1, "{:?}", found[0]);
        let scale = found[0][0]["relation"]["scale"].as_f64().unwrap();
        assert!((scale - 0.8).abs() < 0.05, "{scale}");
        // The hashes alone do not find it: without earlier days there is nothing.
        let mut config = Config::default();
        config.copied_series.max_lag_days.value = 0.0;
        let report = crate::screen(&input, &config, 1, &|_| {});
        let r = report.results[0].as_ref().expect("screens");
        assert!(
            r.iter().all(|f| f.signature != Signature::CopiedSeries),
            "{r:?}"
        );
        // Nor is anything found in the same data without the copy.
        let clean = hourly("B", "a34013", t0, wander(7, 240, 3.0, 1.6, 1), 1);
        let none = screen_copies(&[Input {
            series: &clean,
            history: None,
        }]);
        assert!(none[0].is_empty(), "{:?}", none[0]);
    }
}
