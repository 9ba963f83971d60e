//! Inspection and interview records (现场检查笔录, 调查询问笔录) of a case: when, where and
//! with which officers, to the minute. The legal checks read them (two officers present, C4;
//! an end after the start, C16).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::EntryError;
use super::vocab::parse_list;
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result, StoreError};

/// The two kinds of 笔录.
pub const KINDS: [(&str, &str); 2] = [
    ("inspection", "现场检查笔录"),
    ("interview", "调查询问笔录"),
];

/// The label of a kind.
pub fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.0 == kind)
        .map(|k| k.1)
        .unwrap_or("笔录")
}

/// The format of a record's times: China time to the minute.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Record {
    pub id: i64,
    pub kind: String,
    pub started_at: String,
    pub ended_at: String,
    pub place: String,
    pub officers: String,
}

impl Record {
    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.kind)
    }
}

/// The records of a case, oldest first.
pub async fn list(db: &Db, case_id: i64) -> Result<Vec<Record>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, started_at, ended_at, place, officers FROM case_records \
         WHERE case_id = $1 ORDER BY started_at, id",
    )
    .bind(case_id)
    .fetch_all(db.pool())
    .await?)
}

/// A record as an officer enters it.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub kind: String,
    pub started_at: NaiveDateTime,
    pub ended_at: NaiveDateTime,
    pub place: String,
    /// Certificate numbers of the officers present.
    pub officers: Vec<String>,
}

/// The distinct officers named in a record's officer list.
pub fn officers_of(list: &str) -> usize {
    let mut v = parse_list(list, |s| Some(s.to_owned())).unwrap_or_default();
    v.sort();
    v.dedup();
    v.len()
}

/// Records a 笔录 of a case in scope (audited). Its times must be in order and not in the
/// future; fewer than two officers is recorded as it happened and flagged by the checks.
pub async fn record(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    r: &NewRecord,
    now: NaiveDateTime,
) -> std::result::Result<i64, EntryError> {
    super::get(db, scope, case_id).await?;
    if !KINDS.iter().any(|k| k.0 == r.kind) {
        return Err(EntryError::Invalid(format!("未知的笔录种类“{}”", r.kind)));
    }
    if r.ended_at <= r.started_at {
        return Err(EntryError::Invalid("笔录的结束时间应晚于开始时间".into()));
    }
    if r.ended_at > now {
        return Err(EntryError::Invalid("笔录的时间不能晚于现在".into()));
    }
    if r.officers.is_empty() || r.place.chars().count() > 200 {
        return Err(EntryError::Invalid(
            "请填写在场执法人员证号；地点不超过200个字符".into(),
        ));
    }
    let officers = r.officers.join("、");
    let mut w = db.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO case_records (case_id, kind, started_at, ended_at, place, officers, recorded_by, recorded_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
    )
    .bind(case_id)
    .bind(&r.kind)
    .bind(r.started_at.format(TIME_FORMAT).to_string())
    .bind(r.ended_at.format(TIME_FORMAT).to_string())
    .bind(r.place.trim())
    .bind(&officers)
    .bind(actor)
    .bind(ecowarden_core::clock::now_rfc3339())
    .fetch_one(&mut *w.tx)
    .await
    .map_err(StoreError::from)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "add_record",
            entity: "case",
            entity_id: case_id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "record": id, "kind": r.kind, "started_at": r.started_at.format(TIME_FORMAT).to_string(),
                "ended_at": r.ended_at.format(TIME_FORMAT).to_string(), "place": r.place.trim(), "officers": officers,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}
