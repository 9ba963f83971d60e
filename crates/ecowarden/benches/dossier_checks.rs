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
use ecowarden_core::store::Db;
use ecowarden_ledger::checks::Policy;
use ecowarden_ledger::{calendar, dossier};

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The columns of a table, in order.
async fn columns(db: &Db, table: &str) -> Vec<String> {
    let rows: Vec<(i64, String, String, i64, Option<String>, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(db.pool())
            .await
            .expect("table info");
    rows.into_iter().map(|r| r.1).collect()
}

/// Copies `table`'s rows of the first `base` cases `copies - 1` times, shifting the case ids
/// by multiples of `base` (and renumbering `case_no` in the cases table).
async fn copy(db: &Db, table: &str, key: &str, base: i64, copies: i64) {
    let cols = columns(db, table).await;
    for k in 1..copies {
        let select: Vec<String> = cols
            .iter()
            .map(|c| match c.as_str() {
                c if c == key => format!("{c} + {}", k * base),
                "case_no" => format!("case_no || '-{k}'"),
                "id" if table != "cases" => "NULL".into(),
                c => c.to_owned(),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE {key} <= {base}",
            cols.join(", "),
            select.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| panic!("copying {table}: {e}"));
    }
}

fn main() {
    let args: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (base, copies) = (
        args.first().copied().unwrap_or(100_000),
        args.get(1).copied().unwrap_or(10),
    );
    let dir = std::env::temp_dir().join(format!("ew-bench-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("ecowarden.sqlite").display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let t = Instant::now();
        let db = Db::connect(&url).await.expect("store");
        ecowarden::demo::seed(&db, base as usize, 2023, 1)
            .await
            .expect("seed")
            .expect("empty store");
        for (table, key) in [
            ("cases", "id"),
            ("case_officers", "case_id"),
            ("measures", "case_id"),
            ("referrals", "case_id"),
            ("case_documents", "case_id"),
            ("case_suspensions", "case_id"),
        ] {
            copy(&db, table, key, base, copies).await;
        }
        sqlx::query("ANALYZE").execute(db.pool()).await.expect("analyze");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE year = 2023")
            .fetch_one(db.pool())
            .await
            .expect("count");
        eprintln!("seeded {n} cases in {:.1} s", t.elapsed().as_secs_f64());

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
    std::fs::remove_dir_all(&dir).ok();
}
