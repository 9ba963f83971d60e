//! Values entered by hand (`manual.<key>` in a rule file, and an officer's `officer.contest`
//! and `officer.honours`): what no ledger measures — a yes/no fact with its evidence (a
//! `yes_no` rule), points given with a justification (`manual`), a count of failings to deduct
//! for (`deduction`). One value per period, subject (a unit or an officer) and key; entering
//! again replaces it. Each entry goes through the audit log, since it changes a score.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::Row;

use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::clock;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Sql};
use ecowarden_ledger::stats::Period;

use crate::officers::OfficerMetric;
use crate::{AssessError, rule_sets};

/// The prefix of the metrics read from entries.
pub const PREFIX: &str = "manual.";

/// Whose value an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A unit, by its region code.
    Unit(String),
    /// An officer, by their certificate number.
    Officer(String),
}

impl Holder {
    /// The holder a form names: a unit's region code or an officer's certificate number,
    /// exactly one of the two.
    pub fn chosen(unit: &str, officer: &str) -> Result<Holder, AssessError> {
        match (unit.trim(), officer.trim()) {
            ("", "") => Err(AssessError::Invalid("请选择填报的单位或执法人员".into())),
            (code, "") => Ok(Holder::Unit(code.to_owned())),
            ("", cert) => Ok(Holder::Officer(cert.to_owned())),
            _ => Err(AssessError::Invalid(
                "单位和执法人员只能选择其一：一条填报只属于一个考核对象".into(),
            )),
        }
    }
}

/// An entry to store.
#[derive(Debug, Clone)]
pub struct Entry {
    pub holder: Holder,
    /// `manual.<key>` as the rule file names it, or for an officer `officer.contest` or
    /// `officer.honours`.
    pub metric: String,
    pub value: f64,
    pub justification: String,
    /// The uploaded evidence: its file name and bytes.
    pub file: Option<(String, Vec<u8>)>,
}

/// Whether a metric is a `manual.<key>` one.
pub fn is_manual(metric: &str) -> bool {
    metric.starts_with(PREFIX)
}

/// Whether a metric is entered by hand rather than measured: `manual.<key>`, or an officer's
/// contest results and honours.
pub fn is_entered(metric: &str) -> bool {
    is_manual(metric) || OfficerMetric::parse(metric).is_some_and(OfficerMetric::entered)
}

/// What the `key` column holds for a metric: the key of `manual.<key>`, an officer metric's
/// whole name (a manual key has no dot, so the two never meet).
fn stored_key(metric: &str) -> Option<&str> {
    key(metric).or_else(|| {
        OfficerMetric::parse(metric)
            .filter(|m| m.entered())
            .map(OfficerMetric::name)
    })
}

/// The metric of a stored key ([`stored_key`] backwards).
fn metric_of(key: &str) -> String {
    if key.contains('.') {
        key.to_owned()
    } else {
        format!("{PREFIX}{key}")
    }
}

/// The key of a `manual.<key>` metric, if well formed: lower-case ASCII letters, digits and
/// underscores, as rule files name things.
fn key(metric: &str) -> Option<&str> {
    metric.strip_prefix(PREFIX).filter(|k| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// The problem of a malformed `manual.` metric, for the rule file's checks.
pub fn check(metric: &str) -> Option<String> {
    key(metric)
        .is_none()
        .then(|| format!("手工填报数据项“{metric}”格式有误，应为 manual.<小写字母、数字或下划线>"))
}

/// Stores (or replaces) an entry for a period and returns its id.
pub async fn enter(
    db: &Db,
    org: &Org,
    period: Period,
    e: &Entry,
    actor: &str,
) -> Result<i64, AssessError> {
    let key = stored_key(&e.metric).ok_or_else(|| {
        AssessError::Invalid(check(&e.metric).expect("a malformed key has a problem"))
    })?;
    let subject = match &e.holder {
        Holder::Unit(code) => {
            if !is_manual(&e.metric) {
                return Err(AssessError::Invalid(format!(
                    "“{}”是个人考核数据项，请选择执法人员填报（命令行用 --officer）",
                    e.metric
                )));
            }
            org.known(code).map_err(AssessError::Invalid)?;
            code
        }
        Holder::Officer(cert) => {
            let known: Option<i64> =
                sqlx::query_scalar("SELECT id FROM officers WHERE certificate_no = $1")
                    .bind(cert)
                    .fetch_optional(db.pool())
                    .await?;
            if known.is_none() {
                return Err(AssessError::Invalid(format!(
                    "没有执法证号为 {cert} 的执法人员"
                )));
            }
            cert
        }
    };
    if !(e.value.is_finite() && e.value >= 0.0) {
        return Err(AssessError::Invalid(format!(
            "填报值须为不小于 0 的数，实为 {}",
            e.value
        )));
    }
    if e.justification.trim().is_empty() {
        return Err(AssessError::Invalid(
            "请填写依据说明（手工填报的分值和是否事项须说明依据）".into(),
        ));
    }
    let half = i64::from(period.half.unwrap_or(0));
    let mut w = db.write().await?;
    let before = sqlx::query(
        "SELECT id, value, justification, file_name FROM assessment_entries \
         WHERE year = $1 AND half = $2 AND subject_code = $3 AND key = $4",
    )
    .bind(i64::from(period.year))
    .bind(half)
    .bind(subject)
    .bind(key)
    .fetch_optional(&mut *w.tx)
    .await?;
    let before = match before {
        Some(row) => {
            let id: i64 = row.try_get(0)?;
            sqlx::query("DELETE FROM assessment_entries WHERE id = $1")
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
            Some(json!({
                "id": id,
                "value": row.try_get::<f64, _>(1)?,
                "justification": row.try_get::<String, _>(2)?,
                "file_name": row.try_get::<Option<String>, _>(3)?,
            }))
        }
        None => None,
    };
    let (file_name, file_bytes) = match &e.file {
        Some((name, bytes)) => (Some(name.as_str()), Some(bytes.as_slice())),
        None => (None, None),
    };
    let id: i64 = sqlx::query(
        "INSERT INTO assessment_entries (year, half, subject_code, key, value, justification, \
         file_name, file_bytes, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(i64::from(period.year))
    .bind(half)
    .bind(subject)
    .bind(key)
    .bind(e.value)
    .bind(e.justification.trim())
    .bind(file_name)
    .bind(file_bytes)
    .bind(clock::now_rfc3339())
    .bind(actor)
    .fetch_one(&mut *w.tx)
    .await?
    .try_get(0)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: if before.is_some() { "update" } else { "create" },
            entity: "assessment_entry",
            entity_id: id.to_string(),
            before,
            after: Some(json!({
                "year": period.year, "half": period.half, "metric": e.metric,
                "unit": matches!(e.holder, Holder::Unit(_)).then_some(subject),
                "officer": matches!(e.holder, Holder::Officer(_)).then_some(subject),
                "value": e.value, "justification": e.justification.trim(), "file_name": file_name,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

/// The entered values of a period for the given metrics: per subject (unit code or certificate
/// number) and metric, the value and the entry's id (the record behind it).
pub async fn values(
    db: &Db,
    period: Period,
    metrics: &[&str],
) -> Result<BTreeMap<(String, String), (f64, i64)>, AssessError> {
    let mut out = BTreeMap::new();
    if metrics.is_empty() {
        return Ok(out);
    }
    let rows = sqlx::query(
        "SELECT subject_code, key, value, id FROM assessment_entries WHERE year = $1 AND half = $2",
    )
    .bind(i64::from(period.year))
    .bind(i64::from(period.half.unwrap_or(0)))
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let metric = metric_of(&r.try_get::<String, _>(1)?);
        if metrics.contains(&metric.as_str()) {
            out.insert(
                (r.try_get(0)?, metric),
                (r.try_get::<f64, _>(2)?, r.try_get::<i64, _>(3)?),
            );
        }
    }
    Ok(out)
}

/// An entry as the list of a period shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: i64,
    pub holder: Holder,
    /// The unit's name, or the officer's.
    pub name: String,
    pub metric: String,
    pub value: f64,
    pub justification: String,
    /// The uploaded evidence's file name, if any.
    pub file_name: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// Where the entry belongs for scope: the unit, or the officer's unit.
    region_code: String,
    city_code: String,
}

impl Listed {
    /// The subject as a person reads it: the unit, or the officer with their certificate.
    pub fn subject(&self) -> String {
        match &self.holder {
            Holder::Unit(_) => self.name.clone(),
            Holder::Officer(cert) => format!("{}（证号 {cert}）", self.name),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    id: i64,
    subject_code: String,
    key: String,
    value: f64,
    justification: String,
    file_name: Option<String>,
    created_at: String,
    created_by: String,
    officer_name: Option<String>,
    officer_region: Option<String>,
    officer_city: Option<String>,
}

impl ListedRow {
    fn listed(self, org: &Org) -> Listed {
        let metric = metric_of(&self.key);
        // A unit's value is under its region code; an officer's under a certificate number,
        // which no region has.
        let unit = is_manual(&metric)
            .then(|| org.region(&self.subject_code))
            .flatten();
        let (holder, name, region_code, city_code) = match unit {
            Some(r) => (
                Holder::Unit(r.code.clone()),
                r.name.clone(),
                r.code.clone(),
                r.city_code.clone(),
            ),
            None => (
                Holder::Officer(self.subject_code),
                self.officer_name.unwrap_or_default(),
                self.officer_region.unwrap_or_default(),
                self.officer_city.unwrap_or_default(),
            ),
        };
        Listed {
            id: self.id,
            holder,
            name,
            metric,
            value: self.value,
            justification: self.justification,
            file_name: self.file_name,
            created_at: self.created_at,
            created_by: self.created_by,
            region_code,
            city_code,
        }
    }
}

const LISTED: &str = "SELECT e.id, e.subject_code, e.key, e.value, e.justification, e.file_name, \
     e.created_at, e.created_by, o.name AS officer_name, o.region_code AS officer_region, \
     o.city_code AS officer_city FROM assessment_entries e \
     LEFT JOIN officers o ON o.certificate_no = e.subject_code";

/// The entries of a period inside the scope (a unit's by its region, an officer's by their
/// unit's), in the order entered.
pub async fn list(
    db: &Db,
    org: &Org,
    scope: &Scope,
    period: Period,
) -> Result<Vec<Listed>, AssessError> {
    let mut sql = Sql::new(LISTED);
    sql.push(" WHERE e.year = ")
        .bind(i64::from(period.year))
        .push(" AND e.half = ")
        .bind(i64::from(period.half.unwrap_or(0)))
        .push(" ORDER BY e.id");
    let rows: Vec<ListedRow> = sql.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| r.listed(org))
        .filter(|l| scope.covers(&l.region_code, &l.city_code))
        .collect())
}

/// An entry's uploaded evidence (file name and bytes); refused outside the scope.
pub async fn file(
    db: &Db,
    org: &Org,
    scope: &Scope,
    id: i64,
) -> Result<(String, Vec<u8>), AssessError> {
    let mut sql = Sql::new(LISTED);
    sql.push(" WHERE e.id = ").bind(id);
    let rows: Vec<ListedRow> = sql.fetch_all(db).await?;
    let entry = rows
        .into_iter()
        .next()
        .map(|r| r.listed(org))
        .ok_or_else(|| AssessError::NotFound(format!("没有编号为 {id} 的填报记录")))?;
    if !scope.covers(&entry.region_code, &entry.city_code) {
        return Err(AssessError::Forbidden(format!(
            "填报记录 {id} 不在您的管辖范围内"
        )));
    }
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT file_bytes FROM assessment_entries WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    match (entry.file_name, bytes) {
        (Some(name), Some(bytes)) => Ok((name, bytes)),
        _ => Err(AssessError::NotFound(format!(
            "填报记录 {id} 没有上传证明材料"
        ))),
    }
}

/// The metrics entered by hand that the kept rule files name, each with the name its rule
/// gives it (the newest version's), and an officer's contest results and honours: what the
/// entry form suggests and the list's labels.
pub async fn named(db: &Db) -> Result<BTreeMap<String, String>, AssessError> {
    let mut out: BTreeMap<String, String> = OfficerMetric::ALL
        .into_iter()
        .filter(|m| m.entered())
        .map(|m| (m.name().to_owned(), m.label().to_owned()))
        .collect();
    for (_, rules) in rule_sets::parsed(db).await? {
        for r in rules.indicators.iter().flat_map(|i| &i.rules) {
            if key(&r.metric).is_some() {
                out.entry(r.metric.clone())
                    .or_insert_with(|| r.name.clone());
            }
        }
    }
    Ok(out)
}
