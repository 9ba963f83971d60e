//! Tasks (挂图作战): an indicator of a rule set decomposed into tasks, each with an owner (a
//! unit, by region code, or an officer, by username), a deadline, progress (0–100 %), a
//! status and evidence (text and an uploaded file kept in the data directory). Owners update
//! their own tasks; the administrator who keeps the rules creates them and may update any.
//! Every change is in the audit log. The metric `tasks.completion` is the share of a unit's
//! tasks of the period (deadline in it) done by their deadline.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::json;
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::auth::User;
use ecowarden_core::clock;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Sql};

use crate::AssessError;

/// A task as stored, with where its owner sits.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: i64,
    pub rule_set_id: i64,
    pub indicator_id: String,
    pub title: String,
    /// `unit` or `officer`.
    pub owner_kind: String,
    /// A region code (unit) or a username (officer).
    pub owner: String,
    pub region_code: String,
    pub city_code: String,
    pub deadline: String,
    pub progress: i64,
    /// `open` or `done`.
    pub status: String,
    pub done_on: Option<String>,
    pub evidence: String,
    pub evidence_name: Option<String>,
    pub evidence_path: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

ecowarden_core::in_region!(Task);

impl Task {
    pub fn done(&self) -> bool {
        self.status == "done"
    }

    /// Past its deadline and not done.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        !self.done() && self.deadline < today.to_string()
    }

    /// Done no later than its deadline: what `tasks.completion` counts.
    pub fn done_in_time(&self) -> bool {
        self.done()
            && self
                .done_on
                .as_deref()
                .is_some_and(|d| d <= self.deadline.as_str())
    }

    pub fn status_label(&self) -> &'static str {
        if self.done() {
            "已完成"
        } else {
            "进行中"
        }
    }

    /// Whether `u` may update the task: its owner (the officer, or a user of the owning unit's
    /// own region), or whoever may create tasks.
    pub fn may_update(&self, u: &User, manages: bool) -> bool {
        manages
            || match self.owner_kind.as_str() {
                "officer" => u.username == self.owner,
                _ => u.region_code == self.owner,
            }
    }
}

/// The refusal of an update by someone who is not the task's owner.
pub const NOT_OWNER: &str = "只有任务的责任单位或责任人可以更新进度";

/// A task to create.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub rule_set_id: i64,
    pub indicator_id: String,
    pub title: String,
    /// A region code (a unit) or a username (an officer).
    pub owner: String,
    pub deadline: String,
}

/// What an owner reports on a task.
#[derive(Debug, Clone)]
pub struct Update {
    pub progress: i64,
    pub done: bool,
    pub evidence: String,
    /// An uploaded file: its name and bytes.
    pub file: Option<(String, Vec<u8>)>,
}

fn invalid(m: impl Into<String>) -> AssessError {
    AssessError::Invalid(m.into())
}

fn date(s: &str, label: &str) -> Result<NaiveDate, AssessError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(format!("{label}“{}”应为 YYYY-MM-DD 格式的日期", s.trim())))
}

/// Creates a task for an indicator of a kept rule set, owned by a unit or an officer inside
/// the creator's scope.
pub async fn create(db: &Db, org: &Org, creator: &User, t: &NewTask) -> Result<i64, AssessError> {
    let (version, text) = crate::rule_sets::get(db, t.rule_set_id).await?;
    let rules = ecowarden_scoring::parse(&text).map_err(AssessError::Rules)?;
    if !rules.indicators.iter().any(|i| i.id == t.indicator_id) {
        return Err(invalid(format!(
            "评分细则“{}”没有编号为“{}”的指标",
            version.name, t.indicator_id
        )));
    }
    let title = t.title.trim();
    if title.is_empty() {
        return Err(invalid("请填写任务内容"));
    }
    let deadline = date(&t.deadline, "完成期限")?;
    let owner = t.owner.trim();
    let (kind, region_code, city_code) = match org.region(owner) {
        Some(r) => ("unit", r.code.clone(), r.city_code.clone()),
        None => match ecowarden_core::auth::find_by_username(db, owner).await? {
            Some(u) => ("officer", u.region_code, u.city_code),
            None => {
                return Err(invalid(format!(
                    "责任主体“{owner}”既不是行政区划代码，也不是用户名"
                )));
            }
        },
    };
    if !creator.scope.covers(&region_code, &city_code) {
        return Err(invalid(format!("责任主体“{owner}”不在您的管辖范围内")));
    }
    let mut w = db.write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO assessment_tasks (rule_set_id, indicator_id, title, owner_kind, owner, \
         region_code, city_code, deadline, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(t.rule_set_id)
    .bind(&t.indicator_id)
    .bind(title)
    .bind(kind)
    .bind(owner)
    .bind(&region_code)
    .bind(&city_code)
    .bind(deadline.to_string())
    .bind(clock::now_rfc3339())
    .bind(&creator.username)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        &mut w,
        &Change {
            actor: &creator.username,
            action: "create",
            entity: "assessment_task",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({
                "rule_set_id": t.rule_set_id, "indicator_id": t.indicator_id, "title": title,
                "owner_kind": kind, "owner": owner, "deadline": deadline.to_string(),
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

const SELECT: &str = "SELECT * FROM assessment_tasks t WHERE 1=1";

/// The tasks inside an area, by indicator and deadline.
pub async fn list(db: &Db, area: &Area) -> Result<Vec<Task>, AssessError> {
    let mut sql = Sql::new(SELECT);
    sql.scope(area, "t");
    sql.push(" ORDER BY t.rule_set_id DESC, t.indicator_id, t.deadline, t.id");
    Ok(sql.fetch_all(db).await?)
}

/// One task; refused when the area does not cover its owner.
pub async fn get(db: &Db, area: &Area, id: i64) -> Result<Task, AssessError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND t.id = ").bind(id);
    sql.fetch_in_scope(db, area).await.map_err(|e| match e {
        ecowarden_core::store::StoreError::NotFound => {
            AssessError::NotFound(format!("没有编号为 {id} 的任务"))
        }
        ecowarden_core::store::StoreError::OutOfScope => {
            AssessError::Forbidden(format!("任务 {id} 不在您的管辖范围内"))
        }
        e => e.into(),
    })
}

/// Tasks inside an area past their deadline and not done, the oldest deadline first.
pub async fn overdue(db: &Db, area: &Area, today: NaiveDate) -> Result<Vec<Task>, AssessError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND t.status <> 'done' AND t.deadline < ")
        .bind(today.to_string());
    sql.scope(area, "t");
    sql.push(" ORDER BY t.deadline, t.id");
    Ok(sql.fetch_all(db).await?)
}

/// Where an uploaded evidence file of a task is kept, relative to the data directory.
fn evidence_path(id: i64, name: &str) -> PathBuf {
    // Only the last component, stripped of anything a path could use.
    let clean: String = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !matches!(c, '/' | '\\' | '\0'))
        .collect();
    let clean = if clean.is_empty() || clean.starts_with('.') {
        format!("evidence{clean}")
    } else {
        clean
    };
    PathBuf::from("assessment-tasks")
        .join(id.to_string())
        .join(clean)
}

/// Records an owner's progress, status and evidence (an uploaded file goes into the data
/// directory). Refused to anyone but the owner or whoever may create tasks.
pub async fn update(
    db: &Db,
    data_dir: &Path,
    task: &Task,
    u: &User,
    manages: bool,
    up: Update,
) -> Result<(), AssessError> {
    if !task.may_update(u, manages) {
        return Err(AssessError::Forbidden(NOT_OWNER.into()));
    }
    if !(0..=100).contains(&up.progress) {
        return Err(invalid(format!(
            "进度应为 0 到 100 之间的整数，实为 {}",
            up.progress
        )));
    }
    let progress = if up.done { 100 } else { up.progress };
    let done_on = if up.done {
        Some(
            task.done_on
                .clone()
                .unwrap_or_else(|| clock::today().to_string()),
        )
    } else {
        None
    };
    let (name, path) = match &up.file {
        Some((name, bytes)) => {
            let rel = evidence_path(task.id, name);
            let full = data_dir.join(&rel);
            if let Some(dir) = full.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| invalid(format!("保存证明材料失败：{e}")))?;
            }
            std::fs::write(&full, bytes).map_err(|e| invalid(format!("保存证明材料失败：{e}")))?;
            (Some(name.clone()), Some(rel.to_string_lossy().into_owned()))
        }
        None => (task.evidence_name.clone(), task.evidence_path.clone()),
    };
    let status = if up.done { "done" } else { "open" };
    let mut w = db.write().await?;
    sqlx::query(
        "UPDATE assessment_tasks SET progress = $1, status = $2, done_on = $3, evidence = $4, \
         evidence_name = $5, evidence_path = $6 WHERE id = $7",
    )
    .bind(progress)
    .bind(status)
    .bind(&done_on)
    .bind(up.evidence.trim())
    .bind(&name)
    .bind(&path)
    .bind(task.id)
    .execute(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor: &u.username,
            action: "update",
            entity: "assessment_task",
            entity_id: task.id.to_string(),
            before: Some(json!({
                "progress": task.progress, "status": task.status, "done_on": task.done_on,
                "evidence": task.evidence, "evidence_name": task.evidence_name,
            })),
            after: Some(json!({
                "progress": progress, "status": status, "done_on": done_on,
                "evidence": up.evidence.trim(), "evidence_name": name,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// The bytes of a task's uploaded evidence, with its name.
pub fn evidence_file(data_dir: &Path, task: &Task) -> Option<(String, Vec<u8>)> {
    let (name, path) = (task.evidence_name.as_ref()?, task.evidence_path.as_ref()?);
    Some((name.clone(), std::fs::read(data_dir.join(path)).ok()?))
}

/// The tasks whose deadline lies in `[from, to]` inside an area (for `tasks.completion`).
pub(crate) async fn of_period(
    db: &Db,
    area: &Area,
    from: NaiveDate,
    to: NaiveDate,
) -> ecowarden_core::store::Result<Vec<Task>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND t.deadline BETWEEN ")
        .bind(from.to_string())
        .push(" AND ")
        .bind(to.to_string());
    sql.scope(area, "t");
    sql.fetch_all(db).await
}

/// A board column: tasks grouped under an indicator or an owner.
#[derive(Debug, Clone)]
pub struct Group {
    pub label: String,
    pub tasks: Vec<Task>,
}

/// The tasks grouped by a key, in the order the keys first appear.
pub fn group(tasks: Vec<Task>, key: impl Fn(&Task) -> String) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for t in tasks {
        let k = key(&t);
        match out.iter_mut().find(|g| g.label == k) {
            Some(g) => g.tasks.push(t),
            None => out.push(Group {
                label: k,
                tasks: vec![t],
            }),
        }
    }
    out
}
