//! Inspection audits (稽查): an audit plan for a unit, its checklists, the platform-data
//! comparison, findings graded 符合 / 需关注 / 需改进 with evidence, and rectification items
//! tracked to closure (the EPA State Review Framework's finding levels and recommendation
//! tracking, §5.1).
//!
//! The comparison rules are one pure function, [`compare`], over facts read from the ledger
//! and the monitoring archive ([`LeadFact`], [`CaseFact`], [`OutletFact`]); the archive's
//! part (days over the limit, frames in a lead's windows) is counted by the caller, which
//! may read it, and passed in. Every change goes through the audit log.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::clock;
use ecowarden_core::config::InspectionSettings;
use ecowarden_core::org::Org;
use ecowarden_core::scan::fold;
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Sql, StoreError, WriteTx};

use ecowarden_monitoring::screening::{self, Commands, Registered};

use crate::review::ReviewError;

type Result<T, E = ReviewError> = std::result::Result<T, E>;

/// A screening lead, as the comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFact {
    pub id: i64,
    pub outlet_id: i64,
    /// The unit (county or city code) the lead is scoped to.
    pub region_code: String,
    /// open | accepted | dismissed
    pub status: String,
    pub case_id: Option<i64>,
    pub signatures: Vec<String>,
    pub period_from: NaiveDate,
    pub created_on: NaiveDate,
    /// Frames the archive holds in the windows of the lead's findings.
    pub frames: u64,
}

/// A case, as the comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFact {
    pub id: i64,
    pub case_no: String,
    /// The unit that handles the case.
    pub region_code: String,
    pub facility_id: i64,
    /// The case source code (`off_site_screening`, …).
    pub source: String,
    pub closed_on: Option<NaiveDate>,
}

/// An outlet and the days of the period its daily values exceeded the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct OutletFact {
    pub id: i64,
    pub facility_id: i64,
    /// The unit the outlet's facility is registered in.
    pub region_code: String,
    pub name: String,
    pub exceedance_days: u32,
}

/// The comparison rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[schema(as = ComparisonRule)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A screening lead left open longer than the follow-up limit, or accepted without a case.
    UnfollowedLead,
    /// A case closed while its outlet still shows the signature that opened it.
    ClosedStillSignalling,
    /// An outlet over its limit on repeated days with no case against its facility.
    ExceedancesWithoutCase,
    /// A case from an off-site lead whose evidence frames are missing.
    MissingEvidence,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::UnfollowedLead,
        Rule::ClosedStillSignalling,
        Rule::ExceedancesWithoutCase,
        Rule::MissingEvidence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::UnfollowedLead => "unfollowed_lead",
            Rule::ClosedStillSignalling => "closed_still_signalling",
            Rule::ExceedancesWithoutCase => "exceedances_without_case",
            Rule::MissingEvidence => "missing_evidence",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rule::UnfollowedLead => "筛查线索未跟进",
            Rule::ClosedStillSignalling => "结案后排放口仍现同类特征",
            Rule::ExceedancesWithoutCase => "反复超标未立案",
            Rule::MissingEvidence => "非现场线索案件证据报文缺失",
        }
    }

    /// The grade a finding of this rule proposes.
    pub fn grade(self) -> Grade {
        match self {
            Rule::ExceedancesWithoutCase => Grade::Attention,
            _ => Grade::Improvement,
        }
    }
}

/// A finding's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Meets,
    Attention,
    Improvement,
}

impl Grade {
    pub const ALL: [Grade; 3] = [Grade::Meets, Grade::Attention, Grade::Improvement];

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Meets => "meets",
            Grade::Attention => "attention",
            Grade::Improvement => "improvement",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grade::Meets => "符合",
            Grade::Attention => "需关注",
            Grade::Improvement => "需改进",
        }
    }

    pub fn parse(s: &str) -> Option<Grade> {
        Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == s || g.label() == s)
    }
}

/// The limits the rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// An open lead older than this many days is not followed up.
    pub lead_days: i64,
    /// An outlet over its limit on at least this many days needs a case.
    pub exceedance_days: u32,
}

impl From<&InspectionSettings> for Thresholds {
    fn from(s: &InspectionSettings) -> Self {
        Thresholds {
            lead_days: s.lead_days,
            exceedance_days: s.exceedance_days,
        }
    }
}

/// One mismatch between the ledger and the platform's data.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ComparisonMismatch)]
pub struct Mismatch {
    pub rule: Rule,
    /// The unit it is found in (the lead's, the case's, the outlet's), so an overview of
    /// many units says whose it is.
    pub region_code: String,
    /// What it is about (a case number, a lead, an outlet), for the finding's title.
    pub subject: String,
    /// Why, with the figures, for the finding's evidence.
    pub evidence: String,
}

/// The platform-data comparison: every mismatch of the four rules, in rule order.
pub fn compare(
    leads: &[LeadFact],
    cases: &[CaseFact],
    outlets: &[OutletFact],
    as_of: NaiveDate,
    t: Thresholds,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let case_by_id: HashMap<i64, &CaseFact> = cases.iter().map(|c| (c.id, c)).collect();

    // 1. Leads never followed up.
    for l in leads {
        let age = (as_of - l.created_on).num_days();
        if l.status == "open" && age > t.lead_days {
            out.push(Mismatch {
                rule: Rule::UnfollowedLead,
                region_code: l.region_code.clone(),
                subject: format!("线索 {}", l.id),
                evidence: format!(
                    "线索生成于 {}，至 {as_of} 已 {age} 天未处理（超过 {} 天）",
                    l.created_on, t.lead_days
                ),
            });
        } else if l.status == "accepted" && l.case_id.is_none() {
            out.push(Mismatch {
                rule: Rule::UnfollowedLead,
                region_code: l.region_code.clone(),
                subject: format!("线索 {}", l.id),
                evidence: "线索已受理但未关联立案".into(),
            });
        }
    }

    // 2. Cases closed while the outlet still shows the signature that opened them.
    let mut by_outlet: HashMap<i64, Vec<&LeadFact>> = HashMap::new();
    for l in leads {
        by_outlet.entry(l.outlet_id).or_default().push(l);
    }
    for l in leads {
        let Some(c) = l.case_id.and_then(|id| case_by_id.get(&id)) else {
            continue;
        };
        let Some(closed) = c.closed_on else { continue };
        let later = by_outlet[&l.outlet_id].iter().find(|m| {
            m.id != l.id
                && m.period_from > closed
                && m.signatures.iter().any(|s| l.signatures.contains(s))
        });
        if let Some(m) = later {
            let shared: Vec<&str> = m
                .signatures
                .iter()
                .filter(|s| l.signatures.contains(s))
                .map(String::as_str)
                .collect();
            out.push(Mismatch {
                rule: Rule::ClosedStillSignalling,
                region_code: c.region_code.clone(),
                subject: c.case_no.clone(),
                evidence: format!(
                    "案件 {} 于 {closed} 结案，其后线索 {}（{} 起）仍显示同类特征 {}",
                    c.case_no,
                    m.id,
                    m.period_from,
                    shared.join("、")
                ),
            });
        }
    }

    // 3. Outlets with repeated exceedances and no case against their facility.
    let with_case: HashSet<i64> = cases.iter().map(|c| c.facility_id).collect();
    for o in outlets {
        if o.exceedance_days >= t.exceedance_days && !with_case.contains(&o.facility_id) {
            out.push(Mismatch {
                rule: Rule::ExceedancesWithoutCase,
                region_code: o.region_code.clone(),
                subject: format!("排放口 {}", o.name),
                evidence: format!(
                    "期内 {} 天日均值超过排放限值（阈值 {} 天），该单位期内无立案",
                    o.exceedance_days, t.exceedance_days
                ),
            });
        }
    }

    // 4. Cases from off-site leads whose evidence frames are missing.
    let mut lead_of: HashMap<i64, &LeadFact> = HashMap::new();
    for l in leads {
        if let Some(c) = l.case_id {
            lead_of.insert(c, l);
        }
    }
    for c in cases.iter().filter(|c| c.source == "off_site_screening") {
        let why = match lead_of.get(&c.id) {
            None => "案件来源为非现场筛查线索，但平台无对应线索".to_owned(),
            Some(l) if l.frames == 0 => {
                format!("对应线索 {} 的特征时段内，原始报文存证中无报文", l.id)
            }
            Some(_) => continue,
        };
        out.push(Mismatch {
            rule: Rule::MissingEvidence,
            region_code: c.region_code.clone(),
            subject: c.case_no.clone(),
            evidence: why,
        });
    }
    out
}

/// Whether a rectification may be closed: only with evidence of the fix.
pub fn may_close(evidence: &str) -> std::result::Result<(), String> {
    if evidence.trim().is_empty() {
        Err("整改销号须提供整改证据".into())
    } else {
        Ok(())
    }
}

/// Whether an audit may be closed (结束稽查): every checklist item done, every finding other
/// than 符合 with a rectification item, and every rectification item closed (销号), so that
/// no finding is left without its fix tracked to the end.
pub fn may_close_audit(
    checklist: &[ChecklistRow],
    findings: &[FindingRow],
    rectifications: &[RectificationRow],
) -> std::result::Result<(), String> {
    let undone = checklist.iter().filter(|c| c.done == 0).count();
    if undone > 0 {
        return Err(format!("核查清单尚有 {undone} 项未完成"));
    }
    if let Some(f) = findings.iter().find(|f| {
        f.grade != Grade::Meets.as_str() && !rectifications.iter().any(|r| r.finding_id == f.id)
    }) {
        return Err(format!("发现事项 {}（{}）尚无整改事项", f.id, f.title));
    }
    if let Some(r) = rectifications.iter().find(|r| r.closed_on.is_none()) {
        return Err(format!("整改事项 {}（{}）尚未销号", r.id, r.item));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The store.

/// Refuses a change to a closed audit, inside the change's transaction.
async fn ensure_open(w: &mut WriteTx, audit_id: i64) -> Result<()> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM audits WHERE id = $1")
        .bind(audit_id)
        .fetch_optional(&mut *w.tx)
        .await?;
    match status.as_deref() {
        None => Err(ReviewError::NotFound("没有此稽查".into())),
        Some(CLOSED) => Err(ReviewError::Invalid("该稽查已结束，不能再修改".into())),
        Some(_) => Ok(()),
    }
}

/// An audit's status once closed (`audits.status`: open | closed).
pub const CLOSED: &str = "closed";

/// Closes an audit when [`may_close_audit`] allows; a closed audit takes no more changes.
pub async fn close_audit(db: &Db, actor: &str, audit_id: i64) -> Result<()> {
    // Read under the write lock: no change can come between the check and the closing.
    let mut w = db.write().await?;
    ensure_open(&mut w, audit_id).await?;
    let (list, found, rects) = (
        checklist(db, audit_id).await?,
        findings(db, audit_id).await?,
        rectifications(db, audit_id).await?,
    );
    may_close_audit(&list, &found, &rects).map_err(ReviewError::Invalid)?;
    let today = clock::today().to_string();
    sqlx::query("UPDATE audits SET status = $1 WHERE id = $2")
        .bind(CLOSED)
        .bind(audit_id)
        .execute(&mut *w.tx)
        .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "close",
            entity: "audit",
            entity_id: audit_id.to_string(),
            before: Some(json!({"status": "open"})),
            after: Some(json!({"status": CLOSED, "closed_on": today})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// What an audit plan says.
#[derive(Debug, Clone, Default)]
pub struct AuditSpec {
    pub region_code: String,
    pub scope: String,
    pub period_from: String,
    pub period_to: String,
    /// Usernames, comma- or 、-separated.
    pub team: String,
    pub starts_on: String,
    pub ends_on: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Audit)]
pub struct AuditRow {
    pub id: i64,
    pub region_code: String,
    pub city_code: String,
    pub scope: String,
    pub period_from: String,
    pub period_to: String,
    pub team: String,
    pub starts_on: String,
    pub ends_on: String,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
}
ecowarden_core::store::in_region!(AuditRow);

impl AuditRow {
    pub fn is_closed(&self) -> bool {
        self.status == CLOSED
    }

    pub fn on_team(&self, username: &str) -> bool {
        self.team.split(',').any(|m| m == username)
    }
}

/// The checklist every audit starts with (files, interviews, site visits).
const CHECKLIST: &[(&str, &str)] = &[
    ("files", "抽查执法案卷，核对台账与卷宗一致"),
    ("files", "核对非现场线索的处置记录"),
    ("interviews", "访谈执法机构负责人"),
    ("interviews", "访谈一线执法人员"),
    ("site_visits", "现场核查重点排污单位整改情况"),
];

pub fn checklist_kind_label(kind: &str) -> &'static str {
    match kind {
        "files" => "查阅卷宗",
        "interviews" => "人员访谈",
        _ => "现场核查",
    }
}

fn date(s: &str, what: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ReviewError::Invalid(format!("{what}“{}”应为YYYY-MM-DD", s.trim())))
}

/// Plans an audit of a unit inside the creator's area, with the standard checklist.
pub async fn create_audit(
    db: &Db,
    org: &Org,
    area: &Area,
    actor: &str,
    spec: &AuditSpec,
) -> Result<i64> {
    let region = org
        .known(spec.region_code.trim())
        .map_err(ReviewError::Invalid)?;
    if !area.covers(&region.code, &region.city_code) {
        return Err(ReviewError::Forbidden(format!("无权稽查{}", region.name)));
    }
    let (from, to) = (
        date(&spec.period_from, "稽查期间起")?,
        date(&spec.period_to, "稽查期间止")?,
    );
    let (start, end) = (
        date(&spec.starts_on, "开始日期")?,
        date(&spec.ends_on, "结束日期")?,
    );
    if from > to || start > end {
        return Err(ReviewError::Invalid("起始日期不能晚于结束日期".into()));
    }
    let team: Vec<String> = spec
        .team
        .split([',', '，', '、', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if team.is_empty() {
        return Err(ReviewError::Invalid(
            "稽查组至少须有一名成员（填写用户名）".into(),
        ));
    }
    for m in &team {
        if ecowarden_core::auth::find_by_username(db, m)
            .await?
            .is_none()
        {
            return Err(ReviewError::Invalid(format!("稽查组成员“{m}”不是平台用户")));
        }
    }
    if spec.scope.trim().is_empty() {
        return Err(ReviewError::Invalid("请填写稽查范围".into()));
    }
    let mut w = db.write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO audits (region_code, city_code, scope, period_from, period_to, team, starts_on, ends_on, \
         created_at, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
    )
    .bind(&region.code)
    .bind(&region.city_code)
    .bind(spec.scope.trim())
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(team.join(","))
    .bind(start.to_string())
    .bind(end.to_string())
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    for (kind, item) in CHECKLIST {
        sqlx::query("INSERT INTO audit_checklist (audit_id, kind, item) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(*kind)
            .bind(*item)
            .execute(&mut *w.tx)
            .await?;
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "audit",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({
                "region_code": region.code, "scope": spec.scope.trim(),
                "period": [from.to_string(), to.to_string()], "team": team,
                "dates": [start.to_string(), end.to_string()],
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

/// The audits a user may see: inside their area and, unless `all`, with them on the team.
pub async fn audits(db: &Db, area: &Area, username: &str, all: bool) -> Result<Vec<AuditRow>> {
    let mut sql = Sql::new("SELECT * FROM audits a WHERE 1 = 1");
    sql.scope(area, "a");
    sql.push(" ORDER BY a.id DESC");
    let rows: Vec<AuditRow> = sql.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|a| all || a.on_team(username))
        .collect())
}

/// One audit, for a team member (or, with `all`, anyone whose area covers it).
pub async fn audit(db: &Db, area: &Area, id: i64, username: &str, all: bool) -> Result<AuditRow> {
    let mut sql = Sql::new("SELECT * FROM audits WHERE id = ");
    sql.bind(id);
    let a: AuditRow = match sql.fetch_in_scope(db, area).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => {
            return Err(ReviewError::NotFound(format!("没有编号为 {id} 的稽查")));
        }
        Err(StoreError::OutOfScope) => {
            return Err(ReviewError::Forbidden("无权访问其他地区的稽查".into()));
        }
        Err(e) => return Err(e.into()),
    };
    if !all && !a.on_team(username) {
        return Err(ReviewError::Forbidden("只能查看本人参加的稽查".into()));
    }
    Ok(a)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = AuditChecklistItem)]
pub struct ChecklistRow {
    pub id: i64,
    pub audit_id: i64,
    pub kind: String,
    pub item: String,
    pub done: i64,
    pub note: String,
}

pub async fn checklist(db: &Db, audit_id: i64) -> Result<Vec<ChecklistRow>> {
    let mut sql = Sql::new("SELECT * FROM audit_checklist WHERE audit_id = ");
    sql.bind(audit_id).push(" ORDER BY id");
    Ok(sql.fetch_all(db).await?)
}

/// Ticks (or unticks) a checklist item of an audit, with a note.
pub async fn tick(
    db: &Db,
    actor: &str,
    audit_id: i64,
    item_id: i64,
    done: bool,
    note: &str,
) -> Result<()> {
    let mut w = db.write().await?;
    ensure_open(&mut w, audit_id).await?;
    let n = sqlx::query(
        "UPDATE audit_checklist SET done = $1, note = $2 WHERE id = $3 AND audit_id = $4",
    )
    .bind(done as i64)
    .bind(note.trim())
    .bind(item_id)
    .bind(audit_id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ReviewError::NotFound("该稽查没有此核查事项".into()));
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "update",
            entity: "audit_checklist",
            entity_id: item_id.to_string(),
            before: None,
            after: Some(json!({"audit_id": audit_id, "done": done, "note": note.trim()})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = AuditFinding)]
pub struct FindingRow {
    pub id: i64,
    pub audit_id: i64,
    pub grade: String,
    pub title: String,
    pub evidence: String,
    pub rule: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

impl FindingRow {
    pub fn grade_label(&self) -> &'static str {
        Grade::parse(&self.grade).map_or("", Grade::label)
    }
}

/// Records a finding; every finding needs its evidence.
pub async fn add_finding(
    db: &Db,
    actor: &str,
    audit_id: i64,
    grade: &str,
    title: &str,
    evidence: &str,
    rule: Option<&str>,
) -> Result<i64> {
    let g = Grade::parse(grade.trim())
        .ok_or_else(|| ReviewError::Invalid(format!("等级“{grade}”应为 符合、需关注 或 需改进")))?;
    if title.trim().is_empty() {
        return Err(ReviewError::Invalid("请填写发现事项".into()));
    }
    if evidence.trim().is_empty() {
        return Err(ReviewError::Invalid("每项发现须附证据".into()));
    }
    let rule = rule.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = rule
        && !Rule::ALL.iter().any(|x| x.as_str() == r)
    {
        return Err(ReviewError::Invalid(format!("比对规则“{r}”未知")));
    }
    let mut w = db.write().await?;
    ensure_open(&mut w, audit_id).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO audit_findings (audit_id, grade, title, evidence, rule, created_at, created_by) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
    )
    .bind(audit_id)
    .bind(g.as_str())
    .bind(title.trim())
    .bind(evidence.trim())
    .bind(rule)
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "audit_finding",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({"audit_id": audit_id, "grade": g.as_str(), "title": title.trim(), "rule": rule})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

pub async fn findings(db: &Db, audit_id: i64) -> Result<Vec<FindingRow>> {
    let mut sql = Sql::new("SELECT * FROM audit_findings WHERE audit_id = ");
    sql.bind(audit_id).push(" ORDER BY id");
    Ok(sql.fetch_all(db).await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Rectification)]
pub struct RectificationRow {
    pub id: i64,
    pub finding_id: i64,
    pub item: String,
    pub owner: String,
    pub deadline: String,
    pub progress: String,
    pub evidence: String,
    pub closed_on: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub audit_id: i64,
    pub region_code: String,
    pub city_code: String,
}

impl RectificationRow {
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.closed_on.is_none() && self.deadline.as_str() < today.to_string().as_str()
    }
}

/// Adds a rectification item to a finding graded 需关注 or 需改进.
pub async fn add_rectification(
    db: &Db,
    actor: &str,
    audit_id: i64,
    finding_id: i64,
    item: &str,
    owner: &str,
    deadline: &str,
) -> Result<i64> {
    let f = findings(db, audit_id)
        .await?
        .into_iter()
        .find(|f| f.id == finding_id)
        .ok_or_else(|| ReviewError::NotFound("该稽查没有此发现事项".into()))?;
    if f.grade == Grade::Meets.as_str() {
        return Err(ReviewError::Invalid("“符合”的事项无需整改".into()));
    }
    let deadline = date(deadline, "整改期限")?;
    if item.trim().is_empty() || owner.trim().is_empty() {
        return Err(ReviewError::Invalid("请填写整改事项和责任人".into()));
    }
    let mut w = db.write().await?;
    ensure_open(&mut w, audit_id).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO rectifications (finding_id, item, owner, deadline, created_at, created_by) \
         VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
    )
    .bind(finding_id)
    .bind(item.trim())
    .bind(owner.trim())
    .bind(deadline.to_string())
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "rectification",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({"finding_id": finding_id, "item": item.trim(), "owner": owner.trim(), "deadline": deadline.to_string()})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

const RECTIFICATION: &str = "SELECT r.id, r.finding_id, r.item, r.owner, r.deadline, r.progress, r.evidence, \
     r.closed_on, r.created_at, r.created_by, a.id AS audit_id, a.region_code, a.city_code \
     FROM rectifications r JOIN audit_findings f ON f.id = r.finding_id JOIN audits a ON a.id = f.audit_id";

pub async fn rectifications(db: &Db, audit_id: i64) -> Result<Vec<RectificationRow>> {
    let mut sql = Sql::new(RECTIFICATION);
    sql.push(" WHERE a.id = ")
        .bind(audit_id)
        .push(" ORDER BY r.id");
    Ok(sql.fetch_all(db).await?)
}

/// Open rectifications past their deadline inside an area, the oldest deadline first.
pub async fn overdue(db: &Db, area: &Area, today: NaiveDate) -> Result<Vec<RectificationRow>> {
    let mut sql = Sql::new(RECTIFICATION);
    sql.push(" WHERE r.closed_on IS NULL AND r.deadline < ")
        .bind(today.to_string());
    sql.scope(area, "a");
    sql.push(" ORDER BY r.deadline, r.id");
    Ok(sql.fetch_all(db).await?)
}

/// Records progress on a rectification and, with `close`, closes it: only with evidence.
pub async fn update_rectification(
    db: &Db,
    actor: &str,
    audit_id: i64,
    id: i64,
    progress: &str,
    evidence: &str,
    close: bool,
) -> Result<()> {
    let r = rectifications(db, audit_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ReviewError::NotFound("该稽查没有此整改事项".into()))?;
    if r.closed_on.is_some() {
        return Err(ReviewError::Invalid("该整改事项已销号".into()));
    }
    if close {
        may_close(evidence).map_err(ReviewError::Invalid)?;
    }
    let closed_on = close.then(|| clock::today().to_string());
    let mut w = db.write().await?;
    ensure_open(&mut w, audit_id).await?;
    sqlx::query(
        "UPDATE rectifications SET progress = $1, evidence = $2, closed_on = $3 WHERE id = $4",
    )
    .bind(progress.trim())
    .bind(evidence.trim())
    .bind(&closed_on)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: if close { "close" } else { "update" },
            entity: "rectification",
            entity_id: id.to_string(),
            before: Some(json!({"progress": r.progress, "evidence": r.evidence})),
            after: Some(json!({"progress": progress.trim(), "evidence": evidence.trim(), "closed_on": closed_on})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// A factor's emission limits: (factor code, limit).
pub type Limits = Vec<(String, f64)>;

/// What the comparison needs of the monitoring archive for an audit: each outlet's MN and
/// factor limits, and each lead's MN and the window of its findings (seconds).
#[derive(Debug, Clone, Default)]
pub struct ArchiveNeeds {
    /// (outlet id, MN, (factor, limit) of the factors with a limit)
    pub outlets: Vec<(i64, String, Limits)>,
    pub windows: Vec<(i64, String, i64, i64)>,
}

impl ArchiveNeeds {
    /// Every MN the archive must be read for.
    pub fn mns(&self) -> HashSet<String> {
        self.outlets
            .iter()
            .map(|o| o.1.clone())
            .chain(self.windows.iter().map(|w| w.1.clone()))
            .collect()
    }
}

/// Counts, from the archive's series fed one at a time, the days each outlet's daily
/// average (CN 2031, `Avg`) exceeded a factor's limit and the uploads inside each lead's
/// windows.
#[derive(Debug, Default)]
pub struct ArchiveTally {
    limits: HashMap<String, (i64, HashMap<String, f64>)>,
    /// (lead, from, to) in Unix seconds, by MN.
    windows: HashMap<String, Vec<(i64, i64, i64)>>,
    over_days: HashMap<i64, HashSet<NaiveDate>>,
    frames: HashMap<i64, u64>,
}

impl ArchiveTally {
    pub fn new(needs: &ArchiveNeeds) -> Self {
        let mut t = ArchiveTally::default();
        for (id, mn, limits) in &needs.outlets {
            t.limits
                .insert(mn.clone(), (*id, limits.iter().cloned().collect()));
        }
        for (lead, mn, from, to) in &needs.windows {
            t.windows
                .entry(mn.clone())
                .or_default()
                .push((*lead, *from, *to));
        }
        t
    }

    /// One outlet's series at one interval (seconds): its upload times (Unix seconds,
    /// sorted) and each factor's `Avg` on them (NaN where it sent none). Every series counts
    /// its uploads in the leads' windows; a daily one (86,400 s) also the days over a limit.
    pub fn see<'a>(
        &mut self,
        mn: &str,
        interval: i64,
        times: &[i64],
        factors: impl Iterator<Item = (&'a str, &'a [f64])>,
    ) {
        for (lead, from, to) in self.windows.get(mn).into_iter().flatten() {
            let n = times.partition_point(|t| t <= to) - times.partition_point(|t| t < from);
            if n > 0 {
                *self.frames.entry(*lead).or_default() += n as u64;
            }
        }
        if interval != DAY_S {
            return;
        }
        let Some((outlet, limits)) = self.limits.get(mn) else {
            return;
        };
        for (factor, values) in factors {
            let Some(limit) = limits.get(factor) else {
                continue;
            };
            for (t, v) in times.iter().zip(values) {
                // NaN (no value) compares false.
                if v > limit {
                    let day = chrono::DateTime::from_timestamp(*t, 0)
                        .map(|t| t.with_timezone(&clock::cst()).date_naive());
                    self.over_days.entry(*outlet).or_default().extend(day);
                }
            }
        }
    }

    /// (uploads per lead, exceedance days per outlet).
    pub fn finish(self) -> (HashMap<i64, u64>, HashMap<i64, u32>) {
        let days = self
            .over_days
            .into_iter()
            .map(|(o, d)| (o, d.len() as u32))
            .collect();
        (self.frames, days)
    }
}

/// Days of the archive the comparison holds in memory at once.
const CHUNK_DAYS: u32 = 31;

/// Seconds of a daily upload's interval.
const DAY_S: i64 = 86_400;

/// What the comparison reads of the archive: daily averages for the limits, and minute,
/// hourly and daily uploads for the leads' windows.
const COMPARED: Commands<'static> = &[("2031", DAY_S), ("2051", 600), ("2061", 3600)];

/// Whose records a comparison reads.
#[derive(Debug, Clone, Copy)]
pub enum Reach<'a> {
    /// One unit's own (an audit of that unit): the region code exactly.
    Unit(&'a str),
    /// Every unit inside an area: the corps' or a city's overview before choosing whom to
    /// audit (`ecowarden inspection compare`).
    Area(&'a Area),
}

impl Reach<'_> {
    /// Adds the reach's condition on `alias.region_code` / `alias.city_code`.
    fn filter(self, sql: &mut Sql, alias: &str) {
        match self {
            Reach::Unit(code) => {
                sql.push(&format!(" AND {alias}.region_code = ")).bind(code);
            }
            Reach::Area(area) => {
                sql.scope(area, alias);
            }
        }
    }
}

/// A comparison's subject: whose records, and the period (inclusive dates) of the leads
/// created and the cases discovered in it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub reach: Reach<'a>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl<'a> Subject<'a> {
    /// An audit's: its unit and period.
    pub fn of_audit(a: &'a AuditRow) -> Result<Self> {
        Ok(Subject {
            reach: Reach::Unit(&a.region_code),
            from: date(&a.period_from, "稽查期间起")?,
            to: date(&a.period_to, "稽查期间止")?,
        })
    }
}

/// The outlets in reach with their limits, and the finding windows of the leads that led to
/// a case.
pub async fn archive_needs(db: &Db, subject: Subject<'_>) -> Result<ArchiveNeeds> {
    let mut sql = Sql::new(
        "SELECT o.id, o.mn, COALESCE(ofc.code, ''), COALESCE(ofc.emission_limit, '') FROM outlets o \
         JOIN facilities f ON f.id = o.facility_id LEFT JOIN outlet_factors ofc ON ofc.outlet_id = o.id \
         WHERE 1 = 1",
    );
    subject.reach.filter(&mut sql, "f");
    sql.push(" ORDER BY o.id");
    let rows: Vec<(i64, String, String, String)> = sql.fetch_all(db).await?;
    let mut needs = ArchiveNeeds::default();
    for (id, mn, code, limit) in rows {
        if needs.outlets.last().is_none_or(|o| o.0 != id) {
            needs.outlets.push((id, mn, Vec::new()));
        }
        if let Ok(l) = limit.trim().parse::<f64>() {
            needs.outlets.last_mut().expect("pushed").2.push((code, l));
        }
    }
    let mut sql = Sql::new(
        "SELECT l.id, l.mn, MIN(lf.start_ts), MAX(lf.end_ts) FROM leads l JOIN lead_findings lf ON lf.lead_id = l.id \
         WHERE l.case_id IS NOT NULL",
    );
    subject.reach.filter(&mut sql, "l");
    sql.push(" AND l.period_from <= ")
        .bind(subject.to.to_string())
        .push(" AND l.period_to >= ")
        .bind(subject.from.to_string())
        .push(" GROUP BY l.id, l.mn");
    needs.windows = sql.fetch_all(db).await?;
    Ok(needs)
}

/// A lead as read: id, outlet, unit, status, case, signatures, period start, creation time.
type StoredLead = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
);

/// The ledger's and the screening's facts in reach (leads overlapping the period, cases
/// discovered in it); the archive's counts (frames per lead, exceedance days per outlet)
/// come from the caller.
pub async fn facts(
    db: &Db,
    subject: Subject<'_>,
    frames: &HashMap<i64, u64>,
    exceedance_days: &HashMap<i64, u32>,
) -> Result<(Vec<LeadFact>, Vec<CaseFact>, Vec<OutletFact>)> {
    let (from, to) = (subject.from.to_string(), subject.to.to_string());
    let mut sql = Sql::new(
        "SELECT l.id, l.outlet_id, l.region_code, l.status, l.case_id, l.signatures, l.period_from, l.created_at \
         FROM leads l WHERE 1 = 1",
    );
    subject.reach.filter(&mut sql, "l");
    sql.push(" AND l.period_from <= ")
        .bind(to.as_str())
        .push(" AND l.period_to >= ")
        .bind(from.as_str());
    let leads: Vec<StoredLead> = sql.fetch_all(db).await?;
    let day = |s: &str| NaiveDate::parse_from_str(&s[..s.len().min(10)], "%Y-%m-%d").ok();
    let leads = leads
        .into_iter()
        .filter_map(
            |(id, outlet_id, region_code, status, case_id, sigs, from, created)| {
                Some(LeadFact {
                    id,
                    outlet_id,
                    region_code,
                    status,
                    case_id,
                    signatures: sigs
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    period_from: day(&from)?,
                    created_on: day(&created)?,
                    frames: frames.get(&id).copied().unwrap_or(0),
                })
            },
        )
        .collect();
    let mut sql = Sql::new(
        "SELECT c.id, c.case_no, c.region_code, c.facility_id, c.source, c.closed_on FROM cases c WHERE 1 = 1",
    );
    subject.reach.filter(&mut sql, "c");
    sql.push(" AND c.discovered_on BETWEEN ")
        .bind(from.as_str())
        .push(" AND ")
        .bind(to.as_str());
    // A province-year is a million rows: folded as read (sqlx's driver took 17 s for them).
    let cases = fold(db, sql, Vec::new(), move |out: &mut Vec<CaseFact>, r| {
        let closed = r.text(5);
        out.push(CaseFact {
            id: r.int(0).unwrap_or_default(),
            case_no: r.text(1).to_owned(),
            region_code: r.text(2).to_owned(),
            facility_id: r.int(3).unwrap_or_default(),
            source: r.text(4).to_owned(),
            closed_on: day(closed),
        });
    })
    .await?;
    let mut sql = Sql::new(
        "SELECT o.id, o.facility_id, f.region_code, f.name || ' ' || o.name FROM outlets o \
         JOIN facilities f ON f.id = o.facility_id WHERE 1 = 1",
    );
    subject.reach.filter(&mut sql, "f");
    sql.push(" ORDER BY o.id");
    let outlets: Vec<(i64, i64, String, String)> = sql.fetch_all(db).await?;
    let outlets = outlets
        .into_iter()
        .map(|(id, facility_id, region_code, name)| OutletFact {
            id,
            facility_id,
            region_code,
            name,
            exceedance_days: exceedance_days.get(&id).copied().unwrap_or(0),
        })
        .collect();
    Ok((leads, cases, outlets))
}

/// The platform-data comparison of a subject as of a day: the ledger's facts, the archive's
/// counts (read from `data_dir`'s monitoring archive and the evidence log's tail) and the
/// four rules.
pub async fn comparison(
    db: &Db,
    data_dir: &Path,
    subject: Subject<'_>,
    as_of: NaiveDate,
    t: Thresholds,
) -> Result<Vec<Mismatch>> {
    let needs = archive_needs(db, subject).await?;
    let mut tally = ArchiveTally::new(&needs);
    let mns = needs.mns();
    let archive = |e: anyhow::Error| ReviewError::Archive(format!("{e:#}"));
    let reg: HashMap<String, Registered> = screening::registry(db)
        .await
        .map_err(archive)?
        .into_iter()
        .filter(|(mn, _)| mns.contains(mn))
        .collect();
    let (from, to, dir) = (subject.from, subject.to, data_dir.to_owned());
    let (frames, days) = tokio::task::spawn_blocking(move || {
        let source = screening::Source::open(&dir)?;
        // A month at a time: a province-year of series at once would take gigabytes.
        for (start, end) in screening::day_runs(from, to, CHUNK_DAYS) {
            let (series, _) = screening::read_series(&source, &reg, start, end, COMPARED)?;
            for s in &series {
                let factors = s
                    .channels
                    .iter()
                    .map(|c| (c.factor.as_str(), &c.values.values()[..]));
                tally.see(&s.mn, s.interval, &s.time.values()[..], factors);
            }
        }
        anyhow::Ok(tally.finish())
    })
    .await
    .map_err(|e| ReviewError::Archive(e.to_string()))?
    .map_err(archive)?;
    let (leads, cases, outlets) = facts(db, subject, &frames, &days).await?;
    Ok(compare(&leads, &cases, &outlets, as_of, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn lead(
        id: i64,
        outlet: i64,
        status: &str,
        case: Option<i64>,
        sigs: &[&str],
        from: &str,
    ) -> LeadFact {
        LeadFact {
            id,
            outlet_id: outlet,
            region_code: "350102".into(),
            status: status.into(),
            case_id: case,
            signatures: sigs.iter().map(|s| s.to_string()).collect(),
            period_from: d(from),
            created_on: d(from),
            frames: 10,
        }
    }

    fn case(id: i64, facility: i64, source: &str, closed: Option<&str>) -> CaseFact {
        CaseFact {
            id,
            case_no: format!("闽环罚〔2024〕{id}号"),
            region_code: "350102".into(),
            facility_id: facility,
            source: source.into(),
            closed_on: closed.map(d),
        }
    }

    fn rules(m: &[Mismatch]) -> Vec<(Rule, String)> {
        m.iter().map(|m| (m.rule, m.subject.clone())).collect()
    }

    const AS_OF: &str = "2024-12-31";

    /// The shipped defaults (`inspection.lead_days`, `inspection.exceedance_days`).
    const LIMITS: Thresholds = Thresholds {
        lead_days: 30,
        exceedance_days: 3,
    };

    #[test]
    fn a_lead_open_past_the_limit_or_accepted_without_a_case_is_unfollowed() {
        let leads = [
            lead(1, 1, "open", None, &["S1"], "2024-11-01"),
            lead(2, 1, "open", None, &["S1"], "2024-12-15"),
            lead(3, 2, "accepted", None, &["S2"], "2024-06-01"),
            lead(4, 2, "dismissed", None, &["S2"], "2024-01-01"),
        ];
        let m = compare(&leads, &[], &[], d(AS_OF), LIMITS);
        assert_eq!(
            rules(&m),
            [
                (Rule::UnfollowedLead, "线索 1".into()),
                (Rule::UnfollowedLead, "线索 3".into())
            ]
        );
        assert!(m[0].evidence.contains("60 天"), "{}", m[0].evidence);
    }

    #[test]
    fn a_case_closed_while_the_outlet_still_shows_the_signature_is_found() {
        let cases = [
            case(10, 100, "off_site_screening", Some("2024-05-01")),
            case(11, 101, "off_site_screening", Some("2024-05-01")),
        ];
        let leads = [
            lead(1, 1, "accepted", Some(10), &["S3", "S7"], "2024-03-01"),
            lead(2, 1, "open", None, &["S7"], "2024-12-01"),
            // Outlet 2: the later lead shows another signature; before closing does not count.
            lead(3, 2, "accepted", Some(11), &["S3"], "2024-03-01"),
            lead(4, 2, "open", None, &["S5"], "2024-12-01"),
            lead(5, 2, "dismissed", None, &["S3"], "2024-04-01"),
        ];
        let m = compare(&leads, &cases, &[], d(AS_OF), LIMITS);
        let closed: Vec<_> = m
            .iter()
            .filter(|m| m.rule == Rule::ClosedStillSignalling)
            .collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].subject, "闽环罚〔2024〕10号");
        assert!(closed[0].evidence.contains("S7"));
    }

    #[test]
    fn an_outlet_over_the_limit_on_repeated_days_without_a_case_is_found() {
        let outlets = [
            OutletFact {
                id: 1,
                facility_id: 100,
                region_code: "350102".into(),
                name: "甲厂 废水总排口".into(),
                exceedance_days: 5,
            },
            OutletFact {
                id: 2,
                facility_id: 101,
                region_code: "350102".into(),
                name: "乙厂 废水总排口".into(),
                exceedance_days: 9,
            },
            OutletFact {
                id: 3,
                facility_id: 102,
                region_code: "350102".into(),
                name: "丙厂 废气排口".into(),
                exceedance_days: 2,
            },
        ];
        let cases = [case(10, 101, "inspection", None)];
        let m = compare(&[], &cases, &outlets, d(AS_OF), LIMITS);
        assert_eq!(
            rules(&m),
            [(
                Rule::ExceedancesWithoutCase,
                "排放口 甲厂 废水总排口".into()
            )]
        );
        assert_eq!(Rule::ExceedancesWithoutCase.grade(), Grade::Attention);
    }

    #[test]
    fn an_off_site_case_without_its_lead_or_frames_is_found() {
        let cases = [
            case(10, 100, "off_site_screening", None),
            case(11, 101, "off_site_screening", None),
            case(12, 102, "off_site_screening", None),
            case(13, 103, "inspection", None),
        ];
        let mut empty = lead(2, 2, "accepted", Some(11), &["S1"], "2024-12-20");
        empty.frames = 0;
        let leads = [
            lead(1, 1, "accepted", Some(10), &["S1"], "2024-12-20"),
            empty,
        ];
        let m = compare(&leads, &cases, &[], d(AS_OF), LIMITS);
        assert_eq!(
            rules(&m),
            [
                (Rule::MissingEvidence, "闽环罚〔2024〕11号".into()),
                (Rule::MissingEvidence, "闽环罚〔2024〕12号".into())
            ]
        );
    }

    #[test]
    fn the_tally_counts_days_over_the_limit_and_uploads_in_lead_windows() {
        let needs = ArchiveNeeds {
            outlets: vec![(1, "MN1".into(), vec![("w01018".into(), 50.0)])],
            windows: vec![(7, "MN1".into(), 1_000, 2_000)],
        };
        let mut t = ArchiveTally::new(&needs);
        // 2024-03-01..04 at midnight Beijing time.
        let midnight = d("2024-03-01")
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
            - 8 * 3600;
        let days: Vec<i64> = (0..4).map(|n| midnight + n * DAY_S).collect();
        let avg = [60.0, 40.0, 50.1, f64::NAN];
        t.see(
            "MN1",
            DAY_S,
            &days,
            [("w01018", &avg[..]), ("w01019", &[90.0; 4][..])].into_iter(),
        );
        // Hourly values over the limit are no daily average; their uploads in the window count.
        t.see(
            "MN1",
            3600,
            &[900, 1_000, 1_500, 2_000, 2_100],
            [("w01018", &[90.0; 5][..])].into_iter(),
        );
        t.see(
            "MN2",
            DAY_S,
            &days,
            [("w01018", &[90.0; 4][..])].into_iter(),
        );
        let (frames, over) = t.finish();
        assert_eq!(over[&1], 2);
        assert_eq!(over.len(), 1);
        assert_eq!(frames[&7], 3);
    }

    #[test]
    fn an_audit_closes_only_when_its_checklist_is_done_and_every_fix_closed() {
        let item = |done| ChecklistRow {
            id: 1,
            audit_id: 1,
            kind: "file".into(),
            item: "案卷".into(),
            done,
            note: String::new(),
        };
        let finding = |id, grade: Grade| FindingRow {
            id,
            audit_id: 1,
            grade: grade.as_str().into(),
            title: format!("发现{id}"),
            evidence: "清单".into(),
            rule: None,
            created_at: String::new(),
            created_by: String::new(),
        };
        let fix = |finding_id, closed: Option<&str>| RectificationRow {
            id: 9,
            finding_id,
            item: "补办".into(),
            owner: "大队".into(),
            deadline: "2024-02-01".into(),
            progress: String::new(),
            evidence: String::new(),
            closed_on: closed.map(str::to_owned),
            created_at: String::new(),
            created_by: String::new(),
            audit_id: 1,
            region_code: "350103".into(),
            city_code: "350100".into(),
        };
        let found = [finding(1, Grade::Meets), finding(2, Grade::Improvement)];
        let closed = [fix(2, Some("2024-01-20"))];
        assert!(may_close_audit(&[item(1)], &found, &closed).is_ok());
        assert!(
            may_close_audit(&[item(1)], &found[..1], &[]).is_ok(),
            "符合 needs no fix"
        );
        let undone = may_close_audit(&[item(0), item(1)], &found, &closed).unwrap_err();
        assert!(undone.contains("1 项未完成"), "{undone}");
        let no_fix = may_close_audit(&[item(1)], &found, &[]).unwrap_err();
        assert!(no_fix.contains("发现事项 2"), "{no_fix}");
        let open = may_close_audit(&[item(1)], &found, &[fix(2, None)]).unwrap_err();
        assert!(open.contains("尚未销号"), "{open}");
    }

    #[test]
    fn a_rectification_closes_only_with_evidence() {
        assert!(may_close("  ").is_err());
        assert!(may_close("整改验收报告 2024-12-01").is_ok());
    }
}
