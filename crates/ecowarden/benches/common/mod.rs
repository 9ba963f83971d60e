//! What the million-case benches share: a store of BASE demo cases of 2023 copied COPIES − 1
//! times with every side table, by set-based SQL (a million cases in minutes, not hours).

use ecowarden_core::store::Db;

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

/// Set to a directory: the store is kept there between runs (seeded by the first, reused
/// by the next), so repeated measurements and profiles skip the minutes of seeding.
const KEEP: &str = "BENCH_STORE";

/// The bench's directory (temporary, or `$BENCH_STORE`), its store's URL, and BASE and
/// COPIES from the command line (default 100000 × 10).
pub fn place(name: &str) -> (std::path::PathBuf, String, i64, i64) {
    let args: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (base, copies) = (
        args.first().copied().unwrap_or(100_000),
        args.get(1).copied().unwrap_or(10),
    );
    let dir = std::env::var_os(KEEP).map_or_else(
        || std::env::temp_dir().join(format!("ew-bench-{name}-{}", std::process::id())),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("ecowarden.sqlite").display());
    (dir, url, base, copies)
}

/// Removes the bench's directory unless `$BENCH_STORE` keeps it.
pub fn clean(dir: &std::path::Path) {
    if std::env::var_os(KEEP).is_none() {
        std::fs::remove_dir_all(dir).ok();
    }
}

/// A SQLite store at `url` with `base × copies` cases of 2023 (the demo's, copied), analysed;
/// prints how many and how long it took.
pub async fn million(url: &str, base: i64, copies: i64) -> Db {
    let t = std::time::Instant::now();
    let db = Db::connect(url).await.expect("store");
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(db.pool())
        .await
        .expect("count");
    if kept > 0 {
        eprintln!("reusing the {kept} cases kept in {url}");
        return db;
    }
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
        ("case_tags", "case_id"),
    ] {
        copy(&db, table, key, base, copies).await;
    }
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE year = 2023")
        .fetch_one(db.pool())
        .await
        .expect("count");
    eprintln!("seeded {n} cases in {:.1} s", t.elapsed().as_secs_f64());
    db
}
