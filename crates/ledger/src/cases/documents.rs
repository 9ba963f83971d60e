//! The documents of a case file (案卷文书): which of the MEE 2016 templates it holds, with
//! their number and the day signed. The legal checks read the templates present (C15); a
//! reviewer reads the list. Only the metadata is kept here, not the scanned file.

use chrono::NaiveDate;
use serde::Serialize;

use super::{EntryError, Status};
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result, StoreError};

/// The MEE 2016 《环境行政执法文书制作指南》 templates, by number (1–26 as read in
/// assessment.md §2.1; the last seven of the 33 were not in the excerpt read).
pub const TEMPLATES: [(i64, &str); 26] = [
    (1, "立案审批表"),
    (2, "销案审批表"),
    (3, "现场检查（勘察）笔录"),
    (4, "调查询问笔录"),
    (5, "采样取证登记单"),
    (6, "现场照片证据"),
    (7, "先行登记保存证据通知书"),
    (8, "解除先行登记保存通知书"),
    (9, "案件处理内部审批表"),
    (10, "责令改正违法行为决定书"),
    (11, "调查报告"),
    (12, "行政处罚事先（听证）告知书"),
    (13, "听证通知书"),
    (14, "听证笔录"),
    (15, "听证报告"),
    (16, "案件集体讨论笔录"),
    (17, "行政处罚决定书"),
    (18, "送达回证"),
    (19, "同意分期（延期）缴纳罚款通知书"),
    (20, "结案审批表"),
    (21, "当场处罚决定书"),
    (22, "按日连续处罚决定书"),
    (23, "查封（扣押）决定书"),
    (24, "查封扣押清单"),
    (25, "查封（扣押）延期通知书"),
    (26, "解除查封（扣押）决定书"),
];

/// The name of a template number.
pub fn template_name(n: i64) -> Option<&'static str> {
    TEMPLATES.iter().find(|t| t.0 == n).map(|t| t.1)
}

/// A document in a case file.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Document {
    pub id: i64,
    pub doc_type: i64,
    pub title: String,
    pub doc_no: String,
    pub signed_on: Option<String>,
    pub uploaded_by: String,
}

/// The documents of a case, in template order.
pub async fn list(db: &Db, case_id: i64) -> Result<Vec<Document>> {
    Ok(sqlx::query_as(
        "SELECT id, doc_type, title, doc_no, signed_on, uploaded_by FROM case_documents \
         WHERE case_id = $1 ORDER BY doc_type, id",
    )
    .bind(case_id)
    .fetch_all(db.pool())
    .await?)
}

/// A document as registered.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The template number ([`TEMPLATES`]).
    pub doc_type: i64,
    pub doc_no: String,
    pub signed_on: NaiveDate,
}

/// Records a document of a case in scope (audited): a known template, signed on a day not
/// before the violation was found and not after `today`.
pub async fn record(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    doc: &NewDocument,
    today: NaiveDate,
) -> std::result::Result<i64, EntryError> {
    let (doc_type, signed_on) = (doc.doc_type, doc.signed_on);
    let c = super::get(db, scope, case_id).await?;
    let title = template_name(doc_type)
        .ok_or_else(|| EntryError::Invalid(format!("未知的文书种类“{doc_type}”")))?;
    let doc_no = doc.doc_no.trim();
    if doc_no.chars().count() > 100 {
        return Err(EntryError::Invalid("文书编号不超过100个字符".into()));
    }
    if c.dates().discovered_on.is_some_and(|d| signed_on < d) || signed_on > today {
        return Err(EntryError::Invalid(format!(
            "签发日期{signed_on}应在发现日期{}与今天之间",
            c.discovered_on
        )));
    }
    if Status::parse(&c.status) == Some(Status::Withdrawn) {
        return Err(EntryError::Invalid("已撤销立案的案件不能再登记文书".into()));
    }
    let mut w = db.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO case_documents (case_id, doc_type, title, file_name, sha256, size, signed_on, \
         uploaded_at, uploaded_by, doc_no) VALUES ($1,$2,$3,'','',0,$4,$5,$6,$7) RETURNING id",
    )
    .bind(case_id)
    .bind(doc_type)
    .bind(title)
    .bind(signed_on.to_string())
    .bind(ecowarden_core::clock::now_rfc3339())
    .bind(actor)
    .bind(doc_no)
    .fetch_one(&mut *w.tx)
    .await
    .map_err(StoreError::from)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "add_document",
            entity: "case",
            entity_id: case_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"document": id, "doc_type": doc_type, "title": title, "doc_no": doc_no, "signed_on": signed_on})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}
