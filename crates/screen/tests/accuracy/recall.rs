//! Recall ≥ 0.95 for every signature and at most 2% of clean outlets with any lead, on a
//! generated fleet screened the way the app screens: 10-minute and hourly series, each
//! with the outlet's own history before the period, peers from the whole fleet.

use screen::generator::{self, Fleet, FleetSpec, Truth};
use screen::leads::{self, OutletFindings};
use screen::{Config, Finding, Input, Signature};

/// 2026-11-01 00:00 Beijing time.
const START: i64 = 1_793_462_400;

/// Screens a fleet; findings per outlet (both intervals).
fn screen_fleet(fleet: &Fleet, config: &Config) -> Vec<Vec<Finding>> {
    let split: Vec<_> = fleet
        .outlets
        .iter()
        .flat_map(|o| [&o.minute, &o.hourly])
        .map(|s| s.split_at_time(fleet.screen_from))
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
        out[k / 2].extend(r.expect("generated series screen"));
    }
    out
}

fn matches(t: &Truth, f: &Finding) -> bool {
    f.signature == t.signature
        && (t.factor.is_none() || f.factor == t.factor)
        && f.start < t.end
        && t.start < f.end
}

#[test]
fn every_signature_is_recalled_and_clean_outlets_stay_quiet() {
    let config = Config::default();
    let fleet = generator::fleet(
        &FleetSpec {
            seed: 2026,
            clean: 250,
            per_signature: 20,
            history_days: 7,
            days: 14,
            start: START,
        },
        &config,
    );
    let findings = screen_fleet(&fleet, &config);
    let clean: Vec<usize> = (0..fleet.outlets.len())
        .filter(|&i| fleet.outlets[i].truth.is_empty())
        .collect();
    println!(
        "\n{} outlets ({} clean), {} days screened after {} days of history, 10-minute + hourly",
        fleet.outlets.len(),
        clean.len(),
        14,
        7
    );
    println!(
        "{:<22} {:>4} {:>8} {:>8} {:>10}",
        "signature", "id", "injected", "recall", "FP rate"
    );
    let mut failures = Vec::new();
    for s in Signature::ALL {
        let truths: Vec<(usize, &Truth)> = fleet
            .outlets
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.truth.iter().map(move |t| (i, t)))
            .filter(|(_, t)| t.signature == s)
            .collect();
        let hit = truths
            .iter()
            .filter(|(i, t)| findings[*i].iter().any(|f| matches(t, f)))
            .count();
        let recall = hit as f64 / truths.len().max(1) as f64;
        let fp = clean
            .iter()
            .filter(|&&i| findings[i].iter().any(|f| f.signature == s))
            .count() as f64
            / clean.len() as f64;
        println!(
            "{:<22} {:>4} {:>8} {:>8.3} {:>10.4}",
            s.id(),
            s.code(),
            truths.len(),
            recall,
            fp
        );
        for (i, t) in &truths {
            if !findings[*i].iter().any(|f| matches(t, f)) {
                eprintln!(
                    "missed {} {} {:?} {}..{}",
                    s.id(),
                    t.mn,
                    t.factor,
                    t.start,
                    t.end
                );
            }
        }
        if recall < 0.95 {
            failures.push(format!("{}: recall {recall:.3}", s.id()));
        }
    }
    // Half the generated copies are scaled (× a + b): they are found as such.
    let scaled = fleet
        .outlets
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            o.truth
                .iter()
                .any(|t| t.signature == Signature::CopiedSeries)
                && findings[*i].iter().any(|f| {
                    f.signature == Signature::CopiedSeries && !f.evidence["relation"].is_null()
                })
        })
        .count();
    let copies = fleet
        .outlets
        .iter()
        .filter(|o| {
            o.truth
                .iter()
                .any(|t| t.signature == Signature::CopiedSeries)
        })
        .count();
    println!("copied_series: {scaled} of {copies} outlets with a copy found it scaled");
    if scaled * 4 < copies {
        failures.push(format!("copied_series: only {scaled} of {copies} scaled"));
    }
    let noisy: Vec<usize> = clean
        .iter()
        .copied()
        .filter(|&i| !findings[i].is_empty())
        .collect();
    let share = noisy.len() as f64 / clean.len() as f64;
    println!(
        "clean outlets with any lead: {} of {} ({:.2}%)",
        noisy.len(),
        clean.len(),
        share * 100.0
    );
    for &i in &noisy {
        for f in &findings[i] {
            eprintln!(
                "clean {} {} {:?}: {}",
                fleet.outlets[i].minute.mn,
                f.signature.id(),
                f.factor,
                f.explanation
            );
        }
    }
    // The leads of the run rank and stay in [0, 1].
    let ranked = leads::rank(
        fleet
            .outlets
            .iter()
            .zip(&findings)
            .map(|(o, f)| OutletFindings {
                mn: o.minute.mn.clone(),
                outlet: o.minute.outlet.clone(),
                industry: o.minute.industry.clone(),
                findings: f.clone(),
            }),
        &[],
        &config,
    );
    assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(ranked.iter().all(|l| (0.0..=1.0).contains(&l.score)));
    assert!(failures.is_empty(), "recall below 0.95: {failures:?}");
    assert!(
        share <= 0.02,
        "{:.2}% of clean outlets have a lead",
        share * 100.0
    );
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
        .flat_map(|o| [&o.minute, &o.hourly])
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
