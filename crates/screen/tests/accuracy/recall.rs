//! Recall ≥ 0.95 for every signature and at most 2% of clean outlets with any lead, on
//! fleets of two independent generators screened the way the app screens: each series
//! with the outlet's own history before the period, peers from the whole fleet.
//! [`generator`] sends 10-minute and hourly series; [`generator2`] hourly flue-gas series
//! only, with other physics, logger habits and ways of doing each signature.

use screen::generator::{self, Fleet, FleetSpec, Truth};
use screen::generator2;
use screen::leads::{self, OutletFindings};
use screen::{Config, Finding, Input, Signature};

/// 2026-11-01 00:00 Beijing time.
const START: i64 = 1_793_462_400;

/// Screens a fleet; findings per outlet (both intervals).
fn screen_fleet(fleet: &Fleet, config: &Config) -> Vec<Vec<Finding>> {
    let split: Vec<_> = fleet
        .outlets
        .iter()
        .flat_map(|o| &o.series)
        .map(|s| s.split_at_time(fleet.screen_from))
        .collect();
    let owner: Vec<usize> = fleet
        .outlets
        .iter()
        .enumerate()
        .flat_map(|(i, o)| std::iter::repeat_n(i, o.series.len()))
        .collect();
    let inputs: Vec<Input> = split
        .iter()
        .map(|(history, period)| Input {
            series: period,
            history: Some(history),
        })
        .collect();
    let report = screen::screen(&inputs, config, 2, &|_| {});
    let mut out = vec![Vec::new(); fleet.outlets.len()];
    for (k, r) in report.results.into_iter().enumerate() {
        out[owner[k]].extend(r.expect("generated series screen"));
    }
    out
}

fn matches(t: &Truth, f: &Finding) -> bool {
    f.signature == t.signature
        && (t.factor.is_none() || f.factor == t.factor)
        && f.start < t.end
        && t.start < f.end
}

/// The fleet's seed: 2026, or `SCREEN_ACCURACY_SEED` to screen another fleet.
fn seed() -> u64 {
    std::env::var("SCREEN_ACCURACY_SEED").map_or(2026, |s| {
        s.parse()
            .expect("SCREEN_ACCURACY_SEED is an unsigned integer")
    })
}

/// What screening one generated fleet found against its ground truth.
struct Outcome {
    /// Per signature: truths found, truths injected, clean outlets with such a finding.
    by_signature: Vec<(Signature, usize, usize, usize)>,
    clean: usize,
    /// Clean outlets with any finding.
    noisy: usize,
    /// Outlets with a copy, and those whose copy was found scaled (× a + b).
    copies: usize,
    scaled: usize,
}

impl Outcome {
    fn share(&self) -> f64 {
        self.noisy as f64 / self.clean as f64
    }
}

/// The two generators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Generator {
    /// [`generator`]: 250 clean outlets and 20 per signature (30 for S8: a source and a
    /// copier each), 14 days after 7 of history, 10-minute and hourly.
    First,
    /// [`generator2`]: 200 clean outlets and 10 per signature, 28 days after 7 of history,
    /// hourly only.
    Second,
}

impl Generator {
    fn fleet(self, seed: u64, config: &Config) -> Fleet {
        match self {
            Generator::First => generator::fleet(
                &FleetSpec {
                    seed,
                    clean: 250,
                    per_signature: 20,
                    history_days: 7,
                    days: 14,
                    start: START,
                },
                config,
            ),
            Generator::Second => generator2::fleet(&FleetSpec {
                seed,
                clean: 200,
                per_signature: 10,
                history_days: 7,
                days: 28,
                start: START,
            }),
        }
    }
}

/// Generates and screens the fleet of `seed`. With `verbose`, each miss and each clean
/// outlet's finding goes to standard error.
fn evaluate(generator: Generator, seed: u64, verbose: bool) -> Outcome {
    let config = Config::default();
    let fleet = generator.fleet(seed, &config);
    let findings = screen_fleet(&fleet, &config);
    let clean: Vec<usize> = (0..fleet.outlets.len())
        .filter(|&i| fleet.outlets[i].truth.is_empty())
        .collect();
    let by_signature = Signature::ALL
        .into_iter()
        .map(|s| {
            let truths: Vec<(usize, &Truth)> = fleet
                .outlets
                .iter()
                .enumerate()
                .flat_map(|(i, o)| o.truth.iter().map(move |t| (i, t)))
                .filter(|(_, t)| t.signature == s)
                .collect();
            let mut hit = 0;
            for (i, t) in &truths {
                if findings[*i].iter().any(|f| matches(t, f)) {
                    hit += 1;
                } else if verbose {
                    eprintln!(
                        "missed {} {} ({}) {:?} {}..{}",
                        s.id(),
                        t.mn,
                        fleet.outlets[*i].first().industry,
                        t.factor,
                        t.start,
                        t.end
                    );
                }
            }
            let fp = clean
                .iter()
                .filter(|&&i| findings[i].iter().any(|f| f.signature == s))
                .count();
            (s, hit, truths.len(), fp)
        })
        .collect();
    let noisy: Vec<usize> = clean
        .iter()
        .copied()
        .filter(|&i| !findings[i].is_empty())
        .collect();
    if verbose {
        for &i in &noisy {
            for f in &findings[i] {
                eprintln!(
                    "clean {} {} {:?}: {}",
                    fleet.outlets[i].first().mn,
                    f.signature.id(),
                    f.factor,
                    f.explanation
                );
            }
        }
    }
    let copied = |i: &usize| {
        fleet.outlets[*i]
            .truth
            .iter()
            .any(|t| t.signature == Signature::CopiedSeries)
    };
    let with_copy: Vec<usize> = (0..fleet.outlets.len()).filter(copied).collect();
    let scaled = with_copy
        .iter()
        .filter(|&&i| {
            findings[i].iter().any(|f| {
                f.signature == Signature::CopiedSeries && !f.evidence.value()["relation"].is_null()
            })
        })
        .count();
    // The leads of the run rank and stay in [0, 1].
    let ranked = leads::rank(
        fleet
            .outlets
            .iter()
            .zip(&findings)
            .map(|(o, f)| OutletFindings {
                mn: o.first().mn.clone(),
                outlet: o.first().outlet.clone(),
                industry: o.first().industry.clone(),
                findings: f.clone(),
            }),
        &[],
        &config,
    );
    assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(ranked.iter().all(|l| (0.0..=1.0).contains(&l.score)));
    Outcome {
        by_signature,
        clean: clean.len(),
        noisy: noisy.len(),
        copies: with_copy.len(),
        scaled,
    }
}

impl Generator {
    /// Signatures still below the recall goal on this generator (README, 筛查 / Screening):
    /// reported by the table, not asserted, until their detectors read its conventions.
    fn below_goal(self) -> &'static [Signature] {
        match self {
            Generator::First => &[],
            Generator::Second => &[],
        }
    }
}

/// Prints the per-signature table of one or more outcomes added up; returns the signatures
/// whose recall is below 0.95.
fn table(outcomes: &[Outcome]) -> Vec<(Signature, String)> {
    let clean: usize = outcomes.iter().map(|o| o.clean).sum();
    println!(
        "{:<22} {:>4} {:>8} {:>8} {:>12} {:>10}",
        "signature", "id", "injected", "recall", "worst fleet", "FP rate"
    );
    let mut failures = Vec::new();
    for (k, s) in Signature::ALL.into_iter().enumerate() {
        let (hit, n, fp) = outcomes.iter().fold((0, 0, 0), |(h, n, f), o| {
            let (_, oh, on, of) = o.by_signature[k];
            (h + oh, n + on, f + of)
        });
        let worst = outcomes
            .iter()
            .map(|o| o.by_signature[k].1 as f64 / o.by_signature[k].2.max(1) as f64)
            .fold(1.0, f64::min);
        let recall = hit as f64 / n.max(1) as f64;
        println!(
            "{:<22} {:>4} {:>8} {:>8.3} {:>12.3} {:>10.4}",
            s.id(),
            s.code(),
            n,
            recall,
            worst,
            fp as f64 / clean as f64
        );
        if recall < 0.95 {
            failures.push((s, format!("{}: recall {recall:.3}", s.id())));
        }
    }
    let noisy: usize = outcomes.iter().map(|o| o.noisy).sum();
    let (scaled, copies) = outcomes
        .iter()
        .fold((0, 0), |(s, c), o| (s + o.scaled, c + o.copies));
    println!(
        "clean outlets with any lead: {noisy} of {clean} ({:.2}%); copies found scaled: {scaled} of {copies} outlets",
        noisy as f64 / clean as f64 * 100.0
    );
    failures
}

/// The shortfalls that fail a test: those not known to be below goal.
fn asserted(generator: Generator, low: Vec<(Signature, String)>) -> Vec<String> {
    low.into_iter()
        .filter(|(s, _)| !generator.below_goal().contains(s))
        .map(|(_, f)| f)
        .collect()
}

/// Screens the fleet of `generator` at `seed` and checks recall and false positives.
fn one_fleet(generator: Generator) {
    let seed = seed();
    let outcome = evaluate(generator, seed, true);
    println!(
        "\n{generator:?} generator, fleet {seed}: {} clean outlets",
        outcome.clean
    );
    let mut failures = asserted(generator, table(std::slice::from_ref(&outcome)));
    // Half the first generator's copies are scaled: they are found as such.
    if generator == Generator::First && outcome.scaled * 5 < outcome.copies {
        failures.push(format!(
            "copied_series: only {} of {} found scaled",
            outcome.scaled, outcome.copies
        ));
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        outcome.share() <= 0.02,
        "{:.2}% of clean outlets have a lead",
        outcome.share() * 100.0
    );
}

#[test]
fn every_signature_is_recalled_and_clean_outlets_stay_quiet() {
    one_fleet(Generator::First);
}

#[test]
fn the_second_generator_too() {
    one_fleet(Generator::Second);
}

/// Many fleets of both generators, so that the figures are not those of one lucky seed or
/// one generator's conventions:
/// `cargo test --release -p screen --test accuracy -- --ignored --nocapture` (about two
/// minutes). `SCREEN_ACCURACY_FLEETS=n` screens the first n seeds of each.
#[test]
#[ignore = "minutes of screening; run on demand"]
fn many_fleets() {
    const SEEDS: [u64; 20] = [
        1, 2, 3, 5, 7, 11, 13, 17, 21, 42, 64, 77, 99, 100, 123, 256, 500, 777, 1000, 2026,
    ];
    let count = std::env::var("SCREEN_ACCURACY_FLEETS")
        .map_or(SEEDS.len(), |s| s.parse().expect("a count"))
        .min(SEEDS.len());
    let mut failures = Vec::new();
    for generator in [Generator::First, Generator::Second] {
        let outcomes: Vec<Outcome> = SEEDS[..count]
            .iter()
            .map(|&s| evaluate(generator, s, false))
            .collect();
        println!("\n{generator:?} generator, {count} fleets");
        for (seed, o) in SEEDS.iter().zip(&outcomes) {
            let low: Vec<&str> = o
                .by_signature
                .iter()
                .filter(|(_, h, n, _)| (*h as f64) < 0.95 * *n as f64)
                .map(|(s, ..)| s.id())
                .collect();
            println!(
                "fleet {seed:>4}: clean outlets with a lead {:>2} of {} ({:.1}%), recall below 0.95: {low:?}",
                o.noisy,
                o.clean,
                o.share() * 100.0
            );
        }
        failures.extend(
            asserted(generator, table(&outcomes))
                .into_iter()
                .map(|f| format!("{generator:?}: {f}")),
        );
        let worst = outcomes.iter().map(Outcome::share).fold(0.0, f64::max);
        if worst > 0.02 {
            failures.push(format!(
                "{generator:?}: a fleet with {:.2}% of clean outlets with a lead",
                worst * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// A first run: a provincial day of clean outlets with no history, so every baseline is the
/// peers' or the day's own. At most 2% of them may get a lead.
#[test]
fn a_first_day_without_history_stays_quiet() {
    let config = Config::default();
    let fleet = generator::fleet(
        &FleetSpec {
            seed: 35,
            clean: 2_000,
            per_signature: 0,
            history_days: 0,
            days: 1,
            start: START,
        },
        &config,
    );
    let inputs: Vec<Input> = fleet
        .outlets
        .iter()
        .flat_map(|o| &o.series)
        .map(|s| Input {
            series: s,
            history: None,
        })
        .collect();
    let report = screen::screen(&inputs, &config, 2, &|_| {});
    let mut noisy = std::collections::BTreeMap::<&str, usize>::new();
    let mut outlets = std::collections::BTreeSet::new();
    for (k, r) in report.results.iter().enumerate() {
        for f in r.as_ref().expect("generated series screen") {
            outlets.insert(k / 2);
            *noisy.entry(f.signature.id()).or_default() += 1;
            eprintln!(
                "clean {} {:?}: {}",
                inputs[k].series.mn, f.factor, f.explanation
            );
        }
    }
    let share = outlets.len() as f64 / fleet.outlets.len() as f64;
    println!(
        "first day, no history: {} of {} clean outlets with a lead ({:.2}%), findings by signature {noisy:?}",
        outlets.len(),
        fleet.outlets.len(),
        share * 100.0
    );
    assert!(
        share <= 0.02,
        "{:.2}% of clean outlets have a lead",
        share * 100.0
    );
}

/// A long period generated in parts ([`generator::clean_part`], as the year benchmark writes
/// its archive): screened with the part before as its history, a part of clean outlets stays
/// as quiet as one fleet does. A new fleet for each part would put a level shift and a broken
/// flow relation at every part's start (the benchmark's first archive: 4,527 of 5,000 clean
/// outlets with a lead in 14 days).
#[test]
fn parts_of_a_long_period_join_without_seams() {
    let config = Config::default();
    let part = |k: u64, days: u32, start: i64| {
        let spec = FleetSpec {
            seed: 35,
            clean: 300,
            per_signature: 0,
            history_days: 0,
            days,
            start,
        };
        generator::clean_part(&spec, k, &config)
    };
    let history = part(0, 7, START);
    let period = part(1, 4, START + 7 * 86_400);
    let inputs: Vec<Input> = period
        .outlets
        .iter()
        .zip(&history.outlets)
        .flat_map(|(p, h)| p.series.iter().zip(&h.series))
        .map(|(series, history)| {
            assert_eq!(series.mn, history.mn);
            Input {
                series,
                history: Some(history),
            }
        })
        .collect();
    let report = screen::screen(&inputs, &config, 2, &|_| {});
    let mut outlets = std::collections::BTreeSet::new();
    for (k, r) in report.results.iter().enumerate() {
        for f in r.as_ref().expect("generated series screen") {
            outlets.insert(k / 2);
            eprintln!("{} {:?}: {}", inputs[k].series.mn, f.factor, f.explanation);
        }
    }
    let share = outlets.len() as f64 / period.outlets.len() as f64;
    assert!(
        share <= 0.02,
        "{} of 300 clean outlets flagged",
        outlets.len()
    );
}
