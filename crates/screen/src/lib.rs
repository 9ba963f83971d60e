//! Screening of automatic-monitoring data for falsification (自动监测数据弄虚作假筛查).
//!
//! Pure Rust over Arrow arrays: no I/O, no database. The app reads the Parquet archive into
//! [`Series`], calls [`screen`], and turns the findings into ranked [`leads::Lead`]s.
//!
//! The pipeline, per run:
//! 1. [`series::Prepared`]: each series on a regular time grid, each value given its QA state
//!    from its HJ 212 flag and the instrument range ([`qa`]); the unit's running state.
//! 2. [`baseline::Profile`] of each series (and of its history, if given), then
//!    [`baseline::Peers`] across the run: what is normal for this outlet and its industry.
//! 3. The detectors ([`detectors`]): value signatures on valid data, flag signatures on the
//!    flags, each a pure function with its parameters from the one thresholds file
//!    ([`config`]); S8 also across outlets.
//! 4. [`leads::rank`] merges findings per outlet and ranks them.
//!
//! [`generator`] makes realistic synthetic fleets with injected signatures and ground truth
//! for tests, benchmarks and demonstrations.

#![forbid(unsafe_code)]

pub mod baseline;
pub mod config;
pub mod detectors;
pub mod finding;
pub mod generator;
pub mod generator2;
pub mod leads;
pub mod qa;
pub mod series;
mod stats;

pub use config::Config;
pub use finding::{Evidence, Finding, Signature};
pub use series::{Channel, ChannelMeta, Flags, Series};

use baseline::{Baseline, Peers, Profile};
use detectors::Context;
use series::Prepared;

/// One series to screen, with the outlet's history before the period if the caller has it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub series: &'a Series,
    pub history: Option<&'a Series>,
}

/// The outcome of a run, one entry per input in input order.
#[derive(Debug)]
pub struct Report {
    /// Findings per input, or why the input could not be screened.
    pub results: Vec<Result<Vec<Finding>, series::Error>>,
    /// Values screened (rows × channels of the inputs, history excluded).
    pub points: usize,
    /// The thresholds version the findings were made with.
    pub config_version: String,
}

/// Screens a batch of series: the whole catalogue, baselines from each outlet's history and
/// from the peers in the batch, and S8 across outlets. `threads` splits the per-series work
/// (1 = this thread only); `progress` is called with the number of inputs finished.
pub fn screen(
    inputs: &[Input],
    config: &Config,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Report {
    let band_low = config.limit_hugging.band_low.value;
    let flags = config.flag_abuse.flags.value.as_str();
    let prepared = par_map(inputs, threads, |_, input| {
        let p = Prepared::new(input.series, config)?;
        let own = Profile::of(&p, band_low, flags);
        let history = input
            .history
            .and_then(|h| Prepared::new(h, config).ok())
            .map(|h| {
                let profile = Profile::of(&h, band_low, flags);
                (h, profile)
            });
        Ok::<_, series::Error>((p, own, history))
    });
    let peers = Peers::new(
        prepared
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|(_, own, _)| own),
        config.qa.min_peers.value as usize,
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let evidence_points = config.qa.evidence_points.value as usize;
    let detected = par_map(&prepared, threads, |_, r| {
        let out = r.as_ref().ok().map(|(p, own, history)| {
            let cx = Context {
                p,
                history: history.as_ref().map(|(h, _)| h),
                base: Baseline {
                    own,
                    history: history.as_ref().map(|(_, profile)| profile),
                    peers: &peers,
                },
                evidence_points,
            };
            detectors::run(&cx, config)
        });
        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
        out
    });
    let pairs: Vec<(usize, (&Prepared, &[detectors::copy::Fingerprint]))> = prepared
        .iter()
        .zip(&detected)
        .enumerate()
        .filter_map(|(i, (r, d))| {
            let (p, _, _) = r.as_ref().ok()?;
            Some((i, (p, d.as_ref()?.1.as_slice())))
        })
        .collect();
    let across = detectors::copy::across(
        &pairs.iter().map(|(_, x)| *x).collect::<Vec<_>>(),
        &config.copied_series,
        evidence_points,
        threads,
    );
    let input_of: Vec<usize> = pairs.iter().map(|(i, _)| *i).collect();
    let mut results: Vec<Result<Vec<Finding>, series::Error>> = prepared
        .iter()
        .zip(detected)
        .map(|(r, d)| match r {
            Ok(_) => Ok(d.map(|d| d.0).unwrap_or_default()),
            Err(e) => Err(e.clone()),
        })
        .collect();
    for (k, finding) in across {
        if let Ok(v) = &mut results[input_of[k]] {
            v.push(finding);
        }
    }
    Report {
        results,
        points: inputs.iter().map(|i| i.series.points()).sum(),
        config_version: config.version.clone(),
    }
}

/// `f` over `items` on up to `threads` scoped threads, results in input order.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, t)| f(c * chunk + j, t))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a screening thread panicked"))
            .collect()
    })
}
