//! A second, independent fleet generator: hourly flue-gas data only (CN 2061, as many
//! platforms judge enforcement on), with physics and logger habits of its own, so that the
//! detectors' thresholds are not fitted to one generator's conventions.
//!
//! Written from the signature definitions (screening.md §2), not from the detectors:
//! - load: a plant schedule per industry (power demand with morning and evening ramps and
//!   quieter weekends; boilers on day shifts, some stopped at night and on Sundays; cement
//!   kilns steady with raw-mill stops; incinerators steady), start-ups that ramp over hours
//!   with the denitrification not yet in service, shut-downs with O2 decaying to 20.9% and
//!   flow to near 0, and multi-day outages;
//! - O2 rises as load falls; flow follows load and excess air (m³/h, no decimals);
//!   temperature lags load; pollutants follow load with multiplicative autocorrelated noise
//!   and rare genuine excursions over the limit;
//! - a logger profile per outlet: stopped hours flagged F or left N, start-up hours flagged
//!   F or not, daily zero checks (C, the reading as the value) or none, maintenance (M) with
//!   the value held or missing, analyser faults (D), communication faults (B, no value),
//!   lost rows, values over range sent as the range with T, negative readings clipped or
//!   not, one or two decimals;
//! - each injection done its own way, in the screened period, with a [`Truth`]; outlet-wide
//!   acts (dilution, decoupling, flag abuse, frozen logger, replayed days, stopped flag)
//!   carry no factor.

use arrow_array::Int64Array;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::Role;
use crate::finding::Signature;
use crate::generator::{Fleet, FleetSpec, Outlet, Truth, ar1, normal, sent, uniform};
use crate::series::{ChannelMeta, Series};

/// The industries generated: flue gas only.
pub const INDUSTRIES: [&str; 4] = [
    "thermal_power",
    "industrial_boiler",
    "cement",
    "waste_incineration",
];

const HOUR: i64 = 3600;
const AMBIENT_O2: f64 = 20.9;

/// One channel: what the registry would hold and the hourly values and flags.
#[derive(Debug, Clone)]
struct Ch {
    factor: &'static str,
    role: Role,
    limit: Option<f64>,
    range: Option<f64>,
    dl: Option<f64>,
    decimals: u8,
    /// Reported values; NaN is a value not sent.
    x: Vec<f64>,
    flag: Vec<u8>,
}

/// How this outlet's data logger behaves.
#[derive(Debug, Clone, Copy)]
struct Logger {
    stop_flag: u8,
    flag_start_up: bool,
    /// Hour of day of the daily zero check; None: checks are not sent hourly.
    zero_check: Option<usize>,
    hold_in_maintenance: bool,
    clip_negative: bool,
}

#[derive(Debug, Clone)]
struct Plant {
    mn: String,
    industry: &'static str,
    start: i64,
    /// First hour of the screened period.
    from: usize,
    on: Vec<bool>,
    /// Hours since the last start-up (0 when stopped).
    since_start: Vec<usize>,
    channels: Vec<Ch>,
    present: Vec<bool>,
    logger: Logger,
    events: Vec<i64>,
}

impl Plant {
    fn n(&self) -> usize {
        self.on.len()
    }

    fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * HOUR
    }

    fn role(&self, role: Role) -> impl Iterator<Item = usize> + '_ {
        (0..self.channels.len()).filter(move |&k| self.channels[k].role == role)
    }

    /// Replaces the values of channel `k` in rows `a..b` that are sent as normal while the
    /// unit runs.
    fn rewrite(&mut self, k: usize, a: usize, b: usize, mut f: impl FnMut(f64) -> f64) {
        let c = &mut self.channels[k];
        for i in a..b {
            if c.flag[i] == b'N' && self.on[i] {
                c.x[i] = f(c.x[i]);
            }
        }
    }

    /// The last row at or before `a` (else the first after it) where channels `ks` are all
    /// sent as normal with a value.
    fn last_sent(&self, ks: &[usize], a: usize) -> usize {
        let normal = |i: &usize| {
            self.present[*i]
                && ks.iter().all(|&k| {
                    let c = &self.channels[k];
                    c.flag[*i] == b'N' && c.x[*i].is_finite()
                })
        };
        (0..=a)
            .rev()
            .find(normal)
            .or_else(|| (a..self.n()).find(normal))
            .unwrap_or(a)
    }

    fn first(&self, role: Role) -> usize {
        self.role(role)
            .next()
            .expect("every outlet has O2 and flow")
    }
}

/// Generates a fleet: `clean` clean outlets, then `per_signature` outlets per signature,
/// hourly series only.
pub fn fleet(spec: &FleetSpec) -> Fleet {
    let screen_from = spec.start + i64::from(spec.history_days) * 86_400;
    let days = spec.history_days + spec.days;
    let mut outlets = Vec::new();
    let mut k = 0u64;
    let mut next = |inject: Option<Signature>, industry: &'static str| {
        k += 1;
        let seed = spec.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ k.wrapping_mul(0x9e37_79b9);
        outlet(
            seed,
            &format!("G2{:012}", k),
            industry,
            spec.start,
            days,
            spec.history_days,
            inject,
        )
    };
    for i in 0..spec.clean {
        outlets.push(next(None, INDUSTRIES[i % INDUSTRIES.len()]));
    }
    for (j, s) in Signature::ALL.into_iter().enumerate() {
        for i in 0..spec.per_signature {
            outlets.push(next(Some(s), INDUSTRIES[(i + j) % INDUSTRIES.len()]));
        }
    }
    Fleet {
        outlets,
        screen_from,
    }
}

/// One outlet of `days` days from `start` (midnight), `inject` applied after
/// `history_days`.
pub fn outlet(
    seed: u64,
    mn: &str,
    industry: &'static str,
    start: i64,
    days: u32,
    history_days: u32,
    inject: Option<Signature>,
) -> Outlet {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p = plant(&mut rng, mn, industry, start, days as usize * 24);
    p.from = history_days as usize * 24;
    if inject == Some(Signature::CalibrationAnomaly) {
        // Checks at an hour the unit runs steadily on most days: a boiler stopped at night
        // has no night-time checks to tamper with, nor checks in its start-up hours.
        let runs = |h: usize| {
            let days = p.n() / 24;
            (0..days).filter(|d| p.since_start[d * 24 + h] >= 3).count() * 2 > days
        };
        p.logger.zero_check = Some(p.logger.zero_check.filter(|&h| runs(h)).unwrap_or(10));
    }
    let before = inject.filter(|s| acts_on_process(*s));
    let truth_before = before.map(|s| inject_process(&mut rng, &mut p, s));
    logger(&mut rng, &mut p);
    let truth_after = inject
        .filter(|s| !acts_on_process(*s))
        .map(|s| inject_reported(&mut rng, &mut p, s));
    let truth: Vec<Truth> = truth_before.into_iter().chain(truth_after).collect();
    if let Some(t) = truth
        .iter()
        .find(|t| t.signature == Signature::DigitPreference)
    {
        let factor = t.factor.clone().expect("digit preference names its factor");
        prefer_digits(&mut rng, &mut p, &factor);
    }
    finish(p, truth)
}

/// Signatures that change what the stack emits (or what the plant does), before the logger
/// reports it; the others change the reported stream.
fn acts_on_process(s: Signature) -> bool {
    matches!(
        s,
        Signature::LimitHugging
            | Signature::Dilution
            | Signature::StrategicGaps
            | Signature::FlagAbuse
    )
}

/// The schedule, the physics and the true values.
fn plant(rng: &mut StdRng, mn: &str, industry: &'static str, start: i64, n: usize) -> Plant {
    let (load, on) = schedule(rng, industry, start, n);
    let mut since_start = vec![0usize; n];
    for i in 0..n {
        if on[i] {
            since_start[i] = if i == 0 { 24 } else { since_start[i - 1] + 1 };
        }
    }
    let logger = Logger {
        stop_flag: if rng.random::<f64>() < 0.7 {
            b'F'
        } else {
            b'N'
        },
        flag_start_up: rng.random::<f64>() < 0.4,
        zero_check: (rng.random::<f64>() < 0.6).then(|| rng.random_range(0..24usize)),
        hold_in_maintenance: rng.random::<bool>(),
        clip_negative: rng.random::<f64>() < 0.7,
    };
    // (nominal flow m³/h, O2 at full load, O2 per unit of missing load, flue temperature at
    // full load, temperature loss at no load)
    let (flow0, o2_full, o2_slope, temp_full, temp_slope) = match industry {
        "thermal_power" => (
            uniform(rng, 8e5, 2.4e6),
            uniform(rng, 5.0, 6.5),
            4.0,
            uniform(rng, 46.0, 53.0),
            3.0,
        ),
        "industrial_boiler" => (
            uniform(rng, 3e4, 1.5e5),
            uniform(rng, 7.5, 10.0),
            5.0,
            uniform(rng, 120.0, 160.0),
            35.0,
        ),
        "cement" => (
            uniform(rng, 3e5, 8e5),
            uniform(rng, 8.5, 11.5),
            2.5,
            uniform(rng, 95.0, 130.0),
            20.0,
        ),
        _ => (
            uniform(rng, 8e4, 2e5),
            uniform(rng, 7.5, 10.0),
            3.0,
            uniform(rng, 140.0, 165.0),
            10.0,
        ),
    };
    let o2_noise = {
        let sigma = uniform(rng, 0.2, 0.45);
        ar1(rng, n, 0.8, sigma)
    };
    let flow_noise = {
        let sigma = uniform(rng, 0.015, 0.04);
        ar1(rng, n, 0.9, sigma)
    };
    let temp_noise = {
        let sigma = uniform(rng, 0.4, 1.5);
        ar1(rng, n, 0.85, sigma)
    };
    let ambient = uniform(rng, 8.0, 28.0);
    let mut o2 = vec![AMBIENT_O2; n];
    let mut flow = vec![0.0; n];
    let mut temp = vec![ambient; n];
    let mut t_prev = ambient;
    for i in 0..n {
        if on[i] {
            // Start-up: the fans purge with air first (O2 near ambient), then excess air
            // falls as firing takes over.
            let warm = (since_start[i] as f64 / 6.0).min(1.0);
            let running = o2_full + o2_slope * (1.0 - load[i]) + o2_noise[i];
            let purge = (-(since_start[i] as f64 - 1.0) / 1.2).exp();
            o2[i] = (running + (20.6 - running) * purge).clamp(2.0, 20.6);
            // The fans, not the excess air, set the flow: it grows with O2 only a little.
            let air = ((21.0 - o2_full) / (21.0 - o2[i]).max(0.5)).min(1.25);
            flow[i] = flow0 * (0.3 + 0.7 * load[i]) * air * flow_noise[i].exp();
            let target = temp_full - temp_slope * (1.0 - load[i]);
            t_prev += (target - t_prev) * if warm < 1.0 { 0.35 } else { 0.6 };
        } else {
            let prev = if i == 0 { AMBIENT_O2 } else { o2[i - 1] };
            o2[i] = (AMBIENT_O2 - (AMBIENT_O2 - prev) * 0.35 - 0.08 * normal(rng).abs())
                .min(AMBIENT_O2);
            flow[i] = flow0 * 0.01 * rng.random::<f64>();
            t_prev += (ambient - t_prev) * 0.15;
        }
        temp[i] = t_prev + temp_noise[i];
    }
    let mut channels = Vec::new();
    let decimals: u8 = if rng.random::<bool>() { 1 } else { 2 };
    for &(factor, limit, range, dl) in pollutants(industry) {
        let x = pollutant(rng, industry, factor, limit, &load, &on, &since_start, &o2);
        channels.push(Ch {
            factor,
            role: Role::Pollutant,
            limit: Some(limit),
            range: Some(range),
            dl: Some(dl),
            decimals,
            x,
            flag: vec![b'N'; n],
        });
    }
    let other = |factor, role, range, decimals, x| Ch {
        factor,
        role,
        limit: None,
        range,
        dl: None,
        decimals,
        x,
        flag: vec![b'N'; n],
    };
    channels.push(other("a19001", Role::O2, Some(25.0), decimals, o2));
    channels.push(other("a00000", Role::Flow, None, 0, flow));
    channels.push(other("a01012", Role::Temperature, None, 1, temp));
    Plant {
        mn: mn.to_owned(),
        industry,
        start,
        from: 0,
        on,
        since_start,
        channels,
        present: vec![true; n],
        logger,
        events: Vec::new(),
    }
}

/// (factor, limit, range, detection limit) of each pollutant of an industry. The limits are
/// those of screening.md's table and the usual national standards; ranges and detection
/// limits of common analysers.
fn pollutants(industry: &str) -> &'static [(&'static str, f64, f64, f64)] {
    match industry {
        "thermal_power" => &[
            ("a21026", 35.0, 100.0, 2.0),
            ("a21002", 50.0, 200.0, 2.0),
            ("a34013", 10.0, 20.0, 0.5),
        ],
        "industrial_boiler" => &[
            ("a21026", 200.0, 500.0, 3.0),
            ("a21002", 200.0, 500.0, 3.0),
            ("a34013", 30.0, 100.0, 1.0),
        ],
        "cement" => &[
            ("a21026", 200.0, 500.0, 3.0),
            ("a21002", 400.0, 1000.0, 3.0),
            ("a34013", 30.0, 100.0, 1.0),
        ],
        _ => &[
            ("a21026", 100.0, 300.0, 2.0),
            ("a21002", 300.0, 500.0, 2.0),
            ("a34013", 30.0, 50.0, 0.5),
            ("a21024", 60.0, 200.0, 1.0),
            ("a21005", 100.0, 300.0, 1.0),
        ],
    }
}

/// Load (share of capacity, 0 when stopped) and running state of every hour.
fn schedule(rng: &mut StdRng, industry: &str, start: i64, n: usize) -> (Vec<f64>, Vec<bool>) {
    let noise = ar1(rng, n, 0.85, 0.04);
    let night_stop = industry == "industrial_boiler" && rng.random::<f64>() < 0.4;
    let sunday_stop = industry == "industrial_boiler" && rng.random::<f64>() < 0.5;
    let mill_hours = rng.random_range(2..6usize);
    let mill_at = rng.random_range(0..24usize);
    let mut load = vec![0.0; n];
    let mut on = vec![true; n];
    for i in 0..n {
        let local = start + i as i64 * HOUR + 8 * HOUR;
        let hour = (local.rem_euclid(86_400) / HOUR) as usize;
        // 1970-01-01 was a Thursday: Monday = 0.
        let weekday = (local.div_euclid(86_400) + 3).rem_euclid(7);
        let weekend = weekday >= 5;
        let base = match industry {
            "thermal_power" => {
                let morning = if (8..12).contains(&hour) { 0.18 } else { 0.0 };
                let evening = if (17..22).contains(&hour) { 0.22 } else { 0.0 };
                let night = if hour < 6 { -0.12 } else { 0.0 };
                (0.65 + morning + evening + night) * if weekend { 0.9 } else { 1.0 }
            }
            "industrial_boiler" => {
                if (night_stop && !(6..22).contains(&hour)) || (sunday_stop && weekday == 6) {
                    0.0
                } else if (7..19).contains(&hour) {
                    0.85
                } else {
                    0.55
                }
            }
            "cement" => {
                // The raw mill stops a few hours a day: less gas through the mill.
                let mill_off = (hour + 24 - mill_at) % 24 < mill_hours;
                if mill_off { 0.8 } else { 0.95 }
            }
            _ => 0.9,
        };
        on[i] = base > 0.0;
        load[i] = if on[i] {
            (base + noise[i]).clamp(0.35, 1.0)
        } else {
            0.0
        };
    }
    // Outages of one to three days (boiler repairs, unit overhauls, kiln stops).
    let outages = match industry {
        "thermal_power" | "cement" => rng.random_range(0..2usize),
        "waste_incineration" => usize::from(rng.random::<f64>() < 0.3),
        _ => rng.random_range(0..3usize),
    };
    for _ in 0..outages {
        let len = rng.random_range(24..72usize);
        let at = rng.random_range(0..n.saturating_sub(len).max(1));
        for i in at..(at + len).min(n) {
            on[i] = false;
            load[i] = 0.0;
        }
    }
    // Start-ups ramp up over hours; a unit comes down over two.
    let mut up = usize::MAX;
    for i in 0..n {
        if !on[i] {
            up = 0;
            continue;
        }
        up = up.saturating_add(1);
        let ramp = (up as f64 / 5.0).min(1.0);
        let down = (1..=2)
            .find(|&k| i + k < n && !on[i + k])
            .map_or(1.0, |k| 0.4 + 0.3 * (k - 1) as f64);
        load[i] = (load[i] * ramp.min(down)).max(0.15);
    }
    (load, on)
}

/// True concentrations of one pollutant: a level under the limit that follows load, with
/// multiplicative autocorrelated noise, start-up peaks, rare genuine excursions, and the
/// residual of a stopped stack.
#[allow(clippy::too_many_arguments)]
fn pollutant(
    rng: &mut StdRng,
    industry: &str,
    factor: &str,
    limit: f64,
    load: &[f64],
    on: &[bool],
    since_start: &[usize],
    o2: &[f64],
) -> Vec<f64> {
    let n = load.len();
    let level = limit * uniform(rng, 0.2, 0.6);
    let gamma = uniform(rng, 0.4, 1.4);
    let slow = {
        let sigma = uniform(rng, 0.08, 0.2);
        ar1(rng, n, 0.95, sigma)
    };
    let fast = {
        let sigma = uniform(rng, 0.04, 0.12);
        ar1(rng, n, 0.5, sigma)
    };
    let mut x = vec![0.0; n];
    let mut excursion = 0usize;
    for i in 0..n {
        if !on[i] {
            let prev = if i == 0 { 0.0 } else { x[i - 1] };
            x[i] = prev * 0.3 + 0.01 * level * normal(rng);
            continue;
        }
        if excursion == 0 && rng.random::<f64>() < 0.002 {
            excursion = rng.random_range(1..4);
        }
        let burst = if excursion > 0 {
            excursion -= 1;
            uniform(rng, 1.5, 2.5)
        } else {
            1.0
        };
        // Start-up: SCR not yet at temperature (NOx), bags not yet coated (dust).
        let warm = (since_start[i] as f64 / 6.0).min(1.0);
        let start_up = match factor {
            "a21002" | "a34013" => 1.0 + 1.5 * (1.0 - warm),
            _ => 1.0,
        };
        // The kiln's SO2 rises when the raw mill stops absorbing it.
        let mill = if industry == "cement" && factor == "a21026" && load[i] < 0.85 {
            1.4
        } else {
            1.0
        };
        // Reported on the dry measured basis: dilution by excess air lowers it.
        let air = (21.0 - o2[i]).max(1.0) / 15.0;
        x[i] = level
            * (0.5 + 0.5 * load[i]).powf(gamma)
            * (slow[i] + fast[i]).exp()
            * burst
            * start_up
            * mill
            * air.sqrt();
    }
    x
}

/// The logger's habits: flags for stops and start-ups, zero checks, maintenance, faults,
/// communication losses, over-range values.
fn logger(rng: &mut StdRng, p: &mut Plant) {
    let n = p.n();
    let lg = p.logger;
    let gas: Vec<usize> = (0..p.channels.len())
        .filter(|&k| p.channels[k].factor != "a34013" && p.channels[k].role != Role::Flow)
        .filter(|&k| p.channels[k].role != Role::Temperature)
        .collect();
    // Start-up hours flagged as stopped while the fans still purge with air.
    let o2 = p.first(Role::O2);
    for i in 0..n {
        let stopped = !p.on[i];
        let start_up = p.on[i] && p.since_start[i] < 3 && p.channels[o2].x[i] >= 19.0;
        if stopped || (lg.flag_start_up && start_up && lg.stop_flag == b'F') {
            for c in &mut p.channels {
                c.flag[i] = lg.stop_flag;
            }
        }
    }
    if let Some(h) = lg.zero_check {
        // A zero reading that drifts a little and is reset at each weekly maintenance.
        let mut drift: Vec<f64> = vec![0.0; p.channels.len()];
        for day in 0..n / 24 {
            let i = day * 24 + h;
            for &k in &gas {
                let c = &mut p.channels[k];
                if c.role != Role::Pollutant {
                    continue;
                }
                // The zero drifts on days without a check too, and the weekly maintenance
                // resets it even when that day's check is not sent: a zero left to drift for
                // weeks beyond HJ 75's limit is S12's signature, not clean data.
                let fs = c.range.unwrap_or(100.0);
                drift[k] = if day % 7 == 0 {
                    0.0
                } else {
                    drift[k] + 0.002 * fs * normal(rng)
                };
                if i >= n || c.flag[i] != b'N' {
                    continue;
                }
                c.x[i] = drift[k] + 0.003 * fs * normal(rng);
                c.flag[i] = b'C';
            }
        }
    }
    let zero = rng.random::<bool>();
    let mut episodes = |rate_per_day: f64, len: std::ops::Range<usize>| {
        let count = (rate_per_day * n as f64 / 24.0 * uniform(rng, 0.5, 1.5)).round() as usize;
        (0..count)
            .map(|_| {
                let l = rng.random_range(len.clone());
                let at = rng.random_range(0..n.saturating_sub(l).max(1));
                (at, (at + l).min(n))
            })
            .collect::<Vec<_>>()
    };
    // Maintenance about every ten days, all channels.
    for (a, b) in episodes(0.1, 2..5) {
        for i in a..b {
            for c in &mut p.channels {
                c.flag[i] = b'M';
                c.x[i] = if lg.hold_in_maintenance && a > 0 {
                    c.x[a - 1]
                } else {
                    f64::NAN
                };
            }
        }
    }
    // Analyser faults: the gas analyser or the dust meter, value missing or zero.
    let faults = episodes(0.04, 1..8);
    for (j, (a, b)) in faults.into_iter().enumerate() {
        let dust = j % 2 == 1;
        for i in a..b {
            for (k, c) in p.channels.iter_mut().enumerate() {
                if (c.factor == "a34013") == dust && (dust || gas.contains(&k)) {
                    c.flag[i] = b'D';
                    c.x[i] = if zero { 0.0 } else { f64::NAN };
                }
            }
        }
    }
    // Communication: B hours without values, and rows lost altogether.
    for (a, b) in episodes(0.03, 1..4) {
        for i in a..b {
            for c in &mut p.channels {
                c.flag[i] = b'B';
                c.x[i] = f64::NAN;
            }
        }
    }
    for (a, b) in episodes(0.08, 1..10) {
        p.present[a..b].fill(false);
    }
    for c in &mut p.channels {
        for i in 0..n {
            if let Some(r) = c.range.filter(|&r| c.x[i] > r) {
                c.x[i] = r;
                c.flag[i] = b'T';
            }
            if lg.clip_negative && c.x[i] < 0.0 {
                c.x[i] = 0.0;
            }
        }
    }
}

/// A window of `len` hours in the screened period where the unit runs at least `share` of
/// the hours; the best of a few tries.
fn running_window(rng: &mut StdRng, p: &Plant, len: usize, share: f64) -> usize {
    let n = p.n();
    let last = n.saturating_sub(len).max(p.from + 1);
    let mut best = (0usize, p.from);
    for _ in 0..60 {
        let at = rng.random_range(p.from..last);
        let running = (at..(at + len).min(n)).filter(|&i| p.on[i]).count();
        if running > best.0 {
            best = (running, at);
        }
        if running as f64 >= share * len as f64 {
            break;
        }
    }
    best.1
}

fn truth(p: &Plant, s: Signature, factor: Option<usize>, a: usize, b: usize) -> Truth {
    Truth {
        mn: p.mn.clone(),
        signature: s,
        factor: factor.map(|k| p.channels[k].factor.to_owned()),
        start: p.time(a),
        end: p.time(b),
    }
}

/// A pollutant channel, picked at random.
fn some_pollutant(rng: &mut StdRng, p: &Plant) -> usize {
    let ks: Vec<usize> = p.role(Role::Pollutant).collect();
    ks[rng.random_range(0..ks.len())]
}

/// Injections that change what is emitted or done, before the logger.
fn inject_process(rng: &mut StdRng, p: &mut Plant, s: Signature) -> Truth {
    let n = p.n();
    match s {
        Signature::LimitHugging => {
            // The true level exceeds the limit; the reported value is held at 90–99.5% of it.
            let k = some_pollutant(rng, p);
            let len = rng.random_range(5 * 24..8 * 24);
            let a = running_window(rng, p, len, 0.9);
            let b = (a + len).min(n);
            let limit = p.channels[k].limit.expect("pollutants have limits");
            for i in (a..b).filter(|&i| p.on[i]) {
                p.channels[k].x[i] = limit * uniform(rng, 0.9, 0.995);
            }
            truth(p, s, Some(k), a, b)
        }
        Signature::Dilution => {
            // Air let in before the analyser: O2 up by several points, every pollutant down
            // by the dilution ratio, more gas through the stack.
            let len = rng.random_range(2 * 24..4 * 24);
            let a = running_window(rng, p, len, 0.9);
            let b = (a + len).min(n);
            let extra = uniform(rng, 3.0, 6.0);
            let o2 = p.first(Role::O2);
            let flow = p.first(Role::Flow);
            for i in (a..b).filter(|&i| p.on[i]) {
                let ramp = ((i - a) as f64 / 3.0).min(1.0);
                let before = p.channels[o2].x[i];
                let after = (before + extra * ramp).min(20.0);
                let ratio = (21.0 - after) / (21.0 - before);
                p.channels[o2].x[i] = after;
                p.channels[flow].x[i] /= ratio;
                for k in p.role(Role::Pollutant).collect::<Vec<_>>() {
                    p.channels[k].x[i] *= ratio;
                }
            }
            truth(p, s, None, a, b)
        }
        Signature::StrategicGaps => {
            // Excursions over the limit; the logger goes silent when the value nears it.
            let k = some_pollutant(rng, p);
            let limit = p.channels[k].limit.expect("pollutants have limits");
            let (mut first, mut last) = (n, 0);
            for _ in 0..rng.random_range(6..10) {
                let a = running_window(rng, p, 8, 1.0);
                let peak = limit * uniform(rng, 1.2, 1.8);
                let c = &mut p.channels[k];
                c.x[a] = 0.7 * limit;
                c.x[a + 1] = uniform(rng, 0.88, 0.98) * limit;
                let gap = rng.random_range(2..6);
                for i in a + 2..(a + 2 + gap).min(n) {
                    c.x[i] = peak;
                    p.present[i] = false;
                }
                first = first.min(a);
                last = last.max((a + 2 + gap).min(n));
            }
            truth(p, s, Some(k), first, last)
        }
        _ => {
            // Flag abuse: would-be exceedances of the gas channels reported as maintenance
            // or fault hours, the measured values still sent.
            let k = some_pollutant(rng, p);
            let limit = p.channels[k].limit.expect("pollutants have limits");
            let (mut first, mut last) = (n, 0);
            for _ in 0..rng.random_range(6..11) {
                let len = rng.random_range(2..6);
                let a = running_window(rng, p, len, 1.0);
                let flag = if rng.random::<bool>() { b'M' } else { b'D' };
                for i in a..(a + len).min(n) {
                    p.channels[k].x[i] = limit * uniform(rng, 1.1, 1.8);
                    for c in &mut p.channels {
                        if c.role == Role::Pollutant || c.role == Role::O2 {
                            c.flag[i] = flag;
                        }
                    }
                }
                first = first.min(a);
                last = last.max((a + len).min(n));
            }
            truth(p, s, None, first, last)
        }
    }
}

/// Injections into the reported stream, after the logger's habits.
fn inject_reported(rng: &mut StdRng, p: &mut Plant, s: Signature) -> Truth {
    let n = p.n();
    match s {
        Signature::ConstantValue => {
            let k = some_pollutant(rng, p);
            let len = rng.random_range(12..36);
            let a = running_window(rng, p, len, 1.0);
            let b = (a + len).min(n);
            // The value held is one the analyser sent as normal, not a gap's NaN.
            let v = p.channels[k].x[p.last_sent(&[k], a)];
            p.rewrite(k, a, b, |_| v);
            truth(p, s, Some(k), a, b)
        }
        Signature::NarrowBand => {
            let k = some_pollutant(rng, p);
            let len = rng.random_range(4 * 24..6 * 24);
            let a = running_window(rng, p, len, 0.9);
            let b = (a + len).min(n);
            let fs = p.channels[k].range.expect("pollutants have ranges");
            let mid = p.channels[k].x[a].max(0.1 * fs);
            p.rewrite(k, a, b, |_| {
                mid + 0.008 * fs * (2.0 * rng.random::<f64>() - 1.0)
            });
            truth(p, s, Some(k), a, b)
        }
        Signature::NearDetectionLimit => {
            // The pollutant that runs highest against its detection limit.
            let k = p
                .role(Role::Pollutant)
                .max_by(|&a, &b| {
                    let r = |k: usize| p.channels[k].x[p.from] / p.channels[k].dl.unwrap_or(1.0);
                    r(a).total_cmp(&r(b))
                })
                .expect("outlets have pollutants");
            let len = rng.random_range(7 * 24..9 * 24);
            let a = running_window(rng, p, len, 0.8);
            let b = (a + len).min(n);
            let dl = p.channels[k].dl.expect("pollutants have detection limits");
            p.rewrite(k, a, b, |_| dl * uniform(rng, 0.2, 1.9));
            truth(p, s, Some(k), a, b)
        }
        Signature::Decoupling => {
            // The flow meter's output held near-constant for days while the unit runs and
            // the concentrations move.
            let flow = p.first(Role::Flow);
            let len = rng.random_range(3 * 24..5 * 24);
            let a = running_window(rng, p, len, 1.0);
            let b = (a + len).min(n);
            // A plausible value: the window's median running flow.
            let mut running: Vec<f64> = (a..b)
                .filter(|&i| p.on[i])
                .map(|i| p.channels[flow].x[i])
                .collect();
            running.sort_by(f64::total_cmp);
            let v = running[running.len() / 2];
            for i in (a..b).filter(|&i| p.on[i]) {
                p.channels[flow].x[i] = v * (1.0 + 0.002 * normal(rng));
            }
            truth(p, s, None, a, b)
        }
        Signature::MultiChannelFlat => {
            // The logger freezes: every channel repeats its last values.
            let len = rng.random_range(10..30);
            let a = running_window(rng, p, len, 1.0);
            let b = (a + len).min(n);
            // The last packet sent as normal, repeated: not a gap's NaN or a start-up hour's
            // stop flag, which would make the freeze a (flagged) gap.
            let all: Vec<usize> = (0..p.channels.len()).collect();
            let j = p.last_sent(&all, a);
            for c in &mut p.channels {
                let v = c.x[j];
                c.x[a..b].fill(v);
                c.flag[a..b].fill(b'N');
            }
            truth(p, s, None, a, b)
        }
        Signature::CopiedSeries => {
            // Two days replayed from a week or more before: every channel as sent, or one
            // pollutant re-scaled (× a + b, re-rounded at the end).
            let len = 48;
            let a = running_window(rng, p, len, 0.9);
            let b = (a + len).min(n);
            let back = 24 * rng.random_range(7..(a / 24).clamp(8, 14));
            let src = a.saturating_sub(back);
            if rng.random::<bool>() {
                for c in &mut p.channels {
                    for i in a..b {
                        c.x[i] = c.x[src + i - a];
                        c.flag[i] = c.flag[src + i - a];
                    }
                }
                truth(p, s, None, a, b)
            } else {
                let k = some_pollutant(rng, p);
                let scale = uniform(rng, 0.75, 0.92);
                let offset = uniform(rng, 0.0, 0.05) * p.channels[k].limit.unwrap_or(10.0);
                let c = &mut p.channels[k];
                for i in a..b {
                    c.x[i] = c.x[src + i - a] * scale + offset;
                    c.flag[i] = c.flag[src + i - a];
                }
                truth(p, s, Some(k), a, b)
            }
        }
        Signature::LevelShift => {
            // A notice of inspection, then the pollutant falls to a third or half of its
            // level for the rest of the period, load unchanged.
            let k = some_pollutant(rng, p);
            let a = running_window(rng, p, 4 * 24, 0.9).min(n - 4 * 24);
            let event = p.time(a) - rng.random_range(1..12) * HOUR;
            p.events.push(event);
            let f = uniform(rng, 0.3, 0.5);
            for i in a..n {
                p.channels[k].x[i] *= f;
            }
            truth(p, s, Some(k), a, n)
        }
        Signature::CalibrationAnomaly => {
            let fs_drift = uniform(rng, 0.05, 0.09);
            let perfect = rng.random::<bool>();
            let ks: Vec<usize> = p.role(Role::Pollutant).collect();
            let (mut first, mut last) = (n, 0);
            for k in ks {
                let fs = p.channels[k].range.unwrap_or(100.0);
                // The same typed-in reading every day: 0, or on a logger that clips negative
                // readings to 0 (where a run of zeros is what a zero drifting below 0 sends)
                // a small positive one.
                let typed = if p.logger.clip_negative {
                    fs * uniform(rng, 0.002, 0.01)
                } else {
                    0.0
                };
                let c = &mut p.channels[k];
                let checks: Vec<usize> = (p.from..n).filter(|&i| c.flag[i] == b'C').collect();
                for (j, &i) in checks.iter().enumerate() {
                    // Too perfect (the same reading every day) or drifting out of control.
                    c.x[i] = if perfect {
                        typed
                    } else {
                        fs * fs_drift * (j + 1) as f64 / checks.len() as f64 * 2.0
                    };
                    first = first.min(i);
                    last = last.max(i + 1);
                }
            }
            truth(p, s, None, first.min(p.from), last.max(p.from + 1))
        }
        Signature::Oversmooth => {
            // One pollutant passed through an exponential filter for days.
            let k = some_pollutant(rng, p);
            let len = rng.random_range(5 * 24..8 * 24);
            let a = running_window(rng, p, len, 0.9);
            let b = (a + len).min(n);
            let alpha = uniform(rng, 0.08, 0.2);
            let c = &mut p.channels[k];
            let mut m = c.x[a];
            for i in a..b {
                if c.x[i].is_finite() && c.flag[i] == b'N' {
                    m += alpha * (c.x[i] - m);
                    c.x[i] = m;
                }
            }
            truth(p, s, Some(k), a, b)
        }
        Signature::DigitPreference => {
            // Done after rounding ([`prefer_digits`]): the whole screened period.
            let k = some_pollutant(rng, p);
            truth(p, s, Some(k), p.from, n)
        }
        _ => {
            // Stopped but running: F on every channel while flow, O2 and temperature run.
            let len = rng.random_range(12..48);
            let a = running_window(rng, p, len, 1.0);
            let b = (a + len).min(n);
            for c in &mut p.channels {
                c.flag[a..b].fill(b'F');
            }
            truth(p, s, None, a, b)
        }
    }
}

/// Digit preference: the last reported digit of `factor` in the screened period turned to
/// 0 or 5 two times in three (values typed in, not measured).
fn prefer_digits(rng: &mut StdRng, p: &mut Plant, factor: &str) {
    let from = p.from;
    let c = p
        .channels
        .iter_mut()
        .find(|c| c.factor == factor)
        .expect("the truth names a channel of the outlet");
    let scale = 10f64.powi(i32::from(c.decimals));
    for x in c.x[from..].iter_mut().filter(|x| x.is_finite()) {
        if rng.random::<f64>() < 0.67 {
            let tens = ((*x * scale).round() / 10.0).floor() * 10.0;
            let digit = if rng.random::<bool>() { 0.0 } else { 5.0 };
            *x = (tens + digit) / scale;
        }
    }
}

fn finish(p: Plant, truth: Vec<Truth>) -> Outlet {
    let rows: Vec<usize> = (0..p.n()).filter(|&i| p.present[i]).collect();
    let time = Int64Array::from_iter_values(rows.iter().map(|&i| p.time(i)));
    let channels = p
        .channels
        .iter()
        .map(|c| {
            let meta = ChannelMeta {
                range: c.range,
                limit: c.limit,
                detection_limit: c.dl,
                decimals: Some(c.decimals),
            };
            sent(c.factor, &c.x, &c.flag, &rows, meta)
        })
        .collect();
    let mut hourly = Series::new(
        p.mn.clone(),
        format!("{}号排口", &p.mn[p.mn.len() - 3..]),
        p.industry,
        HOUR,
        time,
        channels,
    )
    .expect("generated arrays have one row per time");
    hourly.events = p.events;
    Outlet {
        series: vec![hourly],
        truth,
    }
}
