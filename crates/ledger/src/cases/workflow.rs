//! A case's life after filing: stage transitions with their dates and legal checks,
//! supporting measures, referrals and their outcomes. Every change is audited with the case
//! before and after, in the same transaction.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::AnyConnection;

use super::rules::{self, Policy, Refusal, Step};
use super::vocab::{MeasureKind, ReferralKind, SuspensionKind};
use super::{AccessError, CaseSummary, Status};
use crate::calendar::Calendar;
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::ids::Money;
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, StoreError};

pub use super::rules::next_stages;

/// The column holding the date a stage was reached, if the stage has one.
fn date_column(s: Status) -> Option<&'static str> {
    match s {
        Status::Investigation => Some("investigation_on"),
        Status::PriorNotice => Some("prior_notice_on"),
        Status::Hearing => Some("hearing_requested_on"),
        Status::Decided => Some("decided_on"),
        Status::Served => Some("served_on"),
        Status::Closed | Status::Withdrawn => Some("closed_on"),
        Status::Filed | Status::Enforcement | Status::Suspended => None,
    }
}

/// Why a change to a case was refused. Messages are shown to the officer.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("案件状态为“{}”，不能转为“{}”", .from.label(), .to.label())]
    NotAllowed { from: Status, to: Status },
    #[error("{0}")]
    Rule(String),
    #[error("案件已被他人修改，请刷新后重试")]
    Stale,
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl From<StoreError> for WorkflowError {
    fn from(e: StoreError) -> Self {
        WorkflowError::Access(e.into())
    }
}

impl From<sqlx::Error> for WorkflowError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// The rules' breaches as the refusal of a change.
fn refuse(breaches: Vec<rules::Breach>) -> Result<(), WorkflowError> {
    if breaches.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::Rule(rules::sentence(&breaches)))
    }
}

/// The decision's amount and texts within the bounds intake applies (`fields::limits`).
fn bounded_decision(d: &rules::Decision) -> Result<(), WorkflowError> {
    use super::fields::{header, limits};
    if d.fine > limits::MAX_AMOUNT {
        return Err(WorkflowError::Rule("罚款金额不能超过10亿元".into()));
    }
    for (key, text) in [
        ("legal_basis", &d.legal_basis),
        ("decision_no", &d.decision_no),
    ] {
        let max = limits::max_chars(key);
        if text.trim().chars().count() > max {
            return Err(WorkflowError::Rule(format!(
                "“{}”不能超过{max}字",
                header(key)
            )));
        }
    }
    Ok(())
}

/// A measure's days, amount and items within the bounds intake applies.
fn bounded_measure(m: &MeasureInput) -> Result<(), WorkflowError> {
    use super::fields::limits;
    if m.amount > limits::MAX_AMOUNT {
        return Err(WorkflowError::Rule("金额不能超过10亿元".into()));
    }
    if m.days.is_some_and(|d| !(0..=limits::MAX_DAYS).contains(&d)) {
        return Err(WorkflowError::Rule(format!(
            "天数应在0至{}之间",
            limits::MAX_DAYS
        )));
    }
    let max = limits::max_chars("seal_and_seize_items");
    if m.items.chars().count() > max {
        return Err(WorkflowError::Rule(format!("物品清单不能超过{max}字")));
    }
    Ok(())
}

/// The case's active officers whose certificate is valid on the day of the act.
async fn officer_count(
    conn: &mut AnyConnection,
    id: i64,
    on: NaiveDate,
) -> Result<i64, WorkflowError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         WHERE co.case_id = $1 AND o.active = 1 AND {}",
        super::certified_on("$2")
    )))
    .bind(id)
    .bind(on.to_string())
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves a case to its next stage on a date, with what the step records (the decision, a
/// waiver, the hearing held, the payment or closure type), under [`rules::transition`].
/// `version` is the version the officer saw: a concurrent change makes the request stale
/// instead of silently overwriting it. A resumed case keeps every earlier date.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    db: &Db,
    scope: &Scope,
    actor: &str,
    id: i64,
    version: i64,
    to: Status,
    on: NaiveDate,
    step: &Step,
    cal: &Calendar,
    policy: &Policy,
) -> Result<(), WorkflowError> {
    if let Some(d) = &step.decision {
        bounded_decision(d)?;
    }
    let before = super::get(db, scope, id).await?;
    let from = Status::parse(&before.status).unwrap_or(Status::Filed);
    let mut w = db.write().await?;
    let officers = officer_count(&mut w.tx, id, on).await? as usize;
    let (waived_on, enforced): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT statement_waived_on, enforcement_applied_on FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *w.tx)
    .await?;
    let dates = before.dates();
    let case = rules::Case {
        dates: &dates,
        certified_officers: officers,
        fine: before.fine(),
        enforced: from == Status::Enforcement || enforced.is_some(),
        waived_on: waived_on.and_then(|d| d.parse().ok()),
    };
    rules::transition(from, to, on, &case, step, cal, policy).map_err(|r| match r {
        Refusal::NotAllowed { from, to } => WorkflowError::NotAllowed { from, to },
        Refusal::Breaches(b) => WorkflowError::Rule(rules::sentence(&b)),
    })?;
    let today = on.to_string();
    if to == Status::Suspended {
        sqlx::query("INSERT INTO case_suspensions (case_id, kind, start_on) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(SuspensionKind::Suspension.as_str())
            .bind(&today)
            .execute(&mut *w.tx)
            .await?;
    }
    if from == Status::Suspended {
        sqlx::query(
            "UPDATE case_suspensions SET end_on = $1 WHERE case_id = $2 AND end_on IS NULL",
        )
        .bind(&today)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    }
    // Resuming returns to a stage already dated: its date stays.
    let set_date = date_column(to)
        .filter(|_| from != Status::Suspended)
        .map(|c| format!(", {c} = $4"))
        .unwrap_or_default();
    let n = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE cases SET status = $1, version = version + 1, updated_at = $2{set_date} WHERE id = $3 AND version = $5"
    )))
    .bind(to.as_str())
    .bind(ecowarden_core::clock::now_rfc3339())
    .bind(id)
    .bind(&today)
    .bind(version)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(WorkflowError::Stale);
    }
    let mut after = serde_json::json!({"status": to.as_str(), "on": today});
    if let Some(d) = &step.decision {
        let kinds: Vec<&str> = d.penalty_kinds.iter().map(|k| k.as_str()).collect();
        sqlx::query(
            "UPDATE cases SET penalty_kinds = $1, fine_fen = $2, legal_basis = $3, decision_no = $4, \
             statement_waived_on = COALESCE($5, statement_waived_on), \
             hearing_held_on = COALESCE($6, hearing_held_on) WHERE id = $7",
        )
        .bind(kinds.join(","))
        .bind(d.fine.fen())
        .bind(d.legal_basis.trim())
        .bind(d.decision_no.trim())
        .bind(step.waived_on.map(|x| x.to_string()))
        .bind(step.hearing_held_on.map(|x| x.to_string()))
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        after["decision"] = serde_json::json!({
            "penalty_kinds": kinds, "fine": d.fine, "legal_basis": d.legal_basis.trim(),
            "decision_no": d.decision_no.trim(), "waived_on": step.waived_on,
            "hearing_held_on": step.hearing_held_on,
        });
    }
    if to == Status::Closed && (step.paid_on.is_some() || !step.closure_type.trim().is_empty()) {
        sqlx::query(
            "UPDATE cases SET paid_on = COALESCE($1, paid_on), closure_type = $2 WHERE id = $3",
        )
        .bind(step.paid_on.map(|x| x.to_string()))
        .bind(step.closure_type.trim())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        after["paid_on"] = serde_json::json!(step.paid_on);
        after["closure_type"] = serde_json::json!(step.closure_type.trim());
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "transition",
            entity: "case",
            entity_id: id.to_string(),
            before: Some(serde_json::json!({"status": from.as_str(), "fine": before.fine(), "penalty_kinds": before.penalty_kinds})),
            after: Some(after),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// A supporting measure added to a case.
#[derive(Debug, Clone)]
pub struct MeasureInput {
    pub kind: MeasureKind,
    pub decided_on: NaiveDate,
    pub items: String,
    pub restriction: Option<&'static str>,
    pub days: Option<i64>,
    pub amount: Money,
}

pub async fn add_measure(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    m: &MeasureInput,
) -> Result<i64, WorkflowError> {
    bounded_measure(m)?;
    let c = super::get(db, scope, case_id).await?;
    if let Some(discovered) = c.dates().discovered_on {
        refuse(rules::measure(m.kind, m.decided_on, discovered))?;
    }
    let mut w = db.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO measures (case_id, kind, decided_on, items, restriction, days, amount_fen) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
    )
    .bind(case_id)
    .bind(m.kind.as_str())
    .bind(m.decided_on.to_string())
    .bind(&m.items)
    .bind(m.restriction)
    .bind(m.days)
    .bind(m.amount.fen())
    .fetch_one(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "add_measure",
            entity: "case",
            entity_id: case_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"measure": id, "kind": m.kind.as_str(), "decided_on": m.decided_on, "items": m.items, "days": m.days, "amount": m.amount})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

/// Outcomes of a referral as the police and the procuratorate report them (persons).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Outcome {
    pub accepted_on: Option<String>,
    pub persons_detained: i64,
    pub arrest_review_persons: i64,
    pub arrest_approved_persons: i64,
    pub prosecution_persons: i64,
    pub guilty_plea_persons: i64,
}

pub async fn add_referral(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    kind: ReferralKind,
    agency: &str,
    on: NaiveDate,
) -> Result<i64, WorkflowError> {
    let c = super::get(db, scope, case_id).await?;
    let discovered = c.dates().discovered_on.unwrap_or(on);
    refuse(rules::referral(on, discovered, agency))?;
    let mut w = db.write().await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO referrals (case_id, kind, agency, referred_on) VALUES ($1,$2,$3,$4) RETURNING id")
        .bind(case_id)
        .bind(kind.as_str())
        .bind(agency.trim())
        .bind(on.to_string())
        .fetch_one(&mut *w.tx)
        .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "add_referral",
            entity: "case",
            entity_id: case_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"referral": id, "kind": kind.as_str(), "agency": agency.trim(), "referred_on": on})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

/// Records what became of a referral. The numbers can only describe persons the referral
/// could concern: approvals never exceed reviews.
/// The case a referral belongs to, if the scope reads it (the page a refused outcome form
/// goes back to).
pub async fn referral_case(db: &Db, scope: &Scope, referral_id: i64) -> Result<i64, WorkflowError> {
    let case_id = sqlx::query_scalar("SELECT case_id FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_one(db.pool())
        .await?;
    super::get(db, scope, case_id).await?;
    Ok(case_id)
}

pub async fn record_outcome(
    db: &Db,
    scope: &Scope,
    actor: &str,
    referral_id: i64,
    o: &Outcome,
) -> Result<i64, WorkflowError> {
    let (case_id, referred_on): (i64, String) =
        sqlx::query_as("SELECT case_id, referred_on FROM referrals WHERE id = $1")
            .bind(referral_id)
            .fetch_one(db.pool())
            .await?;
    super::get(db, scope, case_id).await?;
    let counts = [
        o.persons_detained,
        o.arrest_review_persons,
        o.arrest_approved_persons,
        o.prosecution_persons,
        o.guilty_plea_persons,
    ];
    let accepted = match o.accepted_on.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => Some(
            super::intake::parse_date(a)
                .ok_or_else(|| WorkflowError::Rule(format!("受理日期“{a}”无法识别")))?,
        ),
        None => None,
    };
    let referred = referred_on
        .parse()
        .map_err(|_| WorkflowError::Rule(format!("移送日期“{referred_on}”无法识别")))?;
    refuse(rules::referral_outcome(counts, accepted, referred))?;
    let mut w = db.write().await?;
    let before: Outcome = sqlx::query_as::<_, (Option<String>, i64, i64, i64, i64, i64)>(
        "SELECT accepted_on, persons_detained, arrest_review_persons, arrest_approved_persons, prosecution_persons, guilty_plea_persons \
         FROM referrals WHERE id = $1",
    )
    .bind(referral_id)
    .fetch_one(&mut *w.tx)
    .await
    .map(|r| Outcome {
        accepted_on: r.0,
        persons_detained: r.1,
        arrest_review_persons: r.2,
        arrest_approved_persons: r.3,
        prosecution_persons: r.4,
        guilty_plea_persons: r.5,
    })?;
    sqlx::query(
        "UPDATE referrals SET accepted_on = $1, persons_detained = $2, arrest_review_persons = $3, arrest_approved_persons = $4, \
         prosecution_persons = $5, guilty_plea_persons = $6 WHERE id = $7",
    )
    .bind(o.accepted_on.as_deref().filter(|s| !s.is_empty()))
    .bind(o.persons_detained)
    .bind(o.arrest_review_persons)
    .bind(o.arrest_approved_persons)
    .bind(o.prosecution_persons)
    .bind(o.guilty_plea_persons)
    .bind(referral_id)
    .execute(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "referral_outcome",
            entity: "case",
            entity_id: case_id.to_string(),
            before: Some(serde_json::to_value(&before).expect("serialises")),
            after: Some(serde_json::to_value(o).expect("serialises")),
        },
    )
    .await?;
    w.commit().await?;
    Ok(case_id)
}

/// Everything the case page shows besides the case itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseDetail {
    pub officers: Vec<(String, String, bool)>,
    pub tags: Vec<String>,
    pub measures: Vec<MeasureRow>,
    pub referrals: Vec<ReferralRow>,
    pub suspensions: Vec<(String, String, Option<String>)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MeasureRow {
    pub id: i64,
    pub kind: String,
    pub decided_on: String,
    pub items: String,
    pub restriction: Option<String>,
    pub days: Option<i64>,
    pub amount_fen: i64,
}

impl MeasureRow {
    pub fn label(&self) -> &'static str {
        MeasureKind::parse(&self.kind)
            .map(MeasureKind::label)
            .unwrap_or("其他")
    }
    pub fn amount(&self) -> Money {
        Money::from_fen(self.amount_fen)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReferralRow {
    pub id: i64,
    pub kind: String,
    pub agency: String,
    pub referred_on: String,
    pub accepted_on: Option<String>,
    pub persons_detained: i64,
    pub arrest_review_persons: i64,
    pub arrest_approved_persons: i64,
    pub prosecution_persons: i64,
    pub guilty_plea_persons: i64,
}

impl ReferralRow {
    pub fn label(&self) -> &'static str {
        ReferralKind::parse(&self.kind)
            .map(ReferralKind::label)
            .unwrap_or("其他")
    }
}

pub async fn detail(db: &Db, c: &CaseSummary) -> Result<CaseDetail, StoreError> {
    let officers = sqlx::query_as::<_, (String, Option<String>, i64)>(
        "SELECT o.name, o.certificate_no, co.lead FROM case_officers co JOIN officers o ON o.id = co.officer_id WHERE co.case_id = $1 ORDER BY co.lead DESC, o.id",
    )
    .bind(c.id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|(n, cert, lead)| (n, cert.unwrap_or_default(), lead != 0))
    .collect();
    let tags = sqlx::query_scalar::<_, String>(
        "SELECT tag FROM case_tags WHERE case_id = $1 ORDER BY tag",
    )
    .bind(c.id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|t| {
        super::vocab::Tag::parse(&t)
            .map(|t| t.label().to_owned())
            .unwrap_or(t)
    })
    .collect();
    let measures = sqlx::query_as("SELECT id, kind, decided_on, items, restriction, days, amount_fen FROM measures WHERE case_id = $1 ORDER BY decided_on, id")
        .bind(c.id)
        .fetch_all(db.pool())
        .await?;
    let referrals = sqlx::query_as(
        "SELECT id, kind, agency, referred_on, accepted_on, persons_detained, arrest_review_persons, arrest_approved_persons, \
         prosecution_persons, guilty_plea_persons FROM referrals WHERE case_id = $1 ORDER BY referred_on, id",
    )
    .bind(c.id)
    .fetch_all(db.pool())
    .await?;
    let suspensions = sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT kind, start_on, end_on FROM case_suspensions WHERE case_id = $1 ORDER BY start_on",
    )
    .bind(c.id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|(k, s, e)| {
        (
            SuspensionKind::parse(&k)
                .map(|k| k.label().to_owned())
                .unwrap_or(k),
            s,
            e,
        )
    })
    .collect();
    Ok(CaseDetail {
        officers,
        tags,
        measures,
        referrals,
        suspensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_stages_go_nowhere_and_decision_needs_notice_stage() {
        assert!(next_stages(Status::Closed).is_empty());
        assert!(next_stages(Status::Withdrawn).is_empty());
        assert!(!next_stages(Status::Investigation).contains(&Status::Decided));
        assert!(next_stages(Status::PriorNotice).contains(&Status::Decided));
        // Every stage reachable from filing.
        let mut seen = vec![Status::Filed];
        let mut i = 0;
        while i < seen.len() {
            for s in next_stages(seen[i]) {
                if !seen.contains(s) {
                    seen.push(*s);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), Status::ALL.len());
    }
}
