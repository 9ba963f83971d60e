//! The stored results of the legal checks, so the list of failed checks of a province-year
//! answers from a table instead of checking a million files on every page load. A run checks
//! every case of a year and keeps its findings with the time it was computed and the last
//! audit entry it saw; a case changed since (any audited change: a stage, a measure, a
//! document, an import) is checked again when the list is next read. Runs go on in the
//! background ([`Runs`]): a reader waits a moment, then sees the stored findings as they are
//! with the run's progress. Saving a holiday year clears the runs (working days changed).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use sqlx::Row;
use tokio::sync::watch;

use crate::calendar::Calendar;
use crate::checks::{self, Finding, Policy, Severity};
use crate::dossier::{self, Checked};
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::store::{Db, Result, Sql, placeholders};

/// More changed cases than this since a run: the year is checked again as a whole (one
/// chunked pass is cheaper than that many single-case reads).
const RECHECK_LIMIT: usize = 2_000;

/// Findings rows per multi-row insert (10 values each).
const ROWS_PER_INSERT: usize = 80;

/// An area's failed cases of a year and when their checks were computed.
#[derive(Debug, Clone)]
pub struct Stored {
    /// RFC 3339, the time of the run (changed cases are checked again on reading).
    pub computed_at: String,
    pub rows: Vec<Checked>,
}

async fn last_seq(db: &Db) -> Result<i64> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM audit_log")
            .fetch_one(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// What a reader gets: the stored findings, and the progress of a run of the year still
/// going on.
#[derive(Debug, Clone)]
pub struct View {
    /// The year's stored run (`None` before its first run has finished).
    pub stored: Option<Stored>,
    /// Cases checked and cases of the year, while a run brings the stored findings up to date.
    pub computing: Option<(usize, usize)>,
}

/// The runs of years going on in the background, one per year at a time. A province-year of a
/// million cases takes seconds to check, longer than a page view may wait: a page starts the
/// run (or joins the one going on), waits a moment, and shows its progress if it is not done.
#[derive(Default)]
pub struct Runs {
    years: Mutex<HashMap<i32, Arc<Progress>>>,
}

/// How far a background run of a year has come.
#[derive(Debug)]
struct Progress {
    checked: AtomicUsize,
    total: AtomicUsize,
    done: watch::Sender<bool>,
}

impl Progress {
    fn counts(&self) -> (usize, usize) {
        (
            self.checked.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Waits until the run is done, at most `wait` (`None`: however long it takes); true when
    /// it is done.
    async fn finished(&self, wait: Option<Duration>) -> bool {
        let mut done = self.done.subscribe();
        let finished = done.wait_for(|d| *d);
        match wait {
            Some(w) => matches!(tokio::time::timeout(w, finished).await, Ok(Ok(_))),
            None => finished.await.is_ok(),
        }
    }
}

impl Runs {
    /// The run of `year` going on, or a new one started in the background when the stored
    /// findings are missing or stale (an audited change since) or `refresh` asks for it;
    /// `None` when the stored findings are up to date.
    async fn start(
        self: &Arc<Self>,
        db: &Db,
        year: i32,
        cal: &Calendar,
        policy: &Policy,
        refresh: bool,
    ) -> Result<Option<Arc<Progress>>> {
        if let Some(p) = self.years.lock().expect("lock").get(&year) {
            return Ok(Some(p.clone()));
        }
        if !refresh
            && let Some(seen) = seen(db, year).await?
            && seen >= last_seq(db).await?
        {
            return Ok(None);
        }
        let mut years = self.years.lock().expect("lock");
        if let Some(p) = years.get(&year) {
            return Ok(Some(p.clone()));
        }
        let progress = Arc::new(Progress {
            checked: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            done: watch::channel(false).0,
        });
        years.insert(year, progress.clone());
        let (runs, db, cal, policy, p) = (
            self.clone(),
            db.clone(),
            cal.clone(),
            *policy,
            progress.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = bring_up_to_date(&db, year, &cal, &policy, refresh, &p).await {
                tracing::warn!("legal checks of {year}: {e}");
            }
            runs.years.lock().expect("lock").remove(&year);
            p.done.send_replace(true);
        });
        Ok(Some(progress))
    }

    /// Starts bringing `year`'s stored findings up to date in the background if they are not
    /// (`serve` does it for the latest year at start, so the first visitor finds them).
    pub async fn warm(self: &Arc<Self>, db: &Db, year: i32, cal: &Calendar, policy: &Policy) {
        if let Err(e) = self.start(db, year, cal, policy, false).await {
            tracing::warn!("legal checks of {year}: {e}");
        }
    }
}

/// The cases of an area and year with findings, from the stored run of the year. A run
/// starts in the background when there is none, when cases changed since it (audited), or
/// when `refresh` asks for it; the answer waits for it at most `wait` (`None`: until done),
/// and after that gives the stored findings as they are with the run's progress.
#[allow(clippy::too_many_arguments)]
pub async fn findings(
    db: &Db,
    runs: &Arc<Runs>,
    area: &Area,
    year: i32,
    cal: &Calendar,
    policy: &Policy,
    refresh: bool,
    wait: Option<Duration>,
) -> Result<View> {
    let computing = match runs.start(db, year, cal, policy, refresh).await? {
        Some(p) if !p.finished(wait).await => Some(p.counts()),
        _ => None,
    };
    let stored = read(db, area, year, None).await?;
    Ok(View { stored, computing })
}

/// The findings of one check in the stored run of a year for an area as it was computed,
/// checking nothing (`None` before the year's first run): for a page that shows a count
/// beside a link to 案卷检查, which brings the run up to date.
pub async fn stored(db: &Db, area: &Area, year: i32, check: &str) -> Result<Option<Stored>> {
    read(db, area, year, Some(check)).await
}

/// The last audit entry now: a run stores it as seen ([`store_year`]).
pub async fn audit_seq(db: &Db) -> Result<i64> {
    last_seq(db).await
}

/// The year's stored run as a cache key (when it was computed and the last audit entry it
/// saw); `None` before its first run.
pub async fn run_version(db: &Db, year: i32) -> Result<Option<String>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT computed_at, audit_seq FROM check_runs WHERE year = $1")
            .bind(year as i64)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(at, seq)| format!("{at}|{seq}")))
}

/// The last audit entry the year's stored run has seen; `None` before its first run.
async fn seen(db: &Db, year: i32) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT audit_seq FROM check_runs WHERE year = $1")
            .bind(year as i64)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Checks again the cases changed since the year's run, or the whole year when it has no run,
/// too many changed, or `refresh` asks for it.
async fn bring_up_to_date(
    db: &Db,
    year: i32,
    cal: &Calendar,
    policy: &Policy,
    refresh: bool,
    progress: &Progress,
) -> Result<()> {
    let seq = last_seq(db).await?;
    let fresh = match seen(db, year).await? {
        Some(seen) if !refresh => seen >= seq || recheck_changed(db, seq, cal, policy).await?,
        _ => false,
    };
    if !fresh {
        run_year(db, year, seq, cal, policy, progress).await?;
    }
    Ok(())
}

/// Checks every case of the year in the province and replaces the year's stored findings.
async fn run_year(
    db: &Db,
    year: i32,
    seq: i64,
    cal: &Calendar,
    policy: &Policy,
    progress: &Progress,
) -> Result<()> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE year = $1")
        .bind(year as i64)
        .fetch_one(db.pool())
        .await?;
    progress.total.store(total as usize, Ordering::Relaxed);
    let mut rows = Vec::new();
    let province = Area::whole(&Scope::Province);
    dossier::check_all(db, &province, Some(year), cal, policy, |c| {
        progress.checked.fetch_add(1, Ordering::Relaxed);
        if !c.findings.is_empty() {
            rows.push(c);
        }
    })
    .await?;
    store_year(db, year, seq, &rows).await
}

/// Replaces the year's stored findings with those of a run over every case of the province
/// that began when the audit log ended at `seq` (`ecowarden dossier check --all --year Y`
/// stores its run this way).
pub async fn store_year(db: &Db, year: i32, seq: i64, rows: &[Checked]) -> Result<()> {
    let mut w = db.write().await?;
    sqlx::query("DELETE FROM check_findings WHERE year = $1")
        .bind(year as i64)
        .execute(&mut *w.tx)
        .await?;
    insert(&mut w.tx, rows).await?;
    sqlx::query("DELETE FROM check_runs WHERE year = $1")
        .bind(year as i64)
        .execute(&mut *w.tx)
        .await?;
    sqlx::query("INSERT INTO check_runs (year, computed_at, audit_seq) VALUES ($1, $2, $3)")
        .bind(year as i64)
        .bind(ecowarden_core::clock::now_rfc3339())
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await
}

/// Checks again the cases with audit entries after the oldest run's last (up to `seq`) and
/// stores their findings under each case's own year; every run then counts as seen up to
/// `seq`. False when too many changed: the caller checks the year as a whole.
async fn recheck_changed(db: &Db, seq: i64, cal: &Calendar, policy: &Policy) -> Result<bool> {
    let seen: i64 = sqlx::query_scalar::<_, Option<i64>>("SELECT MIN(audit_seq) FROM check_runs")
        .fetch_one(db.pool())
        .await?
        .unwrap_or(seq);
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT entity_id FROM audit_log WHERE entity = 'case' AND seq > $1 AND seq <= $2",
    )
    .bind(seen)
    .bind(seq)
    .fetch_all(db.pool())
    .await?;
    if ids.len() > RECHECK_LIMIT {
        return Ok(false);
    }
    let province = Area::whole(&Scope::Province);
    let mut ids: Vec<i64> = ids.iter().filter_map(|s| s.parse().ok()).collect();
    ids.sort_unstable();
    let mut rows = Vec::new();
    for &id in &ids {
        if let Some(c) = dossier::check_case(db, &province, id, cal, policy).await? {
            rows.push(c);
        }
    }
    let mut w = db.write().await?;
    for &id in &ids {
        sqlx::query("DELETE FROM check_findings WHERE case_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
    }
    insert(&mut w.tx, &rows).await?;
    sqlx::query("UPDATE check_runs SET audit_seq = $1 WHERE audit_seq < $1")
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    Ok(true)
}

/// Writes the findings of `rows` with multi-row statements.
async fn insert(conn: &mut sqlx::AnyConnection, rows: &[Checked]) -> Result<()> {
    let all: Vec<(&Checked, usize, &Finding)> = rows
        .iter()
        .flat_map(|c| c.findings.iter().enumerate().map(move |(i, f)| (c, i, f)))
        .collect();
    for chunk in all.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO check_findings (case_id, year, case_no, region_code, city_code, position, \
             check_id, severity, message, dates) VALUES {}",
            placeholders(chunk.len(), 10)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (c, i, f) in chunk {
            q = q
                .bind(c.case_id)
                .bind(c.year)
                .bind(c.case_no.clone())
                .bind(c.region_code.clone())
                .bind(c.city_code.clone())
                .bind(*i as i64)
                .bind(f.check)
                .bind(f.severity.as_str())
                .bind(f.message.clone())
                .bind(serde_json::to_string(&f.dates).unwrap_or_else(|_| "{}".into()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The stored findings (of one check, or all) of an area's cases of a year, by case in id
/// order; `None` before the year's first run.
async fn read(db: &Db, area: &Area, year: i32, check: Option<&str>) -> Result<Option<Stored>> {
    let computed_at: Option<String> =
        sqlx::query_scalar("SELECT computed_at FROM check_runs WHERE year = $1")
            .bind(year as i64)
            .fetch_optional(db.pool())
            .await?;
    let Some(computed_at) = computed_at else {
        return Ok(None);
    };
    let mut sql = Sql::new(
        "SELECT f.case_id, f.case_no, f.region_code, f.city_code, f.check_id, f.severity, \
         f.message, f.dates FROM check_findings f WHERE f.year = ",
    );
    sql.bind(year as i64);
    sql.scope(area, "f");
    if let Some(c) = check {
        sql.push(" AND f.check_id = ").bind(c);
    }
    sql.push(" ORDER BY f.case_id, f.position");
    let mut rows: Vec<Checked> = Vec::new();
    for r in sql.fetch_rows(db).await? {
        let case_id: i64 = r.get(0);
        let Some(check) = checks::check_id(&r.get::<String, _>(4)) else {
            continue;
        };
        let severity = match r.get::<String, _>(5).as_str() {
            "fail" => Severity::Fail,
            _ => Severity::Advisory,
        };
        let dates: BTreeMap<String, NaiveDate> =
            serde_json::from_str(&r.get::<String, _>(7)).unwrap_or_default();
        let finding = Finding {
            check,
            severity,
            article: checks::article(check),
            message: r.get(6),
            dates,
        };
        match rows.last_mut() {
            Some(c) if c.case_id == case_id => c.findings.push(finding),
            _ => rows.push(Checked {
                case_id,
                case_no: r.get(1),
                region_code: r.get(2),
                city_code: r.get(3),
                year: year as i64,
                findings: vec![finding],
            }),
        }
    }
    Ok(Some(Stored { computed_at, rows }))
}
