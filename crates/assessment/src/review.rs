//! Dossier review (案卷评查): review sheets kept as versioned data, sampling plans, the
//! cross-review assignment, reviewers' sheets and the results per dossier, unit and city.
//!
//! The rules are pure functions over values so they can be tested without a store:
//! [`Sheet::score`] (a knock-out item fails a dossier whatever its points), [`assign`] (two
//! reviewers per dossier, never of its own unit, nor of its own city for a city-level
//! reviewer), [`settle`] (an arbiter when the two scores differ by more than the plan's
//! margin, or one passes and the other fails). The rest reads and writes the store; every
//! change goes through the audit log.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::clock;
use ecowarden_core::org::{Level, Org};
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Sql, StoreError};
use ecowarden_ledger::sampling::{self, Candidate};

/// The sheet shipped with the platform, built from the MEE review guide's layout.
pub const DEFAULT_SHEET: &str = include_str!("../data/review_sheet.json");

/// The stages the 卷面 points are grouped by, in the order a dossier runs.
pub const STAGES: [&str; 8] = [
    "立案",
    "调查取证",
    "告知",
    "决定",
    "送达",
    "执行",
    "结案",
    "文书规范",
];

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Input that does not fit the sheet, the plan or the organisation; shown as is.
    #[error("{0}")]
    Invalid(String),
    /// Not the caller's assignment, or a record outside their scope.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The monitoring archive could not be read (a damaged file, a full disk): the
    /// comparison is not shown rather than shown short.
    #[error("读取监测数据归档出错：{0}")]
    Archive(String),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Store(e.into())
    }
}

type Result<T, E = ReviewError> = std::result::Result<T, E>;

/// A pass/fail item of the 实体 review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knockout {
    pub id: String,
    pub text: String,
}

/// An item worth points (卷面 or bonus).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointItem {
    pub id: String,
    pub text: String,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub stage: String,
    pub items: Vec<PointItem>,
}

/// A review sheet: knock-out items, points by stage, bonus items and the pass mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sheet {
    pub title: String,
    /// Shown above the sheet (the default says it is a template to adjust).
    #[serde(default)]
    pub note: String,
    pub pass_mark: f64,
    pub knockouts: Vec<Knockout>,
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub bonus: Vec<PointItem>,
}

/// One deducted 卷面 item: how much and why (a comment is required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deduction {
    pub item: String,
    pub points: f64,
    pub comment: String,
}

/// What a reviewer marked on a sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marks {
    /// The knock-out items the dossier fails.
    pub knockouts: Vec<String>,
    pub deductions: Vec<Deduction>,
    /// The bonus items awarded (each its full points).
    pub bonus: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

/// A scored sheet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub passed: bool,
}

impl Sheet {
    /// Parses and checks a sheet; errors name the line and column (JSON) or the item.
    pub fn parse(text: &str) -> Result<Sheet> {
        let sheet: Sheet = serde_json::from_str(text).map_err(|e| {
            ReviewError::Invalid(format!(
                "评查表第 {} 行第 {} 列有误：{e}",
                e.line(),
                e.column()
            ))
        })?;
        sheet.validate()?;
        Ok(sheet)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ReviewError::Invalid(m));
        if self.title.trim().is_empty() {
            return bad("评查表须有标题（title）".into());
        }
        let mut seen = std::collections::HashSet::new();
        let ids = self
            .knockouts
            .iter()
            .map(|k| &k.id)
            .chain(self.point_items().map(|(_, i)| &i.id));
        for id in ids {
            if id.trim().is_empty() {
                return bad("评查表中有编号（id）为空的评查项".into());
            }
            if !seen.insert(id) {
                return bad(format!("评查项编号“{id}”重复"));
            }
        }
        for s in &self.stages {
            if !STAGES.contains(&s.stage.as_str()) {
                return bad(format!(
                    "卷面评查阶段“{}”未知，可用：{}",
                    s.stage,
                    STAGES.join("、")
                ));
            }
        }
        for (_, i) in self.point_items() {
            if !(i.points > 0.0 && i.points <= 100.0) {
                return bad(format!(
                    "评查项 {} 的分值 {} 应在 0 到 100 之间",
                    i.id, i.points
                ));
            }
        }
        let total = self.total();
        if total <= 0.0 {
            return bad("卷面评查至少须有一个计分项".into());
        }
        if !(0.0..=total).contains(&self.pass_mark) {
            return bad(format!(
                "合格分 {} 应在 0 到卷面总分 {total} 之间",
                self.pass_mark
            ));
        }
        Ok(())
    }

    /// Every 卷面 and bonus item, with its stage (bonus items: `加分`).
    fn point_items(&self) -> impl Iterator<Item = (&str, &PointItem)> {
        self.stages
            .iter()
            .flat_map(|s| s.items.iter().map(move |i| (s.stage.as_str(), i)))
            .chain(self.bonus.iter().map(|i| ("加分", i)))
    }

    /// The 卷面 total (bonus points not counted).
    pub fn total(&self) -> f64 {
        self.stages
            .iter()
            .flat_map(|s| &s.items)
            .map(|i| i.points)
            .sum()
    }

    /// The item of an id, with its stage.
    pub fn item(&self, id: &str) -> Option<(&str, &PointItem)> {
        self.point_items().find(|(_, i)| i.id == id)
    }

    /// Scores marks against the sheet: the 卷面 total less the deductions plus the bonus
    /// awarded; passed when no knock-out item fails and the score reaches the pass mark.
    /// Marks naming unknown items, deducting more than an item is worth or without a comment
    /// are refused.
    pub fn score(&self, m: &Marks) -> Result<Scored> {
        let bad = |s: String| Err(ReviewError::Invalid(s));
        for k in &m.knockouts {
            if !self.knockouts.iter().any(|x| &x.id == k) {
                return bad(format!("实体评查项“{k}”不在评查表中"));
            }
        }
        let mut deducted = 0.0;
        let mut seen = std::collections::HashSet::new();
        for d in &m.deductions {
            let Some((stage, item)) = self.item(&d.item).filter(|(s, _)| *s != "加分") else {
                return bad(format!("卷面评查项“{}”不在评查表中", d.item));
            };
            if !seen.insert(&d.item) {
                return bad(format!("评查项 {} 重复扣分", d.item));
            }
            if !(d.points > 0.0 && d.points <= item.points) {
                return bad(format!(
                    "{stage}·{} 扣 {} 分，应大于 0 且不超过该项分值 {}",
                    item.id, d.points, item.points
                ));
            }
            if d.comment.trim().is_empty() {
                return bad(format!("{stage}·{} 扣分须填写扣分理由", item.id));
            }
            deducted += d.points;
        }
        let mut bonus = 0.0;
        for b in &m.bonus {
            match self.bonus.iter().find(|x| &x.id == b) {
                Some(x) => bonus += x.points,
                None => return bad(format!("加分项“{b}”不在评查表中")),
            }
        }
        let score = round2(self.total() - deducted + bonus);
        Ok(Scored {
            score,
            passed: m.knockouts.is_empty() && score >= self.pass_mark,
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Where a dossier or a reviewer belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub region_code: String,
    pub city_code: String,
}

/// A reviewer of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub username: String,
    pub place: Place,
    /// A city-level reviewer may not review any dossier of their city.
    pub city_level: bool,
}

impl Reviewer {
    /// Whether this reviewer may review a dossier of `d`: never their own unit's, nor their
    /// own city's for a city-level reviewer.
    pub fn may_review(&self, d: &Place) -> bool {
        self.place.region_code != d.region_code
            && !(self.city_level && self.place.city_code == d.city_code)
    }
}

/// Two reviewers for each dossier (indexes into `reviewers`), the least loaded eligible ones
/// first (ties in a rotation by the dossier's position, so equal pools spread evenly);
/// `loads` counts what each reviewer already has and is updated. The index of the first
/// dossier without two eligible reviewers is the error.
pub fn assign(
    dossiers: &[Place],
    reviewers: &[Reviewer],
    loads: &mut [usize],
) -> std::result::Result<Vec<[usize; 2]>, usize> {
    let mut out = Vec::with_capacity(dossiers.len());
    for (n, d) in dossiers.iter().enumerate() {
        let first = pick(d, reviewers, loads, &[], n).ok_or(n)?;
        loads[first] += 1;
        let second = pick(d, reviewers, loads, &[first], n).ok_or(n)?;
        loads[second] += 1;
        out.push([first, second]);
    }
    Ok(out)
}

/// The least loaded reviewer eligible for `d` and not in `except`.
pub fn pick(
    d: &Place,
    reviewers: &[Reviewer],
    loads: &[usize],
    except: &[usize],
    turn: usize,
) -> Option<usize> {
    let n = reviewers.len().max(1);
    (0..reviewers.len())
        .filter(|i| !except.contains(i) && reviewers[*i].may_review(d))
        .min_by_key(|i| (loads[*i], (i + n - turn % n) % n))
}

/// Where a dossier's review stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settlement {
    /// A first or second sheet is not in yet.
    Pending,
    /// The two disagree: an arbiter's sheet decides (not in yet).
    Arbitrate,
    Final(Scored),
}

/// The margin a plan uses when none is given, in points.
pub const DEFAULT_MARGIN: f64 = 10.0;

/// A dossier's result from its sheets: the mean of the two when they agree (scores within
/// `margin` and the same pass/fail), the arbiter's when they do not.
pub fn settle(
    first: Option<Scored>,
    second: Option<Scored>,
    arbiter: Option<Scored>,
    margin: f64,
) -> Settlement {
    let (Some(a), Some(b)) = (first, second) else {
        return Settlement::Pending;
    };
    if needs_arbiter(a, b, margin) {
        return arbiter.map_or(Settlement::Arbitrate, Settlement::Final);
    }
    Settlement::Final(Scored {
        score: round2((a.score + b.score) / 2.0),
        passed: a.passed,
    })
}

/// Whether two sheets disagree enough to call an arbiter: more than `margin` points apart,
/// or one passes the dossier and the other fails it.
pub fn needs_arbiter(a: Scored, b: Scored, margin: f64) -> bool {
    (a.score - b.score).abs() > margin + 1e-9 || a.passed != b.passed
}

// ---------------------------------------------------------------------------------------
// The store.

/// A sheet version as stored.
#[derive(Debug, Clone)]
pub struct StoredSheet {
    pub id: i64,
    pub version: i64,
    pub sheet: Sheet,
    pub text: String,
}

/// The sheet in force: the latest version, the shipped default stored as version 1 when the
/// store has none.
pub async fn sheet_in_force(db: &Db) -> Result<StoredSheet> {
    if let Some(s) = latest_sheet(db).await? {
        return Ok(s);
    }
    save_sheet(db, "system", DEFAULT_SHEET).await
}

async fn latest_sheet(db: &Db) -> Result<Option<StoredSheet>> {
    let row = sqlx::query(
        "SELECT id, version, sheet_json FROM review_sheets ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| stored_sheet(&r)).transpose()
}

fn stored_sheet(r: &sqlx::any::AnyRow) -> Result<StoredSheet> {
    let text: String = r.try_get(2)?;
    Ok(StoredSheet {
        id: r.try_get(0)?,
        version: r.try_get(1)?,
        sheet: Sheet::parse(&text)?,
        text,
    })
}

/// A sheet version by id (the one a review was filled against).
pub async fn sheet(db: &Db, id: i64) -> Result<StoredSheet> {
    let r = sqlx::query("SELECT id, version, sheet_json FROM review_sheets WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| ReviewError::NotFound(format!("没有编号为 {id} 的评查表")))?;
    stored_sheet(&r)
}

/// Saves an edited sheet as the next version; a sheet that does not parse changes nothing.
pub async fn save_sheet(db: &Db, actor: &str, text: &str) -> Result<StoredSheet> {
    let sheet = Sheet::parse(text)?;
    let mut w = db.write().await?;
    let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM review_sheets")
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
    let id: i64 = sqlx::query(
        "INSERT INTO review_sheets (version, sheet_json, created_at, created_by) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(version)
    .bind(text)
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
            entity: "review_sheet",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({"version": version, "title": sheet.title})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(StoredSheet {
        id,
        version,
        sheet,
        text: text.to_owned(),
    })
}

/// What a plan is asked to draw.
#[derive(Debug, Clone, Copy)]
pub struct PlanSpec {
    pub year: i32,
    pub size: usize,
    pub seed: u64,
    pub min_per_type: usize,
    pub min_per_unit: usize,
    pub margin: f64,
}

/// A stored plan.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub year: i64,
    pub region_code: String,
    pub city_code: String,
    pub seed: i64,
    pub size: i64,
    pub min_per_type: i64,
    pub min_per_unit: i64,
    pub margin_x100: i64,
    pub created_at: String,
    pub created_by: String,
}
ecowarden_core::store::in_region!(PlanRow);

impl PlanRow {
    pub fn margin(&self) -> f64 {
        self.margin_x100 as f64 / 100.0
    }
}

/// The reviewer pool: enabled officers and leaders of the cities and counties.
pub async fn reviewers(db: &Db, org: &Org) -> Result<Vec<Reviewer>> {
    let rows: Vec<(String, String, String)> = Sql::new(
        "SELECT username, region_code, city_code FROM users WHERE disabled = 0 \
         AND role IN ('city_leader', 'city_officer', 'county_officer') ORDER BY username",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(username, region_code, city_code)| Reviewer {
            username,
            city_level: org.region(&region_code).map(|r| r.level) == Some(Level::City),
            place: Place {
                region_code,
                city_code,
            },
        })
        .collect())
}

/// Draws a plan's dossiers in an area, stores the plan with its seed and assigns two
/// reviewers to each dossier. Refused whole when some dossier has no two eligible reviewers.
pub async fn create_plan(
    db: &Db,
    org: &Org,
    area: &Area,
    actor: &str,
    spec: PlanSpec,
) -> Result<i64> {
    if spec.size == 0 {
        return Err(ReviewError::Invalid("抽查数量应大于 0".into()));
    }
    if spec.margin.is_nan() || spec.margin < 0.0 {
        return Err(ReviewError::Invalid("仲裁分差应不小于 0".into()));
    }
    let pool = sampling::candidates(db, area, spec.year).await?;
    let drawn = sampling::draw(
        &pool,
        &sampling::Plan {
            size: spec.size,
            seed: spec.seed,
            min_per_type: spec.min_per_type,
            min_per_unit: spec.min_per_unit,
        },
    );
    if drawn.is_empty() {
        return Err(ReviewError::Invalid(format!(
            "{}{}年没有已作出处罚决定的案件可供抽查",
            area.label(org),
            spec.year
        )));
    }
    let places = places_of(db, &drawn).await?;
    let pool_of_reviewers = reviewers(db, org).await?;
    let mut loads = vec![0; pool_of_reviewers.len()];
    let pairs = assign(&places, &pool_of_reviewers, &mut loads).map_err(|i| {
        ReviewError::Invalid(format!(
            "案卷 {} 没有两名可交叉评查的评查人员（不得评查本单位、本市案卷），未创建",
            drawn[i].case_no
        ))
    })?;
    let code = area.code(org).to_owned();
    let city = org
        .region(&code)
        .map(|r| r.city_code.clone())
        .unwrap_or_else(|| code.clone());
    let mut w = db.write().await?;
    let plan_id: i64 = sqlx::query(
        "INSERT INTO review_plans (year, region_code, city_code, seed, size, min_per_type, min_per_unit, \
         margin_x100, created_at, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
    )
    .bind(spec.year as i64)
    .bind(&code)
    .bind(&city)
    // The seed is stored bit for bit: a u64 above i64::MAX reads back the same.
    .bind(spec.seed as i64)
    .bind(spec.size as i64)
    .bind(spec.min_per_type as i64)
    .bind(spec.min_per_unit as i64)
    .bind((spec.margin * 100.0).round() as i64)
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    for ((c, p), pair) in drawn.iter().zip(&places).zip(&pairs) {
        let d = insert_dossier(&mut w, plan_id, c, p, "random").await?;
        for (role, r) in ["first", "second"].iter().zip(pair) {
            insert_assignment(&mut w, d, &pool_of_reviewers[*r].username, role).await?;
        }
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "review_plan",
            entity_id: plan_id.to_string(),
            before: None,
            after: Some(json!({
                "year": spec.year, "region_code": code, "seed": spec.seed.to_string(),
                "size": spec.size, "min_per_type": spec.min_per_type,
                "min_per_unit": spec.min_per_unit, "margin": spec.margin,
                "dossiers": drawn.len(),
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(plan_id)
}

/// The region and city of each drawn case, in order.
async fn places_of(db: &Db, drawn: &[Candidate]) -> Result<Vec<Place>> {
    let mut sql = Sql::new("SELECT id, region_code, city_code FROM cases WHERE id IN (");
    for (i, c) in drawn.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(c.case_id);
    }
    sql.push(")");
    let rows: Vec<(i64, String, String)> = sql.fetch_all(db).await?;
    let by_id: HashMap<i64, Place> = rows
        .into_iter()
        .map(|(id, region_code, city_code)| {
            (
                id,
                Place {
                    region_code,
                    city_code,
                },
            )
        })
        .collect();
    Ok(drawn
        .iter()
        .map(|c| by_id.get(&c.case_id).cloned().expect("drawn from cases"))
        .collect())
}

async fn insert_dossier(
    w: &mut ecowarden_core::store::WriteTx,
    plan_id: i64,
    c: &Candidate,
    p: &Place,
    how: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO review_dossiers (plan_id, case_id, case_no, unit, case_type, how, region_code, city_code) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
    )
    .bind(plan_id)
    .bind(c.case_id)
    .bind(&c.case_no)
    .bind(&c.unit)
    .bind(c.case_type.label())
    .bind(how)
    .bind(&p.region_code)
    .bind(&p.city_code)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?)
}

async fn insert_assignment(
    w: &mut ecowarden_core::store::WriteTx,
    dossier_id: i64,
    reviewer: &str,
    role: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO review_assignments (dossier_id, reviewer, role) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(dossier_id)
    .bind(reviewer)
    .bind(role)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?)
}

/// How many sheets each reviewer already has, in the pool's order.
async fn loads_of(db: &Db, pool: &[Reviewer]) -> Result<Vec<usize>> {
    let rows: Vec<(String, i64)> =
        Sql::new("SELECT reviewer, COUNT(*) FROM review_assignments GROUP BY reviewer")
            .fetch_all(db)
            .await?;
    let by: HashMap<String, i64> = rows.into_iter().collect();
    Ok(pool
        .iter()
        .map(|r| by.get(&r.username).copied().unwrap_or(0) as usize)
        .collect())
}

/// A unit's own choice (how = chosen): a case of the plan's year and area that the chooser's
/// scope covers, with two reviewers assigned as for the draw.
pub async fn add_chosen(
    db: &Db,
    org: &Org,
    chooser: &Area,
    actor: &str,
    plan_id: i64,
    case_no: &str,
) -> Result<i64> {
    let plan = plan(db, plan_id).await?;
    let plan_area = ecowarden_core::scope::Scope::Province
        .area(org, Some(&plan.region_code))
        .map_err(|e| ReviewError::Invalid(e.to_string()))?;
    let case_no = case_no.trim();
    let pool = sampling::candidates(db, &plan_area, plan.year as i32).await?;
    let Some(c) = pool.into_iter().find(|c| c.case_no == case_no) else {
        return Err(ReviewError::Invalid(format!(
            "案号“{case_no}”不是本计划{}年、{}已作出处罚决定的案件",
            plan.year,
            org.name(&plan.region_code)
        )));
    };
    let place = places_of(db, std::slice::from_ref(&c)).await?.remove(0);
    if !chooser.covers(&place.region_code, &place.city_code) {
        return Err(ReviewError::Forbidden("只能选送本单位的案卷".into()));
    }
    let pool_of_reviewers = reviewers(db, org).await?;
    let mut loads = loads_of(db, &pool_of_reviewers).await?;
    let pair =
        assign(std::slice::from_ref(&place), &pool_of_reviewers, &mut loads).map_err(|_| {
            ReviewError::Invalid(format!("案卷 {case_no} 没有两名可交叉评查的评查人员"))
        })?[0];
    let mut w = db.write().await?;
    let d = insert_dossier(&mut w, plan_id, &c, &place, "chosen").await?;
    for (role, r) in ["first", "second"].iter().zip(pair) {
        insert_assignment(&mut w, d, &pool_of_reviewers[r].username, role).await?;
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "choose",
            entity: "review_plan",
            entity_id: plan_id.to_string(),
            before: None,
            after: Some(json!({"case_no": case_no, "dossier_id": d})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(d)
}

pub async fn plan(db: &Db, id: i64) -> Result<PlanRow> {
    let mut sql = Sql::new("SELECT * FROM review_plans WHERE id = ");
    sql.bind(id);
    sql.fetch_all(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ReviewError::NotFound(format!("没有编号为 {id} 的抽查计划")))
}

/// The plans whose area lies in the caller's.
pub async fn plans(db: &Db, area: &Area) -> Result<Vec<PlanRow>> {
    let mut sql = Sql::new("SELECT * FROM review_plans p WHERE 1 = 1");
    sql.scope(area, "p");
    sql.push(" ORDER BY p.id DESC");
    Ok(sql.fetch_all(db).await?)
}

/// One reviewer's sheet for one dossier, with the dossier.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Assignment {
    pub id: i64,
    pub dossier_id: i64,
    pub reviewer: String,
    pub role: String,
    pub sheet_id: Option<i64>,
    pub marks_json: Option<String>,
    pub score_x100: Option<i64>,
    pub passed: Option<i64>,
    pub submitted_at: Option<String>,
    pub plan_id: i64,
    pub case_id: i64,
    pub case_no: String,
    pub unit: String,
    pub case_type: String,
    pub how: String,
    pub region_code: String,
    pub city_code: String,
}
ecowarden_core::store::in_region!(Assignment);

impl Assignment {
    pub fn role_label(&self) -> &'static str {
        match self.role.as_str() {
            "first" => "初评一",
            "second" => "初评二",
            _ => "仲裁",
        }
    }

    pub fn scored(&self) -> Option<Scored> {
        Some(Scored {
            score: self.score_x100? as f64 / 100.0,
            passed: self.passed? != 0,
        })
    }

    pub fn marks(&self) -> Marks {
        self.marks_json
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

const ASSIGNMENT: &str = "SELECT a.id, a.dossier_id, a.reviewer, a.role, a.sheet_id, a.marks_json, \
     a.score_x100, a.passed, a.submitted_at, d.plan_id, d.case_id, d.case_no, d.unit, d.case_type, \
     d.how, d.region_code, d.city_code \
     FROM review_assignments a JOIN review_dossiers d ON d.id = a.dossier_id";

/// A reviewer's assignments, the open ones first.
pub async fn assignments_of(db: &Db, reviewer: &str) -> Result<Vec<Assignment>> {
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" WHERE a.reviewer = ").bind(reviewer);
    sql.push(" ORDER BY a.submitted_at IS NOT NULL, a.id");
    Ok(sql.fetch_all(db).await?)
}

/// An assignment, for its reviewer; a provincial administrator (`any`) may read any.
pub async fn assignment(db: &Db, id: i64, reviewer: &str, any: bool) -> Result<Assignment> {
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" WHERE a.id = ").bind(id);
    let a: Assignment = sql
        .fetch_all(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ReviewError::NotFound(format!("没有编号为 {id} 的评查任务")))?;
    if a.reviewer != reviewer && !any {
        return Err(ReviewError::Forbidden(
            "只能查看分配给本人的评查任务".into(),
        ));
    }
    Ok(a)
}

/// The sheets of a plan's dossiers inside an area.
pub async fn plan_assignments(db: &Db, plan_id: i64, area: &Area) -> Result<Vec<Assignment>> {
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" WHERE d.plan_id = ").bind(plan_id);
    sql.scope(area, "d");
    sql.push(" ORDER BY d.id, a.role");
    Ok(sql.fetch_all(db).await?)
}

/// Submits a reviewer's marks against the sheet in force; once submitted a sheet is final.
/// When both first sheets are in and disagree, an arbiter is assigned.
pub async fn submit(db: &Db, org: &Org, id: i64, reviewer: &str, marks: &Marks) -> Result<Scored> {
    let a = assignment(db, id, reviewer, false).await?;
    if a.submitted_at.is_some() {
        return Err(ReviewError::Invalid("该评查表已提交，不能修改".into()));
    }
    let sheet = sheet_in_force(db).await?;
    let scored = sheet.sheet.score(marks)?;
    let mut w = db.write().await?;
    sqlx::query(
        "UPDATE review_assignments SET sheet_id = $1, marks_json = $2, score_x100 = $3, passed = $4, \
         submitted_at = $5 WHERE id = $6 AND submitted_at IS NULL",
    )
    .bind(sheet.id)
    .bind(serde_json::to_string(marks).expect("marks serialise"))
    .bind((scored.score * 100.0).round() as i64)
    .bind(scored.passed as i64)
    .bind(clock::now_rfc3339())
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor: reviewer,
            action: "submit",
            entity: "review_assignment",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({
                "case_no": a.case_no, "role": a.role, "sheet_version": sheet.version,
                "score": scored.score, "passed": scored.passed, "marks": marks,
            })),
        },
    )
    .await?;
    w.commit().await?;
    if a.role != "arbiter" {
        arbitrate_if_needed(db, org, a.dossier_id, a.plan_id).await?;
    }
    Ok(scored)
}

/// Assigns an arbiter (a third eligible reviewer, the least loaded) when a dossier's two
/// sheets disagree beyond the plan's margin.
async fn arbitrate_if_needed(db: &Db, org: &Org, dossier_id: i64, plan_id: i64) -> Result<()> {
    let plan = plan(db, plan_id).await?;
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" WHERE a.dossier_id = ").bind(dossier_id);
    let sheets: Vec<Assignment> = sql.fetch_all(db).await?;
    let of = |role: &str| sheets.iter().find(|a| a.role == role);
    if of("arbiter").is_some() {
        return Ok(());
    }
    let (first, second) = (
        of("first").and_then(Assignment::scored),
        of("second").and_then(Assignment::scored),
    );
    if settle(first, second, None, plan.margin()) != Settlement::Arbitrate {
        return Ok(());
    }
    let d = &sheets[0];
    let place = Place {
        region_code: d.region_code.clone(),
        city_code: d.city_code.clone(),
    };
    let pool = reviewers(db, org).await?;
    let loads = loads_of(db, &pool).await?;
    let taken: Vec<usize> = sheets
        .iter()
        .filter_map(|a| pool.iter().position(|r| r.username == a.reviewer))
        .collect();
    // No third eligible reviewer: the dossier stays 待仲裁, as the results page shows.
    let Some(r) = pick(&place, &pool, &loads, &taken, dossier_id as usize) else {
        return Ok(());
    };
    let mut w = db.write().await?;
    let id = insert_assignment(&mut w, dossier_id, &pool[r].username, "arbiter").await?;
    audit_log::append(
        &mut w,
        &Change {
            actor: "system",
            action: "create",
            entity: "review_assignment",
            entity_id: id.to_string(),
            before: None,
            after: Some(
                json!({"case_no": d.case_no, "role": "arbiter", "reviewer": pool[r].username}),
            ),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// One dossier's result.
#[derive(Debug, Clone, Serialize)]
pub struct DossierResult {
    pub dossier_id: i64,
    pub case_id: i64,
    pub case_no: String,
    pub unit: String,
    pub case_type: String,
    pub how: String,
    pub region_code: String,
    pub city_code: String,
    /// (reviewer, role label, score if submitted, passed if submitted)
    pub sheets: Vec<(String, &'static str, Option<f64>, Option<bool>)>,
    /// `None` while pending or awaiting the arbiter.
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub state: &'static str,
}

/// A group's result (unit or city).
#[derive(Debug, Clone, Serialize)]
pub struct GroupResult {
    pub code: String,
    pub name: String,
    pub dossiers: usize,
    pub settled: usize,
    pub mean: Option<f64>,
    pub passed: usize,
}

/// Results of a plan inside an area: per dossier, per unit (county region), per city, and
/// the items most often lost (item, stage · text, times, points lost).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub dossiers: Vec<DossierResult>,
    pub units: Vec<GroupResult>,
    pub cities: Vec<GroupResult>,
    pub lost: Vec<(String, String, usize, f64)>,
}

/// Groups a plan's sheets into dossier results.
pub fn dossier_results(sheets: &[Assignment], margin: f64) -> Vec<DossierResult> {
    let mut by: BTreeMap<i64, Vec<&Assignment>> = BTreeMap::new();
    for a in sheets {
        by.entry(a.dossier_id).or_default().push(a);
    }
    by.into_values()
        .map(|v| {
            let of = |role: &str| v.iter().find(|a| a.role == role).and_then(|a| a.scored());
            let settled = settle(of("first"), of("second"), of("arbiter"), margin);
            let d = v[0];
            let (score, passed, state) = match settled {
                Settlement::Pending => (None, None, "评查中"),
                Settlement::Arbitrate => (None, None, "待仲裁"),
                Settlement::Final(s) => (Some(s.score), Some(s.passed), "已完成"),
            };
            DossierResult {
                dossier_id: d.dossier_id,
                case_id: d.case_id,
                case_no: d.case_no.clone(),
                unit: d.unit.clone(),
                case_type: d.case_type.clone(),
                how: d.how.clone(),
                region_code: d.region_code.clone(),
                city_code: d.city_code.clone(),
                sheets: v
                    .iter()
                    .map(|a| {
                        let s = a.scored();
                        (
                            a.reviewer.clone(),
                            a.role_label(),
                            s.map(|s| s.score),
                            s.map(|s| s.passed),
                        )
                    })
                    .collect(),
                score,
                passed,
                state,
            }
        })
        .collect()
}

/// Mean score and passes of settled dossiers grouped by a key.
fn groups(
    org: &Org,
    dossiers: &[DossierResult],
    key: impl Fn(&DossierResult) -> &str,
) -> Vec<GroupResult> {
    let mut by: BTreeMap<String, Vec<&DossierResult>> = BTreeMap::new();
    for d in dossiers {
        by.entry(key(d).to_owned()).or_default().push(d);
    }
    by.into_iter()
        .map(|(code, v)| {
            let scores: Vec<f64> = v.iter().filter_map(|d| d.score).collect();
            GroupResult {
                name: org.name(&code).to_owned(),
                dossiers: v.len(),
                settled: scores.len(),
                mean: (!scores.is_empty())
                    .then(|| round2(scores.iter().sum::<f64>() / scores.len() as f64)),
                passed: v.iter().filter(|d| d.passed == Some(true)).count(),
                code,
            }
        })
        .collect()
}

/// The items deducted most often across submitted sheets (knock-outs included), most first.
pub fn most_lost(
    sheet_of: &HashMap<i64, Sheet>,
    sheets: &[Assignment],
) -> Vec<(String, String, usize, f64)> {
    let mut by: BTreeMap<String, (String, usize, f64)> = BTreeMap::new();
    for a in sheets.iter().filter(|a| a.submitted_at.is_some()) {
        let Some(sheet) = a.sheet_id.and_then(|id| sheet_of.get(&id)) else {
            continue;
        };
        let m = a.marks();
        for k in &m.knockouts {
            let text = sheet
                .knockouts
                .iter()
                .find(|x| &x.id == k)
                .map(|x| format!("实体·{}", x.text))
                .unwrap_or_default();
            let e = by.entry(k.clone()).or_insert((text, 0, 0.0));
            e.1 += 1;
        }
        for d in &m.deductions {
            let text = sheet
                .item(&d.item)
                .map(|(s, i)| format!("{s}·{}", i.text))
                .unwrap_or_default();
            let e = by.entry(d.item.clone()).or_insert((text, 0, 0.0));
            e.1 += 1;
            e.2 += d.points;
        }
    }
    let mut v: Vec<(String, String, usize, f64)> = by
        .into_iter()
        .map(|(id, (text, n, p))| (id, text, n, round2(p)))
        .collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then(b.3.total_cmp(&a.3)).then(a.0.cmp(&b.0)));
    v
}

/// A plan's results inside the caller's area.
pub async fn results(db: &Db, org: &Org, plan_id: i64, area: &Area) -> Result<Results> {
    let p = plan(db, plan_id).await?;
    let sheets = plan_assignments(db, plan_id, area).await?;
    let dossiers = dossier_results(&sheets, p.margin());
    let mut sheet_of = HashMap::new();
    for id in sheets.iter().filter_map(|a| a.sheet_id) {
        if let std::collections::hash_map::Entry::Vacant(e) = sheet_of.entry(id) {
            e.insert(sheet(db, id).await?.sheet);
        }
    }
    Ok(Results {
        units: groups(org, &dossiers, |d| &d.region_code),
        cities: groups(org, &dossiers, |d| &d.city_code),
        lost: most_lost(&sheet_of, &sheets),
        dossiers,
    })
}

/// The reviews of one case (one result per plan that drew or chose it), for its page.
pub async fn of_case(db: &Db, case_id: i64) -> ecowarden_core::store::Result<Vec<DossierResult>> {
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" WHERE d.case_id = ").bind(case_id);
    sql.push(" ORDER BY d.id, a.role");
    let sheets: Vec<Assignment> = sql.fetch_all(db).await?;
    let mut out = Vec::new();
    let mut by_plan: BTreeMap<i64, Vec<Assignment>> = BTreeMap::new();
    for a in sheets {
        by_plan.entry(a.plan_id).or_default().push(a);
    }
    for (plan_id, v) in by_plan {
        let margin = match plan(db, plan_id).await {
            Ok(p) => p.margin(),
            Err(_) => DEFAULT_MARGIN,
        };
        out.extend(dossier_results(&v, margin));
    }
    Ok(out)
}

/// The settled dossiers of the year's plans inside an area: (region, city, case id, score).
pub async fn settled(
    db: &Db,
    area: &Area,
    year: i32,
) -> ecowarden_core::store::Result<Vec<(String, String, i64, f64)>> {
    let mut sql = Sql::new(ASSIGNMENT);
    sql.push(" JOIN review_plans p ON p.id = d.plan_id WHERE p.year = ")
        .bind(year as i64);
    sql.scope(area, "d");
    let sheets: Vec<Assignment> = sql.fetch_all(db).await?;
    let margins: Vec<(i64, i64)> = Sql::new("SELECT id, margin_x100 FROM review_plans")
        .fetch_all(db)
        .await?;
    let margin_of: HashMap<i64, f64> = margins
        .into_iter()
        .map(|(id, m)| (id, m as f64 / 100.0))
        .collect();
    let mut by_plan: BTreeMap<i64, Vec<Assignment>> = BTreeMap::new();
    for a in sheets {
        by_plan.entry(a.plan_id).or_default().push(a);
    }
    let mut out = Vec::new();
    for (plan_id, v) in by_plan {
        let margin = margin_of.get(&plan_id).copied().unwrap_or(DEFAULT_MARGIN);
        for d in dossier_results(&v, margin) {
            if let Some(s) = d.score {
                out.push((d.region_code, d.city_code, d.case_id, s));
            }
        }
    }
    Ok(out)
}

/// The mean settled dossier score per unit (county-level region, or a city's own code for its
/// detachment) of the year's plans inside an area: the metric `dossier.mean_score`.
pub async fn mean_scores(
    db: &Db,
    area: &Area,
    year: i32,
) -> ecowarden_core::store::Result<BTreeMap<String, f64>> {
    let mut per_unit: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (region, _, _, s) in settled(db, area, year).await? {
        let e = per_unit.entry(region).or_insert((0.0, 0));
        e.0 += s;
        e.1 += 1;
    }
    Ok(per_unit
        .into_iter()
        .map(|(u, (sum, n))| (u, round2(sum / n as f64)))
        .collect())
}

/// The results as a workbook: 案卷 (every dossier), 单位, 设区市, 失分项.
pub fn to_xlsx(r: &Results, org: &Org) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let bold = Format::new().set_bold();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("案卷")?;
    for (c, h) in [
        "案号",
        "单位",
        "县级行政区",
        "案件类型",
        "抽取方式",
        "评查人员与得分",
        "得分",
        "是否合格",
        "状态",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, d) in r.dossiers.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &d.case_no)?;
        ws.write_string(row, 1, &d.unit)?;
        ws.write_string(row, 2, org.name(&d.region_code))?;
        ws.write_string(row, 3, &d.case_type)?;
        ws.write_string(
            row,
            4,
            if d.how == "chosen" {
                "自选"
            } else {
                "随机"
            },
        )?;
        let sheets: Vec<String> = d
            .sheets
            .iter()
            .map(|(who, role, s, _)| match s {
                Some(s) => format!("{role} {who} {s}"),
                None => format!("{role} {who} 未提交"),
            })
            .collect();
        ws.write_string(row, 5, sheets.join("；"))?;
        if let Some(s) = d.score {
            ws.write_number(row, 6, s)?;
        }
        ws.write_string(
            row,
            7,
            match d.passed {
                Some(true) => "合格",
                Some(false) => "不合格",
                None => "",
            },
        )?;
        ws.write_string(row, 8, d.state)?;
    }
    for (name, groups) in [("单位", &r.units), ("设区市", &r.cities)] {
        let ws = wb.add_worksheet().set_name(name)?;
        for (c, h) in [
            "行政区划代码",
            "名称",
            "案卷数",
            "已完成",
            "平均分",
            "合格数",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, g) in groups.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &g.code)?;
            ws.write_string(row, 1, &g.name)?;
            ws.write_number(row, 2, g.dossiers as f64)?;
            ws.write_number(row, 3, g.settled as f64)?;
            if let Some(m) = g.mean {
                ws.write_number(row, 4, m)?;
            }
            ws.write_number(row, 5, g.passed as f64)?;
        }
    }
    let ws = wb.add_worksheet().set_name("失分项")?;
    for (c, h) in ["评查项", "内容", "次数", "累计扣分"].iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, (id, text, n, p)) in r.lost.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, id)?;
        ws.write_string(row, 1, text)?;
        ws.write_number(row, 2, *n as f64)?;
        ws.write_number(row, 3, *p)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn default() -> Sheet {
        Sheet::parse(DEFAULT_SHEET).unwrap()
    }

    fn deduct(item: &str, points: f64) -> Deduction {
        Deduction {
            item: item.into(),
            points,
            comment: "缺页".into(),
        }
    }

    #[test]
    fn the_default_sheet_totals_100_over_the_eight_stages_and_says_it_is_a_template() {
        let s = default();
        assert_eq!(s.total(), 100.0);
        let stages: Vec<&str> = s.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(stages, STAGES);
        assert_eq!(s.knockouts.len(), 4);
        assert!(s.note.starts_with("模板（请按年度评查标准调整）"));
        let bonus: Vec<&str> = s.bonus.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(bonus, ["程序严谨", "手段丰富", "裁量合理", "查处难度"]);
    }

    #[test]
    fn points_are_the_total_less_deductions_plus_bonus() {
        let s = default();
        let m = Marks {
            deductions: vec![deduct("D5", 4.5), deduct("L1", 2.0)],
            bonus: vec!["B4".into()],
            ..Default::default()
        };
        assert_eq!(
            s.score(&m).unwrap(),
            Scored {
                score: 95.5,
                passed: true
            }
        );
        let low = Marks {
            deductions: vec![
                deduct("D5", 13.0),
                deduct("D6", 7.0),
                deduct("J2", 10.0),
                deduct("L2", 1.0),
            ],
            ..Default::default()
        };
        assert_eq!(
            s.score(&low).unwrap(),
            Scored {
                score: 69.0,
                passed: false
            }
        );
    }

    #[test]
    fn marks_that_do_not_fit_the_sheet_are_refused_with_the_item_named() {
        let s = default();
        let err = |m: Marks| s.score(&m).unwrap_err().to_string();
        assert!(
            err(Marks {
                deductions: vec![deduct("D1", 5.0)],
                ..Default::default()
            })
            .contains("调查取证·D1")
        );
        assert!(
            err(Marks {
                deductions: vec![deduct("X9", 1.0)],
                ..Default::default()
            })
            .contains("X9")
        );
        let mut no_comment = deduct("L1", 1.0);
        no_comment.comment = " ".into();
        assert!(
            err(Marks {
                deductions: vec![no_comment],
                ..Default::default()
            })
            .contains("扣分理由")
        );
        assert!(
            err(Marks {
                knockouts: vec!["K9".into()],
                ..Default::default()
            })
            .contains("K9")
        );
        assert!(
            err(Marks {
                deductions: vec![deduct("B1", 1.0)],
                ..Default::default()
            })
            .contains("B1")
        );
    }

    #[test]
    fn a_bad_sheet_is_refused_naming_the_place() {
        let e = Sheet::parse("{\"title\": \"x\",\n \"pass_mark\": }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("第 2 行"), "{e}");
        let dup = DEFAULT_SHEET.replace("\"L2\"", "\"L1\"");
        assert!(
            Sheet::parse(&dup)
                .unwrap_err()
                .to_string()
                .contains("“L1”重复")
        );
        let stage = DEFAULT_SHEET.replace("\"送达\"", "\"邮寄\"");
        assert!(
            Sheet::parse(&stage)
                .unwrap_err()
                .to_string()
                .contains("邮寄")
        );
    }

    proptest! {
        /// A knock-out item fails the dossier whatever its points.
        #[test]
        fn a_knockout_fails_whatever_the_points(k in 0usize..4, bonus in proptest::collection::vec(0usize..4, 0..4), d in 0.0f64..2.0) {
            let s = default();
            let mut bonus: Vec<String> = bonus.into_iter().map(|b| s.bonus[b].id.clone()).collect();
            bonus.sort();
            bonus.dedup();
            let m = Marks {
                knockouts: vec![s.knockouts[k].id.clone()],
                deductions: if d > 0.01 { vec![deduct("L1", d)] } else { vec![] },
                bonus,
                comment: String::new(),
            };
            let r = s.score(&m).unwrap();
            prop_assert!(!r.passed);
            prop_assert!(r.score >= 98.0);
        }

        /// The arbiter is called exactly when the scores are more than the margin apart (or
        /// pass/fail differ), and an agreeing pair settles on their mean.
        #[test]
        fn arbitration_triggers_at_the_margin(a in 0u32..10_000, b in 0u32..10_000, margin in 0u32..2_000) {
            let (a, b, margin) = (a as f64 / 100.0, b as f64 / 100.0, margin as f64 / 100.0);
            let x = Scored { score: a, passed: true };
            let y = Scored { score: b, passed: true };
            let s = settle(Some(x), Some(y), None, margin);
            if (a - b).abs() > margin + 1e-9 {
                prop_assert_eq!(s, Settlement::Arbitrate);
                let arb = Scored { score: 80.0, passed: true };
                prop_assert_eq!(settle(Some(x), Some(y), Some(arb), margin), Settlement::Final(arb));
            } else {
                prop_assert_eq!(s, Settlement::Final(Scored { score: round2((a + b) / 2.0), passed: true }));
            }
            prop_assert_eq!(settle(Some(x), None, None, margin), Settlement::Pending);
            let failed = Scored { score: a, passed: false };
            prop_assert!(needs_arbiter(x, failed, margin));
        }

        /// The cross-review assignment never gives a reviewer their own unit's dossier (nor
        /// their own city's to a city-level reviewer), gives two different reviewers, and
        /// fails only for a dossier that truly has fewer than two eligible reviewers.
        #[test]
        fn assignment_never_pairs_a_reviewer_with_their_own_unit(
            dossiers in proptest::collection::vec((0u8..3, 0u8..4), 1..40),
            pool in proptest::collection::vec((0u8..3, 0u8..4, any::<bool>()), 0..12),
        ) {
            let place = |c: u8, r: u8| Place {
                region_code: format!("35{c:02}{r:02}"),
                city_code: format!("35{c:02}00"),
            };
            let ds: Vec<Place> = dossiers.iter().map(|(c, r)| place(*c, *r)).collect();
            let rs: Vec<Reviewer> = pool
                .iter()
                .enumerate()
                .map(|(i, (c, r, city))| Reviewer {
                    username: format!("r{i}"),
                    place: if *city { place(*c, 0) } else { place(*c, *r + 1) },
                    city_level: *city,
                })
                .collect();
            let mut loads = vec![0; rs.len()];
            match assign(&ds, &rs, &mut loads) {
                Ok(pairs) => {
                    prop_assert_eq!(pairs.len(), ds.len());
                    for (d, [a, b]) in ds.iter().zip(&pairs) {
                        prop_assert!(a != b);
                        prop_assert!(rs[*a].may_review(d) && rs[*b].may_review(d));
                        prop_assert!(rs[*a].place.region_code != d.region_code);
                        if rs[*a].city_level {
                            prop_assert!(rs[*a].place.city_code != d.city_code);
                        }
                    }
                    prop_assert_eq!(loads.iter().sum::<usize>(), 2 * ds.len());
                }
                Err(i) => {
                    prop_assert!(rs.iter().filter(|r| r.may_review(&ds[i])).count() < 2);
                }
            }
        }
    }

    #[test]
    fn assignment_spreads_the_load() {
        let p = |r: &str, c: &str| Place {
            region_code: r.into(),
            city_code: c.into(),
        };
        let rs: Vec<Reviewer> = (0..4)
            .map(|i| Reviewer {
                username: format!("r{i}"),
                place: p(&format!("35020{i}"), "350200"),
                city_level: false,
            })
            .collect();
        let ds = vec![p("350102", "350100"); 10];
        let mut loads = vec![0; 4];
        assign(&ds, &rs, &mut loads).unwrap();
        assert_eq!(loads, [5, 5, 5, 5]);
    }
}
