//! Individuals (个人): officers scored and ranked by a `subject = "individual"` rule file with
//! the same machinery as units.
//!
//! To the scoring crate an officer is a unit keyed by their certificate number (执法证号); the
//! file's `level` says whose officers are ranked (the county brigades', the city detachments'
//! or the corps'), inside the run's area. Each metric counts the records of the cases an
//! officer is on, each by its own date as for units, in one grouped scan per family for every
//! officer at once, keyed by the officer's id; the case ids behind each value are kept.

use std::collections::{BTreeMap, HashMap, HashSet};

use ecowarden_core::org::Org;
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::store::{Db, Result, Sql};
use ecowarden_ledger::stats::Period;
use ecowarden_scoring::{Level, RuleError, RuleErrors, RuleSet, UnitValues};

use crate::metrics::Measured;

/// A metric of an individual rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfficerMetric {
    /// `officer.cases_led`: cases filed in the period with the officer as lead (主办).
    CasesLed,
    /// `officer.cases`: cases filed in the period the officer is on.
    Cases,
    /// `officer.penalty_decisions`: penalty decisions dated in the period of cases the officer
    /// is on, 不予处罚 left out.
    PenaltyDecisions,
    /// `officer.fines_yuan`: the fines of those decisions, in yuan.
    FinesYuan,
    /// `officer.dossier_score`: the mean settled review score of the year's reviewed dossiers
    /// the officer led; 0 where none is settled.
    DossierScore,
    /// `officer.contest`: contest results (竞赛比武), entered by hand.
    Contest,
    /// `officer.honours`: honours (表彰), entered by hand.
    Honours,
}

impl OfficerMetric {
    pub const ALL: [OfficerMetric; 7] = [
        OfficerMetric::CasesLed,
        OfficerMetric::Cases,
        OfficerMetric::PenaltyDecisions,
        OfficerMetric::FinesYuan,
        OfficerMetric::DossierScore,
        OfficerMetric::Contest,
        OfficerMetric::Honours,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OfficerMetric::CasesLed => "officer.cases_led",
            OfficerMetric::Cases => "officer.cases",
            OfficerMetric::PenaltyDecisions => "officer.penalty_decisions",
            OfficerMetric::FinesYuan => "officer.fines_yuan",
            OfficerMetric::DossierScore => "officer.dossier_score",
            OfficerMetric::Contest => "officer.contest",
            OfficerMetric::Honours => "officer.honours",
        }
    }

    pub fn parse(name: &str) -> Option<OfficerMetric> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The Chinese name shown for a rule the file leaves unnamed.
    pub fn label(self) -> &'static str {
        match self {
            OfficerMetric::CasesLed => "主办案件数",
            OfficerMetric::Cases => "承办案件数",
            OfficerMetric::PenaltyDecisions => "承办行政处罚决定数",
            OfficerMetric::FinesYuan => "承办罚款金额（元）",
            OfficerMetric::DossierScore => "主办案卷评查平均分",
            OfficerMetric::Contest => "竞赛比武成绩",
            OfficerMetric::Honours => "表彰奖励",
        }
    }

    /// Entered by hand (`assess enter --officer`), not measured.
    pub fn entered(self) -> bool {
        matches!(self, OfficerMetric::Contest | OfficerMetric::Honours)
    }
}

/// Every measured officer metric an individual rule set names, or the lines of the metrics it
/// may not name (a unit's metric among them).
pub fn check(rules: &RuleSet) -> std::result::Result<Vec<OfficerMetric>, RuleErrors> {
    let mut metrics = Vec::new();
    let mut errors = Vec::new();
    for r in rules.indicators.iter().flat_map(|i| &i.rules) {
        let problem = if crate::entries::is_manual(&r.metric) {
            crate::entries::check(&r.metric)
        } else {
            match OfficerMetric::parse(&r.metric) {
                Some(m) => {
                    if !m.entered() && !metrics.contains(&m) {
                        metrics.push(m);
                    }
                    None
                }
                None => Some(format!(
                    "个人考核数据项 metric“{}”未知，可用：{}、manual.<填报项>",
                    r.metric,
                    OfficerMetric::ALL.map(OfficerMetric::name).join("、")
                )),
            }
        };
        if let Some(p) = problem {
            errors.push(RuleError {
                line: r.metric_line,
                message: format!("规则 {} 的{p}", r.id),
            });
        }
    }
    if errors.is_empty() {
        Ok(metrics)
    } else {
        Err(RuleErrors(errors))
    }
}

/// An officer a run may score.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Officer {
    pub id: i64,
    pub certificate_no: String,
    pub name: String,
    /// The officer's unit's region.
    pub region_code: String,
    pub city_code: String,
    pub active: i64,
}

/// The officers with a certificate of the units of `level` inside the area, by certificate
/// number.
pub async fn of_units(db: &Db, org: &Org, area: &Area, level: Level) -> Result<Vec<Officer>> {
    let units: HashSet<&str> = crate::metrics::units(org, area, level)
        .into_iter()
        .map(|r| r.code.as_str())
        .collect();
    let mut sql = Sql::new(
        "SELECT o.id, o.certificate_no, o.name, o.region_code, o.city_code, o.active \
         FROM officers o WHERE o.certificate_no IS NOT NULL",
    );
    sql.scope(area, "o").push(" ORDER BY o.certificate_no");
    let all: Vec<Officer> = sql.fetch_all(db).await?;
    Ok(all
        .into_iter()
        .filter(|o| units.contains(o.region_code.as_str()))
        .collect())
}

/// The cases of one officer (and role) in a family, as the store groups them.
#[derive(sqlx::FromRow)]
struct Group {
    officer_id: i64,
    lead: i64,
    fine_fen: i64,
    /// The case ids, comma-separated.
    ids: String,
}

/// Measures `metrics` for `officers` in a period: one grouped scan of the period's filed cases'
/// officers and one of its decisions' officers, whatever the number of officers.
pub async fn measure(
    db: &Db,
    period: Period,
    officers: &[Officer],
    metrics: &[OfficerMetric],
) -> Result<Measured> {
    let index: HashMap<i64, usize> = officers
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();
    let need = |m: OfficerMetric| metrics.contains(&m);
    // Per metric, per officer: the sum and the case ids behind it.
    let mut acc: HashMap<OfficerMetric, Vec<(f64, Vec<i64>)>> = metrics
        .iter()
        .map(|m| (*m, vec![(0.0, Vec::new()); officers.len()]))
        .collect();
    let mut add = |m: OfficerMetric, officer: i64, amount: f64, cases: &[i64]| {
        if let (Some(per), Some(&i)) = (acc.get_mut(&m), index.get(&officer)) {
            per[i].0 += amount;
            per[i].1.extend_from_slice(cases);
        }
    };
    let parse = |ids: &str| -> Vec<i64> { ids.split(',').filter_map(|x| x.parse().ok()).collect() };
    let (from, to) = period.bounds();
    let ids = db.ids_text("co.case_id");
    if need(OfficerMetric::Cases) || need(OfficerMetric::CasesLed) {
        // As `cases` for units: filed in the period (its statistical year), not withdrawn.
        let mut sql = Sql::new(&format!(
            "SELECT co.officer_id, co.lead, 0 AS fine_fen, {ids} AS ids FROM {cases} \
             JOIN case_officers co ON co.case_id = c.id WHERE c.year = ",
            cases = crate::metrics::cases_by(db, "cases_stats")
        ));
        sql.bind(period.year as i64)
            .push(" AND c.status <> 'withdrawn' AND c.filed_on BETWEEN ")
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string())
            .push(" GROUP BY co.officer_id, co.lead");
        for g in sql.fetch_all::<Group>(db).await? {
            let cases = parse(&g.ids);
            add(
                OfficerMetric::Cases,
                g.officer_id,
                cases.len() as f64,
                &cases,
            );
            if g.lead == 1 {
                add(
                    OfficerMetric::CasesLed,
                    g.officer_id,
                    cases.len() as f64,
                    &cases,
                );
            }
        }
    }
    if need(OfficerMetric::PenaltyDecisions) || need(OfficerMetric::FinesYuan) {
        // As `penalty_cases` and `fines_yuan` for units: a decision may follow filing into the
        // next year, so the cases of the year and the one before, narrowed by the decision
        // date; each fine capped at 10亿元 as the statistics sum them.
        let mut sql = Sql::new(&format!(
            "SELECT co.officer_id, 0 AS lead, CAST(SUM(CASE WHEN c.fine_fen > 100000000000 \
             THEN 100000000000 ELSE c.fine_fen END) AS BIGINT) AS fine_fen, {ids} AS ids \
             FROM {cases} JOIN case_officers co ON co.case_id = c.id WHERE c.year BETWEEN ",
            cases = crate::metrics::cases_by(db, "cases_decided")
        ));
        sql.bind(period.year as i64 - 1)
            .push(" AND ")
            .bind(period.year as i64)
            .push(" AND c.decided_on BETWEEN ")
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string())
            .push(" AND c.penalty_kinds NOT LIKE '%no_penalty%' GROUP BY co.officer_id");
        for g in sql.fetch_all::<Group>(db).await? {
            let cases = parse(&g.ids);
            let n = cases.len() as f64;
            add(OfficerMetric::PenaltyDecisions, g.officer_id, n, &cases);
            let yuan = g.fine_fen as f64 / 100.0;
            add(OfficerMetric::FinesYuan, g.officer_id, yuan, &cases);
        }
    }
    if need(OfficerMetric::DossierScore) {
        // Mean, not sum: the count goes beside the sum and divides at the end.
        let led = dossier_scores(db, period.year).await?;
        for (officer, case, score) in led {
            add(OfficerMetric::DossierScore, officer, score, &[case]);
        }
    }

    let mut out = Measured::default();
    for (i, o) in officers.iter().enumerate() {
        let mut values = BTreeMap::new();
        let mut evidence = BTreeMap::new();
        for m in metrics {
            let (sum, mut ids) = std::mem::take(&mut acc.get_mut(m).expect("every metric")[i]);
            let value = match m {
                OfficerMetric::DossierScore if ids.is_empty() => 0.0,
                OfficerMetric::DossierScore => (sum / ids.len() as f64 * 100.0).round() / 100.0,
                _ => sum,
            };
            ids.sort_unstable();
            ids.dedup();
            values.insert(m.name().to_owned(), value);
            evidence.insert(m.name().to_owned(), ids);
        }
        out.values.push(UnitValues {
            unit: o.certificate_no.clone(),
            values,
        });
        out.evidence.insert(o.certificate_no.clone(), evidence);
    }
    Ok(out)
}

/// The settled review scores of the year's dossiers with their lead officer: (officer id,
/// case id, score). A review is yearly, so a half-year reads its year, as for units.
async fn dossier_scores(db: &Db, year: i32) -> Result<Vec<(i64, i64, f64)>> {
    let settled = crate::review::settled(db, &Area::whole(&Scope::Province), year).await?;
    let mut out = Vec::new();
    // Case ids are integers the store gave: written into the statement, a chunk at a time.
    for chunk in settled.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|s| s.2.to_string()).collect();
        let leads: Vec<(i64, i64)> = Sql::new(&format!(
            "SELECT case_id, officer_id FROM case_officers WHERE lead = 1 AND case_id IN ({})",
            ids.join(",")
        ))
        .fetch_all(db)
        .await?;
        let lead_of: HashMap<i64, i64> = leads.into_iter().collect();
        for (_, _, case, score) in chunk {
            if let Some(officer) = lead_of.get(case) {
                out.push((*officer, *case, *score));
            }
        }
    }
    Ok(out)
}

/// Whether `user` reads an officer's sheet of an individual run (a `units` item: its
/// `region_code` and `officer.cert_no`): an officer only their own (`own`: the certificate of
/// the officer whose account it is); leaders, analysts, administrators and auditors the
/// officers of the units in their scope.
pub fn reads_sheet(
    user: &ecowarden_core::auth::User,
    own: Option<&str>,
    org: &Org,
    sheet: &serde_json::Value,
) -> bool {
    use ecowarden_core::auth::Role;
    match user.role {
        Role::CityOfficer | Role::CountyOfficer => {
            own.is_some_and(|cert| sheet["officer"]["cert_no"] == cert)
        }
        _ => sheet["region_code"]
            .as_str()
            .and_then(|code| org.region(code))
            .is_some_and(|r| user.scope.covers(&r.code, &r.city_code)),
    }
}
