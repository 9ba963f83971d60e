//! Throughput of the screening catalogue over in-memory Arrow arrays.
//!
//! `cargo bench -p screen --bench catalogue`
//!
//! - `catalogue`: the whole catalogue (QA, grid, profiles, peers, S1–S17, S8 across outlets)
//!   on one thread over 200 generated outlets × 14 days, 10-minute + hourly series with a
//!   week of history each; the "items/s" column is values (points) per second per core.
//! - `constant_value_only`: S1 alone (its run scan and chance test) over the same prepared data, for comparison with
//!   `scripts/screen_baseline.py` (numpy run-length and pandas rolling std over as many
//!   points).
//! - `fujian_day`: a provincial day, 5,000 outlets × 10 factors, 10-minute + hourly series,
//!   on every core of the machine: the wall time of a daily run.

use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use screen::baseline::{Baseline, Peers, Profile};
use screen::detectors::{Context, flat};
use screen::generator::{self, Fleet, FleetSpec};
use screen::series::Prepared;
use screen::{Config, Input, Series};

/// The app's allocator, so the figures are the app's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// 2026-11-01 00:00 Beijing time.
const START: i64 = 1_793_462_400;

static CONFIG: LazyLock<Config> = LazyLock::new(Config::default);

/// Two weeks screened after one of history; one outlet per signature in every 30.
static FLEET: LazyLock<(Fleet, Vec<(Series, Series)>)> = LazyLock::new(|| {
    let fleet = generator::fleet(
        &FleetSpec {
            seed: 7,
            clean: 170,
            per_signature: 2,
            history_days: 7,
            days: 14,
            start: START,
        },
        &CONFIG,
    );
    let split = fleet
        .outlets
        .iter()
        .flat_map(|o| &o.series)
        .map(|s| s.split_at_time(fleet.screen_from))
        .collect();
    (fleet, split)
});

/// A day of 5,000 outlets, no history (a first run).
static FUJIAN: LazyLock<Vec<Series>> = LazyLock::new(|| {
    let fleet = generator::fleet(
        &FleetSpec {
            seed: 35,
            clean: 5_000,
            per_signature: 0,
            history_days: 0,
            days: 1,
            start: START,
        },
        &CONFIG,
    );
    fleet.outlets.into_iter().flat_map(|o| o.series).collect()
});

fn week_inputs() -> (Vec<Input<'static>>, usize) {
    let inputs: Vec<Input> = FLEET
        .1
        .iter()
        .map(|(history, period)| Input {
            series: period,
            history: Some(history),
        })
        .collect();
    let points = inputs.iter().map(|i| i.series.points()).sum();
    (inputs, points)
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn catalogue(bencher: Bencher) {
    let (inputs, points) = week_inputs();
    bencher
        .counter(ItemsCount::new(points))
        .bench(|| screen::screen(&inputs, &CONFIG, 1, &|_| {}));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn constant_value_only(bencher: Bencher) {
    let config = &*CONFIG;
    let prepared: Vec<Prepared> = FLEET
        .1
        .iter()
        .map(|(_, period)| Prepared::new(period, config).expect("generated series"))
        .collect();
    let profiles: Vec<Profile> = prepared
        .iter()
        .map(|p| Profile::of(p, 0.9, "MDS"))
        .collect();
    let peers = Peers::new(&profiles, 5);
    let points: usize = FLEET.1.iter().map(|(_, s)| s.points()).sum();
    bencher.counter(ItemsCount::new(points)).bench(|| {
        prepared
            .iter()
            .zip(&profiles)
            .map(|(p, own)| {
                let cx = Context {
                    p,
                    history: None,
                    base: Baseline {
                        own,
                        history: None,
                        peers: &peers,
                    },
                    evidence_points: 720,
                };
                let runs =
                    flat::candidate_runs(&cx, &config.multi_channel_flat, &config.constant_value);
                flat::constant_value(&cx, &config.constant_value, &runs).len()
            })
            .sum::<usize>()
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn fujian_day(bencher: Bencher) {
    let inputs: Vec<Input> = FUJIAN
        .iter()
        .map(|s| Input {
            series: s,
            history: None,
        })
        .collect();
    let points: usize = inputs.iter().map(|i| i.series.points()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    bencher
        .counter(ItemsCount::new(points))
        .bench(|| screen::screen(&inputs, &CONFIG, threads, &|_| {}));
}
