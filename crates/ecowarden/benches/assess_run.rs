//! An annual assessment run over the province on a million cases, on SQLite.
//!
//! `cargo bench -p ecowarden --bench assess_run [-- BASE COPIES]` (default 100000 × 10): builds
//! the million-case store as the legal checks' bench does, with the demo's officers copied to
//! four sets (each case goes to one set's officers, so 2,624 officers of the 82 county
//! brigades and 3,360 in all), then times `assessment::run` with the shipped default rule files for
//! 2023 — the 84 county units, the 10 city-level units, then the county brigades' officers —
//! in process, three times each, and `ecowarden assess run` end to end (start, migrations, run
//! stored, JSON to /dev/null). Target: < 5 s for each run.

use std::process::{Command, Stdio};
use std::time::Instant;

use ecowarden_core::org::Org;
use ecowarden_ledger::stats::Period;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");
const RULES: [(&str, &str); 3] = [
    (
        "county",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scoring/rules/default-county-2023.toml"
        ),
    ),
    (
        "city",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scoring/rules/default-city-2023.toml"
        ),
    ),
    (
        "individual",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scoring/rules/default-individual-2023.toml"
        ),
    ),
];

/// Sets of the demo's officers: the cases go round them, so every officer has cases.
const OFFICER_SETS: i64 = 4;

/// Copies every officer `OFFICER_SETS - 1` times (certificate number suffixed) and moves each
/// case's officers to the set its id falls in.
async fn more_officers(db: &ecowarden_core::store::Db) {
    let n: i64 = sqlx::query_scalar("SELECT MAX(id) FROM officers")
        .fetch_one(db.pool())
        .await
        .expect("officers");
    for k in 1..OFFICER_SETS {
        for sql in [
            format!(
                "INSERT INTO officers (id, name, unit_id, certificate_no, region_code, city_code, active, \
                 certified_on, certificate_expires_on) SELECT id + {}, name, unit_id, \
                 certificate_no || '-{k}', region_code, city_code, active, certified_on, \
                 certificate_expires_on FROM officers WHERE id <= {n}",
                k * n
            ),
            format!(
                "UPDATE case_officers SET officer_id = officer_id + {} WHERE case_id % {OFFICER_SETS} = {k}",
                k * n
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(db.pool())
                .await
                .expect("more officers");
        }
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (dir, url, base, copies) = common::place("assess");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = common::million(&url, base, copies).await;
        more_officers(&db).await;
        let org = Org::load(&db).await.expect("org");
        for run in 1..=3 {
            let mut total = 0.0;
            for (level, path) in RULES {
                let text = std::fs::read_to_string(path).expect("default rules");
                let t = Instant::now();
                let stored = ecowarden_assessment::run(
                    &db,
                    &org,
                    &text,
                    Period {
                        year: 2023,
                        half: None,
                    },
                    None,
                    "bench",
                )
                .await
                .expect("run");
                let s = t.elapsed().as_secs_f64();
                total += s;
                println!(
                    "in-process run {run}, {level}: {} units in {s:.2} s",
                    stored.result["units"].as_array().map_or(0, Vec::len)
                );
            }
            println!("in-process run {run}: county + city + individual {total:.2} s");
        }
        db.pool().close().await;
    });
    for (level, path) in RULES {
        let t = Instant::now();
        let status = Command::new(BIN)
            .args(["--database-url", &url, "assess", "run", "--rules", path])
            .args(["--year", "2023", "--format", "json"])
            .stdout(Stdio::null())
            .status()
            .expect("ecowarden");
        assert!(status.success());
        println!(
            "ecowarden assess run ({level}): {:.2} s end to end",
            t.elapsed().as_secs_f64()
        );
    }
    common::clean(&dir);
}
