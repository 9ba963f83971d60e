//! The legal checks over a province-year of a million cases, on SQLite.
//!
//! `cargo bench -p ecowarden --bench dossier_checks [-- BASE COPIES]` (default 100000 × 10):
//! seeds BASE demo cases of 2023 (lawful but for the planted defects), copies them COPIES − 1
//! times with every side table (officers, measures, referrals, documents, suspensions) by
//! set-based SQL, then times `ecowarden dossier check --all --year 2023 --format jsonl` end to
//! end (start, migrations, every case checked, output to /dev/null) and the same run
//! in-process, and prints cases per second. Target: < 10 s for 1,000,000 cases.

use std::process::{Command, Stdio};
use std::time::Instant;

use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_ledger::checks::Policy;
use ecowarden_ledger::{calendar, dossier};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (dir, url, base, copies) = common::place("checks");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = common::million(&url, base, copies).await;
        let org = Org::load(&db).await.expect("org");
        let area = Scope::Province.area(&org, None).expect("area");
        let cal = calendar::load(&db).await.expect("calendar");
        for run in 1..=3 {
            let t = Instant::now();
            let mut findings = 0usize;
            let checked = dossier::check_all(&db, &area, Some(2023), &cal, &Policy::default(), |c| {
                findings += c.findings.len()
            })
            .await
            .expect("checks");
            let s = t.elapsed().as_secs_f64();
            println!(
                "in-process run {run}: {checked} cases in {s:.2} s ({:.0} cases/s), {findings} findings",
                checked as f64 / s
            );
        }
        db.pool().close().await;
    });
    for run in 1..=3 {
        let t = Instant::now();
        let status = Command::new(BIN)
            .args([
                "--database-url",
                &url,
                "dossier",
                "check",
                "--all",
                "--year",
                "2023",
                "--format",
                "jsonl",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("ecowarden");
        assert!(status.success());
        println!(
            "ecowarden dossier check --all run {run}: {:.2} s end to end",
            t.elapsed().as_secs_f64()
        );
    }
    common::clean(&dir);
}
