//! An annual assessment run over the province on a million cases, on SQLite.
//!
//! `cargo bench -p ecowarden --bench assess_run [-- BASE COPIES]` (default 100000 × 10): builds
//! the million-case store as the legal checks' bench does, then times `assessment::run` with
//! the shipped default rule files for 2023 — the 84 county units, then the 10 city-level units
//! — in process, three times each, and `ecowarden assess run` end to end (start, migrations,
//! run stored, JSON to /dev/null). Target: < 5 s for the county and city runs together.

use std::process::{Command, Stdio};
use std::time::Instant;

use ecowarden_core::org::Org;
use ecowarden_ledger::stats::Period;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");
const RULES: [(&str, &str); 2] = [
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
];

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (dir, url, base, copies) = common::place("assess");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = common::million(&url, base, copies).await;
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
            println!("in-process run {run}: county + city {total:.2} s");
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
