//! End-to-end screening benchmark: from the Parquet archive to ranked leads, as
//! `ecowarden screen` does it (without the store). A generated fleet (clean outlets and two
//! per signature, 10-minute and hourly data, a week of history) is written into a fresh
//! archive, then read back (the columns screening needs, every core) and screened (the whole
//! catalogue, every core). Target: at least 10 M values/s end to end.
//!
//! `cargo bench -p ecowarden --bench screen_archive [-- OUTLETS DAYS]` (default 500 outlets,
//! 7 days screened after 7 days of history), then a Fujian-scale day: 5,000 outlets × their
//! factors, 10-minute and hourly data, one day, no history (a first run).
//!
//! Values/s counts the screened period's values (rows × channels), as the `screen` crate's
//! own benchmark does; reading the history is part of the time. Each phase also prints the
//! CPU seconds of all the process's threads: on a machine shared with builds the wall time
//! swings with what the others take, the CPU time much less.

use std::collections::HashMap;
use std::time::Instant;

use measure::{cpu_seconds, dir_size};

use ecowarden_monitoring::screening::{self, Registered};
use screen::generator::{self, FleetSpec};

mod measure;

/// 2026-11-01 00:00 Beijing time.
const START: i64 = 1_793_462_400;
const CITIES: [&str; 9] = [
    "350100", "350200", "350300", "350400", "350500", "350600", "350700", "350800", "350900",
];

/// The app's allocator, so the figures are the app's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let outlets = args.first().copied().unwrap_or(500);
    let days = args.get(1).copied().unwrap_or(7) as u32;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {threads} cores");
    run(
        &format!("{outlets} outlets × {days} days (+7 days history)"),
        &FleetSpec {
            seed: 7,
            clean: outlets.saturating_sub(2 * screen::Signature::ALL.len()),
            per_signature: 2,
            history_days: 7,
            days,
            start: START,
        },
    );
    run(
        "Fujian-scale day: 5,000 outlets × 1 day, no history",
        &FleetSpec {
            seed: 35,
            clean: 5_000,
            per_signature: 0,
            history_days: 0,
            days: 1,
            start: START,
        },
    );
}

fn run(title: &str, spec: &FleetSpec) {
    println!("\n== {title}");
    let config = screen::Config::default();
    let t = Instant::now();
    let fleet = generator::fleet(spec, &config);
    println!("generated in {:.1}s", t.elapsed().as_secs_f64());
    let dir = std::env::temp_dir().join(format!("ew-screen-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let series: Vec<&screen::Series> = fleet.outlets.iter().flat_map(|o| &o.series).collect();
    let city: HashMap<String, &str> = fleet
        .outlets
        .iter()
        .enumerate()
        .map(|(i, o)| (o.first().mn.clone(), CITIES[i % CITIES.len()]))
        .collect();
    let t = Instant::now();
    let rows = screening::write_series(&dir, &series, &|mn| city[mn].to_owned(), "bench").unwrap();
    println!(
        "archive written: {rows} rows, {:.0} MB, in {:.1}s",
        dir_size(&dir) as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let reg: HashMap<String, Registered> = fleet
        .outlets
        .iter()
        .map(|o| {
            (
                o.first().mn.clone(),
                screening::registered_of(o.first(), city[&o.first().mn]),
            )
        })
        .collect();
    drop(series);
    drop(fleet);
    let from = chrono::DateTime::from_timestamp(
        START + i64::from(spec.history_days) * 86_400 + 8 * 3600,
        0,
    )
    .unwrap()
    .date_naive();
    let to = from + chrono::Days::new(u64::from(spec.days) - 1);
    let mut best = f64::INFINITY;
    for round in 1..=3 {
        let t = Instant::now();
        let cpu0 = cpu_seconds();
        let source = screening::Source::open(&dir).unwrap();
        let loaded = screening::load(&source, &reg, from, to, spec.history_days).unwrap();
        let cpu1 = cpu_seconds();
        let run = screening::screen_loaded(&loaded, &[], &config, &|_| {});
        let cpu2 = cpu_seconds();
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "round {round}: {} series, {} values screened ({} read incl. history): read {:.2}s + screen {:.2}s = {:.2}s → {:.1} M values/s; CPU: read {:.2}s + screen {:.2}s; {} leads",
            run.series,
            run.points,
            loaded.values_read,
            run.read.as_secs_f64(),
            run.screened.as_secs_f64(),
            secs,
            run.points as f64 / secs / 1e6,
            cpu1 - cpu0,
            cpu2 - cpu1,
            run.leads.len()
        );
        if round == 3 {
            println!(
                "best: {best:.2}s, {:.1} M values/s end to end",
                run.points as f64 / best / 1e6
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
