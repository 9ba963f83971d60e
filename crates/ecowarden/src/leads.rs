//! Screening leads (线索) in the store: what `ecowarden screen` found, per outlet and period,
//! the analyst's decision (accept into a case, or dismiss with a reason) and the suppressions
//! a dismissal leaves behind. Every read is scoped by the caller's [`Scope`]; every change of
//! a lead and its audit entry commit in one write transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit_log::{Appender, Change};
use crate::auth::Scope;
use crate::cases::intake::{self, IntakeError, NewCase};
use crate::cases::{CaseSource, vocab::Tag};
use crate::clock;
use crate::org::{Level, Org};
use crate::store::{Db, InRegion, Result, Sql, StoreError};

/// A lead's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Accepted,
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::Accepted, Status::Dismissed];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Dismissed => "dismissed",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "待研判",
            Status::Accepted => "已转立案",
            Status::Dismissed => "已排除",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Scores are kept per mille.
pub fn to_milli(score: f64) -> i64 {
    (score.clamp(0.0, 1.0) * 1000.0).round() as i64
}

/// A lead as the queue and the API show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeadRow {
    pub id: i64,
    pub outlet_id: i64,
    pub mn: String,
    pub outlet_name: String,
    pub facility_name: String,
    pub credit_code: String,
    pub region_code: String,
    pub city_code: String,
    pub industry: String,
    pub period_from: String,
    pub period_to: String,
    pub start_at: String,
    pub end_at: String,
    /// Per mille (0–1000).
    pub score: i64,
    /// Comma-separated signature ids.
    pub signatures: String,
    pub status: String,
    pub case_id: Option<i64>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
}

impl InRegion for LeadRow {
    fn region_code(&self) -> &str {
        &self.region_code
    }
    fn city_code(&self) -> &str {
        &self.city_code
    }
}

impl LeadRow {
    /// The score as 0.00–1.00 text.
    pub fn score_text(&self) -> String {
        format!("{:.2}", self.score as f64 / 1000.0)
    }
    pub fn status_label(&self) -> &'static str {
        Status::parse(&self.status).map_or("未知", Status::label)
    }
    pub fn is_open(&self) -> bool {
        self.status == Status::Open.as_str()
    }
    /// The signatures' Chinese names.
    pub fn signature_labels(&self) -> String {
        self.signatures
            .split(',')
            .filter(|s| !s.is_empty())
            .map(signature_label)
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// `S1 恒值` for an id, or the id.
pub fn signature_label(id: &str) -> String {
    screen::Signature::from_id(id)
        .map_or(id.to_owned(), |s| format!("{} {}", s.code(), s.name_zh()))
}

/// One finding of a lead.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FindingRow {
    pub id: i64,
    pub lead_id: i64,
    pub factor: Option<String>,
    pub signature: String,
    pub start_ts: i64,
    pub end_ts: i64,
    /// Per mille.
    pub score: i64,
    pub explanation: String,
    /// JSON text.
    #[schema(value_type = Object)]
    pub evidence: String,
}

impl FindingRow {
    pub fn signature_label(&self) -> String {
        signature_label(&self.signature)
    }
    pub fn factor_label(&self) -> String {
        self.factor
            .as_deref()
            .map_or("整个排放口".to_owned(), screen::finding::factor_label)
    }
    pub fn window(&self) -> String {
        screen::finding::zh_window(self.start_ts, self.end_ts)
    }
    pub fn score_text(&self) -> String {
        format!("{:.2}", self.score as f64 / 1000.0)
    }
}

const LEAD_SELECT: &str = "SELECT l.id, l.outlet_id, l.mn, o.name AS outlet_name, f.name AS facility_name, \
     f.credit_code, l.region_code, l.city_code, l.industry, l.period_from, l.period_to, l.start_at, l.end_at, \
     l.score, l.signatures, l.status, l.case_id, l.reason, l.decided_by, l.decided_at, l.created_at \
     FROM leads l JOIN outlets o ON o.id = l.outlet_id JOIN facilities f ON f.id = o.facility_id WHERE 1=1";

/// Filters of the queue; empty strings mean "any", as HTML forms send them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct LeadFilter {
    /// A city or county code inside the caller's scope.
    pub region: Option<String>,
    /// The facility's industry, as registered (火力发电, 污水处理, …).
    pub industry: Option<String>,
    /// A signature id (constant_value, dilution, …).
    pub signature: Option<String>,
    /// Lowest score, 0 to 1.
    pub min_score: Option<String>,
    /// open (default), accepted, dismissed or all.
    pub status: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
}

pub const PAGE_SIZE: i64 = 50;

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// One page of leads in scope, highest score first; and whether there is a next page.
pub async fn list(
    db: &Db,
    org: &Org,
    scope: &Scope,
    f: &LeadFilter,
) -> Result<(Vec<LeadRow>, bool)> {
    let mut sql = Sql::new(LEAD_SELECT);
    sql.scope(scope, "l");
    if let Some(region) = nonempty(&f.region).and_then(|r| org.region(r)) {
        match region.level {
            Level::Province => {}
            Level::City => {
                sql.push(" AND l.city_code = ").bind(region.code.as_str());
            }
            Level::County => {
                sql.push(" AND l.region_code = ").bind(region.code.as_str());
            }
        }
    }
    if let Some(i) = nonempty(&f.industry) {
        sql.push(" AND l.industry = ").bind(i);
    }
    if let Some(s) = nonempty(&f.signature) {
        sql.push(
            " AND EXISTS (SELECT 1 FROM lead_findings x WHERE x.lead_id = l.id AND x.signature = ",
        )
        .bind(s)
        .push(")");
    }
    if let Some(m) = nonempty(&f.min_score).and_then(|m| m.parse::<f64>().ok()) {
        sql.push(" AND l.score >= ").bind(to_milli(m));
    }
    match nonempty(&f.status) {
        Some("all") => {}
        Some(s) => {
            sql.push(" AND l.status = ").bind(s);
        }
        None => {
            sql.push(" AND l.status = ").bind(Status::Open.as_str());
        }
    }
    sql.fetch_page(db, "l.score DESC, l.id", f.page, PAGE_SIZE)
        .await
}

/// The industries of leads in scope, for the queue's filter.
pub async fn industries(db: &Db, scope: &Scope) -> Result<Vec<String>> {
    let mut sql = Sql::new("SELECT DISTINCT l.industry AS v FROM leads l WHERE 1=1");
    sql.scope(scope, "l");
    sql.push(" ORDER BY v");
    let rows: Vec<(String,)> = sql.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Why a lead could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("线索不存在")]
    NotFound,
    /// The lead exists but lies outside the caller's scope.
    #[error("无权访问其他地区的线索")]
    OutOfScope,
    #[error("该线索已处理（{0}），不能再次处理")]
    Decided(&'static str),
    #[error("请填写排除理由")]
    NoReason,
    #[error("立案信息有误")]
    Case(Vec<intake::FieldError>),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for LeadError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => LeadError::NotFound,
            StoreError::OutOfScope => LeadError::OutOfScope,
            e => LeadError::Store(e),
        }
    }
}

impl From<sqlx::Error> for LeadError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// A lead with its findings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadRow,
    pub findings: Vec<FindingRow>,
}

/// A lead in scope.
pub async fn get_row(db: &Db, scope: &Scope, id: i64) -> std::result::Result<LeadRow, LeadError> {
    let mut sql = Sql::new(LEAD_SELECT);
    sql.push(" AND l.id = ").bind(id);
    Ok(sql.fetch_in_scope(db, scope).await?)
}

/// A lead in scope with its findings, highest score first.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> std::result::Result<LeadDetail, LeadError> {
    let lead = get_row(db, scope, id).await?;
    let findings = sqlx::query_as(
        "SELECT id, lead_id, factor, signature, start_ts, end_ts, score, explanation, evidence \
         FROM lead_findings WHERE lead_id = $1 ORDER BY score DESC, id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(LeadDetail { lead, findings })
}

/// The lead a case was accepted from, if any (the case page links back to it).
pub async fn for_case(db: &Db, case_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM leads WHERE case_id = $1 ORDER BY id LIMIT 1")
            .bind(case_id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Every suppression, as the screening engine reads them.
pub async fn dismissals(db: &Db) -> Result<Vec<screen::leads::Dismissal>> {
    let rows = sqlx::query("SELECT mn, signature, factor, start_ts, end_ts FROM suppressions")
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let sig: String = r.try_get(1)?;
        let Some(signature) = screen::Signature::from_id(&sig) else {
            continue;
        };
        out.push(screen::leads::Dismissal {
            mn: r.try_get(0)?,
            signature,
            factor: r.try_get(2)?,
            start: r.try_get(3)?,
            end: r.try_get(4)?,
        });
    }
    Ok(out)
}

/// Where a screened outlet sits in the registry.
#[derive(Debug, Clone)]
pub struct OutletRef {
    pub outlet_id: i64,
    pub region_code: String,
    pub city_code: String,
    /// As registered (the facility's industry).
    pub industry: String,
}

/// What saving a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Saved {
    pub created: usize,
    pub updated: usize,
    /// Leads of the period already accepted or dismissed: left as they are.
    pub decided: usize,
}

/// Stores a run's leads for the period: a new lead per outlet, or the open lead of the same
/// outlet and period updated (re-screening never duplicates). Decided leads stay as they are.
pub async fn save_run(
    db: &Db,
    actor: &str,
    period: (chrono::NaiveDate, chrono::NaiveDate),
    outlets: &HashMap<String, OutletRef>,
    leads: &[screen::leads::Lead],
) -> Result<Saved> {
    let (from, to) = (period.0.to_string(), period.1.to_string());
    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let mut audit = Appender::start(&mut w.tx).await?;
    let mut saved = Saved::default();
    for lead in leads {
        let Some(o) = outlets.get(&lead.mn) else {
            continue;
        };
        let existing = sqlx::query(
            "SELECT id, status, score FROM leads WHERE outlet_id = $1 AND period_from = $2 AND period_to = $3",
        )
        .bind(o.outlet_id)
        .bind(&from)
        .bind(&to)
        .fetch_optional(&mut *w.tx)
        .await?;
        let score = to_milli(lead.score);
        let signatures = lead
            .signatures()
            .iter()
            .map(|s| s.id())
            .collect::<Vec<_>>()
            .join(",");
        let (start_at, end_at) = (
            screen::finding::iso(lead.start),
            screen::finding::iso(lead.end),
        );
        let after = serde_json::json!({
            "mn": lead.mn, "period_from": from, "period_to": to, "score": score,
            "signatures": signatures, "status": Status::Open.as_str(),
        });
        let (id, before) = match existing {
            Some(r) => {
                let id: i64 = r.try_get(0)?;
                let status: String = r.try_get(1)?;
                if status != Status::Open.as_str() {
                    saved.decided += 1;
                    continue;
                }
                let old_score: i64 = r.try_get(2)?;
                sqlx::query(
                    "UPDATE leads SET start_at = $1, end_at = $2, score = $3, signatures = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(&start_at)
                .bind(&end_at)
                .bind(score)
                .bind(&signatures)
                .bind(&now)
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
                sqlx::query("DELETE FROM lead_findings WHERE lead_id = $1")
                    .bind(id)
                    .execute(&mut *w.tx)
                    .await?;
                saved.updated += 1;
                (id, Some(serde_json::json!({"score": old_score})))
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO leads (outlet_id, mn, region_code, city_code, industry, period_from, period_to, \
                     start_at, end_at, score, signatures, status, created_at, updated_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13) RETURNING id",
                )
                .bind(o.outlet_id)
                .bind(&lead.mn)
                .bind(&o.region_code)
                .bind(&o.city_code)
                .bind(&o.industry)
                .bind(&from)
                .bind(&to)
                .bind(&start_at)
                .bind(&end_at)
                .bind(score)
                .bind(&signatures)
                .bind(Status::Open.as_str())
                .bind(&now)
                .fetch_one(&mut *w.tx)
                .await?;
                saved.created += 1;
                (id, None)
            }
        };
        for f in &lead.findings {
            sqlx::query(
                "INSERT INTO lead_findings (lead_id, factor, signature, start_ts, end_ts, score, explanation, evidence) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            )
            .bind(id)
            .bind(f.factor.as_deref())
            .bind(f.signature.id())
            .bind(f.start)
            .bind(f.end)
            .bind(to_milli(f.score))
            .bind(&f.explanation)
            .bind(f.evidence.to_string())
            .execute(&mut *w.tx)
            .await?;
        }
        audit
            .append(
                &mut w.tx,
                &Change {
                    actor,
                    action: if before.is_some() {
                        "rescreen"
                    } else {
                        "create"
                    },
                    entity: "lead",
                    entity_id: id.to_string(),
                    before,
                    after: Some(after),
                },
            )
            .await?;
    }
    w.commit().await?;
    Ok(saved)
}

/// What the analyst types when accepting a lead: the officers who take the case (two or more
/// certificate numbers) and, optionally, the violation as the case will record it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AcceptInput {
    #[serde(default)]
    pub officers: String,
    #[serde(default)]
    pub violation: String,
}

/// Accepts an open lead into a new case (source: off-site screening), linking the two, in one
/// transaction with both audit entries. Returns the case id.
pub async fn accept(
    db: &Db,
    org: &Org,
    scope: &Scope,
    actor: &str,
    id: i64,
    input: &AcceptInput,
) -> std::result::Result<i64, LeadError> {
    let lead = get_row(db, scope, id).await?;
    if !lead.is_open() {
        return Err(LeadError::Decided(lead.status_label()));
    }
    let violation = match input.violation.trim() {
        "" => format!(
            "涉嫌篡改、伪造自动监测数据（非现场筛查线索 #{}：{}，{} {}）",
            lead.id,
            lead.signature_labels(),
            lead.outlet_name,
            lead.mn
        ),
        v => v.to_owned(),
    };
    let case = NewCase {
        region_code: lead.region_code.clone(),
        facility_name: lead.facility_name.clone(),
        credit_code: lead.credit_code.clone(),
        industry: lead.industry.clone(),
        source: CaseSource::OffSiteScreening.as_str().to_owned(),
        violation,
        discovered_on: clock::today().to_string(),
        officers: input.officers.clone(),
        tags: Tag::MonitoringFraud.as_str().to_owned(),
        ..NewCase::default()
    };
    let checked = match intake::check(db, org, scope, std::slice::from_ref(&case)).await {
        Ok(c) => c,
        Err(IntakeError::Invalid(es)) => {
            return Err(LeadError::Case(es.into_iter().map(|(_, e)| e).collect()));
        }
        Err(IntakeError::Store(e)) => return Err(e.into()),
    };
    let mut w = db.write().await?;
    let mut audit = Appender::start(&mut w.tx).await?;
    let case_id = match intake::write_checked(db, &mut w, &mut audit, actor, checked).await {
        Ok(ids) => ids[0],
        Err(IntakeError::Invalid(es)) => {
            return Err(LeadError::Case(es.into_iter().map(|(_, e)| e).collect()));
        }
        Err(IntakeError::Store(e)) => return Err(e.into()),
    };
    let after = serde_json::json!({"status": Status::Accepted.as_str(), "case_id": case_id});
    decide(
        &mut w,
        &mut audit,
        actor,
        id,
        (Status::Accepted, Some(case_id), ""),
        after,
    )
    .await?;
    w.commit().await?;
    Ok(case_id)
}

/// Dismisses an open lead with a reason; each of its findings becomes a suppression of the
/// same signature and factor on that outlet over the finding's window, so screening the
/// period again does not raise it.
pub async fn dismiss(
    db: &Db,
    scope: &Scope,
    actor: &str,
    id: i64,
    reason: &str,
) -> std::result::Result<(), LeadError> {
    let lead = get_row(db, scope, id).await?;
    if !lead.is_open() {
        return Err(LeadError::Decided(lead.status_label()));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(LeadError::NoReason);
    }
    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let mut audit = Appender::start(&mut w.tx).await?;
    let suppressed = sqlx::query(
        "INSERT INTO suppressions (outlet_id, mn, signature, factor, start_ts, end_ts, lead_id, reason, created_by, created_at) \
         SELECT $1, $2, signature, factor, start_ts, end_ts, lead_id, $3, $4, $5 FROM lead_findings WHERE lead_id = $6",
    )
    .bind(lead.outlet_id)
    .bind(&lead.mn)
    .bind(reason)
    .bind(actor)
    .bind(&now)
    .bind(id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    let after = serde_json::json!({
        "status": Status::Dismissed.as_str(), "reason": reason, "suppressions": suppressed,
    });
    decide(
        &mut w,
        &mut audit,
        actor,
        id,
        (Status::Dismissed, None, reason),
        after,
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// Moves an open lead to `to` (with its case or the reason) and records the change in the
/// audit log, inside the caller's write transaction. Fails if someone decided it meanwhile.
async fn decide(
    w: &mut crate::store::WriteTx,
    audit: &mut Appender,
    actor: &str,
    id: i64,
    (to, case_id, reason): (Status, Option<i64>, &str),
    after: serde_json::Value,
) -> std::result::Result<(), LeadError> {
    let now = clock::now_rfc3339();
    let changed = sqlx::query(
        "UPDATE leads SET status = $1, case_id = $2, reason = $3, decided_by = $4, decided_at = $5, \
         updated_at = $5 WHERE id = $6 AND status = $7",
    )
    .bind(to.as_str())
    .bind(case_id)
    .bind(reason)
    .bind(actor)
    .bind(&now)
    .bind(id)
    .bind(Status::Open.as_str())
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(LeadError::Decided("已被他人处理"));
    }
    let action = match to {
        Status::Accepted => "accept",
        Status::Dismissed => "dismiss",
        Status::Open => "reopen",
    };
    audit
        .append(
            &mut w.tx,
            &Change {
                actor,
                action,
                entity: "lead",
                entity_id: id.to_string(),
                before: Some(serde_json::json!({"status": Status::Open.as_str()})),
                after: Some(after),
            },
        )
        .await?;
    Ok(())
}
