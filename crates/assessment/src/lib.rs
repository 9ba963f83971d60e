//! ecowarden's assessment (科学考核): a rule file ([`ecowarden_scoring`]) applied to the case
//! ledger, as frozen runs.
//!
//! - [`metrics`]: the metrics a rule may name, measured for every unit of an area at once;
//! - [`run`] computes a run and stores it with its rule set's text and the case ids behind
//!   every value; [`load`] reads a stored run back. A stored run is never recomputed: what it
//!   printed the day it was made is what it prints later, whatever the ledger or the rules
//!   became since.
//!
//! - [`officers`]: individuals (个人), officers scored like units by an individual rule file;
//! - [`entries`]: values entered by hand with their justification (`manual.<key>`);
//! - [`bulletin`] writes a stored run up as an official bulletin (通报) in PDF.
//!
//! It depends on core (store, organisation, scopes), ledger (vocabularies, periods) and
//! scoring; it never parses a command line or speaks HTTP.

pub mod bulletin;
pub mod compare;
pub mod entries;
pub mod inspection;
pub mod metrics;
pub mod officers;
pub mod review;
pub mod rule_sets;
pub mod tasks;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::clock;
use ecowarden_core::org::{Org, Region};
use ecowarden_core::scope::{Area, AreaError, Scope};
use ecowarden_core::store::{Db, StoreError};
use ecowarden_ledger::stats::Period;
use ecowarden_scoring::{Kind, RuleErrors, RuleSet, Subject, previous_key, round2};

use metrics::Metric;

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// The rule file, with every problem and its line.
    #[error("评分细则有误：\n{0}")]
    Rules(RuleErrors),
    /// The request does not fit the rules or the organisation; shown to the user as is.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error("没有编号为 {0} 的考核结果")]
    NoSuchRun(i64),
    /// A record that does not exist or lies outside the caller's scope.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AssessError {
    fn from(e: sqlx::Error) -> Self {
        AssessError::Store(e.into())
    }
}

/// A stored run: its id, its result as printed (`{"run", "year", "half", …, "units"}`) and
/// what a bulletin says about it besides the result.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: i64,
    pub result: Value,
    /// The name of the rule set the run used.
    pub rules_name: String,
    /// The area whose units were ranked.
    pub region_code: String,
    /// When the run was made (RFC 3339, UTC).
    pub created_at: String,
}

/// Parses the rule file, measures its metrics for the units of its level inside `region`
/// (default: the province) in the period, scores and ranks them, and stores the run.
pub async fn run(
    db: &Db,
    org: &Org,
    rules_text: &str,
    period: Period,
    region: Option<&str>,
    actor: &str,
) -> Result<StoredRun, AssessError> {
    let rules = ecowarden_scoring::parse(rules_text).map_err(AssessError::Rules)?;
    if rules.year != period.year {
        return Err(AssessError::Invalid(format!(
            "细则年度为 {}，与考核年度 {} 不符",
            rules.year, period.year
        )));
    }
    let area = Scope::Province.area(org, region)?;
    let level_label = rules.level.label();
    let (mut measured, officer_of) = match rules.subject {
        Subject::Collective => {
            let wanted = metrics::check(&rules).map_err(AssessError::Rules)?;
            let units = metrics::units(org, &area, rules.level);
            if units.is_empty() {
                return Err(AssessError::Invalid(format!(
                    "{}内没有{level_label}考核单位",
                    area.label(org)
                )));
            }
            let mut measured =
                metrics::measure(db, &area, rules.level, period, &units, &wanted).await?;
            year_on_year(db, &rules, &area, period, &units, &mut measured).await?;
            (measured, BTreeMap::new())
        }
        Subject::Individual => {
            let wanted = officers::check(&rules).map_err(AssessError::Rules)?;
            let all = officers::of_units(db, org, &area, rules.level).await?;
            if all.is_empty() {
                return Err(AssessError::Invalid(format!(
                    "{}内没有{level_label}单位的持证执法人员",
                    area.label(org)
                )));
            }
            let mut measured = officers::measure(db, period, &all, &wanted).await?;
            if let Some(previous) = changed(&rules, |m| {
                officers::OfficerMetric::parse(m).filter(|m| !m.entered())
            })? {
                let then = officers::measure(db, year_before(period), &all, &previous).await?;
                merge_previous(&mut measured, then);
            }
            let by_cert = all
                .into_iter()
                .map(|o| (o.certificate_no.clone(), o))
                .collect();
            (measured, by_cert)
        }
    };
    entered(db, &rules, period, &mut measured).await?;
    if rules.subject == Subject::Individual {
        // An officer who has left is scored only where the period has a record of theirs.
        measured.values.retain(|u| {
            officer_of[&u.unit].active == 1
                || measured.evidence[&u.unit]
                    .values()
                    .any(|ids| !ids.is_empty())
        });
    }
    let scores = ecowarden_scoring::score(&rules, &measured.values);

    let label = |metric: &str| match officers::OfficerMetric::parse(metric) {
        Some(m) => m.label().to_owned(),
        None => Metric::parse(metric).map(Metric::label).unwrap_or_default(),
    };
    let result = json!({
        "year": period.year,
        "half": period.half,
        "subject": rules.subject.code(),
        "level": rules.level.code(),
        "units": scores.iter().map(|u| {
            // An officer's sheet names their unit's region and the officer.
            let officer = officer_of.get(&u.unit);
            let region_code = officer.map_or(&u.unit, |o| &o.region_code);
            let mut unit = json!({
                "region_code": region_code,
                "name": org.name(region_code),
                "score": round2(u.score),
                "rank": u.rank,
                "indicators": u.indicators.iter().map(|i| json!({
                    "id": i.id,
                    "name": i.name,
                    "score": round2(i.score),
                    "rules": i.rules.iter().map(|r| json!({
                        "id": r.id,
                        "name": if r.name.is_empty() { label(&r.metric) } else { r.name.clone() },
                        "metric": r.metric,
                        // Counts and yuan are exact at 0.01; a share keeps four places.
                        "value": (r.value * 10_000.0).round() / 10_000.0,
                        "score": round2(r.score),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            if let Some(o) = officer {
                unit["officer"] = json!({"cert_no": o.certificate_no, "name": o.name});
            }
            unit
        }).collect::<Vec<_>>(),
    });

    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let (rule_set_id, sha) = rule_sets::keep(&mut w, &rules, rules_text, actor).await?;
    let region_code = area.code(org).to_owned();
    let id: i64 = sqlx::query(
        "INSERT INTO assessment_runs (rule_set_id, year, half, region_code, created_at, created_by, result_json, evidence_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(rule_set_id)
    .bind(period.year as i64)
    .bind(period.half.map(i64::from))
    .bind(&region_code)
    .bind(&now)
    .bind(actor)
    .bind(result.to_string())
    .bind(serde_json::to_string(&measured.evidence).expect("ids serialise"))
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "assessment_run",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({
                "rule_set_id": rule_set_id, "rules_sha256": sha, "rules_name": rules.name,
                "year": period.year, "half": period.half, "region_code": region_code,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(StoredRun {
        id,
        result: with_id(id, result),
        rules_name: rules.name,
        region_code,
        created_at: now,
    })
}

/// Measures the metrics of the `change` rules over the same period a year before, under
/// [`previous_key`] (values and evidence), for the year-on-year change.
async fn year_on_year(
    db: &Db,
    rules: &RuleSet,
    area: &Area,
    period: Period,
    units: &[&Region],
    measured: &mut metrics::Measured,
) -> Result<(), AssessError> {
    if let Some(previous) = changed(rules, Metric::parse)? {
        let then =
            metrics::measure(db, area, rules.level, year_before(period), units, &previous).await?;
        merge_previous(measured, then);
    }
    Ok(())
}

/// The measured metrics of the rule set's `change` rules (`parse` names them), none if it has
/// no such rule; a change of a metric not measured (entered by hand) is refused.
fn changed<M: PartialEq>(
    rules: &RuleSet,
    parse: impl Fn(&str) -> Option<M>,
) -> Result<Option<Vec<M>>, AssessError> {
    let mut previous = Vec::new();
    for r in rules.indicators.iter().flat_map(|i| &i.rules) {
        if let Kind::Change { .. } = r.kind {
            let m = parse(&r.metric).ok_or_else(|| {
                AssessError::Invalid(format!(
                    "规则 {} 为同比增幅（change），其考核数据项须取自案件台账，不能为“{}”",
                    r.id, r.metric
                ))
            })?;
            if !previous.contains(&m) {
                previous.push(m);
            }
        }
    }
    Ok((!previous.is_empty()).then_some(previous))
}

/// The same period a year before.
fn year_before(period: Period) -> Period {
    Period {
        year: period.year - 1,
        half: period.half,
    }
}

/// Puts a year-earlier measurement beside the current one under [`previous_key`].
fn merge_previous(measured: &mut metrics::Measured, then: metrics::Measured) {
    for (u, old) in measured.values.iter_mut().zip(then.values) {
        debug_assert_eq!(u.unit, old.unit);
        for (k, v) in old.values {
            u.values.insert(previous_key(&k), v);
        }
    }
    for (unit, by_metric) in then.evidence {
        let e = measured.evidence.entry(unit).or_default();
        for (k, ids) in by_metric {
            e.insert(previous_key(&k), ids);
        }
    }
}

/// Adds the values entered by hand (`manual.<key>`, an officer's contest results and
/// honours) for the period; their evidence is the entry's id.
async fn entered(
    db: &Db,
    rules: &RuleSet,
    period: Period,
    measured: &mut metrics::Measured,
) -> Result<(), AssessError> {
    let manual: Vec<&str> = rules
        .indicators
        .iter()
        .flat_map(|i| &i.rules)
        .map(|r| r.metric.as_str())
        .filter(|m| entries::is_entered(m))
        .collect();
    let values = entries::values(db, period, &manual).await?;
    for u in &mut measured.values {
        for m in &manual {
            if let Some((v, id)) = values.get(&(u.unit.clone(), (*m).to_owned())) {
                u.values.insert((*m).to_owned(), *v);
                measured
                    .evidence
                    .entry(u.unit.clone())
                    .or_default()
                    .insert((*m).to_owned(), vec![*id]);
            }
        }
    }
    Ok(())
}

/// A stored run as the list of runs shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub rule_set_id: i64,
    pub rules_name: String,
    pub level: String,
    pub year: i64,
    pub half: Option<i64>,
    pub region_code: String,
    pub created_at: String,
    pub created_by: String,
}

impl RunRow {
    pub fn period_label(&self) -> String {
        bulletin::period_label(self.year, self.half)
    }
    pub fn level_label(&self) -> &'static str {
        ecowarden_scoring::Level::parse(&self.level).map_or("", |l| l.label())
    }
}

/// Every stored run, newest first.
pub async fn runs(db: &Db) -> Result<Vec<RunRow>, AssessError> {
    Ok(ecowarden_core::store::Sql::new(
        "SELECT r.id, r.rule_set_id, s.name AS rules_name, s.level, r.year, r.half, r.region_code, \
         r.created_at, r.created_by FROM assessment_runs r \
         JOIN assessment_rule_sets s ON s.id = r.rule_set_id ORDER BY r.id DESC",
    )
    .fetch_all(db)
    .await?)
}

/// A stored run, as it was printed when made.
pub async fn load(db: &Db, id: i64) -> Result<StoredRun, AssessError> {
    let result = stored_json(db, id, "result_json").await?;
    let row = sqlx::query(
        "SELECT s.name, r.region_code, r.created_at FROM assessment_runs r \
         JOIN assessment_rule_sets s ON s.id = r.rule_set_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await?;
    Ok(StoredRun {
        id,
        result: with_id(id, result),
        rules_name: row.try_get(0)?,
        region_code: row.try_get(1)?,
        created_at: row.try_get(2)?,
    })
}

/// The case ids behind one unit's metric in a stored run (empty when the run has none).
pub async fn evidence(db: &Db, id: i64, unit: &str, metric: &str) -> Result<Vec<i64>, AssessError> {
    Ok(unit_evidence(db, id, unit)
        .await?
        .remove(metric)
        .unwrap_or_default())
}

/// The ids behind every metric of one unit in a stored run: cases for the ledger's metrics,
/// tasks for `tasks.completion`, the entry for `manual.<key>`.
pub async fn unit_evidence(
    db: &Db,
    id: i64,
    unit: &str,
) -> Result<std::collections::BTreeMap<String, Vec<i64>>, AssessError> {
    let all = stored_json(db, id, "evidence_json").await?;
    Ok(all[unit]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let ids = v
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default();
                    (k.clone(), ids)
                })
                .collect()
        })
        .unwrap_or_default())
}

/// One of a stored run's JSON columns (`result_json` or `evidence_json`).
async fn stored_json(db: &Db, id: i64, column: &str) -> Result<Value, AssessError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {column} FROM assessment_runs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AssessError::NoSuchRun(id))?;
    let text: String = row.try_get(0)?;
    serde_json::from_str(&text)
        .map_err(|e| AssessError::Invalid(format!("考核结果 {id} 的存档无法读取：{e}")))
}

/// The stored result carries no id (it is written before the id exists); the printed one
/// leads with it.
fn with_id(id: i64, mut result: Value) -> Value {
    if let Value::Object(m) = &mut result {
        m.insert("run".into(), Value::String(id.to_string()));
    }
    result
}

/// A run as a workbook: 排名 (rank, unit, total and each indicator's score) and 明细 (every
/// rule of every unit with its value and points).
pub fn to_xlsx(result: &Value) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let empty = Vec::new();
    let units = result["units"].as_array().unwrap_or(&empty);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let num = |v: &Value| v.as_f64().unwrap_or_default();
    let bold = Format::new().set_bold();
    let mut wb = Workbook::new();

    let ranking = wb.add_worksheet().set_name("排名")?;
    let mut header = vec![
        "名次".to_owned(),
        "行政区划代码".into(),
        "单位".into(),
        "总分".into(),
    ];
    if let Some(first) = units.first() {
        for i in first["indicators"].as_array().unwrap_or(&empty) {
            header.push(format!("{} {}", text(&i["id"]), text(&i["name"])));
        }
    }
    for (c, h) in header.iter().enumerate() {
        ranking.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, u) in units.iter().enumerate() {
        let row = r as u32 + 1;
        ranking.write_number(row, 0, num(&u["rank"]))?;
        ranking.write_string(row, 1, text(&u["region_code"]))?;
        ranking.write_string(row, 2, text(&u["name"]))?;
        ranking.write_number(row, 3, num(&u["score"]))?;
        for (c, i) in u["indicators"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .enumerate()
        {
            ranking.write_number(row, 4 + c as u16, num(&i["score"]))?;
        }
    }

    let detail = wb.add_worksheet().set_name("明细")?;
    let header = [
        "名次",
        "单位",
        "指标",
        "指标得分",
        "规则",
        "规则名称",
        "考核数据项",
        "数值",
        "得分",
    ];
    for (c, h) in header.iter().enumerate() {
        detail.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut row = 1u32;
    for u in units {
        for i in u["indicators"].as_array().unwrap_or(&empty) {
            for r in i["rules"].as_array().unwrap_or(&empty) {
                detail.write_number(row, 0, num(&u["rank"]))?;
                detail.write_string(row, 1, text(&u["name"]))?;
                detail.write_string(row, 2, format!("{} {}", text(&i["id"]), text(&i["name"])))?;
                detail.write_number(row, 3, num(&i["score"]))?;
                detail.write_string(row, 4, text(&r["id"]))?;
                detail.write_string(row, 5, text(&r["name"]))?;
                detail.write_string(row, 6, text(&r["metric"]))?;
                detail.write_number(row, 7, num(&r["value"]))?;
                detail.write_number(row, 8, num(&r["score"]))?;
                row += 1;
            }
        }
    }
    wb.save_to_buffer()
}

/// Who reads what of a run: provincial users every unit, a city's leaders their city's units;
/// officers no ranking, only their own unit's sheet.
pub mod access {
    use ecowarden_core::auth::{Role, User};
    use ecowarden_core::org::Org;

    /// Whether the user reads rankings (of the units in scope) and comparisons.
    pub fn reads_rankings(u: &User) -> bool {
        !matches!(u.role, Role::CityOfficer | Role::CountyOfficer)
    }

    /// Whether the user reads the score sheet of the unit `code`.
    pub fn reads_sheet(u: &User, org: &Org, code: &str) -> bool {
        if reads_rankings(u) {
            org.region(code)
                .is_some_and(|r| u.scope.covers(&r.code, &r.city_code))
        } else {
            u.region_code == code
        }
    }

    /// A run's result with only the units the user reads in a ranking (ranks as the run gave
    /// them).
    pub fn visible(u: &User, org: &Org, mut result: serde_json::Value) -> serde_json::Value {
        if let Some(units) = result["units"].as_array_mut() {
            units.retain(|x| {
                reads_rankings(u) && reads_sheet(u, org, x["region_code"].as_str().unwrap_or(""))
            });
        }
        result
    }
}
