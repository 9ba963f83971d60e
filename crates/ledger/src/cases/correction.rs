//! Correcting a recorded case (更正): fields of the case record typed wrong, with a reason,
//! under the version check. The corrected case passes the same validation as intake
//! ([`NewCase::validate`], which runs `rules::check`); a correction may not add a breach the
//! case did not already have, so an old case with a known defect can still have a typo fixed.
//! Each correction is one audit entry naming the fields changed, before and after, and why.

use std::collections::BTreeMap;

use super::fields::{FieldError, NewCase, header};
use super::vocab::PenaltyKind;
use super::{AccessError, CaseSource};
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::ids::Money;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, StoreError};

/// The fields a correction may change: the case record's own columns. The number, region and
/// party identify the case; officers, campaigns, measures and referrals have their own forms.
pub const EDITABLE: &[&str] = &[
    "source",
    "violation",
    "legal_basis",
    "discovered_on",
    "filed_on",
    "investigation_on",
    "prior_notice_on",
    "hearing_requested_on",
    "hearing_held_on",
    "decided_on",
    "served_on",
    "paid_on",
    "closed_on",
    "penalty_kinds",
    "fine",
    "violation_ended_on",
    "filing_extended_on",
    "term_extended_on",
    "term_discussed_on",
    "statement_waived_on",
    "hearing_notice_on",
    "legal_review_on",
    "collective_discussion_on",
    "decision_no",
    "service_method",
    "disclosed_on",
    "closure_type",
];

/// The most characters a reason may hold.
pub const MAX_REASON_CHARS: usize = 500;

/// Date columns among [`EDITABLE`], stored as ISO text or NULL under the same name.
fn is_date(key: &str) -> bool {
    key.ends_with("_on")
}

#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    #[error("请填写更正原因")]
    NoReason,
    #[error("更正原因不能超过{MAX_REASON_CHARS}字")]
    LongReason,
    #[error("没有字段被修改")]
    Unchanged,
    /// Problems with the corrected fields.
    #[error("{} 处错误", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("案件已被他人修改，请刷新后重试")]
    Stale,
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl From<StoreError> for CorrectionError {
    fn from(e: StoreError) -> Self {
        CorrectionError::Access(e.into())
    }
}

impl From<sqlx::Error> for CorrectionError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// A case as the form shows it for correcting: every field as text (vocabularies by their
/// Chinese labels), and the version the officer sees.
pub async fn current(db: &Db, scope: &Scope, id: i64) -> Result<(NewCase, i64), CorrectionError> {
    let c = super::get(db, scope, id).await?;
    let v = super::typed::typed(db, &[id])
        .await?
        .remove(&id)
        .ok_or(CorrectionError::Access(AccessError::NotFound))?;
    Ok((v, c.version))
}

/// The editable fields whose value differs (compared as typed, trimmed): (key, before, after).
pub fn changes(before: &NewCase, after: &NewCase) -> Vec<(&'static str, String, String)> {
    EDITABLE
        .iter()
        .filter_map(|k| {
            let (b, a) = (before.get(k).trim(), after.get(k).trim());
            let same = b == a || (k == &"fine" && b.parse::<Money>().ok() == a.parse().ok());
            (!same).then(|| (*k, b.to_owned(), a.to_owned()))
        })
        .collect()
}

/// Corrects the editable fields of case `id` to `edited`'s, for `reason`. `version` is the
/// version the officer saw.
#[allow(clippy::too_many_arguments)]
pub async fn correct(
    db: &Db,
    org: &Org,
    scope: &Scope,
    actor: &str,
    id: i64,
    version: i64,
    edited: &NewCase,
    reason: &str,
) -> Result<(), CorrectionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CorrectionError::NoReason);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(CorrectionError::LongReason);
    }
    let (before, seen) = current(db, scope, id).await?;
    if seen != version {
        return Err(CorrectionError::Stale);
    }
    let mut after = before.clone();
    for k in EDITABLE {
        after.set(k, edited.get(k).trim().to_owned());
    }
    let changed = changes(&before, &after);
    if changed.is_empty() {
        return Err(CorrectionError::Unchanged);
    }
    // The corrected case under intake's validation; what the case already breached stays.
    let known = before.validate(org, scope).err().unwrap_or_default();
    if let Err(errs) = after.validate(org, scope) {
        let new: Vec<FieldError> = errs.into_iter().filter(|e| !known.contains(e)).collect();
        if !new.is_empty() {
            return Err(CorrectionError::Invalid(new));
        }
    }
    let mut sets = Vec::new();
    let mut binds: Vec<Option<String>> = Vec::new();
    for (k, _, a) in &changed {
        let (column, value) = stored(k, a).map_err(|e| CorrectionError::Invalid(vec![e]))?;
        binds.push(value);
        sets.push(match column {
            "fine_fen" => format!("fine_fen = CAST(${} AS BIGINT)", binds.len()),
            c => format!("{c} = ${}", binds.len()),
        });
    }
    let n = binds.len();
    let sql = format!(
        "UPDATE cases SET {}, version = version + 1, updated_at = ${} WHERE id = ${} AND version = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    );
    let mut w = db.write().await?;
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let done = q
        .bind(ecowarden_core::clock::now_rfc3339())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(CorrectionError::Stale);
    }
    let mut was = BTreeMap::new();
    let mut now = BTreeMap::new();
    for (k, b, a) in &changed {
        was.insert(*k, b.as_str());
        now.insert(*k, a.as_str());
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "correct",
            entity: "case",
            entity_id: id.to_string(),
            before: Some(serde_json::json!({ "fields": was })),
            after: Some(serde_json::json!({"fields": now, "reason": reason})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// The column of an editable field and the value stored for what was typed (vocabularies by
/// code, dates as ISO text or NULL, the fine in fen).
fn stored(key: &'static str, typed: &str) -> Result<(&'static str, Option<String>), FieldError> {
    let bad = |message: String| FieldError {
        field: key,
        message,
    };
    let value = match key {
        "fine" if typed.is_empty() => Some("0".to_owned()),
        "fine" => Some(
            typed
                .parse::<Money>()
                .map_err(|e| bad(e.0))?
                .fen()
                .to_string(),
        ),
        "source" => Some(
            CaseSource::ALL
                .into_iter()
                .find(|s| s.label() == typed || s.as_str() == typed)
                .ok_or_else(|| bad(format!("未知的案件来源“{typed}”")))?
                .as_str()
                .to_owned(),
        ),
        "penalty_kinds" => Some(
            super::vocab::parse_list(typed, PenaltyKind::parse)
                .map_err(|x| bad(format!("未知的处罚种类“{x}”")))?
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        k if is_date(k) && typed.is_empty() => None,
        k if is_date(k) => Some(
            super::fields::parse_date(typed)
                .ok_or_else(|| bad(format!("“{}”的日期“{typed}”无法识别", header(k))))?
                .to_string(),
        ),
        _ => Some(typed.to_owned()),
    };
    Ok((if key == "fine" { "fine_fen" } else { key }, value))
}
