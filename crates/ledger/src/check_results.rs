//! The stored results of the legal checks, so the list of failed checks of a province-year
//! answers from a table instead of checking a million files on every page load. A run checks
//! every case of a year and keeps its findings with the time it was computed and the last
//! audit entry it saw; a case changed since (any audited change: a stage, a measure, a
//! document, an import) is checked again when the list is next read. Saving a holiday year
//! clears the runs (working days changed).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use crate::calendar::Calendar;
use crate::checks::{self, Finding, Policy, Severity};
use crate::dossier::{self, Checked};
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::store::{Db, Result, Sql};

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

/// The cases of an area and year with findings, from the stored run of the year: made when
/// there is none or `refresh` asks for it, brought up to date for cases changed since.
pub async fn findings(
    db: &Db,
    area: &Area,
    year: i32,
    cal: &Calendar,
    policy: &Policy,
    refresh: bool,
) -> Result<Stored> {
    let seq = last_seq(db).await?;
    let run: Option<(String, i64)> =
        sqlx::query_as("SELECT computed_at, audit_seq FROM check_runs WHERE year = $1")
            .bind(year as i64)
            .fetch_optional(db.pool())
            .await?;
    let fresh = match run {
        Some((_, seen)) if !refresh => seen >= seq || recheck_changed(db, seq, cal, policy).await?,
        _ => false,
    };
    if !fresh {
        run_year(db, year, seq, cal, policy).await?;
    }
    read(db, area, year, None).await
}

/// The findings of one check in the stored run of a year for an area as it was computed,
/// checking nothing (`None` before the year's first run): for a page that shows a count
/// beside a link to 案卷检查, which brings the run up to date.
pub async fn stored(db: &Db, area: &Area, year: i32, check: &str) -> Result<Option<Stored>> {
    let s = read(db, area, year, Some(check)).await?;
    Ok((!s.computed_at.is_empty()).then_some(s))
}

/// The last audit entry now: a run stores it as seen ([`store_year`]).
pub async fn audit_seq(db: &Db) -> Result<i64> {
    last_seq(db).await
}

/// Checks every case of the year in the province and replaces the year's stored findings.
async fn run_year(db: &Db, year: i32, seq: i64, cal: &Calendar, policy: &Policy) -> Result<()> {
    let mut rows = Vec::new();
    let province = Area::whole(&Scope::Province);
    dossier::check_all(db, &province, Some(year), cal, policy, |c| {
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
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p: Vec<String> = (1..=10).map(|c| format!("${}", r * 10 + c)).collect();
                format!("({})", p.join(","))
            })
            .collect();
        let sql = format!(
            "INSERT INTO check_findings (case_id, year, case_no, region_code, city_code, position, \
             check_id, severity, message, dates) VALUES {}",
            values.join(",")
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

/// The stored findings of an area's cases of a year, by case in id order.
async fn read(db: &Db, area: &Area, year: i32, check: Option<&str>) -> Result<Stored> {
    let computed_at: String =
        sqlx::query_scalar("SELECT computed_at FROM check_runs WHERE year = $1")
            .bind(year as i64)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or_default();
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
    Ok(Stored { computed_at, rows })
}
