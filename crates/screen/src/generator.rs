//! Synthetic monitoring data (模拟数据) with injected falsification and ground truth, for
//! tests, benchmarks and demonstrations. Deterministic for a seed.
//!
//! Each outlet is generated as 10-minute data (HJ 212 CN 2051); the hourly series (CN 2061)
//! is derived from it by the HJ 75 45-minute rule ([`crate::qa::hourly`]), as a data logger
//! does. What makes the data realistic enough to screen:
//! - load follows the industry's day (power demand peaks, boiler day shifts, sewage inflow
//!   peaks), weekends, and random start-ups and shut-downs (flagged F, with ramps);
//! - flow, O2 (inversely to load), temperature, pressure, humidity and velocity move with
//!   load, and pollutant concentrations with load plus autocorrelated noise, spikes and
//!   elevated start-ups, rounded to each factor's reported decimals;
//! - wastewater analysers hold each hourly sample for the hour;
//! - the QA noise of real stations: daily zero/span calibrations (C, with the readings),
//!   maintenance (M), faults (D), communication gaps (rows missing) and B flags.
//!
//! An injection changes one window of the screened period (after the history days) in the
//! way the falsification would, and records a [`Truth`].

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use arrow_array::{Float64Array, Int64Array, UInt8Array};

use crate::config::{Config, Role};
use crate::finding::Signature;
use crate::qa;
use crate::series::{Channel, ChannelMeta, Flags, Series};

/// The industries generated (keys of the thresholds file).
pub const INDUSTRIES: [&str; 5] = [
    "thermal_power",
    "waste_incineration",
    "cement",
    "industrial_boiler",
    "wastewater",
];

const STEP: i64 = 600;
const PER_DAY: usize = 144;

/// One injected falsification: which outlet, signature, factor (None: outlet-wide) and
/// window (Unix seconds, end exclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub mn: String,
    pub signature: Signature,
    pub factor: Option<String>,
    pub start: i64,
    pub end: i64,
}

/// A generated outlet: the series its logger sends, finest interval first (here 10-minute
/// and hourly; [`crate::generator2`] sends hourly only), history and screened period
/// together (split them with [`Series::split_at_time`] at [`Fleet::screen_from`]), and the
/// ground truth of its injections.
#[derive(Debug, Clone)]
pub struct Outlet {
    pub series: Vec<Series>,
    pub truth: Vec<Truth>,
}

impl Outlet {
    /// The finest series: the outlet's MN, name and industry.
    pub fn first(&self) -> &Series {
        &self.series[0]
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    pub seed: u64,
    /// Outlets without injections.
    pub clean: usize,
    /// Outlets per signature with that signature injected (S8: half within an outlet, half
    /// copied from another outlet, which then gets a truth too).
    pub per_signature: usize,
    /// Clean days before the screened period (the outlets' own history).
    pub history_days: u32,
    /// Days screened.
    pub days: u32,
    /// Unix time of the first row (midnight, Beijing time, is natural).
    pub start: i64,
}

/// A generated fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub outlets: Vec<Outlet>,
    /// Start of the screened period.
    pub screen_from: i64,
}

impl Fleet {
    /// All ground truth.
    pub fn truth(&self) -> impl Iterator<Item = &Truth> {
        self.outlets.iter().flat_map(|o| o.truth.iter())
    }
}

/// Which industries a signature can be injected into: dilution needs O2; decoupling a load
/// that varies and concentrations that follow it (a wastewater outlet's concentrations
/// barely follow its flow: history correlations of 0.2–0.45, so three days without the
/// relation cannot be told from three days with it).
fn compatible(s: Signature, industry: &str) -> bool {
    match s {
        Signature::Dilution => industry != "wastewater",
        Signature::Decoupling => !matches!(industry, "waste_incineration" | "wastewater"),
        _ => true,
    }
}

/// Generates a fleet: `clean` clean outlets, then `per_signature` outlets per signature.
pub fn fleet(spec: &FleetSpec, config: &Config) -> Fleet {
    let screen_from = spec.start + i64::from(spec.history_days) * 86_400;
    let mut outlets: Vec<Outlet> = (0..spec.clean)
        .map(|i| clean_outlet(spec, i, None, config))
        .collect();
    let mut next = spec.clean;
    let mut mn = || {
        next += 1;
        sim_mn(next)
    };
    let days = spec.history_days + spec.days;
    for (k, s) in Signature::ALL.into_iter().enumerate() {
        let mut j = 0;
        let mut placed = 0;
        while placed < spec.per_signature {
            let industry = INDUSTRIES[(j + k) % INDUSTRIES.len()];
            j += 1;
            if !compatible(s, industry) {
                continue;
            }
            let seed = spec.seed ^ ((1000 + k * 1000 + placed) as u64).wrapping_mul(0x85eb_ca6b);
            if s == Signature::CopiedSeries && placed % 2 == 1 {
                // Across outlets: a source and a copier of the same industry.
                let draft = |seed, mn: &str| {
                    draft(Draws::one(seed), mn, industry, spec.start, days, config)
                };
                let mut source = draft(seed ^ 1, &mn());
                let mut copier = draft(seed ^ 2, &mn());
                let mut rng = StdRng::seed_from_u64(seed ^ 3);
                let truths = inject_copy_across(&mut rng, &mut source, &mut copier, screen_from);
                for (d, t) in [(source, truths.0), (copier, truths.1)] {
                    outlets.push(finish(d, vec![t], config));
                }
            } else {
                outlets.push(outlet(
                    seed,
                    &mn(),
                    industry,
                    spec.start,
                    days,
                    screen_from,
                    Some(s),
                    config,
                ));
            }
            placed += 1;
        }
    }
    Fleet {
        outlets,
        screen_from,
    }
}

/// Clean outlet `i` of `spec` (MN `SIM…i+1`), whole or as part `part` of a longer period
/// ([`clean_part`]).
fn clean_outlet(spec: &FleetSpec, i: usize, part: Option<u64>, config: &Config) -> Outlet {
    let seed = spec.seed ^ (i as u64).wrapping_mul(0x9e37_79b9);
    let draws = match part {
        None => Draws::one(seed),
        Some(part) => Draws::part(seed, part),
    };
    let industry = INDUSTRIES[i % INDUSTRIES.len()];
    let days = spec.history_days + spec.days;
    let d = draft(draws, &sim_mn(i + 1), industry, spec.start, days, config);
    finish(d, Vec::new(), config)
}

/// Part `part` (from 0) of a long period of `spec`'s clean outlets, for a benchmark that
/// writes a year a few days at a time: each outlet keeps its parameters (size, levels,
/// noise dynamics, calibration hour) from part to part, so the parts join without the level
/// shifts and broken relations a new fleet every few days would have; only the rows' noise,
/// shut-downs and QA events are drawn anew. Outlets and MNs are those of [`fleet`] with the
/// same spec; `spec.per_signature` is not used.
pub fn clean_part(spec: &FleetSpec, part: u64, config: &Config) -> Fleet {
    let outlets = (0..spec.clean)
        .map(|i| clean_outlet(spec, i, Some(part), config))
        .collect();
    Fleet {
        outlets,
        screen_from: spec.start + i64::from(spec.history_days) * 86_400,
    }
}

/// The MN of the `n`th generated outlet (from 1).
fn sim_mn(n: usize) -> String {
    format!("SIM{n:011}")
}

/// The random draws of a draft. An outlet's parameters and its rows' noise come from one
/// stream, unless the draft is one part of a longer period ([`clean_part`]): then the
/// parameters come from the outlet's own stream, the same in every part, and the rows from
/// the part's.
struct Draws {
    params: StdRng,
    rows: Option<StdRng>,
}

impl Draws {
    fn one(seed: u64) -> Draws {
        Draws {
            params: StdRng::seed_from_u64(seed),
            rows: None,
        }
    }

    fn part(seed: u64, part: u64) -> Draws {
        let rows = seed ^ (part + 1).wrapping_mul(0xd1b5_4a32_d192_ed03);
        Draws {
            params: StdRng::seed_from_u64(seed),
            rows: Some(StdRng::seed_from_u64(rows)),
        }
    }

    /// For what the outlet is: its size, levels, noise dynamics.
    fn param(&mut self) -> &mut StdRng {
        &mut self.params
    }

    /// For what happens row by row.
    fn row(&mut self) -> &mut StdRng {
        self.rows.as_mut().unwrap_or(&mut self.params)
    }
}

/// One outlet of `days` days from `start`, with `inject` applied after `screen_from`.
#[allow(clippy::too_many_arguments)]
pub fn outlet(
    seed: u64,
    mn: &str,
    industry: &str,
    start: i64,
    days: u32,
    screen_from: i64,
    inject: Option<Signature>,
    config: &Config,
) -> Outlet {
    let mut d = draft(Draws::one(seed), mn, industry, start, days, config);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfeed);
    let truth = inject.map(|s| apply(&mut rng, &mut d, s, screen_from));
    finish(d, truth.into_iter().collect(), config)
}

/// A channel being generated.
#[derive(Debug, Clone)]
struct Ch {
    factor: &'static str,
    role: Role,
    limit: Option<f64>,
    range: Option<f64>,
    dl: Option<f64>,
    decimals: u8,
    x: Vec<f64>,
    flag: Vec<u8>,
    /// Usual level (pollutants).
    level: f64,
}

/// An outlet being generated: rows every 10 minutes, `present` false for rows never sent.
#[derive(Debug, Clone)]
struct Draft {
    mn: String,
    industry: String,
    t0: i64,
    load: Vec<f64>,
    /// The unit really runs.
    on: Vec<bool>,
    present: Vec<bool>,
    channels: Vec<Ch>,
    events: Vec<i64>,
}

impl Draft {
    fn n(&self) -> usize {
        self.load.len()
    }

    fn time(&self, i: usize) -> i64 {
        self.t0 + i as i64 * STEP
    }

    fn index(&self, t: i64) -> usize {
        ((t - self.t0).max(0) / STEP) as usize
    }

    fn pollutants(&self) -> Vec<usize> {
        (0..self.channels.len())
            .filter(|&k| self.channels[k].role == Role::Pollutant)
            .collect()
    }

    fn find(&self, role: Role) -> Option<usize> {
        self.channels.iter().position(|c| c.role == role)
    }

    /// The truth of an injection over rows `[i0, i1)`.
    fn truth(&self, s: Signature, factor: Option<&str>, i0: usize, i1: usize) -> Truth {
        Truth {
            mn: self.mn.clone(),
            signature: s,
            factor: factor.map(str::to_owned),
            start: self.time(i0),
            end: self.time(i1.min(self.n())),
        }
    }
}

/// Standard normal (Box–Muller).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub(crate) fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Autocorrelated noise with stationary standard deviation `sigma` and lag-1
/// correlation `phi`.
pub(crate) fn ar1(rng: &mut StdRng, n: usize, phi: f64, sigma: f64) -> Vec<f64> {
    let innov = sigma * (1.0 - phi * phi).sqrt();
    let mut v = Vec::with_capacity(n);
    let mut e = sigma * normal(rng);
    for _ in 0..n {
        e = phi * e + innov * normal(rng);
        v.push(e);
    }
    v
}

/// Load of an industry at a time of day and weekday, before noise and shut-downs.
fn day_load(industry: &str, hour: f64, weekday: u32) -> f64 {
    let weekend = weekday >= 5;
    let peak = |h0: f64, w: f64| (-((hour - h0) / w).powi(2)).exp();
    match industry {
        "thermal_power" => {
            (0.62 + 0.22 * peak(11.0, 3.0) + 0.25 * peak(20.0, 2.5))
                * if weekend { 0.9 } else { 1.0 }
        }
        "waste_incineration" => 0.85 + 0.08 * peak(14.0, 5.0),
        "cement" => (0.78 + 0.15 * peak(13.0, 5.0)) * if weekend { 0.88 } else { 1.0 },
        "industrial_boiler" => {
            let shift = if (8.0..20.0).contains(&hour) {
                0.92
            } else {
                0.5
            };
            shift * if weekend { 0.6 } else { 1.0 }
        }
        _ => 0.7 + 0.2 * peak(9.0, 2.0) + 0.15 * peak(20.0, 2.5),
    }
}

/// Factors generated per industry.
fn factors(industry: &str) -> &'static [&'static str] {
    match industry {
        "waste_incineration" => &[
            "a21026", "a21002", "a34013", "a21005", "a21024", "a19001", "a00000", "a01012",
            "a01013", "a01014",
        ],
        "wastewater" => &[
            "w00000", "w01018", "w21003", "w21011", "w21001", "w01012", "w01001", "w01010",
            "w01014", "w01009",
        ],
        _ => &[
            "a21026", "a21002", "a34013", "a21005", "a19001", "a00000", "a01012", "a01013",
            "a01014", "a01011",
        ],
    }
}

/// The clean outlet.
fn draft(
    mut draws: Draws,
    mn: &str,
    industry: &str,
    start: i64,
    days: u32,
    config: &Config,
) -> Draft {
    let n = days as usize * PER_DAY;
    let gas = industry != "wastewater";
    // Load: the day, AR noise, and shut-downs with ramps.
    let (p_stop, stop_hours) = match industry {
        "thermal_power" => (0.02, (8.0, 48.0)),
        "waste_incineration" => (0.01, (8.0, 36.0)),
        "cement" => (0.02, (8.0, 48.0)),
        "industrial_boiler" => (0.04, (6.0, 40.0)),
        _ => (0.003, (4.0, 12.0)),
    };
    let noise = ar1(draws.row(), n, 0.95, 0.03);
    let mut on = vec![true; n];
    let mut i = 0;
    while i < n {
        if draws.row().random::<f64>() < p_stop / PER_DAY as f64 {
            let len = (uniform(draws.row(), stop_hours.0, stop_hours.1) * 6.0) as usize;
            for v in on.iter_mut().skip(i).take(len) {
                *v = false;
            }
            i += len + PER_DAY;
        } else {
            i += 1;
        }
    }
    let mut load = Vec::with_capacity(n);
    // Rows in a start-up ramp: combustion not yet stable, emissions higher.
    let mut starting = vec![false; n];
    let mut since_start = usize::MAX / 2;
    for i in 0..n {
        let t = start + i as i64 * STEP;
        let (h, wd) = crate::finding::hour_and_weekday(t);
        let minute = ((t + 8 * 3600).rem_euclid(3600)) as f64 / 3600.0;
        let base = day_load(industry, f64::from(h) + minute, wd);
        if !on[i] {
            since_start = 0;
            load.push(0.0);
            continue;
        }
        since_start += 1;
        // Start-up ramp over two hours; shut-down ramp in the last row.
        let ramp = (since_start as f64 / 12.0).min(1.0);
        starting[i] = ramp < 1.0;
        let ending = i + 1 < n && !on[i + 1];
        let l = (base + noise[i]).clamp(0.2, 1.05) * ramp * if ending { 0.4 } else { 1.0 };
        load.push(l.max(0.12));
    }
    let mean_load = load.iter().filter(|&&l| l > 0.0).sum::<f64>()
        / on.iter().filter(|&&o| o).count().max(1) as f64;
    let rated = match industry {
        "thermal_power" => uniform(draws.param(), 150.0, 400.0),
        "waste_incineration" => uniform(draws.param(), 30.0, 80.0),
        "cement" => uniform(draws.param(), 80.0, 200.0),
        "industrial_boiler" => uniform(draws.param(), 10.0, 40.0),
        _ => uniform(draws.param(), 20.0, 300.0),
    };
    let o2_base = match industry {
        "thermal_power" => uniform(draws.param(), 5.0, 7.0),
        "industrial_boiler" => uniform(draws.param(), 8.0, 10.0),
        _ => uniform(draws.param(), 9.0, 11.0),
    };
    let temp_base = match industry {
        "thermal_power" => uniform(draws.param(), 48.0, 55.0),
        "wastewater" => uniform(draws.param(), 16.0, 26.0),
        _ => uniform(draws.param(), 120.0, 160.0),
    };
    let area = rated / uniform(draws.param(), 12.0, 18.0);
    let cal_slot = draws.param().random_range(0..36usize);
    let mut channels = Vec::new();
    for &factor in factors(industry) {
        let defaults = config.factor(factor);
        let role = defaults.map_or(Role::Other, |d| d.role);
        let decimals = defaults.and_then(|d| d.decimals).unwrap_or(2);
        let limit = config.limit(industry, factor);
        let mut ch = Ch {
            factor,
            role,
            limit,
            // An analyser is ranged for its outlet: at least twice the emission limit (the
            // default NOx range, 300 mg/m³, is below a cement kiln's 400 mg/m³ limit).
            range: defaults
                .and_then(|d| d.range)
                .map(|r| limit.map_or(r, |l| r.max(2.0 * l))),
            dl: defaults.and_then(|d| d.detection_limit),
            decimals,
            x: vec![0.0; n],
            flag: vec![b'N'; n],
            level: 0.0,
        };
        let phi = uniform(draws.param(), 0.7, 0.92);
        let sigma_rel = uniform(draws.param(), 0.06, 0.15);
        let e = ar1(draws.row(), n, phi, sigma_rel);
        let unit = 10f64.powi(-i32::from(decimals));
        match role {
            Role::Pollutant => {
                let l = limit.unwrap_or(100.0);
                ch.level = l * uniform(draws.param(), 0.2, 0.6);
                let held = !gas;
                let mut spike = 0usize;
                let mut spike_gain = 1.0;
                for i in 0..n {
                    if held && i % 6 != 0 {
                        ch.x[i] = ch.x[i - 1];
                        continue;
                    }
                    if !on[i] {
                        ch.x[i] = ch.dl.unwrap_or(0.0) * uniform(draws.row(), 0.0, 1.0);
                        continue;
                    }
                    if spike == 0 && draws.row().random::<f64>() < 0.001 {
                        spike = draws.row().random_range(1..4usize);
                        spike_gain = uniform(draws.row(), 1.6, 2.6);
                    }
                    let g = if spike > 0 {
                        spike -= 1;
                        spike_gain
                    } else {
                        1.0
                    };
                    let startup = if starting[i] { 1.4 } else { 1.0 };
                    let meas = (0.02 * ch.level + 0.5 * unit) * normal(draws.row());
                    let v = ch.level * (0.4 + 0.6 * load[i] / mean_load) * e[i].exp() * g * startup
                        + meas;
                    ch.x[i] = v.max(0.0);
                }
            }
            Role::O2 => {
                for i in 0..n {
                    ch.x[i] = if on[i] {
                        (o2_base
                            + 3.0 * (1.0 - load[i])
                            + 0.25 * e[i] / sigma_rel
                            + 0.05 * normal(draws.row()))
                        .clamp(2.0, 20.8)
                    } else {
                        uniform(draws.row(), 20.5, 20.9)
                    };
                }
            }
            Role::Flow => {
                for i in 0..n {
                    ch.x[i] = if on[i] {
                        rated * load[i] * (1.0 + 0.3 * e[i]) + 0.01 * rated * normal(draws.row())
                    } else {
                        rated * uniform(draws.row(), 0.0, 0.03)
                    }
                    .max(0.0);
                }
            }
            Role::Temperature => {
                let mut warm = 1.0f64;
                for i in 0..n {
                    warm = if on[i] {
                        (warm + 0.1).min(1.0)
                    } else {
                        warm * 0.97
                    };
                    let running = temp_base + if gas { 15.0 } else { 1.0 } * (load[i] - 0.8);
                    ch.x[i] = 25.0 + (running - 25.0) * warm + 0.3 * normal(draws.row());
                }
            }
            Role::Other => {
                let (centre, scale): (Box<dyn Fn(usize) -> f64>, f64) = match factor {
                    "a01013" => (Box::new(|i| -0.8 + 0.4 * load[i]), 0.03),
                    "a01014" => (
                        Box::new(|i| {
                            if on[i] {
                                if industry == "thermal_power" {
                                    12.0
                                } else {
                                    7.0
                                }
                            } else {
                                2.0
                            }
                        }),
                        0.3,
                    ),
                    "a01011" => (Box::new(|i| rated * load[i] / area), 0.15),
                    "w01001" => (Box::new(|_| 7.2), 0.12),
                    "w01014" => (Box::new(|_| 850.0), 25.0),
                    _ => (Box::new(|_| 2.5), 0.3),
                };
                let floor = if factor == "a01013" {
                    f64::NEG_INFINITY
                } else {
                    0.0
                };
                for (i, x) in ch.x.iter_mut().enumerate() {
                    *x = (centre(i) + scale * (e[i] / sigma_rel + 0.5 * normal(draws.row())))
                        .max(floor);
                }
            }
        }
        if !on.iter().all(|&o| o) {
            for i in (0..n).filter(|&i| !on[i]) {
                ch.flag[i] = b'F';
            }
        }
        // Daily zero/span calibration of the gas analysers and wastewater COD/NH3-N.
        let calibrated = matches!(factor, "a21026" | "a21002" | "a21005" | "w01018" | "w21003");
        if let (true, Some(fs)) = (calibrated, ch.range) {
            for day in 0..days as usize {
                let i = day * PER_DAY + cal_slot + draws.row().random_range(0..2usize);
                if i + 1 < n && on[i] {
                    ch.x[i] = (0.004 * fs * normal(draws.row())).max(-0.01 * fs);
                    ch.x[i + 1] = 0.8 * fs * (1.0 + 0.005 * normal(draws.row()));
                    ch.flag[i] = b'C';
                    ch.flag[i + 1] = b'C';
                }
            }
        }
        channels.push(ch);
    }
    let mut d = Draft {
        mn: mn.to_owned(),
        industry: industry.to_owned(),
        t0: start,
        load,
        on,
        present: vec![true; n],
        channels,
        events: Vec::new(),
    };
    qa_noise(draws.row(), &mut d);
    d
}

/// Maintenance, faults, communication gaps and B flags at random times.
fn qa_noise(rng: &mut StdRng, d: &mut Draft) {
    let n = d.n();
    let pollutants = d.pollutants();
    for day in 0..n / PER_DAY {
        let base = day * PER_DAY;
        if rng.random::<f64>() < 0.04 {
            let (s, len) = (
                base + rng.random_range(0..PER_DAY),
                rng.random_range(6..18usize),
            );
            for &k in &pollutants {
                for f in d.channels[k].flag.iter_mut().skip(s).take(len) {
                    if *f == b'N' {
                        *f = b'M';
                    }
                }
            }
        }
        if rng.random::<f64>() < 0.01 {
            let k = pollutants[rng.random_range(0..pollutants.len())];
            let (s, len) = (
                base + rng.random_range(0..PER_DAY),
                rng.random_range(6..24usize),
            );
            for f in d.channels[k].flag.iter_mut().skip(s).take(len) {
                if *f == b'N' {
                    *f = b'D';
                }
            }
        }
        if rng.random::<f64>() < 0.05 {
            let (s, len) = (
                base + rng.random_range(0..PER_DAY),
                rng.random_range(3..24usize),
            );
            for p in d.present.iter_mut().skip(s).take(len) {
                *p = false;
            }
        }
    }
    for i in 0..n {
        if rng.random::<f64>() < 0.001 {
            let k = rng.random_range(0..d.channels.len());
            d.channels[k].flag[i] = b'B';
            d.channels[k].x[i] = f64::NAN;
        }
    }
}

/// Rounds, drops absent rows and builds the two series.
fn finish(d: Draft, truth: Vec<Truth>, config: &Config) -> Outlet {
    let rows: Vec<usize> = (0..d.n()).filter(|&i| d.present[i]).collect();
    let time = Int64Array::from_iter_values(rows.iter().map(|&i| d.time(i)));
    let channels = d
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
    let mut minute = Series::new(
        d.mn.clone(),
        format!("{}排口", d.mn),
        d.industry.clone(),
        STEP,
        time,
        channels,
    )
    .expect("generated arrays have one row per time");
    minute.events = d.events.clone();
    let hourly = qa::hourly(&minute, config);
    Outlet {
        series: vec![minute, hourly],
        truth,
    }
}

/// A generated channel as the logger sends it: the values of `rows` rounded to
/// `meta.decimals` (NaN: not sent) and their flags.
pub(crate) fn sent(
    factor: &str,
    x: &[f64],
    flag: &[u8],
    rows: &[usize],
    meta: ChannelMeta,
) -> Channel {
    let scale = 10f64.powi(i32::from(meta.decimals.unwrap_or(0)));
    Channel {
        factor: factor.to_owned(),
        values: Float64Array::from_iter(
            rows.iter()
                .map(|&i| (!x[i].is_nan()).then_some((x[i] * scale).round() / scale)),
        ),
        flags: Flags::Code(UInt8Array::from_iter_values(rows.iter().map(|&i| flag[i]))),
        meta,
    }
}

/// A window of `len` rows in the screened period where the unit runs throughout (or
/// mostly, for long windows), found by retrying.
fn running_window(rng: &mut StdRng, d: &Draft, from: usize, len: usize) -> usize {
    let n = d.n();
    let from = from.min(n.saturating_sub(len));
    let last = n.saturating_sub(len).max(from);
    let mut best = (0usize, from);
    for _ in 0..200 {
        let s = rng.random_range(from..=last);
        let on = (s..(s + len).min(n)).filter(|&i| d.on[i]).count();
        if on == len.min(n - s) {
            return s;
        }
        best = best.max((on, s));
    }
    best.1
}

/// Nine days (or what there is) somewhere in `[from, n)`: room for S3's and S4's week. Of
/// a few random starts, the one where the unit runs most: values falsified while it runs
/// are what there is to see (a kiln down for a week shows nothing).
fn nine_days(rng: &mut StdRng, d: &Draft, from: usize) -> (usize, usize) {
    let n = d.n();
    let len = (9 * PER_DAY).min(n - from);
    let start = (0..8)
        .map(|_| from + rng.random_range(0..=(n - from - len)))
        .max_by_key(|&s| d.on[s..s + len].iter().filter(|&&on| on).count())
        .unwrap_or(from);
    (start, len)
}

/// Injects signature `s` into the screened period; returns its truth.
fn apply(rng: &mut StdRng, d: &mut Draft, s: Signature, screen_from: i64) -> Truth {
    let from = d.index(screen_from);
    let n = d.n();
    let hours = |h: f64| (h * 6.0) as usize;
    let pollutants = d.pollutants();
    let pick = pollutants[rng.random_range(0..pollutants.len())];
    let factor = d.channels[pick].factor;
    match s {
        Signature::ConstantValue => {
            let len = hours(uniform(rng, 12.0, 30.0));
            let i0 = running_window(rng, d, from, len);
            let c = &mut d.channels[pick];
            let v = (c.x[i0] * 10f64.powi(i32::from(c.decimals))).round()
                / 10f64.powi(i32::from(c.decimals));
            for i in i0..i0 + len {
                c.x[i] = v;
            }
            d.truth(s, Some(factor), i0, i0 + len)
        }
        Signature::NarrowBand => {
            let len = hours(uniform(rng, 96.0, 144.0));
            let i0 = running_window(rng, d, from, len);
            let c = &mut d.channels[pick];
            let amp = (0.004 * c.range.unwrap_or(100.0)).min(0.04 * c.level);
            for i in i0..(i0 + len).min(n) {
                c.x[i] = c.level + uniform(rng, -amp, amp);
            }
            d.truth(s, Some(factor), i0, i0 + len)
        }
        Signature::NearDetectionLimit => {
            let (i0, len) = nine_days(rng, d, from);
            let c = &mut d.channels[pick];
            let dl = c.dl.unwrap_or(1.0);
            for i in i0..i0 + len {
                if d.on[i] {
                    c.x[i] = dl * uniform(rng, 0.1, 1.9);
                }
            }
            d.truth(s, Some(factor), i0, i0 + len)
        }
        Signature::LimitHugging => {
            let (i0, len) = nine_days(rng, d, from);
            let c = &mut d.channels[pick];
            let limit = c.limit.unwrap_or(100.0);
            for i in i0..i0 + len {
                if d.on[i] && c.flag[i] != b'C' {
                    let y = c.x[i] / c.level * 0.97 * limit;
                    c.x[i] = if y >= 0.9 * limit {
                        limit * uniform(rng, 0.905, 0.995)
                    } else {
                        y
                    };
                }
            }
            d.truth(s, Some(factor), i0, i0 + len)
        }
        Signature::Dilution => {
            let len = hours(uniform(rng, 12.0, 48.0));
            let i0 = running_window(rng, d, from, len);
            let o2 = d
                .find(Role::O2)
                .expect("dilution is injected into flue gas");
            let lift = uniform(rng, 5.0, 8.0);
            for i in i0..i0 + len {
                let old = d.channels[o2].x[i];
                let new = (old + lift).min(20.5);
                d.channels[o2].x[i] = new;
                let f = (21.0 - new) / (21.0 - old) * 0.9;
                for &k in &pollutants {
                    if d.channels[k].flag[i] != b'C' {
                        d.channels[k].x[i] *= f;
                    }
                }
            }
            d.truth(s, None, i0, i0 + len)
        }
        Signature::Decoupling => {
            // Numbers made by a program for every pollutant: the usual level with noise,
            // blind to the process.
            let len = hours(uniform(rng, 120.0, 168.0));
            let i0 = running_window(rng, d, from, len);
            let held = d.industry == "wastewater";
            for &k in &pollutants {
                let c = &mut d.channels[k];
                // A held analyser's value changes on the hour; calibration readings stay.
                let mut value = c.level;
                for i in i0..(i0 + len).min(n) {
                    if !held || i % 6 == 0 {
                        value = c.level * (1.0 + 0.08 * normal(rng));
                    }
                    if c.flag[i] != b'C' {
                        c.x[i] = value;
                    }
                }
            }
            d.truth(s, None, i0, i0 + len)
        }
        Signature::MultiChannelFlat => {
            let len = hours(uniform(rng, 8.0, 24.0));
            let i0 = running_window(rng, d, from, len);
            for c in d.channels.iter_mut().filter(|c| c.factor != "a01013") {
                let v = c.x[i0];
                for i in i0..i0 + len {
                    c.x[i] = v;
                    c.flag[i] = b'N';
                }
            }
            d.truth(s, None, i0, i0 + len)
        }
        Signature::CopiedSeries => {
            let len = hours(uniform(rng, 30.0, 48.0));
            let lag = hours(24.0 * uniform(rng, 1.0, 4.0));
            // The source may lie before the screened period, in the history.
            let i0 = running_window(rng, d, from.max(lag), len);
            let src = i0.saturating_sub(lag);
            let scaled = rng.random::<f64>() < 0.5;
            for c in &mut d.channels {
                let (a, b) = copy_scale(rng, scaled, c.role);
                for k in 0..len.min(n - i0) {
                    c.x[i0 + k] = a * c.x[src + k] + b;
                    c.flag[i0 + k] = c.flag[src + k];
                }
            }
            for k in 0..len.min(n - i0) {
                d.present[i0 + k] = d.present[src + k];
            }
            d.truth(s, None, i0, i0 + len)
        }
        Signature::LevelShift => {
            let i0 = running_window(rng, d, from + hours(24.0), hours(72.0));
            let gain = uniform(rng, 0.35, 0.55);
            for i in i0..n {
                let c = &mut d.channels[pick];
                if d.on[i] && c.flag[i] != b'C' {
                    c.x[i] *= gain;
                }
            }
            if rng.random::<f64>() < 0.5 {
                d.events
                    .push(d.time(i0) - rng.random_range(0..12i64) * 3600);
            }
            d.truth(s, Some(factor), i0, i0 + hours(24.0))
        }
        Signature::StrategicGaps => {
            let c = &mut d.channels[pick];
            let limit = c.limit.unwrap_or(100.0);
            let gain = limit * uniform(rng, 0.75, 0.85) / c.level;
            c.level *= gain;
            for i in from..n {
                if c.flag[i] != b'C' && d.on[i] {
                    c.x[i] *= gain;
                }
            }
            let (mut first, mut last) = (None, from);
            let mut i = from;
            while i < n {
                if d.on[i] && d.present[i] && c.x[i] >= 0.92 * limit && rng.random::<f64>() < 0.8 {
                    let len = rng.random_range(6..24usize);
                    for p in d.present.iter_mut().skip(i + 1).take(len) {
                        *p = false;
                    }
                    first.get_or_insert(i);
                    last = (i + 1 + len).min(n);
                    i += len + 1;
                } else {
                    i += 1;
                }
            }
            d.truth(s, Some(factor), first.unwrap_or(from), last)
        }
        Signature::FlagAbuse => {
            let c = &mut d.channels[pick];
            let limit = c.limit.unwrap_or(100.0);
            let gain = limit * uniform(rng, 0.8, 0.9) / c.level;
            let (mut first, mut last) = (None, from);
            for i in from..n {
                if c.flag[i] == b'C' || !d.on[i] {
                    continue;
                }
                c.x[i] *= gain;
                if c.x[i] >= limit && rng.random::<f64>() < 0.9 {
                    c.flag[i] = if rng.random::<f64>() < 0.7 {
                        b'D'
                    } else {
                        b'M'
                    };
                    first.get_or_insert(i);
                    last = i + 1;
                }
            }
            d.truth(s, Some(factor), first.unwrap_or(from), last)
        }
        Signature::CalibrationAnomaly => {
            let cal = d
                .channels
                .iter()
                .position(|c| c.role == Role::Pollutant && c.flag.contains(&b'C'))
                .expect("a calibrated analyser");
            let c = &mut d.channels[cal];
            let fs = c.range.unwrap_or(100.0);
            let drift = rng.random::<f64>() < 0.5;
            let zero_drift = fs * uniform(rng, 0.04, 0.07);
            let span = (0.8 * fs).round();
            let (mut first, mut last) = (None, from);
            for i in from..n.saturating_sub(1) {
                if c.flag[i] == b'C' && c.flag[i + 1] == b'C' {
                    if drift {
                        c.x[i] = zero_drift * uniform(rng, 0.9, 1.1);
                    } else {
                        c.x[i] = 0.0;
                        c.x[i + 1] = span;
                    }
                    first.get_or_insert(i);
                    last = i + 2;
                }
            }
            let factor = c.factor;
            d.truth(s, Some(factor), first.unwrap_or(from), last)
        }
        Signature::Oversmooth => {
            let len = hours(uniform(rng, 96.0, 144.0));
            let i0 = running_window(rng, d, from, len);
            let c = &mut d.channels[pick];
            let held = d.industry == "wastewater";
            let alpha = if held { 0.2 } else { 0.03 };
            let mut ema = c.level;
            for i in i0..(i0 + len).min(n) {
                // Calibration readings and lost values (NaN) stay; a held analyser's value
                // changes on the hour.
                if c.flag[i] == b'C' || c.x[i].is_nan() {
                    continue;
                }
                if !held || i % 6 == 0 {
                    ema += alpha * (c.x[i] - ema);
                }
                c.x[i] = ema;
            }
            d.truth(s, Some(factor), i0, i0 + len)
        }
        Signature::DigitPreference => {
            let c = &mut d.channels[pick];
            let scale = 10f64.powi(i32::from(c.decimals));
            // Make the last digit meaningful: at least 30 units of spread.
            if c.level * scale < 150.0 {
                let g = 150.0 / (c.level * scale);
                c.level *= g;
                for x in &mut c.x[from..] {
                    *x *= g;
                }
            }
            for i in from..n {
                if c.flag[i] != b'C' && rng.random::<f64>() < 0.7 {
                    c.x[i] = (c.x[i] * scale / 5.0).round() * 5.0 / scale;
                }
            }
            d.truth(s, Some(factor), from, n)
        }
        Signature::StoppedButRunning => {
            let len = hours(uniform(rng, 8.0, 24.0));
            let i0 = running_window(rng, d, from, len);
            for c in &mut d.channels {
                for f in &mut c.flag[i0..(i0 + len).min(n)] {
                    *f = b'F';
                }
            }
            d.truth(s, None, i0, i0 + len)
        }
    }
}

/// How a fabricator scales copied values (× a + b, rounded again when the series is
/// finished) when the copy is `scaled`: concentrations down to pass, flow a little either
/// way, O2 shifted up. An exact copy is × 1 + 0.
fn copy_scale(rng: &mut StdRng, scaled: bool, role: Role) -> (f64, f64) {
    match role {
        _ if !scaled => (1.0, 0.0),
        Role::Pollutant => (uniform(rng, 0.6, 0.9), 0.0),
        Role::Flow => (uniform(rng, 0.9, 1.1), 0.0),
        Role::O2 => (1.0, uniform(rng, 0.3, 1.0)),
        _ => (1.0, 0.0),
    }
}

/// S8 across outlets: the copier's measured channels take the source's values for 30–48
/// hours at the same times. Both get a truth: the finding names both.
fn inject_copy_across(
    rng: &mut StdRng,
    source: &mut Draft,
    copier: &mut Draft,
    screen_from: i64,
) -> (Truth, Truth) {
    let from = source.index(screen_from);
    let len = (uniform(rng, 30.0, 48.0) * 6.0) as usize;
    let i0 = running_window(rng, source, from, len);
    let n = copier.n().min(source.n());
    let scaled = rng.random::<f64>() < 0.5;
    for (c, src) in copier.channels.iter_mut().zip(&source.channels) {
        if matches!(c.role, Role::Pollutant | Role::O2 | Role::Flow) {
            let (a, b) = copy_scale(rng, scaled, c.role);
            for i in i0..(i0 + len).min(n) {
                c.x[i] = a * src.x[i] + b;
                c.flag[i] = src.flag[i];
            }
        }
    }
    for i in i0..(i0 + len).min(n) {
        copier.present[i] = source.present[i];
    }
    (
        source.truth(Signature::CopiedSeries, None, i0, i0 + len),
        copier.truth(Signature::CopiedSeries, None, i0, i0 + len),
    )
}
