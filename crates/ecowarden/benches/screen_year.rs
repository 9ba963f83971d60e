//! A long period screened from the Parquet archive as `ecowarden screen` does it: window by
//! window ([`screening::screen_period`]), so memory stays that of one window (31 days, and a
//! week before each), whatever the period. Target (issue #15): a Fujian year, 5,000 outlets ×
//! their factors, 10-minute and hourly data (about 3 × 10⁹ values), in < 60 s.
//!
//! `cargo bench -p ecowarden --bench screen_year [-- OUTLETS DAYS]` (default 5000 365).
//! Writing the archive takes about 4 s a Fujian day here (a year: about 25 minutes), so with
//! `BENCH_STORE=DIR` it is written once into DIR and kept; a later run with the same
//! outlets and as many days or fewer only screens. The fleet is generated a few days at a
//! time ([`generator::clean_part`]: each outlet keeps its parameters from part to part, the
//! rows' noise is new), clean outlets only: the figure is the throughput of clean data, the
//! accuracy tests are elsewhere.
//!
//! Prints each window's read and screen seconds, then the period's wall and CPU seconds and
//! values/s (screened values, the overlap screened twice counted once).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use ecowarden_monitoring::screening::{self, Registered, Window};
use measure::{cpu_seconds, dir_size};
use screen::generator::{self, FleetSpec};

mod measure;

/// 2025-01-01 00:00 Beijing time.
const START: i64 = 1_735_660_800;
const CITIES: [&str; 9] = [
    "350100", "350200", "350300", "350400", "350500", "350600", "350700", "350800", "350900",
];
/// Days generated and written at once (a Fujian day is about 8.4 M values, 1.3 GB as
/// messages before they are written).
const CHUNK_DAYS: u32 = 4;
/// History read before the first window (and before each later one).
const HISTORY_DAYS: u32 = 7;

/// The app's allocator, so the figures are the app's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let outlets = args.first().copied().unwrap_or(5_000) as usize;
    let days = args.get(1).copied().unwrap_or(365);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "machine: {threads} cores; {outlets} outlets × {days} days after {HISTORY_DAYS} of history"
    );
    let (dir, keep) = match std::env::var_os("BENCH_STORE") {
        Some(d) => (PathBuf::from(d), true),
        None => (
            std::env::temp_dir().join(format!("ew-screen-year-{}", std::process::id())),
            false,
        ),
    };
    // One seed: the outlets are the same in every chunk; `clean_part` draws each chunk's rows
    // anew (the same rows every chunk would be copies, which S8 rightly flags).
    let spec = |start_day: u32, n: u32| FleetSpec {
        seed: 35,
        clean: outlets,
        per_signature: 0,
        history_days: 0,
        days: n,
        start: START + i64::from(start_day) * 86_400,
    };
    let config = screen::Config::default();
    let all_days = HISTORY_DAYS + days;
    // An archive written for as many outlets and at least as many days serves: a shorter
    // period reads its first days.
    // (v2: the fleet of `clean_part`; v1, a new fleet every chunk, had a level shift and a
    // broken flow relation at every chunk's start.)
    let written = |n: u32| dir.join(format!("written-v2-{outlets}-{n}"));
    let stamp = written(all_days);
    if !(all_days..=all_days + 366).any(|n| written(n).exists()) {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let t = Instant::now();
        let mut rows = 0;
        let mut day = 0;
        while day < all_days {
            let n = CHUNK_DAYS.min(all_days - day);
            let part = u64::from(day / CHUNK_DAYS);
            let fleet = generator::clean_part(&spec(day, n), part, &config);
            let series: Vec<&screen::Series> =
                fleet.outlets.iter().flat_map(|o| &o.series).collect();
            rows += screening::write_series(&dir, &series, &|mn| city_of(mn), "bench").unwrap();
            day += n;
            if day % 28 < CHUNK_DAYS {
                println!(
                    "  written {day} of {all_days} days: {rows} rows, {:.0} s",
                    t.elapsed().as_secs_f64()
                );
            }
        }
        println!(
            "archive written: {rows} rows, {:.1} GB, in {:.0} s",
            dir_size(&dir) as f64 / 1e9,
            t.elapsed().as_secs_f64()
        );
        std::fs::write(&stamp, rows.to_string()).unwrap();
    }
    // The registry: the outlets as the first chunk generates them (the same in every chunk).
    let fleet = generator::clean_part(&spec(0, 1), 0, &config);
    let reg: HashMap<String, Registered> = fleet
        .outlets
        .iter()
        .map(|o| {
            let mn = o.first().mn.clone();
            let city = city_of(&mn);
            (mn, screening::registered_of(o.first(), &city))
        })
        .collect();
    drop(fleet);
    let day = |n: u32| {
        chrono::DateTime::from_timestamp(START + i64::from(n) * 86_400 + 8 * 3600, 0)
            .unwrap()
            .date_naive()
    };
    let (from, to) = (day(HISTORY_DAYS), day(HISTORY_DAYS + days - 1));
    let windows = screening::windows(from, to);
    println!(
        "screening {from} to {to}: {} windows of at most {} days",
        windows.len(),
        screening::WINDOW_DAYS
    );
    // As `ecowarden screen` runs.
    ecowarden::allocator::keep_freed_memory();
    let t = Instant::now();
    let cpu = cpu_seconds();
    let last = std::sync::Mutex::new((usize::MAX, Instant::now()));
    let run = screening::screen_period(
        &dir,
        &reg,
        from,
        to,
        HISTORY_DAYS,
        &[],
        &config,
        &|w: Window| {
            let mut last = last.lock().unwrap();
            if last.0 != w.index {
                println!(
                    "  window {}/{} {:?}: {} series, started at {:.1} s",
                    w.index + 1,
                    w.windows,
                    windows[w.index],
                    w.total,
                    t.elapsed().as_secs_f64()
                );
                *last = (w.index, Instant::now());
            }
        },
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let screened_once = period_values(&run, &windows);
    println!(
        "{days} days: {secs:.1} s wall, {:.1} CPU-s (read {:.1} s, screen {:.1} s); {} values screened ({:.0} M counting the overlap once) → {:.1} M values/s; {} leads",
        cpu_seconds() - cpu,
        run.read.as_secs_f64(),
        run.screened.as_secs_f64(),
        run.points,
        screened_once / 1e6,
        screened_once / secs / 1e6,
        run.leads.len()
    );
    let mut by_signature: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in run.leads.iter().flat_map(|l| &l.findings) {
        *by_signature.entry(f.signature.id()).or_default() += 1;
    }
    println!("findings by signature: {by_signature:?}");
    println!(
        "a year at this rate: {:.0} s (target < 60 s)",
        secs * 365.0 / f64::from(days)
    );
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The values of the period itself: the run's values less the overlap's second screening,
/// in proportion to the days (the fleet sends the same every day).
fn period_values(run: &screening::Run, windows: &[(chrono::NaiveDate, chrono::NaiveDate)]) -> f64 {
    let screened_days: i64 = windows.iter().map(|(a, b)| (*b - *a).num_days() + 1).sum();
    let period_days = (windows.last().unwrap().1 - windows[0].0).num_days() + 1;
    run.points as f64 * period_days as f64 / screened_days as f64
}

fn city_of(mn: &str) -> String {
    let n: usize = mn.bytes().filter(u8::is_ascii_digit).fold(0, |a, b| {
        a.wrapping_mul(10).wrapping_add(usize::from(b - b'0'))
    });
    CITIES[n % CITIES.len()].to_owned()
}
