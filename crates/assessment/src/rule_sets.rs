//! The versions of the rule files (`assessment_rule_sets`): one row per distinct text, kept
//! for ever, since a run names the version it used. Saving an edited file makes a new version;
//! saving a text already kept returns that version.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::clock;
use ecowarden_core::store::{Db, Sql, WriteTx};
use ecowarden_scoring::{RuleErrors, RuleSet};

use crate::{AssessError, metrics};

/// A kept version, without its text.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Version {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub subject: String,
    pub level: String,
    pub sha256: String,
    pub created_at: String,
    pub created_by: String,
}

impl Version {
    pub fn level_label(&self) -> &'static str {
        ecowarden_scoring::Level::parse(&self.level).map_or("", |l| l.label())
    }
}

/// A rule file as a run or an editor checks it: it parses and names only metrics this
/// platform measures or takes by hand; every problem with its line.
pub fn check(text: &str) -> Result<RuleSet, RuleErrors> {
    let rules = ecowarden_scoring::parse(text)?;
    metrics::check(&rules)?;
    Ok(rules)
}

/// Every kept version, newest first.
pub async fn list(db: &Db) -> Result<Vec<Version>, AssessError> {
    Ok(Sql::new(
        "SELECT id, name, year, subject, level, sha256, created_at, created_by \
         FROM assessment_rule_sets ORDER BY id DESC",
    )
    .fetch_all(db)
    .await?)
}

/// Every kept version with its rules, newest first; a text that no longer parses (the parser
/// grew stricter since it was kept) is left out.
pub async fn parsed(db: &Db) -> Result<Vec<(Version, RuleSet)>, AssessError> {
    let mut out = Vec::new();
    for v in list(db).await? {
        let (_, text) = get(db, v.id).await?;
        if let Ok(rules) = ecowarden_scoring::parse(&text) {
            out.push((v, rules));
        }
    }
    Ok(out)
}

/// A kept version and its text.
pub async fn get(db: &Db, id: i64) -> Result<(Version, String), AssessError> {
    let mut sql = Sql::new(
        "SELECT id, name, year, subject, level, sha256, created_at, created_by \
         FROM assessment_rule_sets WHERE id = ",
    );
    sql.bind(id);
    let v: Version = sql
        .fetch_all(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AssessError::NotFound(format!("没有编号为 {id} 的评分细则版本")))?;
    let text: String = sqlx::query("SELECT rules_toml FROM assessment_rule_sets WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    Ok((v, text))
}

/// Checks a rule file and keeps it as a version (a new one unless the same text is kept).
pub async fn save(db: &Db, text: &str, actor: &str) -> Result<i64, AssessError> {
    let rules = check(text).map_err(AssessError::Rules)?;
    let mut w = db.write().await?;
    let (id, _) = keep(&mut w, &rules, text, actor).await?;
    w.commit().await?;
    Ok(id)
}

/// Keeps a parsed rule file's text inside a write, auditing a new version; returns its id and
/// the text's SHA-256.
pub(crate) async fn keep(
    w: &mut WriteTx,
    rules: &RuleSet,
    text: &str,
    actor: &str,
) -> Result<(i64, String), AssessError> {
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let kept = sqlx::query("SELECT id FROM assessment_rule_sets WHERE sha256 = $1")
        .bind(&sha)
        .fetch_optional(&mut *w.tx)
        .await?;
    if let Some(row) = kept {
        return Ok((row.try_get(0)?, sha));
    }
    let id: i64 = sqlx::query(
        "INSERT INTO assessment_rule_sets (name, year, subject, level, rules_toml, sha256, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&rules.name)
    .bind(rules.year as i64)
    .bind(rules.subject.code())
    .bind(rules.level.code())
    .bind(text)
    .bind(&sha)
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        w,
        &Change {
            actor,
            action: "create",
            entity: "assessment_rule_set",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({
                "name": rules.name, "year": rules.year, "subject": rules.subject.code(),
                "level": rules.level.code(), "sha256": sha,
            })),
        },
    )
    .await?;
    Ok((id, sha))
}
