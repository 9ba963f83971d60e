//! Individuals (个人): officers scored and ranked by a `subject = "individual"` rule file with
//! the same machinery as units.
//!
//! To the scoring crate an officer is a unit keyed by their certificate number (执法证号); the
//! file's `level` says whose officers are ranked (the county brigades', the city detachments'
//! or the corps'), inside the run's area. Each metric counts the records of the cases an
//! officer is on, each by its own date as for units, in one scan per family for every
//! officer at once, keyed by the officer's id; the case ids behind each value are kept.

use std::collections::{BTreeMap, HashMap, HashSet};

use ecowarden_core::org::Org;
use ecowarden_core::scan::fold;
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

/// Per measured metric, per officer (by position in the run's list): the sum and the case
/// ids behind it.
struct Acc {
    index: HashMap<i64, usize>,
    per: HashMap<OfficerMetric, Vec<(f64, Vec<i64>)>>,
}

impl Acc {
    fn new(index: HashMap<i64, usize>, metrics: &[OfficerMetric]) -> Acc {
        let n = index.len();
        let per = metrics
            .iter()
            .map(|m| (*m, vec![(0.0, Vec::new()); n]))
            .collect();
        Acc { index, per }
    }

    fn add(&mut self, m: OfficerMetric, officer: i64, amount: f64, case: i64) {
        if let (Some(per), Some(&i)) = (self.per.get_mut(&m), self.index.get(&officer)) {
            per[i].0 += amount;
            per[i].1.push(case);
        }
    }
}

/// Measures `metrics` for `officers` in a period, whatever their number: the period's filed
/// cases and its decisions are read side by side from their indexes, then one scan of the
/// case–officer pairs in their id range adds each pair to its officer. Joined in the store
/// (a lookup in the pairs' index per case) and grouped with the case ids concatenated, the
/// two families took 2.7 s and 1.9 s over 2,000,000 pairs; joined there and summed here,
/// 3.9–4.9 s for the whole run, most of it in the lookups.
pub async fn measure(
    db: &Db,
    period: Period,
    officers: &[Officer],
    metrics: &[OfficerMetric],
) -> Result<Measured> {
    let index = officers
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();
    let mut acc = Acc::new(index, metrics);
    let (filed, decided) = tokio::try_join!(
        filed_cases(db, period, metrics),
        decided_cases(db, period, metrics)
    )?;
    let ids = filed.iter().chain(decided.iter().map(|d| &d.0));
    if let (Some(&lo), Some(&hi)) = (ids.clone().min(), ids.max()) {
        // By case id from `lo`: bit 1 filed in the period, bit 2 decided in it; the fine.
        let width = (hi - lo + 1) as usize;
        let mut counted = vec![(0u8, 0i64); width];
        for id in filed {
            counted[(id - lo) as usize].0 |= 1;
        }
        for (id, fine_fen) in decided {
            counted[(id - lo) as usize] = (counted[(id - lo) as usize].0 | 2, fine_fen);
        }
        let mut sql = Sql::new(
            "SELECT co.case_id, co.officer_id, co.lead FROM case_officers co WHERE co.case_id BETWEEN ",
        );
        sql.bind(lo).push(" AND ").bind(hi);
        acc = fold(db, sql, acc, move |acc, r| {
            let (case, officer) = (r.int(0).unwrap_or(0), r.int(1).unwrap_or(0));
            let (flags, fine_fen) = counted[(case - lo) as usize];
            if flags & 1 != 0 {
                acc.add(OfficerMetric::Cases, officer, 1.0, case);
                if r.int(2) == Some(1) {
                    acc.add(OfficerMetric::CasesLed, officer, 1.0, case);
                }
            }
            if flags & 2 != 0 {
                acc.add(OfficerMetric::PenaltyDecisions, officer, 1.0, case);
                acc.add(
                    OfficerMetric::FinesYuan,
                    officer,
                    fine_fen as f64 / 100.0,
                    case,
                );
            }
        })
        .await?;
    }
    if metrics.contains(&OfficerMetric::DossierScore) {
        // Mean, not sum: the count goes beside the sum and divides at the end.
        let led = dossier_scores(db, period.year).await?;
        for (officer, case, score) in led {
            acc.add(OfficerMetric::DossierScore, officer, score, case);
        }
    }

    let mut out = Measured::default();
    for (i, o) in officers.iter().enumerate() {
        let mut values = BTreeMap::new();
        let mut evidence = BTreeMap::new();
        for m in metrics {
            let (sum, mut ids) = std::mem::take(&mut acc.per.get_mut(m).expect("every metric")[i]);
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

/// The ids of the period's cases that officers' `cases` and `cases_led` count: as `cases` for
/// units, filed in the period (its statistical year), not withdrawn. None when neither is
/// measured.
async fn filed_cases(db: &Db, period: Period, metrics: &[OfficerMetric]) -> Result<Vec<i64>> {
    if !metrics.contains(&OfficerMetric::Cases) && !metrics.contains(&OfficerMetric::CasesLed) {
        return Ok(Vec::new());
    }
    let (from, to) = period.bounds();
    let mut sql = Sql::new(&format!(
        "SELECT c.id FROM {} WHERE c.year = ",
        crate::metrics::cases_by(db, "cases_stats")
    ));
    sql.bind(period.year as i64)
        .push(" AND c.status <> 'withdrawn' AND c.filed_on BETWEEN ")
        .bind(from.to_string())
        .push(" AND ")
        .bind(to.to_string());
    fold(db, sql, Vec::new(), |ids, r| ids.extend(r.int(0))).await
}

/// The penalty decisions dated in the period that `penalty_decisions` and `fines_yuan` count,
/// as (case id, fine in fen), as `penalty_cases` and `fines_yuan` for units: a decision may
/// follow filing into the next year, so the cases of the year and the one before, narrowed
/// by the decision date; each fine capped at 10亿元 as the statistics sum them.
async fn decided_cases(
    db: &Db,
    period: Period,
    metrics: &[OfficerMetric],
) -> Result<Vec<(i64, i64)>> {
    if !metrics.contains(&OfficerMetric::PenaltyDecisions)
        && !metrics.contains(&OfficerMetric::FinesYuan)
    {
        return Ok(Vec::new());
    }
    let (from, to) = period.bounds();
    let mut sql = Sql::new(&format!(
        "SELECT c.id, CASE WHEN c.fine_fen > 100000000000 THEN 100000000000 \
         ELSE c.fine_fen END FROM {} WHERE c.year BETWEEN ",
        crate::metrics::cases_by(db, "cases_decided")
    ));
    sql.bind(period.year as i64 - 1)
        .push(" AND ")
        .bind(period.year as i64)
        .push(" AND c.decided_on BETWEEN ")
        .bind(from.to_string())
        .push(" AND ")
        .bind(to.to_string())
        .push(" AND c.penalty_kinds NOT LIKE '%no_penalty%'");
    fold(db, sql, Vec::new(), |out, r| {
        out.extend(r.int(0).map(|id| (id, r.int(1).unwrap_or(0))))
    })
    .await
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
