//! The platform-data comparison of inspection audits over a province-year.
//!
//! `cargo bench -p ecowarden-assessment --bench inspection_compare [-- CASES OUTLETS]` (default
//! 1,000,000 × 5,000): builds the facts a province-year gives — CASES cases (a tenth from
//! off-site leads, most closed), OUTLETS outlets with a year of daily averages (CN 2031, three
//! factors each) and two leads per outlet — then times the archive tally (every daily upload
//! fed through `ArchiveTally`, days over the limit and uploads in the leads' windows) and the
//! four rules (`compare`). Reading the archive's Parquet files and the ledger's rows is not
//! included. Target: < 60 s for the whole.

use std::time::Instant;

use chrono::NaiveDate;
use ecowarden_assessment::inspection::{
    ArchiveNeeds, ArchiveTally, CaseFact, LeadFact, OutletFact, Thresholds, compare,
};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let cases_n = args.first().copied().unwrap_or(1_000_000);
    let outlets_n = args.get(1).copied().unwrap_or(5_000) as i64;
    let year = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let day = |n: i64| year + chrono::Days::new(n as u64);
    let start_s = |n: i64| day(n).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();

    let factors = ["w01018", "w21003", "w01001"];
    let needs = ArchiveNeeds {
        outlets: (0..outlets_n)
            .map(|o| {
                (
                    o,
                    format!("MN{o:010}"),
                    factors.iter().map(|f| (f.to_string(), 50.0)).collect(),
                )
            })
            .collect(),
        // One accepted lead per outlet with a week's window.
        windows: (0..outlets_n)
            .map(|o| {
                let d = o % 300;
                (o * 2, format!("MN{o:010}"), start_s(d), start_s(d + 7))
            })
            .collect(),
    };
    let t0 = Instant::now();
    let mut tally = ArchiveTally::new(&needs);
    let mut uploads = 0u64;
    let values: Vec<Vec<String>> = (0..outlets_n)
        .map(|o| {
            (0..366)
                .map(|d| {
                    if (o + d) % 97 == 0 {
                        "80".into()
                    } else {
                        "20".into()
                    }
                })
                .collect()
        })
        .collect();
    for d in 0..366 {
        let date = day(d);
        let ms = start_s(d) * 1000;
        for (o, (_, mn, _)) in needs.outlets.iter().enumerate() {
            let v = values[o][d as usize].as_str();
            tally.see(mn, "2031", ms, date, factors.iter().map(|f| (*f, "Avg", v)));
            uploads += 1;
        }
    }
    let (frames, days) = tally.finish();
    let tally_s = t0.elapsed().as_secs_f64();

    let leads: Vec<LeadFact> = (0..outlets_n)
        .flat_map(|o| {
            let d = o % 300;
            let accepted = LeadFact {
                id: o * 2,
                outlet_id: o,
                status: "accepted".into(),
                case_id: Some(o * 200 + 1),
                signatures: vec!["S3".into(), "S7".into()],
                period_from: day(d),
                created_on: day(d),
                frames: frames.get(&(o * 2)).copied().unwrap_or(0),
            };
            let later = LeadFact {
                id: o * 2 + 1,
                outlet_id: o,
                status: if o % 3 == 0 { "open" } else { "dismissed" }.into(),
                case_id: None,
                signatures: vec![if o % 2 == 0 { "S7" } else { "S1" }.into()],
                period_from: day(d + 40),
                created_on: day(d + 40),
                frames: 0,
            };
            [accepted, later]
        })
        .collect();
    let cases: Vec<CaseFact> = (0..cases_n as i64)
        .map(|i| CaseFact {
            id: i,
            case_no: format!("闽环罚〔2024〕{i}号"),
            facility_id: i % (outlets_n * 4),
            source: if i % 10 == 0 {
                "off_site_screening"
            } else {
                "inspection"
            }
            .into(),
            closed_on: (i % 4 != 0).then(|| day(i % 200 + 10)),
        })
        .collect();
    let outlets: Vec<OutletFact> = (0..outlets_n)
        .map(|o| OutletFact {
            id: o,
            // Facilities beyond the cases' range have no case.
            facility_id: if o % 5 == 0 { outlets_n * 10 + o } else { o },
            name: format!("排放口{o}"),
            exceedance_days: days.get(&o).copied().unwrap_or(0),
        })
        .collect();
    let t1 = Instant::now();
    let found = compare(&leads, &cases, &outlets, day(365), Thresholds::default());
    let compare_s = t1.elapsed().as_secs_f64();
    let mut by_rule = std::collections::BTreeMap::new();
    for m in &found {
        *by_rule.entry(m.rule.as_str()).or_insert(0) += 1;
    }
    println!(
        "archive tally: {uploads} daily uploads of {outlets_n} outlets in {tally_s:.2} s; \
         comparison: {} cases, {} leads, {outlets_n} outlets in {compare_s:.2} s; \
         total {:.2} s (target < 60 s); mismatches {by_rule:?}",
        cases.len(),
        leads.len(),
        tally_s + compare_s
    );
}
