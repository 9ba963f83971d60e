//! The platform-data comparison of inspection audits over a province-year, end to end:
//! `ecowarden inspection compare --from 2023-01-01 --to 2023-12-31` reading the ledger and the
//! Parquet archive. Target: < 60 s.
//!
//! `BENCH_STORE=/tmp/ewi cargo bench -p ecowarden --bench inspection_year [-- BASE COPIES
//! OUTLETS]` (default 100000 × 10, 5,000 outlets) builds, once (kept in `$BENCH_STORE`):
//! - the million-case store the other ledger benches use (the demo's 2023 copied);
//! - OUTLETS flue-gas outlets (three factors with limits) under new facilities spread over
//!   the 84 counties, two leads each (one accepted, whose case is an off-site one, with a
//!   week's finding window; one later, open or dismissed);
//! - a year of their data in the archive: 24 hourly uploads (CN 2061) and one daily average
//!   (CN 2031) an outlet a day, three values each, partitioned by date and city as the
//!   compactor writes them (5,000 outlets: 45.6 M uploads, 137 M values);
//!
//! then times the command three times (start, migrations check, reads, rules, JSON lines to
//! a file) and prints the mismatches by rule.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use ecowarden_core::org::Org;
use ecowarden_monitoring::archive::{self, Message, Value};
use ecowarden_monitoring::evidence::Pos;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");
/// SO2, NOx and dust with their limits (mg/m³).
const FACTORS: [(&str, f64); 3] = [("a21026", 50.0), ("a21002", 100.0), ("a34013", 10.0)];

fn main() {
    let (dir, url, base, copies) = common::place("inspection_year");
    let outlets: i64 = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .nth(2)
        .unwrap_or(5_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cities = rt.block_on(async {
        let db = common::million(&url, base, copies).await;
        let org = Org::load(&db).await.expect("org");
        let cities = register(&db, &org, outlets).await;
        db.pool().close().await;
        cities
    });
    let written = archive_year(&dir, &cities);
    if written > 0 {
        eprintln!("archive written: {written} values");
    }
    let out = dir.join("mismatches.jsonl");
    let mut best = f64::INFINITY;
    for round in 1..=3 {
        let t = Instant::now();
        let status = Command::new(BIN)
            .arg("--data")
            .arg(&dir)
            .args([
                "inspection",
                "compare",
                "--from",
                "2023-01-01",
                "--to",
                "2023-12-31",
                "--as-of",
                "2024-01-31",
                "--format",
                "jsonl",
            ])
            .stdout(std::fs::File::create(&out).expect("output file"))
            .status()
            .expect("run ecowarden");
        assert!(status.success(), "inspection compare failed");
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        println!("round {round}: {secs:.2} s end to end");
    }
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&out).expect("output").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        *by_rule
            .entry(v["rule"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    println!("best {best:.2} s (target < 60 s); mismatches {by_rule:?}");
    common::clean(&dir);
}

/// Registers `n` outlets with their leads (once) and returns each outlet's (MN, city).
async fn register(db: &ecowarden_core::store::Db, org: &Org, n: i64) -> Vec<(String, String)> {
    let counties: Vec<(String, String)> = org
        .cities()
        .flat_map(|c| org.counties_of(&c.code))
        .map(|r| (r.code.clone(), r.city_code.clone()))
        .collect();
    let of = |o: i64| &counties[o as usize % counties.len()];
    let outlets = (0..n)
        .map(|o| (format!("BENCH{o:09}"), of(o).1.clone()))
        .collect();
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outlets WHERE mn LIKE 'BENCH%'")
        .fetch_one(db.pool())
        .await
        .expect("outlets");
    if kept > 0 {
        eprintln!("reusing the {kept} outlets kept");
        return outlets;
    }
    let t = Instant::now();
    let mut tx = db.pool().begin().await.expect("transaction");
    let day = |d: i64| NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Days::new(d as u64);
    let ts = |d: i64| day(d).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() - 8 * 3600;
    for o in 0..n {
        let (county, city) = of(o);
        let mn = format!("BENCH{o:09}");
        let facility: i64 = sqlx::query_scalar(
            "INSERT INTO facilities (name, credit_code, region_code, city_code, industry) \
             VALUES ($1, $2, $3, $4, '火电') RETURNING id",
        )
        .bind(format!("基准电厂{o}"))
        .bind(format!("91BENCH{o:011}"))
        .bind(county)
        .bind(city)
        .fetch_one(&mut *tx)
        .await
        .expect("facility");
        let outlet: i64 = sqlx::query_scalar(
            "INSERT INTO outlets (facility_id, name, mn, password, st, created_at, updated_at) \
             VALUES ($1, '废气排口', $2, '123456', '31', '2023-01-01', '2023-01-01') RETURNING id",
        )
        .bind(facility)
        .bind(&mn)
        .fetch_one(&mut *tx)
        .await
        .expect("outlet");
        for (code, limit) in FACTORS {
            sqlx::query(
                "INSERT INTO outlet_factors (outlet_id, code, emission_limit) VALUES ($1, $2, $3)",
            )
            .bind(outlet)
            .bind(code)
            .bind(limit.to_string())
            .execute(&mut *tx)
            .await
            .expect("factor");
        }
        // The accepted lead's case: an off-site case, against this facility but for one
        // outlet in five (whose exceedances then have no case).
        let case = o * 200 + 10;
        sqlx::query(
            "UPDATE cases SET source = 'off_site_screening', \
             facility_id = CASE WHEN $1 % 5 = 0 THEN facility_id ELSE $2 END WHERE id = $3",
        )
        .bind(o)
        .bind(facility)
        .bind(case)
        .execute(&mut *tx)
        .await
        .expect("case");
        let d = o % 300;
        let later = if o % 3 == 0 { "open" } else { "dismissed" };
        let second = if o % 2 == 0 { "S7" } else { "S1" };
        for (from, status, case, sigs) in [
            (d, "accepted", Some(case), "S3,S7"),
            (d + 40, later, None, second),
        ] {
            let lead: i64 = sqlx::query_scalar(
                "INSERT INTO leads (outlet_id, mn, region_code, city_code, industry, period_from, \
                 period_to, start_at, end_at, score, signatures, status, case_id, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,'火电',$5,$6,$5,$6,800,$7,$8,$9,$5,$5) RETURNING id",
            )
            .bind(outlet)
            .bind(&mn)
            .bind(county)
            .bind(city)
            .bind(day(from).to_string())
            .bind(day(from + 7).to_string())
            .bind(sigs)
            .bind(status)
            .bind(case)
            .fetch_one(&mut *tx)
            .await
            .expect("lead");
            sqlx::query(
                "INSERT INTO lead_findings (lead_id, factor, signature, start_ts, end_ts, score, \
                 explanation, evidence) VALUES ($1, 'a21026', $2, $3, $4, 800, '', '{}')",
            )
            .bind(lead)
            .bind(&sigs[..2])
            .bind(ts(from))
            .bind(ts(from + 7))
            .execute(&mut *tx)
            .await
            .expect("finding");
        }
    }
    tx.commit().await.expect("commit");
    eprintln!(
        "registered {n} outlets and {} leads in {:.1} s",
        2 * n,
        t.elapsed().as_secs_f64()
    );
    outlets
}

/// Writes a year of the outlets' hourly and daily uploads into an empty archive (both
/// cores, a day at a time); returns the values written (0 when the archive was kept).
fn archive_year(dir: &std::path::Path, outlets: &[(String, String)]) -> u64 {
    let root = archive::dir_in(dir);
    if root.exists() {
        eprintln!("reusing the archive kept in {}", root.display());
        return 0;
    }
    let t = Instant::now();
    let factors: Vec<Arc<str>> = FACTORS.iter().map(|(f, _)| Arc::from(*f)).collect();
    let flag: Arc<str> = Arc::from("N");
    let jan1 = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let next = std::sync::atomic::AtomicU64::new(0);
    let written = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(1, |n| n.get()) {
            s.spawn(|| {
                loop {
                    let d = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if d >= 365 {
                        break;
                    }
                    let date = jan1 + Days::new(d);
                    let midnight = date
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                        .and_utc()
                        .timestamp_millis()
                        - 8 * 3_600_000;
                    let mut by_city: BTreeMap<&str, Vec<Message>> = BTreeMap::new();
                    for (o, (mn, city)) in outlets.iter().enumerate() {
                        let message = |cn: &str, ms: i64, v: &dyn Fn(usize) -> String| Message {
                            mn: mn.clone(),
                            st: "31".into(),
                            cn: cn.into(),
                            data_time_ms: ms,
                            qn: None,
                            rf: false,
                            recv_us: ms * 1000,
                            evidence: Pos::new(0, 0),
                            values: (0..FACTORS.len())
                                .map(|k| Value {
                                    factor: factors[k].clone(),
                                    field: "Avg".into(),
                                    value: v(k).into(),
                                    flag: Some(flag.clone()),
                                })
                                .collect(),
                        };
                        let msgs = by_city.entry(city.as_str()).or_default();
                        for h in 0..24 {
                            let v = |k: usize| {
                                format!("{:.1}", 5.0 + ((o * 7 + h * 3 + k) % 40) as f64 / 10.0)
                            };
                            msgs.push(message("2061", midnight + h as i64 * 3_600_000, &v));
                        }
                        // Over every limit on one day in 97.
                        let over = (o as u64 + d).is_multiple_of(97);
                        let v = |k: usize| {
                            if over {
                                format!("{:.1}", FACTORS[k].1 * 1.6)
                            } else {
                                "6.5".into()
                            }
                        };
                        msgs.push(message("2031", midnight, &v));
                    }
                    for (city, msgs) in by_city {
                        let p = archive::partition_dir(&root, date, city);
                        std::fs::create_dir_all(&p).expect("partition");
                        let mut refs: Vec<&Message> = msgs.iter().collect();
                        archive::sort_messages(&mut refs);
                        let w =
                            archive::write_file(&p.join("bench.parquet"), &refs).expect("write");
                        written.fetch_add(w.rows, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    eprintln!("archived a year in {:.1} s", t.elapsed().as_secs_f64());
    written.into_inner()
}
