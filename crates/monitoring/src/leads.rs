//! Screening leads (线索) in the store: what `ecowarden screen` found, per outlet and period,
//! the analyst's decision (accept into a case, or dismiss with a reason) and the suppressions
//! a dismissal leaves behind, until one is lifted. Every read is scoped by the caller's
//! [`Scope`]; every change of a lead or a suppression and its audit entry commit in one write
//! transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use ecowarden_core::audit_log::{Appender, Change};
use ecowarden_core::clock;
use ecowarden_core::org::Org;
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::store::{Db, Result, Sql, StoreError, in_region};
use ecowarden_ledger::cases::intake::{self, IntakeError, NewCase};
use ecowarden_ledger::cases::{CaseSource, vocab::Tag};

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

in_region!(LeadRow);

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

/// What a lead's finding and a suppression (written for one) both are: a signature and a
/// factor over a window; and how pages name them.
pub trait FindingLabels {
    /// The signature id, the factor (`None`: outlet-wide) and the window.
    fn subject(&self) -> (&str, Option<&str>, i64, i64);

    fn signature_label(&self) -> String {
        signature_label(self.subject().0)
    }
    /// `二氧化硫(a21026)`, or 整个排放口 for an outlet-wide finding.
    fn factor_label(&self) -> String {
        self.subject()
            .1
            .map_or("整个排放口".to_owned(), screen::finding::factor_label)
    }
    fn window(&self) -> String {
        let (_, _, start, end) = self.subject();
        screen::finding::zh_window(start, end)
    }
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
    /// Stored as JSON text; answered as the JSON object it holds.
    #[schema(value_type = Object)]
    #[serde(serialize_with = "json_text")]
    pub evidence: String,
}

/// Serializes JSON text as the value it holds (text that is not JSON as a string).
fn json_text<S: serde::Serializer>(text: &str, s: S) -> std::result::Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.serialize(s),
        Err(_) => s.serialize_str(text),
    }
}

impl FindingLabels for FindingRow {
    fn subject(&self) -> (&str, Option<&str>, i64, i64) {
        (
            &self.signature,
            self.factor.as_deref(),
            self.start_ts,
            self.end_ts,
        )
    }
}

impl FindingRow {
    pub fn score_text(&self) -> String {
        format!("{:.2}", self.score as f64 / 1000.0)
    }
}

/// How long a dismissal suppresses the same finding on that outlet (屏蔽范围). Analysts mostly
/// dismiss for a known, lasting cause, hence the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Extent {
    /// The finding's own window: re-screening that period stays quiet, a new episode is raised.
    Window,
    /// Ninety days from the start of the finding's window.
    Days90,
    /// Until lifted.
    #[default]
    Lasting,
}

impl Extent {
    pub const ALL: [Extent; 3] = [Extent::Window, Extent::Days90, Extent::Lasting];
    const DAYS90: i64 = 90 * 86_400;
    pub fn as_str(self) -> &'static str {
        match self {
            Extent::Window => "window",
            Extent::Days90 => "days90",
            Extent::Lasting => "lasting",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Extent::Window => "仅本线索时段",
            Extent::Days90 => "自该时段起 90 天",
            Extent::Lasting => "长期（直至撤销）",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    /// Where a suppression of a finding's window ends (exclusive); `None`: until lifted.
    pub fn until(self, start_ts: i64, end_ts: i64) -> Option<i64> {
        match self {
            Extent::Window => Some(end_ts),
            Extent::Days90 => Some(start_ts + Self::DAYS90),
            Extent::Lasting => None,
        }
    }
    /// The extent a suppression of the window ending at `end_ts` was written with (rows
    /// written before extents existed end with their window).
    pub fn of(end_ts: i64, until_ts: Option<i64>) -> Self {
        match until_ts {
            None => Extent::Lasting,
            Some(u) if u == end_ts => Extent::Window,
            Some(_) => Extent::Days90,
        }
    }
}

/// A suppression (屏蔽) a dismissal wrote, as its page and the API show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SuppressionRow {
    pub id: i64,
    pub outlet_id: i64,
    pub mn: String,
    pub outlet_name: String,
    pub facility_name: String,
    /// The facility's county and city (scope).
    pub region_code: String,
    pub city_code: String,
    pub signature: String,
    /// Null: outlet-wide.
    pub factor: Option<String>,
    /// The dismissed finding's window, Unix seconds.
    pub start_ts: i64,
    pub end_ts: i64,
    /// Where the suppression ends (exclusive); null: until lifted.
    pub until_ts: Option<i64>,
    /// The dismissed lead.
    pub lead_id: Option<i64>,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
    pub lifted_at: Option<String>,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
}

in_region!(SuppressionRow);

impl FindingLabels for SuppressionRow {
    fn subject(&self) -> (&str, Option<&str>, i64, i64) {
        (
            &self.signature,
            self.factor.as_deref(),
            self.start_ts,
            self.end_ts,
        )
    }
}

impl SuppressionRow {
    pub fn extent(&self) -> Extent {
        Extent::of(self.end_ts, self.until_ts)
    }
    /// 屏蔽至: the end, or 长期.
    pub fn until_text(&self) -> String {
        self.until_ts
            .map_or("长期".to_owned(), screen::finding::zh_time)
    }
    pub fn is_lifted(&self) -> bool {
        self.lifted_at.is_some()
    }
    pub fn status_label(&self) -> &'static str {
        if self.is_lifted() {
            "已撤销"
        } else {
            "生效"
        }
    }
    pub fn created_text(&self) -> String {
        clock::display_instant(&self.created_at)
    }
    pub fn lifted_text(&self) -> String {
        self.lifted_at
            .as_deref()
            .map(clock::display_instant)
            .unwrap_or_default()
    }
    /// What it keeps quiet and until when, for the message after a dismissal.
    pub fn summary(&self) -> String {
        let until = match self.until_ts {
            Some(t) => format!("至 {}", screen::finding::zh_time(t)),
            None => Extent::Lasting.label().to_owned(),
        };
        format!(
            "{} · {}，{until}",
            self.signature_label(),
            self.factor_label()
        )
    }
}

const SUPPRESSION_SELECT: &str = "SELECT s.id, s.outlet_id, s.mn, o.name AS outlet_name, \
     f.name AS facility_name, f.region_code, f.city_code, s.signature, s.factor, s.start_ts, s.end_ts, \
     s.until_ts, s.lead_id, s.reason, s.created_by, s.created_at, s.lifted_at, s.lifted_by, s.lift_reason \
     FROM suppressions s JOIN outlets o ON o.id = s.outlet_id JOIN facilities f ON f.id = o.facility_id \
     WHERE 1=1";

/// Paging of the suppressions page.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuppressionFilter {
    /// 1-based page number.
    pub page: Option<i64>,
}

/// One page of suppressions of outlets in scope, newest first; and whether there is a next
/// page.
pub async fn suppressions(
    db: &Db,
    scope: &Scope,
    f: &SuppressionFilter,
) -> Result<(Vec<SuppressionRow>, bool)> {
    let mut sql = Sql::new(SUPPRESSION_SELECT);
    sql.scope(scope, "f");
    sql.fetch_page(db, "s.id DESC", f.page, PAGE_SIZE).await
}

const LEAD_SELECT: &str = "SELECT l.id, l.outlet_id, l.mn, o.name AS outlet_name, f.name AS facility_name, \
     f.credit_code, l.region_code, l.city_code, l.industry, l.period_from, l.period_to, l.start_at, l.end_at, \
     l.score, l.signatures, l.status, l.case_id, l.reason, l.decided_by, l.decided_at, l.created_at \
     FROM leads l JOIN outlets o ON o.id = l.outlet_id JOIN facilities f ON f.id = o.facility_id WHERE 1=1";

/// Filters of the queue; empty strings mean "any", as HTML forms send them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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

/// One page of leads in an area, highest score first; and whether there is a next page.
/// `f.region` is resolved by the caller into `area` (`Scope::area`).
pub async fn list(db: &Db, area: &Area, f: &LeadFilter) -> Result<(Vec<LeadRow>, bool)> {
    let mut sql = Sql::new(LEAD_SELECT);
    sql.scope(area, "l");
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

/// How many leads of an area are open (awaiting a decision).
pub async fn open_count(db: &Db, area: &Area) -> Result<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM leads l WHERE l.status = ");
    sql.bind(Status::Open.as_str());
    sql.scope(area, "l");
    sql.fetch_scalar(db).await
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
    #[error(
        "屏蔽范围“{0}”无效，应为仅本线索时段（window）、自该时段起 90 天（days90）或长期（lasting）"
    )]
    Extent(String),
    #[error("屏蔽记录不存在")]
    NoSuppression,
    #[error("请填写撤销理由")]
    NoLiftReason,
    #[error("该屏蔽已撤销")]
    Lifted,
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

/// A lead with its findings and, once dismissed, the suppressions it left.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadRow,
    pub findings: Vec<FindingRow>,
    pub suppressions: Vec<SuppressionRow>,
}

impl LeadDetail {
    /// The extent the lead was dismissed with (one for all its suppressions).
    pub fn extent(&self) -> Option<Extent> {
        self.suppressions.first().map(SuppressionRow::extent)
    }
    /// How many of its suppressions were lifted.
    pub fn lifted(&self) -> usize {
        self.suppressions.iter().filter(|s| s.is_lifted()).count()
    }
}

/// A lead in scope.
pub async fn get_row(db: &Db, scope: &Scope, id: i64) -> std::result::Result<LeadRow, LeadError> {
    let mut sql = Sql::new(LEAD_SELECT);
    sql.push(" AND l.id = ").bind(id);
    Ok(sql.fetch_in_scope(db, scope).await?)
}

/// A lead in scope with its findings, highest score first, and its suppressions.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> std::result::Result<LeadDetail, LeadError> {
    let lead = get_row(db, scope, id).await?;
    let findings = sqlx::query_as(
        "SELECT id, lead_id, factor, signature, start_ts, end_ts, score, explanation, evidence \
         FROM lead_findings WHERE lead_id = $1 ORDER BY score DESC, id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let suppressions = suppressions_of(db, id).await?;
    Ok(LeadDetail {
        lead,
        findings,
        suppressions,
    })
}

/// The suppressions a lead's dismissal wrote (the caller has checked the lead's scope).
async fn suppressions_of(db: &Db, lead_id: i64) -> Result<Vec<SuppressionRow>> {
    let mut sql = Sql::new(SUPPRESSION_SELECT);
    sql.push(" AND s.lead_id = ")
        .bind(lead_id)
        .push(" ORDER BY s.id");
    sql.fetch_all(db).await
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

/// Every suppression not lifted, as the screening engine reads them.
pub async fn dismissals(db: &Db) -> Result<Vec<screen::leads::Dismissal>> {
    let rows = sqlx::query(
        "SELECT mn, signature, factor, start_ts, until_ts FROM suppressions WHERE lifted_at IS NULL",
    )
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Saved {
    pub created: usize,
    pub updated: usize,
    /// Leads of the period already accepted or dismissed: left as they are.
    pub decided: usize,
    /// The leads created or updated, in rank order.
    pub ids: Vec<i64>,
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
    let mut audit = Appender::start(&mut w).await?;
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
        saved.ids.push(id);
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
            .bind(f.evidence.as_str())
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
    let mut audit = Appender::start(&mut w).await?;
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

/// What the analyst gives when dismissing a lead: the reason and how long the suppression
/// lasts (`window`, `days90` or `lasting`; absent: lasting).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DismissInput {
    #[serde(default)]
    pub reason: String,
    pub extent: Option<String>,
}

/// Dismisses an open lead with a reason; each of its findings becomes a suppression of the
/// same signature and factor on that outlet from the finding's window on, as far as the
/// chosen extent reaches, so screening does not raise it again. Returns the suppressions.
pub async fn dismiss(
    db: &Db,
    scope: &Scope,
    actor: &str,
    id: i64,
    input: &DismissInput,
) -> std::result::Result<Vec<SuppressionRow>, LeadError> {
    let lead = get_row(db, scope, id).await?;
    if !lead.is_open() {
        return Err(LeadError::Decided(lead.status_label()));
    }
    let extent = match input.extent.as_deref() {
        None => Extent::default(),
        Some(e) => Extent::parse(e).ok_or_else(|| LeadError::Extent(e.to_owned()))?,
    };
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(LeadError::NoReason);
    }
    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let mut audit = Appender::start(&mut w).await?;
    // Read inside the transaction: a re-screening may replace an open lead's findings.
    let findings: Vec<(String, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT signature, factor, start_ts, end_ts FROM lead_findings WHERE lead_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *w.tx)
    .await?;
    for (signature, factor, start_ts, end_ts) in &findings {
        sqlx::query(
            "INSERT INTO suppressions (outlet_id, mn, signature, factor, start_ts, end_ts, until_ts, lead_id, \
             reason, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(lead.outlet_id)
        .bind(&lead.mn)
        .bind(signature)
        .bind(factor.as_deref())
        .bind(*start_ts)
        .bind(*end_ts)
        .bind(extent.until(*start_ts, *end_ts))
        .bind(id)
        .bind(reason)
        .bind(actor)
        .bind(&now)
        .execute(&mut *w.tx)
        .await?;
    }
    let after = serde_json::json!({
        "status": Status::Dismissed.as_str(), "reason": reason, "extent": extent.as_str(),
        "suppressions": findings.len(),
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
    Ok(suppressions_of(db, id).await?)
}

/// Lifts a suppression in scope with a reason, so the next screening raises its finding again;
/// the row stays, with who lifted it, when and why, and the audit log has the change.
pub async fn lift(
    db: &Db,
    scope: &Scope,
    actor: &str,
    id: i64,
    reason: &str,
) -> std::result::Result<SuppressionRow, LeadError> {
    let mut sql = Sql::new(SUPPRESSION_SELECT);
    sql.push(" AND s.id = ").bind(id);
    let row: SuppressionRow = sql.fetch_in_scope(db, scope).await.map_err(|e| match e {
        StoreError::NotFound => LeadError::NoSuppression,
        e => e.into(),
    })?;
    if row.is_lifted() {
        return Err(LeadError::Lifted);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(LeadError::NoLiftReason);
    }
    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let mut audit = Appender::start(&mut w).await?;
    let changed = sqlx::query(
        "UPDATE suppressions SET lifted_at = $1, lifted_by = $2, lift_reason = $3 \
         WHERE id = $4 AND lifted_at IS NULL",
    )
    .bind(&now)
    .bind(actor)
    .bind(reason)
    .bind(id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(LeadError::Lifted);
    }
    audit
        .append(
            &mut w.tx,
            &Change {
                actor,
                action: "lift",
                entity: "suppression",
                entity_id: id.to_string(),
                before: Some(serde_json::json!({
                    "mn": row.mn, "signature": row.signature, "factor": row.factor,
                    "until_ts": row.until_ts, "lifted": false,
                })),
                after: Some(serde_json::json!({"lifted": true, "reason": reason})),
            },
        )
        .await?;
    w.commit().await?;
    Ok(SuppressionRow {
        lifted_at: Some(now),
        lifted_by: Some(actor.to_owned()),
        lift_reason: Some(reason.to_owned()),
        ..row
    })
}

/// Moves an open lead to `to` (with its case or the reason) and records the change in the
/// audit log, inside the caller's write transaction. Fails if someone decided it meanwhile.
async fn decide(
    w: &mut ecowarden_core::store::WriteTx,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extent_reads_back_from_the_suppression_it_wrote() {
        for e in Extent::ALL {
            assert_eq!(Extent::of(200, e.until(100, 200)), e);
            assert_eq!(Extent::parse(e.as_str()), Some(e));
        }
        assert_eq!(Extent::Days90.until(100, 200), Some(100 + 90 * 86_400));
        assert_eq!(Extent::parse("forever"), None);
    }
}
