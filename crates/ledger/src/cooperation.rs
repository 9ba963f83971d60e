//! Work beyond one unit's own cases (部门协作): 专案组 task forces, 典型案例 batches,
//! lead transfers between departments (线索移送), listed supervision (挂牌督办) and cross
//! enforcement between cities (交叉执法). Each table is recorded and read here only.
//!
//! Recording functions take the caller's connection, so they join its write transaction (the
//! demo seeds them with the cases they refer to); reading functions take the caller's scope.

use serde::Serialize;
use sqlx::AnyConnection;

use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result, Sql, StoreError};

use crate::cases::vocab::Tag;

/// A 专案组 of a campaign, as recorded.
#[derive(Debug, Clone)]
pub struct NewTaskForce {
    pub name: String,
    pub theme: Tag,
    pub leader: String,
    /// The unit that set it up (the corps for the province's task forces).
    pub region_code: String,
    pub city_code: String,
    pub established_on: String,
    pub outcome: String,
}

/// Records a task force and links the cases it handled; returns its id.
pub async fn record_task_force(
    conn: &mut AnyConnection,
    t: &NewTaskForce,
    cases: &[i64],
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO task_forces (name, theme, leader, region_code, city_code, established_on, outcome) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
    )
    .bind(&t.name)
    .bind(t.theme.as_str())
    .bind(&t.leader)
    .bind(&t.region_code)
    .bind(&t.city_code)
    .bind(&t.established_on)
    .bind(&t.outcome)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    for case in cases {
        sqlx::query("UPDATE cases SET task_force_id = $1 WHERE id = $2")
            .bind(id)
            .bind(case)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// A task force as the campaign page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaskForce {
    pub name: String,
    pub leader: String,
    pub established_on: String,
    pub outcome: String,
}

/// The task forces of a campaign in scope, oldest first.
pub async fn task_forces(db: &Db, scope: &Scope, theme: Tag) -> Result<Vec<TaskForce>> {
    let mut sql = Sql::new(
        "SELECT t.name, t.leader, t.established_on, t.outcome FROM task_forces t WHERE t.theme = ",
    );
    sql.bind(theme.as_str());
    sql.scope(scope, "t");
    sql.push(" ORDER BY t.established_on");
    sql.fetch_all(db).await
}

/// A batch of typical cases (典型案例) as published.
#[derive(Debug, Clone)]
pub struct NewTypicalBatch {
    pub title: String,
    pub theme: Tag,
    pub region_code: String,
    pub city_code: String,
    pub published_on: String,
}

/// Records a batch and the cases it publishes; returns its id.
pub async fn record_typical_batch(
    conn: &mut AnyConnection,
    b: &NewTypicalBatch,
    cases: &[i64],
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO typical_batches (title, theme, region_code, city_code, published_on) \
         VALUES ($1,$2,$3,$4,$5) RETURNING id",
    )
    .bind(&b.title)
    .bind(b.theme.as_str())
    .bind(&b.region_code)
    .bind(&b.city_code)
    .bind(&b.published_on)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    for case in cases {
        sqlx::query("INSERT INTO typical_cases (batch_id, case_id) VALUES ($1,$2)")
            .bind(id)
            .bind(case)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// A batch as the campaign page lists it, with its number of cases.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TypicalBatch {
    pub title: String,
    pub published_on: String,
    pub cases: i64,
}

/// The typical-case batches of a campaign in scope, oldest first.
pub async fn typical_batches(db: &Db, scope: &Scope, theme: Tag) -> Result<Vec<TypicalBatch>> {
    let mut sql = Sql::new(
        "SELECT b.title, b.published_on, COUNT(tc.case_id) AS cases FROM typical_batches b \
         LEFT JOIN typical_cases tc ON tc.batch_id = b.id WHERE b.theme = ",
    );
    sql.bind(theme.as_str());
    sql.scope(scope, "b");
    sql.push(" GROUP BY b.id, b.title, b.published_on ORDER BY b.published_on");
    sql.fetch_all(db).await
}

/// A lead passed to (`out`) or received from (`in`) another department.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LeadTransfer {
    /// `in` or `out`.
    pub direction: String,
    pub department: String,
    pub region_code: String,
    pub city_code: String,
    pub transferred_on: String,
    pub summary: String,
    /// The case a received lead became, if any.
    pub case_id: Option<i64>,
    pub feedback_on: Option<String>,
    pub feedback: String,
}

pub async fn record_lead_transfer(conn: &mut AnyConnection, t: &LeadTransfer) -> Result<()> {
    sqlx::query(
        "INSERT INTO lead_transfers (direction, department, region_code, city_code, transferred_on, \
         summary, case_id, feedback_on, feedback) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
    )
    .bind(&t.direction)
    .bind(&t.department)
    .bind(&t.region_code)
    .bind(&t.city_code)
    .bind(&t.transferred_on)
    .bind(&t.summary)
    .bind(t.case_id)
    .bind(&t.feedback_on)
    .bind(&t.feedback)
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest 200 lead transfers in scope, newest first.
pub async fn lead_transfers(db: &Db, scope: &Scope) -> Result<Vec<LeadTransfer>> {
    let mut sql = Sql::new(
        "SELECT l.direction, l.department, l.region_code, l.city_code, l.transferred_on, l.summary, \
         l.case_id, l.feedback_on, l.feedback FROM lead_transfers l WHERE 1=1",
    );
    sql.scope(scope, "l")
        .push(" ORDER BY l.transferred_on DESC LIMIT 200");
    sql.fetch_all(db).await
}

/// A case under listed supervision (挂牌督办) by the province or a city.
#[derive(Debug, Clone)]
pub struct NewListedSupervision {
    pub case_id: i64,
    /// `province` or `city`.
    pub level: String,
    /// Departments supervising jointly, e.g. 省公安厅; empty when none.
    pub joint_with: String,
    pub listed_on: String,
    pub deadline: String,
    pub closed_on: Option<String>,
}

pub async fn record_listed_supervision(
    conn: &mut AnyConnection,
    s: &NewListedSupervision,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO listed_supervisions (case_id, level, joint_with, listed_on, deadline, closed_on) \
         VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(s.case_id)
    .bind(&s.level)
    .bind(&s.joint_with)
    .bind(&s.listed_on)
    .bind(&s.deadline)
    .bind(&s.closed_on)
    .execute(conn)
    .await?;
    Ok(())
}

/// A listed supervision with its case number, as the page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ListedSupervision {
    pub case_id: i64,
    pub case_no: String,
    pub level: String,
    pub joint_with: String,
    pub listed_on: String,
    pub deadline: String,
    pub closed_on: Option<String>,
}

/// The listed supervisions of cases in scope, earliest deadline first (200 at most).
pub async fn listed_supervisions(db: &Db, scope: &Scope) -> Result<Vec<ListedSupervision>> {
    let mut sql = Sql::new(
        "SELECT s.case_id, c.case_no, s.level, s.joint_with, s.listed_on, s.deadline, s.closed_on \
         FROM listed_supervisions s JOIN cases c ON c.id = s.case_id WHERE 1=1",
    );
    sql.scope(scope, "c").push(" ORDER BY s.deadline LIMIT 200");
    sql.fetch_all(db).await
}

/// The open listed supervisions of cases in scope: the `shown` with the earliest deadlines,
/// and how many there are. For the dashboard, which lists the open ones: filtering the 200 of
/// [`listed_supervisions`] could miss open ones behind closed ones and read every row.
pub async fn open_listed_supervisions(
    db: &Db,
    scope: &Scope,
    shown: i64,
) -> Result<(Vec<ListedSupervision>, i64)> {
    let open = |select: &str| {
        let mut sql = Sql::new(&format!(
            "SELECT {select} FROM listed_supervisions s JOIN cases c ON c.id = s.case_id \
             WHERE s.closed_on IS NULL"
        ));
        sql.scope(scope, "c");
        sql
    };
    let mut rows =
        open("s.case_id, c.case_no, s.level, s.joint_with, s.listed_on, s.deadline, s.closed_on");
    rows.push(" ORDER BY s.deadline, s.case_id LIMIT ")
        .bind(shown);
    Ok((
        rows.fetch_all(db).await?,
        open("COUNT(*)").fetch_scalar(db).await?,
    ))
}

/// A cross-enforcement operation: one unit's team inspects another region's sources.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CrossEnforcement {
    pub name: String,
    /// The unit whose team inspects.
    pub inspector_region: String,
    /// The region inspected (a city, or one county)…
    pub target_region: String,
    /// …and the city it reports to.
    pub target_city: String,
    pub starts_on: String,
    pub ends_on: String,
    pub officers: i64,
    pub problems_found: i64,
}

pub async fn record_cross_enforcement(
    conn: &mut AnyConnection,
    x: &CrossEnforcement,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO cross_enforcements (name, inspector_region, target_region, target_city, \
         starts_on, ends_on, officers, problems_found) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(&x.name)
    .bind(&x.inspector_region)
    .bind(&x.target_region)
    .bind(&x.target_city)
    .bind(&x.starts_on)
    .bind(&x.ends_on)
    .bind(x.officers)
    .bind(x.problems_found)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who sees a cross-enforcement operation: the province; a city whose region is inspected or
/// whose team inspects; a county whose team inspects, that is inspected itself, or whose whole
/// city is (its sources are then inspected too). `county_city` is the city a county scope
/// reports to. [`cross_enforcements`] applies the same rule in SQL.
pub fn sees_cross_enforcement(
    scope: &Scope,
    county_city: Option<&str>,
    x: &CrossEnforcement,
) -> bool {
    match scope {
        Scope::Province => true,
        Scope::City(c) => x.target_city == *c || x.inspector_region == *c,
        Scope::County(c) => {
            x.inspector_region == *c
                || x.target_region == *c
                || county_city.is_some_and(|city| x.target_region == city)
        }
    }
}

/// The cross-enforcement operations the scope sees ([`sees_cross_enforcement`]), by start.
pub async fn cross_enforcements(
    db: &Db,
    org: &Org,
    scope: &Scope,
) -> Result<Vec<CrossEnforcement>> {
    let mut sql = Sql::new(
        "SELECT x.name, x.inspector_region, x.target_region, x.target_city, x.starts_on, x.ends_on, \
         x.officers, x.problems_found FROM cross_enforcements x WHERE 1=1",
    );
    match scope {
        Scope::Province => {}
        Scope::City(c) => {
            sql.push(" AND (x.target_city = ")
                .bind(c.as_str())
                .push(" OR x.inspector_region = ")
                .bind(c.as_str())
                .push(")");
        }
        Scope::County(c) => {
            let city = org
                .region(c)
                .map(|r| r.city_code.clone())
                .unwrap_or_default();
            sql.push(" AND (x.inspector_region = ")
                .bind(c.as_str())
                .push(" OR x.target_region = ")
                .bind(c.as_str())
                .push(" OR x.target_region = ")
                .bind(city)
                .push(")");
        }
    }
    sql.push(" ORDER BY x.starts_on");
    sql.fetch_all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(inspector: &str, target: &str, target_city: &str) -> CrossEnforcement {
        CrossEnforcement {
            name: "交叉执法".into(),
            inspector_region: inspector.into(),
            target_region: target.into(),
            target_city: target_city.into(),
            starts_on: "2023-04-10".into(),
            ends_on: "2023-04-24".into(),
            officers: 6,
            problems_found: 9,
        }
    }

    #[test]
    fn a_county_sees_its_city_inspected_and_its_own_operations() {
        let gulou = Scope::County("350102".into());
        let fuzhou_inspected = op("350200", "350100", "350100");
        assert!(sees_cross_enforcement(
            &gulou,
            Some("350100"),
            &fuzhou_inspected
        ));
        let xiamen_inspected = op("350100", "350200", "350200");
        assert!(!sees_cross_enforcement(
            &gulou,
            Some("350100"),
            &xiamen_inspected
        ));
        let gulou_inspects = op("350102", "350203", "350200");
        assert!(sees_cross_enforcement(
            &gulou,
            Some("350100"),
            &gulou_inspects
        ));
        let taijiang_inspected = op("350200", "350103", "350100");
        assert!(!sees_cross_enforcement(
            &gulou,
            Some("350100"),
            &taijiang_inspected
        ));
    }

    #[test]
    fn a_city_sees_what_it_inspects_and_what_inspects_it() {
        let fuzhou = Scope::City("350100".into());
        assert!(sees_cross_enforcement(
            &fuzhou,
            None,
            &op("350200", "350100", "350100")
        ));
        assert!(sees_cross_enforcement(
            &fuzhou,
            None,
            &op("350200", "350103", "350100")
        ));
        assert!(sees_cross_enforcement(
            &fuzhou,
            None,
            &op("350100", "350200", "350200")
        ));
        assert!(!sees_cross_enforcement(
            &fuzhou,
            None,
            &op("350200", "350300", "350300")
        ));
        assert!(sees_cross_enforcement(
            &Scope::Province,
            None,
            &op("350200", "350300", "350300")
        ));
    }
}
